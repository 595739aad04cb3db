"""Signature verification: HubSpot's published known answers, then the edge cases."""

from __future__ import annotations

import json

import pytest
from hubspot.utils.signature import Signature
from starlette.datastructures import Headers

from app.connectors.hubspot.signatures import (
    decode_uri,
    request_uri,
    sign_v1,
    sign_v2,
    sign_v3,
    verify,
)

# From the official hubspot-api-python tests (tests/spec/utils/test_signature.py).
SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
BODY = b"{'example_field':'example_value'}"
URL = "https://www.example.com/webhook_uri"


def test_known_answer_v1() -> None:
    assert sign_v1(SECRET, BODY) == (
        "69fc6631a867edd4f9e9e627fc5c1148e3fbdd8b21837b6d2b8901c1fa57f750"
    )


def test_known_answer_v1_from_hubspots_docs() -> None:
    # developers.hubspot.com "v1 request validation": the example request and its hash.
    body = (
        b'[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,'
        b'"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,'
        b'"changeSource":"CRM","changeFlag":"NEW","appId":54321}]'
    )
    assert sign_v1(SECRET, body) == (
        "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de"
    )


def test_known_answer_v2() -> None:
    assert sign_v2(SECRET, "POST", URL, BODY) == (
        "4fe4e3a7d3cf09db53be39d0a58130e2aaba074ec123a9e355b876a689a1c383"
    )
    assert sign_v2(SECRET, "GET", URL, b"") == (
        "eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e"
    )


def test_known_answer_v3() -> None:
    assert sign_v3(SECRET, "POST", URL, BODY, "15000000") == (
        "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw="
    )


def _headers(signature: str, ts: str) -> Headers:
    return Headers({"X-HubSpot-Signature-v3": signature, "X-HubSpot-Request-Timestamp": ts})


def test_verify_accepts_the_known_answer_within_five_minutes() -> None:
    sig = "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw="
    result = verify(
        headers=_headers(sig, "15000000"),
        method="POST",
        uri=URL,
        body=BODY,
        secrets=[SECRET],
        now_ms=15000000 + 299_000,
    )
    assert result.ok and result.version == "v3"


@pytest.mark.parametrize("offset_ms", [-301_000, 301_000])
def test_stale_and_future_timestamps_are_refused(offset_ms: int) -> None:
    sig = sign_v3(SECRET, "POST", URL, BODY, "15000000")
    result = verify(
        headers=_headers(sig, "15000000"),
        method="POST",
        uri=URL,
        body=BODY,
        secrets=[SECRET],
        now_ms=15000000 - offset_ms,
    )
    assert not result.ok and "5 minutes" in result.reason


def test_non_ascii_body_matches_the_official_client() -> None:
    body = json.dumps([{"propertyValue": "Müller – 東京 ✓"}], ensure_ascii=False)
    ts = "1700000000000"
    ours = sign_v3(SECRET, "POST", URL, body.encode("utf-8"), ts)
    theirs = Signature.get_signature(SECRET, body, "v3", URL, "POST", ts)
    assert ours == theirs
    # Re-encoding the body (e.g. parsing and dumping with ASCII escapes) breaks it.
    assert ours != sign_v3(SECRET, "POST", URL, json.dumps(json.loads(body)).encode(), ts)


def test_uri_decoding_follows_hubspots_table_only() -> None:
    assert decode_uri("https://h/p%3Aa%2Fb%3Fc%40d%21%24%27%28%29%2A%2C%3B") == (
        "https://h/p:a/b?c@d!$'()*,;"
    )
    # Not in HubSpot's list: stays encoded (space, hash, percent itself).
    assert decode_uri("https://h/a%20b%23c%25") == "https://h/a%20b%23c%25"
    assert decode_uri("https://h/x%3a") == "https://h/x:"


def test_encoded_path_and_query_sign_like_hubspot() -> None:
    uri = request_uri("https://rg.example.com/", "/webhooks/hubspot", "tenant=a%3Ab&x=1")
    assert uri == "https://rg.example.com/webhooks/hubspot?tenant=a%3Ab&x=1"
    ts = "1700000000000"
    # HubSpot signs the decoded form: a signature over "tenant=a:b" must verify.
    decoded = "https://rg.example.com/webhooks/hubspot?tenant=a:b&x=1"
    expected = sign_v3(SECRET, "POST", decoded, BODY, ts)
    result = verify(
        headers=_headers(expected, ts),
        method="POST",
        uri=uri,
        body=BODY,
        secrets=[SECRET],
        now_ms=int(ts),
    )
    assert result.ok


def test_second_secret_is_accepted_during_rotation() -> None:
    ts = "1700000000000"
    sig = sign_v3("old-secret", "POST", URL, BODY, ts)
    result = verify(
        headers=_headers(sig, ts),
        method="POST",
        uri=URL,
        body=BODY,
        secrets=["new-secret", "old-secret"],
        now_ms=int(ts),
    )
    assert result.ok
    refused = verify(
        headers=_headers(sig, ts),
        method="POST",
        uri=URL,
        body=BODY,
        secrets=["new-secret"],
        now_ms=int(ts),
    )
    assert not refused.ok


def test_v1_and_v2_only_when_configured() -> None:
    headers = Headers(
        {"X-HubSpot-Signature": sign_v1(SECRET, BODY), "X-HubSpot-Signature-Version": "v1"}
    )
    assert not verify(headers=headers, method="POST", uri=URL, body=BODY, secrets=[SECRET]).ok
    assert verify(
        headers=headers, method="POST", uri=URL, body=BODY, secrets=[SECRET], versions=["v1"]
    ).ok
    v2 = Headers(
        {
            "X-HubSpot-Signature": sign_v2(SECRET, "POST", URL, BODY),
            "X-HubSpot-Signature-Version": "v2",
        }
    )
    assert verify(
        headers=v2, method="POST", uri=URL, body=BODY, secrets=[SECRET], versions=["v2"]
    ).ok


def test_tampered_body_is_refused() -> None:
    ts = "1700000000000"
    sig = sign_v3(SECRET, "POST", URL, BODY, ts)
    result = verify(
        headers=_headers(sig, ts),
        method="POST",
        uri=URL,
        body=BODY + b" ",
        secrets=[SECRET],
        now_ms=int(ts),
    )
    assert not result.ok


@pytest.mark.parametrize("versions", [["v3", "v1"], ["v1", "v3"], ["v3", "v2", "v1"]])
def test_with_v3_accepted_a_request_without_v3_headers_is_refused(versions) -> None:
    """v1 has no timestamp: with v3,v1 a captured delivery could drop its v3 headers and be
    replayed forever on v1. HubSpot sends v3 beside v1 on every request, so only v3 decides."""
    ts = "1700000000000"
    v3 = {
        "X-HubSpot-Signature-v3": sign_v3(SECRET, "POST", URL, BODY, ts),
        "X-HubSpot-Request-Timestamp": ts,
    }
    v1 = {"X-HubSpot-Signature": sign_v1(SECRET, BODY), "X-HubSpot-Signature-Version": "v1"}
    common = {"method": "POST", "uri": URL, "body": BODY, "secrets": [SECRET], "versions": versions}
    fresh = verify(headers=Headers({**v3, **v1}), now_ms=int(ts), **common)
    assert fresh.ok and fresh.version == "v3"
    # Ten minutes later the v3 signature is stale, and so is the whole request.
    later = int(ts) + 10 * 60 * 1000
    assert not verify(headers=Headers({**v3, **v1}), now_ms=later, **common).ok
    replay = verify(headers=Headers(v1), now_ms=later, **common)
    assert not replay.ok and "v3" in replay.reason
    v2 = {
        "X-HubSpot-Signature": sign_v2(SECRET, "POST", URL, BODY),
        "X-HubSpot-Signature-Version": "v2",
    }
    assert not verify(headers=Headers(v2), now_ms=later, **common).ok


def test_a_blank_secret_is_no_secret() -> None:
    headers = Headers({"X-HubSpot-Signature": sign_v1(" ", BODY)})
    result = verify(
        headers=headers, method="POST", uri=URL, body=BODY, secrets=[" "], versions=["v1"]
    )
    assert not result.ok and result.reason == "no client secret configured"
