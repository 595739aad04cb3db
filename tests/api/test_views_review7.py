"""Review round 7 of the engineering and product views: approvals, the ledger, the report."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import update
from sqlmodel import Session, select

from app.connectors.testcrm import TestCrmConnector
from app.jobs.schedules import JobContext
from app.jobs.types import QueueItem
from app.models import (
    Approval,
    AuditLog,
    Commitment,
    Deal,
    DealQueue,
    Feature,
    ProductMapping,
    TestCrmDeal,
    utcnow,
)
from app.rules.model import DealSnapshot, LineItem, Stage
from app.services.approvals import expire_approvals
from app.services.pipeline import DealPipeline

OPEN = Stage(id="negotiation", label="Negotiation", probability=0.6)
WON = Stage(id="closedwon", label="Closed won", probability=1.0, is_won=True, is_closed=True)


@pytest.fixture
def crm(engine, settings):
    """D1 buys the SSO add-on; SSO will never be built: blocked until approved."""
    from app.services.rules_service import install_default_rules

    with Session(engine) as s:
        s.add(Feature(key="sso", name="Single Sign-On", aliases=["SSO"], availability="never"))
        s.add(ProductMapping(match_kind="sku", match_value="SKU-SSO", feature_keys=["sso"]))
        install_default_rules(s)
        s.commit()
    connector = TestCrmConnector(engine)
    connector.put_deal(
        DealSnapshot(
            crm="test", deal_id="D1", name="Acme", stage=OPEN, amount=Decimal("50000"),
            close_date=date.today() + timedelta(days=30), owner_id="owner-1",
            line_items=[LineItem(id="li-1", name="SSO add-on", sku="SKU-SSO", quantity=1)],
        )
    )  # fmt: skip
    return connector


@pytest.fixture
def pipeline(engine, settings, crm):
    p = DealPipeline(engine, settings, {"test": crm})
    _process(p, "webhook")
    return p


@pytest.fixture
def web(make_app, crm):
    from fastapi.testclient import TestClient

    with TestClient(make_app(connectors={"test": crm})) as c:
        yield c


def _process(pipeline: DealPipeline, reason: str) -> None:
    """The worker takes D1: `webhook` reads it from the CRM, `approval` from the store."""
    pipeline.process([QueueItem(id=1, crm="test", deal_id="D1", attempts=1, reason=reason)])


def _approve(web, api_key, name: str = "pat"):
    body = {"crm": "test", "deal_id": "D1", "feature_key": "sso", "reason": "Strategic account",
            "expires_at": (utcnow() + timedelta(days=7)).isoformat()}  # fmt: skip
    return web.post("/api/v1/approvals", json=body, headers=api_key("approver", name=name))


def _crm_properties(engine) -> dict:
    with Session(engine) as s:
        return s.get(TestCrmDeal, "D1").properties


def test_an_approval_expiring_after_the_win_leaves_the_signed_deal_as_it_closed(
    web, engine, settings, pipeline, crm, api_key
):
    """The approval let the deal close; a week after the win its expiry re-evaluated the signed
    deal and wrote `blocked` to the CRM ("a promise made at signing that is now at risk"),
    though nothing had changed but the calendar."""
    assert _approve(web, api_key).status_code == 201
    _process(pipeline, "approval")
    with Session(engine) as s:
        snapshot = DealSnapshot.model_validate(s.exec(select(Deal)).one().snapshot)
    crm.put_deal(snapshot.model_copy(update={"stage": WON}))
    _process(pipeline, "webhook")
    props = _crm_properties(engine)
    assert props["status"] == "warning" and props["block"] is False and "pat" in props["summary"]
    with Session(engine) as s:
        assert [(c.feature_key, c.approver) for c in s.exec(select(Commitment))] == [("sso", "pat")]
        s.execute(update(Approval).values(expires_at=utcnow() - timedelta(seconds=1)))
        s.execute(update(DealQueue).values(status="done"))
        s.commit()

    expire_approvals(JobContext(engine=engine, settings=settings, connectors={}, state={}))
    with Session(engine) as s:
        assert s.exec(select(Deal)).one().verdict == "warning"  # as it was signed
        assert s.exec(select(DealQueue)).one().status == "done"  # nothing to write back
        actions = [a.action for a in s.exec(select(AuditLog).order_by(AuditLog.id))]
    assert actions[-1] == "approval.expire"  # the expiry itself is on record
    assert _crm_properties(engine) == props


def test_an_unknown_feature_filter_on_approvals_is_refused_naming_the_feature_meant(
    client, api_key, engine
):
    """`/approvals?feature=ssoo` answered an empty list, read as "nobody approved anything on
    SSO", where /deals and /commitments refuse the typo naming the key meant."""
    with Session(engine) as s:
        s.add(Feature(key="sso", name="Single sign-on", availability="never"))
        # an approval outlives the feature: gone from the roadmap and from every deal
        s.add(Approval(crm="test", deal_id="D9", feature_key="scim", reason="strategic",
                       approver="pat", expires_at=utcnow() + timedelta(days=7)))  # fmt: skip
        s.commit()
    h = api_key("viewer")
    r = client.get("/api/v1/approvals?feature=ssoo", headers=h)
    assert r.status_code == 422, r.text
    [detail] = r.json()["error"]["details"]
    assert detail["path"] == "query.feature"
    assert detail["msg"] == (
        "feature 'ssoo' is not on the roadmap and no deal references it and no approval names "
        "it; did you mean 'sso'?"
    )
    assert client.get("/api/v1/approvals?feature=sso", headers=h).json()["total"] == 0
    r = client.get("/api/v1/approvals?feature=scim", headers=h)
    assert r.status_code == 200 and [a["deal_id"] for a in r.json()["items"]] == ["D9"]


def test_the_report_csv_says_how_many_deals_made_the_promises(client, api_key, engine):
    """The JSON's `deals` was missing from the CSV: its total row counts promises, and three
    promises of one 100,000 USD deal read as three deals adding 100,000."""
    from datetime import UTC, datetime

    with Session(engine) as s:
        for key in ("scim", "sso", "audit"):
            s.add(Commitment(crm="hubspot", deal_id="BIG", feature_key=key,
                             signed_at=datetime(2026, 2, 10, tzinfo=UTC), approver="pat",
                             approval_id=1, amount=Decimal("100000"), currency="USD",
                             availability_at_signing="never"))  # fmt: skip
        s.commit()
    url = "/api/v1/reports/commitments?from=2026-01-01&to=2026-03-31"
    h = api_key("viewer")
    block = client.get(url, headers=h).json()["quarters"][0]["commitments"]
    assert (block["count"], block["deals"], block["amount"]) == (3, 1, 100000.0)
    r = client.get(f"{url}&format=csv", headers=h)
    rows = {(x["section"], x["item"]): x for x in csv.DictReader(io.StringIO(r.text))}
    assert (rows[("commitments", "total")]["count"], rows[("commitments", "total")]["amount"]) == (
        "3",
        "100000.0",
    )
    assert rows[("commitments", "deals")]["count"] == "1"


def test_the_report_names_an_off_roadmap_override_as_such_not_any_feature(client, api_key, engine):
    """An approval of an off-roadmap promise (no feature, a rule's sentences) was listed under
    the feature "(any)", read as an approval of every feature on the deal."""
    from datetime import UTC, datetime

    with Session(engine) as s:
        for key, rule in [(None, "custom-build"), ("sso", None)]:
            s.add(Approval(crm="hubspot", deal_id="X", feature_key=key, rule_id=rule,
                           reason="r", approver="pat",
                           created_at=datetime(2026, 2, 1, tzinfo=UTC)))  # fmt: skip
        s.commit()
    url = "/api/v1/reports/commitments?from=2026-01-01&to=2026-03-31"
    h = api_key("viewer")
    overrides = client.get(url, headers=h).json()["quarters"][0]["overridden_findings"]
    assert overrides["by_feature"] == [
        {"feature": "(off-roadmap promise)", "count": 1},
        {"feature": "sso", "count": 1},
    ]
    rows = list(csv.DictReader(io.StringIO(client.get(f"{url}&format=csv", headers=h).text)))
    assert {r["item"] for r in rows if r["section"] == "overridden_by_feature"} == {
        "(off-roadmap promise)",
        "sso",
    }


def test_blocked_pipeline_counts_the_whole_first_quarter_when_from_is_inside_it(
    client, api_key, engine
):
    """A report from 15 November (the quarter's last weeks) left out the blocked deals due in
    October that are still open, overdue: the quarter's blocked pipeline is all of it, as its
    days after `to` already were."""
    from app.models import Evaluation

    with Session(engine) as s:
        for deal_id, close in [("Sep", date(2026, 9, 30)), ("Oct", date(2026, 10, 20)),
                               ("Dec", date(2026, 12, 1))]:  # fmt: skip
            ev = Evaluation(crm="hubspot", deal_id=deal_id, verdict="blocked",
                            findings=[{"feature_key": "scim", "severity": "block"}])  # fmt: skip
            s.add(ev)
            s.flush()
            s.add(Deal(crm="hubspot", deal_id=deal_id, amount=Decimal("1000"), currency="USD",
                       close_date=close, verdict="blocked", last_evaluation_id=ev.id))  # fmt: skip
        s.commit()
    r = client.get(
        "/api/v1/reports/commitments?from=2026-11-15&to=2026-12-31", headers=api_key("viewer")
    )
    assert r.status_code == 200, r.text
    [q4] = r.json()["quarters"]
    assert q4["quarter"] == "2026-Q4"
    assert [
        (f["feature_key"], f["deal_count"], f["amount"]) for f in q4["top_blocked_features"]
    ] == [("scim", 2, 2000.0)]  # October's and December's; September's is Q3's


def test_an_expired_approval_cannot_be_revoked_after_the_fact(client, api_key, engine):
    """Revoking an approval that had run out lifted nothing more, but moved it in the
    leadership report from the findings it overrode while it ran to "revoked", rewriting the
    quarter's history."""
    from datetime import UTC, datetime

    with Session(engine) as s:
        row = Approval(crm="hubspot", deal_id="X", feature_key="sso", reason="r", approver="pat",
                       created_at=datetime(2026, 2, 1, tzinfo=UTC),
                       expires_at=datetime(2026, 2, 8, tzinfo=UTC))  # fmt: skip
        s.add(row)
        s.commit()
        approval_id = row.id
    url = "/api/v1/reports/commitments?from=2026-01-01&to=2026-03-31"
    h = api_key("viewer")
    before = client.get(url, headers=h).json()["quarters"][0]["overridden_findings"]
    assert (before["count"], before["revoked"]) == (1, 0)

    r = client.post(f"/api/v1/approvals/{approval_id}/revoke", headers=api_key("approver"))
    assert r.status_code == 409, r.text
    assert r.json()["error"]["message"] == (
        f"approval {approval_id} expired at 2026-02-08T00:00:00+00:00: it lifts nothing any "
        "more, and what it overrode while it ran stays on record"
    )
    assert client.get(url, headers=h).json()["quarters"][0]["overridden_findings"] == before
    with Session(engine) as s:
        assert s.get(Approval, approval_id).revoked_at is None


def test_a_feature_gone_from_the_roadmap_is_named_on_its_deals_as_exposure_names_it(
    client, api_key, engine
):
    """Removed from the roadmap and still referenced, SCIM was "SCIM provisioning" in exposure
    but "scim" (its key) on /features/scim/deals."""
    from tests.dashboard.seed import seed

    with Session(engine) as s:
        seed(s)
        s.delete(s.get(Feature, "scim"))  # s3 still references it
        s.commit()
    h = api_key("engineering")
    exposure = client.get("/api/v1/exposure", headers=h).json()["items"]
    assert {i["feature_key"]: i["feature_name"] for i in exposure}["scim"] == "SCIM provisioning"
    r = client.get("/api/v1/features/scim/deals", headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["feature"] == {
        "key": "scim",
        "name": "SCIM provisioning",
        "availability": "unknown",
        "target_date": None,
    }
    assert [d["deal_id"] for d in r.json()["items"]] == ["s3"]


def test_approving_a_deal_deleted_in_the_crm_says_so_not_that_there_is_no_deal(
    web, engine, pipeline, api_key
):
    """The deal's page shows it (deleted_in_crm: true), and the approval answered "no deal
    'D1' in crm 'test'", read as a mistyped id."""
    with Session(engine) as s:
        s.execute(update(Deal).values(tracked=False))
        s.commit()
    r = _approve(web, api_key)
    assert r.status_code == 404, r.text
    assert r.json()["error"]["message"] == (
        "deal 'D1' was deleted (or merged into another deal) in crm 'test': there is nothing "
        "left to approve on it"
    )
    assert web.get("/api/v1/deals/test/D1", headers=api_key("viewer")).json()["deal"][
        "deleted_in_crm"
    ]
    with Session(engine) as s:
        assert s.exec(select(Approval)).all() == []


@pytest.mark.parametrize(
    ("url", "key"),
    [("/api/v1/deals", "deal_id"), ("/api/v1/features/sso/deals", "deal_id")],
)
def test_deals_sort_by_verdict_in_order_of_severity(client, api_key, engine, url, key):
    """`-verdict` (the worst first) listed warnings, then clear deals, then the blocked ones
    last: the verdicts were sorted as words."""
    from tests.dashboard.seed import seed

    with Session(engine) as s:
        seed(s)  # open: h1 warning, h2 blocked, s1 blocked, s2 clear, s3 warning
        s.commit()
    h = api_key("engineering")
    worst = client.get(f"{url}?sort=-verdict,name", headers=h).json()["items"]
    best = client.get(f"{url}?sort=verdict,name", headers=h).json()["items"]
    if url == "/api/v1/deals":
        assert [d[key] for d in worst] == ["h2", "s1", "h1", "s3", "s2"]
        assert [d[key] for d in best] == ["s2", "h1", "s3", "h2", "s1"]
    else:  # SSO's dependants: h1 warning, h2 blocked, s3 warning
        assert [d[key] for d in worst] == ["h2", "h1", "s3"]
        assert [d[key] for d in best] == ["h1", "s3", "h2"]


def test_a_deal_looked_up_under_a_misspelt_crm_names_the_crm_meant(client, api_key, engine):
    """`/deals/HubSpot/h1` answered "no deal 'h1' in crm 'HubSpot'": the deal looked missing."""
    from tests.dashboard.seed import seed

    with Session(engine) as s:
        seed(s)
        s.commit()
    h = api_key("viewer")
    r = client.get("/api/v1/deals/HubSpot/h1", headers=h)
    assert r.status_code == 404, r.text
    assert r.json()["error"]["message"] == (
        "unknown CRM 'HubSpot'; did you mean 'hubspot'? (one of: hubspot, salesforce, test)"
    )
    assert client.get("/api/v1/deals/hubspot/h1", headers=h).status_code == 200
    r = client.get("/api/v1/deals/hubspot/nope", headers=h)
    assert r.json()["error"]["message"] == "no deal 'nope' in crm 'hubspot'"


def test_the_approvals_list_takes_an_approver_in_any_case_and_a_pasted_deal_id(
    client, api_key, engine
):
    """`approver=Pat` (the key is "pat"; key names are unique in any case) and `deal_id=D9 `
    (a spreadsheet cell) listed nothing, read as "no approvals"."""
    with Session(engine) as s:
        s.add(Approval(crm="test", deal_id="D9", feature_key="scim", reason="strategic",
                       approver="pat", expires_at=utcnow() + timedelta(days=7)))  # fmt: skip
        s.add(Approval(crm="test", deal_id="D8", feature_key="scim", reason="strategic",
                       approver="lee", expires_at=utcnow() + timedelta(days=7)))  # fmt: skip
        s.commit()
    h = api_key("viewer")
    for query in ("approver=Pat", "approver=pat", "deal_id=D9%20", "deal_id=D9"):
        r = client.get(f"/api/v1/approvals?{query}", headers=h)
        assert r.status_code == 200, r.text
        assert [a["deal_id"] for a in r.json()["items"]] == ["D9"], query


def test_a_signed_deal_read_after_its_approval_expired_stays_as_signed(
    web, engine, settings, pipeline, crm, api_key
):
    """Won under an approval, the approval expiring later: the expiry job leaves it, but the
    next read of the signed deal (the rep edits it, a ledger follow-up) dropped the expired
    approval and wrote `blocked` to the CRM on business already signed."""
    assert _approve(web, api_key).status_code == 201
    _process(pipeline, "approval")
    with Session(engine) as s:
        snapshot = DealSnapshot.model_validate(s.exec(select(Deal)).one().snapshot)
    won = snapshot.model_copy(update={"stage": WON})
    crm.put_deal(won)
    _process(pipeline, "webhook")
    with Session(engine) as s:
        s.execute(update(Approval).values(expires_at=utcnow() - timedelta(seconds=1)))
        s.commit()

    crm.put_deal(won.model_copy(update={"name": "Acme (renamed)"}))  # the rep edits it
    _process(pipeline, "webhook")

    props = _crm_properties(engine)
    assert props["status"] == "warning" and props["block"] is False and "pat" in props["summary"]
    with Session(engine) as s:
        assert s.exec(select(Deal)).one().verdict == "warning"


def test_an_expired_approval_does_not_cover_a_deal_reopened_after_its_win(
    web, engine, settings, pipeline, crm, api_key
):
    """Taken out of won (its ledger entries withdrawn), the deal is open business again: an
    expired approval covers it no more."""
    assert _approve(web, api_key).status_code == 201
    _process(pipeline, "approval")
    with Session(engine) as s:
        snapshot = DealSnapshot.model_validate(s.exec(select(Deal)).one().snapshot)
    crm.put_deal(snapshot.model_copy(update={"stage": WON}))
    _process(pipeline, "webhook")
    with Session(engine) as s:
        s.execute(update(Approval).values(expires_at=utcnow() - timedelta(seconds=1)))
        s.commit()

    crm.put_deal(snapshot.model_copy(update={"stage": OPEN}))  # reopened
    _process(pipeline, "webhook")

    with Session(engine) as s:
        assert s.exec(select(Deal)).one().verdict == "blocked"


def test_an_approval_in_force_is_extended_without_the_block_coming_back(
    web, engine, settings, pipeline, crm, api_key
):
    """There was no way to keep an approval going: a second one was a 409 ("revoke it
    first") and revoking put the block and its task back in the CRM until the new approval
    landed. POST /approvals/{id}/extend moves its expiry later, audited, nothing re-checked."""
    created = _approve(web, api_key)
    assert created.status_code == 201
    approval = created.json()
    _process(pipeline, "approval")
    headers = api_key("approver", name="dana")
    later = (utcnow() + timedelta(days=30)).isoformat()

    r = web.post(f"/api/v1/approvals/{approval['id']}/extend", json={"expires_at": later},
                 headers=headers)  # fmt: skip

    assert r.status_code == 200, r.text
    assert r.json()["status"] == "active" and r.json()["expires_at"] > approval["expires_at"]
    assert _crm_properties(engine)["block"] is False
    with Session(engine) as s:
        [entry] = s.exec(select(AuditLog).where(AuditLog.action == "approval.extend")).all()
        assert entry.actor == "approver:dana"

        def same(a: str, b: str) -> bool:
            return a.replace("+00:00", "Z") == b.replace("+00:00", "Z")

        assert same(entry.before["expires_at"], approval["expires_at"])
        assert same(entry.after["expires_at"], r.json()["expires_at"])
    # what is refused, and says why
    sooner = (utcnow() + timedelta(days=1)).isoformat()
    for body, status, says in (
        ({"expires_at": sooner}, 422, "is not later than the approval's expiry"),
        ({"expires_at": (utcnow() - timedelta(days=1)).isoformat()}, 422, "is in the past"),
        ({"expires_at": "2030-01-01T00:00:00"}, 422, "must include a timezone"),
        ({"expires_at": later, "reason": "x"}, 422, "reason"),
    ):
        r = web.post(f"/api/v1/approvals/{approval['id']}/extend", json=body, headers=headers)
        assert r.status_code == status and says in r.text, r.text
    assert web.post("/api/v1/approvals/999/extend", json={"expires_at": later},
                    headers=headers).status_code == 404  # fmt: skip
    with Session(engine) as s:
        s.execute(update(Approval).values(expires_at=utcnow() - timedelta(seconds=1)))
        s.commit()
    r = web.post(f"/api/v1/approvals/{approval['id']}/extend", json={"expires_at": later},
                 headers=headers)  # fmt: skip
    assert r.status_code == 409 and "approve again" in r.json()["error"]["message"]
