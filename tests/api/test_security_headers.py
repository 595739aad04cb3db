"""Every answer says nosniff and refuses framing; the dashboard keeps its own, fuller policy.

Only the dashboard's pages set X-Content-Type-Options and frame-ancestors: the API's JSON and
CSV (which echo CRM text), its error bodies, the webhook acks and the OpenAPI UI (/docs, where
a key is pasted into the Authorize dialog) could be sniffed as HTML or framed by another site.
"""

from __future__ import annotations


def _refuses_sniffing_and_framing(r) -> None:
    assert r.headers.get("x-content-type-options") == "nosniff"
    assert r.headers.get("x-frame-options") == "DENY"
    assert "frame-ancestors 'none'" in r.headers.get("content-security-policy", "")


def test_api_answers_errors_and_docs_refuse_sniffing_and_framing(client, api_key):
    h = api_key("viewer")
    for r in (
        client.get("/api/v1/features", headers=h),  # a JSON answer
        client.get("/api/v1/deals?format=csv", headers=h),  # a CSV export
        client.get("/api/v1/features"),  # a 401 error body
        client.get("/api/v1/no-such-route", headers=h),  # routing's own 404
        client.get("/docs"),  # the OpenAPI UI, which takes an API key
    ):
        assert r.status_code in (200, 401, 404), r.text
        _refuses_sniffing_and_framing(r)


def test_the_dashboard_keeps_its_own_policy_once(client):
    r = client.get("/dashboard/signin")
    assert r.status_code == 200
    _refuses_sniffing_and_framing(r)
    # its own policy, not replaced by the default and not sent twice
    assert r.headers.get_list("content-security-policy") == [
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"
    ]
    assert r.headers.get_list("x-content-type-options") == ["nosniff"]
