"""A cursor continues the list that gave it, filtered as it was: it carries the list (the
route's path) and its filters' fingerprint, and is refused (422 at `query.cursor`) on another
list or with other filters. It did not record its list: a `next_cursor` of
`/deals?sort=-amount` was taken by `/exposure?sort=-amount` (same sort, as many values) and
answered some page of features after a deal's amount (found by review helper 158)."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session

from app.models import Approval, Commitment
from tests.dashboard.seed import T0, seed


@pytest.fixture
def seeded(engine):
    """The dashboard's set (five open deals, four features, one ledger entry), two more ledger
    entries and three approvals, so every list has a second page at limit=1."""
    with Session(engine) as s:
        seed(s)
        for i, key in enumerate(["api", "scim"]):
            s.add(Commitment(crm="hubspot", deal_id=f"w{i}", deal_name=f"Win {i}",
                             feature_key=key, promise_key=key, amount=Decimal(100 + i),
                             signed_at=T0 + timedelta(days=i + 1)))  # fmt: skip
        for i, (deal, approver, key) in enumerate(
            [("h1", "pat", "sso"), ("h2", "pat", "audit"), ("s1", "lee", "audit")]
        ):
            s.add(Approval(crm="hubspot", deal_id=deal, feature_key=key, reason=f"why {i}",
                           approver=approver, created_at=T0 + timedelta(days=i)))  # fmt: skip
        s.commit()


def _cursor(client, h, url: str, **params) -> str:
    r = client.get(url, params={"limit": 1, **params}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["next_cursor"], r.json()
    return r.json()["next_cursor"]


def _refused(r) -> str:
    assert r.status_code == 422, r.text
    [detail] = r.json()["error"]["details"]
    assert detail["path"] == "query.cursor", detail
    return detail["msg"]


# (the list that gave the cursor, its params) -> (the list it is used on, its params): the same
# sort and as many sort values each, so only the list tells them apart
ANOTHER_LIST = [
    (("/api/v1/deals", {"sort": "-amount"}), ("/api/v1/exposure", {"sort": "-amount"})),
    (("/api/v1/exposure", {"sort": "-amount"}), ("/api/v1/deals", {"sort": "-amount"})),
    (("/api/v1/features/api/deals", {}), ("/api/v1/features/sso/deals", {})),
    (("/api/v1/deals", {"feature": "sso"}), ("/api/v1/features/sso/deals", {})),
    (
        ("/api/v1/commitments", {"sort": "feature_key"}),
        ("/api/v1/approvals", {"sort": "feature_key"}),
    ),
    (
        ("/api/v1/approvals", {"sort": "feature_key"}),
        ("/api/v1/commitments", {"sort": "feature_key"}),
    ),
]


@pytest.mark.parametrize(("source", "target"), ANOTHER_LIST, ids=lambda x: x[0])
def test_a_cursor_of_another_list_is_refused_naming_both(client, api_key, seeded, source, target):
    h = api_key("viewer")
    cursor = _cursor(client, h, source[0], **source[1])
    msg = _refused(client.get(target[0], params={**target[1], "cursor": cursor}, headers=h))
    assert f"belongs to another list ({source[0]}), not {target[0]}" in msg, msg
    assert "start again without a cursor" in msg, msg


# (list, the filters of the page that gave the cursor, the filters it is used with)
OTHER_FILTERS = [
    ("/api/v1/deals", {"owner": "alice"}, {"owner": "bob"}),
    ("/api/v1/deals", {}, {"verdict": "blocked"}),
    ("/api/v1/features/sso/deals", {}, {"crm": "hubspot"}),
    ("/api/v1/exposure", {"crm": "hubspot"}, {}),
    ("/api/v1/approvals", {"approver": "pat"}, {"approver": "lee"}),
    ("/api/v1/commitments", {}, {"flagged": "false"}),
]


@pytest.mark.parametrize(("url", "first", "then"), OTHER_FILTERS, ids=lambda x: str(x))
def test_a_cursor_with_other_filters_is_refused(client, api_key, seeded, url, first, then):
    h = api_key("viewer")
    cursor = _cursor(client, h, url, **first)
    msg = _refused(client.get(url, params={**then, "cursor": cursor}, headers=h))
    assert f"this cursor belongs to {url} with other filters" in msg, msg
    assert "start again without a cursor" in msg, msg


def test_the_same_filters_in_another_order_limit_or_form_continue_the_list(client, api_key, seeded):
    """What does not choose the rows may change between pages: the order of the parameters,
    `limit`, the answer's form (`format=csv`), a filter given as its default (`state=open`)."""
    h = api_key("viewer")
    url = "/api/v1/deals"
    first = [("owner", "alice"), ("close_to", "2027-01-01")]
    whole = client.get(url, params=first, headers=h).json()
    cursor = _cursor(client, h, url, **dict(first))
    expected = [d["deal_id"] for d in whole["items"][1:]]
    assert expected, whole
    for params in (
        [("close_to", "2027-01-01"), ("owner", "alice"), ("cursor", cursor)],
        [*first, ("cursor", cursor), ("limit", "5"), ("state", "open")],
    ):
        r = client.get(url, params=params, headers=h)
        assert r.status_code == 200, r.text
        assert [d["deal_id"] for d in r.json()["items"]] == expected
    csv = client.get(url, params=[*first, ("cursor", cursor), ("format", "csv")], headers=h)
    assert csv.status_code == 200, csv.text
    assert [line.split(",")[1] for line in csv.text.splitlines()[1:]] == expected
    # exposure's CSV by stage takes the cursor of its JSON pages too
    cursor = _cursor(client, h, "/api/v1/exposure", crm="hubspot")
    r = client.get("/api/v1/exposure", headers=h,
                   params={"crm": "hubspot", "cursor": cursor, "format": "csv",
                           "csv_rows": "stage"})  # fmt: skip
    assert r.status_code == 200, r.text


def test_a_cursor_issued_before_cursors_named_their_list_is_still_taken(client, api_key, seeded):
    """Deprecation period: a cursor without a list (as issued before this change) continues
    with the checks it had (its sort, its width), so a client paging across the upgrade is
    not broken; docs/views.md says it will be refused."""
    h = api_key("viewer")
    for url, other_sort in [
        ("/api/v1/deals", "name"),
        ("/api/v1/exposure", "feature_key"),
        ("/api/v1/commitments", "feature_key"),
    ]:
        cursor = _cursor(client, h, url)
        payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        assert {"l", "f"} <= set(payload) and payload["l"] == url
        old = {"s": payload["s"], "v": payload["v"]}
        untagged = base64.urlsafe_b64encode(json.dumps(old).encode()).decode().rstrip("=")
        tagged_page = client.get(url, params={"cursor": cursor}, headers=h).json()["items"]
        r = client.get(url, params={"cursor": untagged}, headers=h)
        assert r.status_code == 200, r.text
        assert r.json()["items"] == tagged_page and tagged_page
        # and still refused with another sort
        r = client.get(url, params={"cursor": untagged, "sort": other_sort}, headers=h)
        assert "continues the order" in _refused(r)


def test_a_cursor_whose_list_is_not_text_is_not_a_cursor(client, api_key, seeded):
    h = api_key("viewer")
    bad = {"l": 7, "f": "", "s": "-amount", "v": [1, 1]}
    raw = base64.urlsafe_b64encode(json.dumps(bad).encode()).decode()
    msg = _refused(client.get("/api/v1/deals", params={"cursor": raw}, headers=h))
    assert "not a cursor of this list" in msg
