"""The approvals list as the other views: a `deal_id` or `approver` filter value that matches
nothing is a 422 naming it, the value meant and the values known (it answered an empty list,
read as "nothing approved, nothing pending"), and pages by cursor as well as by offset."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from app.models import Approval, Deal, utcnow
from app.security import Role, create_api_key, revoke_api_key

T0 = utcnow().replace(microsecond=0) - timedelta(days=30)


def _approval(i: int, deal_id: str, approver: str, crm: str = "test", **kw) -> Approval:
    return Approval(crm=crm, deal_id=deal_id, feature_key="sso", reason=f"why {i}",
                    approver=approver, expires_at=kw.pop("expires_at", T0 + timedelta(days=60)),
                    created_at=T0 + timedelta(days=i), **kw)  # fmt: skip


@pytest.fixture
def approvals(engine):
    """Approvals by pat and lee on D1, D2 and a Salesforce opportunity; a deal D7 read from
    the CRM with no approval; dana, an approver who has approved nothing yet; an admin key."""
    with Session(engine) as s:
        s.add_all([
            _approval(0, "D1", "pat"),
            _approval(1, "D2", "lee"),
            _approval(2, "006000000000001AAA", "pat", crm="salesforce"),
        ])  # fmt: skip
        s.add(Deal(crm="test", deal_id="D7", name="No approval yet", pipeline="p"))
        create_api_key(s, name="dana", role=Role.approver, created_by="tests")
        create_api_key(s, name="root-admin", role=Role.admin, created_by="tests")
        gone, _ = create_api_key(s, name="old-approver", role=Role.approver, created_by="tests")
        revoke_api_key(gone)
        s.add(gone)
        s.commit()


def _detail(r, path: str) -> dict:
    assert r.status_code == 422, r.text
    details = {d["path"]: d for d in r.json()["error"]["details"]}
    assert path in details, details
    return details[path]


@pytest.mark.parametrize(
    ("params", "path", "said"),
    [
        ({"approver": "Dnaa"}, "query.approver",
         "no approval or approving API key has approver 'Dnaa' (the approving key's name, in "
         "any case); did you mean 'dana'?; known: dana, lee, pat"),
        ({"approver": "patt"}, "query.approver", "did you mean 'pat'?"),
        ({"deal_id": "D11"}, "query.deal_id",
         "no deal or approval has deal id 'D11' (known: the deals approvals name); did you "
         "mean 'D1'?; known: 006000000000001AAA, D1, D2"),
        ({"deal_id": "D1", "crm": "hubspot"}, "query.deal_id",
         "no hubspot deal or approval has deal id 'D1' (known: the deals approvals name); "
         "known: none yet"),
        ({"deal_id": "D2 ", "crm": "salesforce"}, "query.deal_id",
         "no salesforce deal or approval has deal id 'D2'"),
    ],
)  # fmt: skip
def test_a_filter_value_matching_nothing_is_refused_naming_the_value_meant(
    client, api_key, approvals, params, path, said
):
    for fmt in ("json", "csv"):
        r = client.get("/api/v1/approvals", params={**params, "format": fmt},
                       headers=api_key("viewer"))  # fmt: skip
        detail = _detail(r, path)
        assert said in detail["msg"], detail["msg"]


def test_both_filters_unmatched_are_both_named(client, api_key, approvals):
    r = client.get("/api/v1/approvals?deal_id=D9&approver=nobody", headers=api_key("viewer"))
    assert {d["path"] for d in r.json()["error"]["details"]} == {"query.deal_id", "query.approver"}


@pytest.mark.parametrize(
    ("params", "listed"),
    [
        ({"approver": "pat"}, ["006000000000001AAA", "D1"]),
        ({"approver": "PAT", "crm": "test"}, ["D1"]),
        ({"approver": "pat", "status": "revoked"}, []),  # known: nothing revoked
        ({"approver": "dana"}, []),  # an approver who approved nothing yet
        ({"approver": "Root-Admin"}, []),  # an admin key may approve too
        ({"approver": "old-approver"}, []),  # a key revoked since: still a name known
        ({"deal_id": "D7"}, []),  # a deal nobody needed to approve anything on
        ({"deal_id": "D1", "approver": "lee"}, []),  # both known, no approval of both
        ({"deal_id": "006000000000001"}, ["006000000000001AAA"]),  # 15-character id
        ({"deal_id": " D2 "}, ["D2"]),
    ],
)
def test_a_known_value_answers_its_rows_or_an_empty_list(
    client, api_key, approvals, params, listed
):
    r = client.get("/api/v1/approvals", params=params, headers=api_key("viewer"))
    assert r.status_code == 200, r.text
    assert [a["deal_id"] for a in r.json()["items"]] == listed


def test_an_admin_keys_name_is_known_but_not_listed_to_a_viewer(client, api_key, approvals):
    r = client.get("/api/v1/approvals?approver=root-admn", headers=api_key("viewer"))
    assert "root-admin" not in _detail(r, "query.approver")["msg"]


def _walk(client, headers, params: dict) -> list[str]:
    seen, cursor = [], None
    for _ in range(20):
        r = client.get("/api/v1/approvals", headers=headers,
                       params={**params, "limit": 2, **({"cursor": cursor} if cursor else {})})  # fmt: skip
        assert r.status_code == 200, r.text
        body = r.json()
        seen += [a["reason"] for a in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("the cursor never ended")


@pytest.fixture
def many(engine):
    """Seven approvals: ties on approver and on expiry, one without an expiry (NULL, last)."""
    with Session(engine) as s:
        for i in range(7):
            expires = None if i == 3 else T0 + timedelta(days=40 + i % 2)
            s.add(_approval(i, f"D{i}", ("pat", "lee", "ann")[i % 3], expires_at=expires))
        s.commit()


@pytest.mark.parametrize(
    "sort", ["-created_at", "created_at", "expires_at", "-expires_at,approver", "approver",
             "-deal_id", "feature_key"],
)  # fmt: skip
def test_a_cursor_walks_every_approval_once_in_the_order_of_the_list(client, api_key, many, sort):
    h = api_key("viewer")
    whole = client.get("/api/v1/approvals", params={"sort": sort}, headers=h).json()
    assert whole["next_cursor"] is None and whole["total"] == 7
    assert _walk(client, h, {"sort": sort}) == [a["reason"] for a in whole["items"]]


def test_an_approval_given_between_pages_neither_repeats_nor_skips_one(
    client, api_key, engine, many
):
    """The list shows the latest approvals first: one given between two page requests pushed
    every approval one down, and the next page by offset repeated one."""
    h = api_key("viewer")
    first = client.get("/api/v1/approvals?limit=3", headers=h).json()
    assert [a["reason"] for a in first["items"]] == ["why 6", "why 5", "why 4"]
    with Session(engine) as s:
        s.add(_approval(9, "D9", "pat"))  # given since: first in the list
        s.commit()
    after = client.get(f"/api/v1/approvals?limit=3&cursor={first['next_cursor']}", headers=h)
    assert after.status_code == 200, after.text
    assert [a["reason"] for a in after.json()["items"]] == ["why 3", "why 2", "why 1"]
    assert after.json()["total"] == 8
    by_offset = client.get("/api/v1/approvals?limit=3&offset=3", headers=h).json()
    assert [a["reason"] for a in by_offset["items"]] == ["why 4", "why 3", "why 2"]  # 4 again
    last = client.get(
        f"/api/v1/approvals?limit=3&cursor={after.json()['next_cursor']}", headers=h
    ).json()
    assert ([a["reason"] for a in last["items"]], last["next_cursor"]) == (["why 0"], None)


def test_a_cursor_is_refused_with_an_offset_another_sort_or_when_not_one(client, api_key, many):
    h = api_key("viewer")
    cursor = client.get("/api/v1/approvals?limit=2", headers=h).json()["next_cursor"]
    for params, path, said in [
        ({"cursor": cursor, "offset": 2}, "query.offset", "give a cursor or an offset"),
        ({"cursor": cursor, "sort": "approver"}, "query.cursor", "continues the order"),
        ({"cursor": "not-a-cursor"}, "query.cursor", "not a cursor of this list"),
    ]:
        assert said in _detail(client.get("/api/v1/approvals", params=params, headers=h),
                               path)["msg"]  # fmt: skip


def test_the_list_counts_the_approvals_it_lists(client, api_key, engine, many, monkeypatch):
    """On PostgreSQL each statement read its own snapshot: an approval given between the
    list's count and its page was listed but not counted (total 7, eight rows)."""
    from app.services import queries

    real = queries.order_by
    done: list[bool] = []

    def order_by(*args, **kwargs):  # builds the page's statement, after the count
        if not done:
            done.append(True)
            with Session(engine) as other:
                other.add(_approval(9, "D9", "pat"))
                other.commit()
        return real(*args, **kwargs)

    monkeypatch.setattr(queries, "order_by", order_by)
    body = client.get("/api/v1/approvals", headers=api_key("viewer")).json()
    assert done
    assert body["total"] == len(body["items"]) == 7
