"""Approvals end to end: the real engine, the pipeline and the test CRM.

Approving lifts the block in the same request (re-evaluated from the stored snapshot, queued
for write-back); the CRM summary names the approver; revoking and expiry restore the block.
"""

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
    Deal,
    DealQueue,
    Evaluation,
    Feature,
    ProductMapping,
    TestCrmDeal,
    utcnow,
)
from app.rules.model import DealSnapshot, LineItem, Note, Stage
from app.services.approvals import expire_approvals
from app.services.pipeline import DealPipeline

OPEN = Stage(id="negotiation", label="Negotiation", probability=0.6)


@pytest.fixture
def crm(engine, settings):
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
    p.process([QueueItem(id=1, crm="test", deal_id="D1", attempts=1, reason="webhook")])
    return p


@pytest.fixture
def web(make_app, crm):
    from fastapi.testclient import TestClient

    with TestClient(make_app(connectors={"test": crm})) as c:
        yield c


def _write(pipeline):
    pipeline.process([QueueItem(id=2, crm="test", deal_id="D1", attempts=1, reason="approval")])


def _state(engine):
    with Session(engine) as s:
        deal = s.exec(select(Deal)).one()
        latest = s.get(Evaluation, deal.last_evaluation_id)
        crm_row = s.get(TestCrmDeal, "D1")
        queue = s.exec(select(DealQueue).where(DealQueue.deal_id == "D1")).first()
        return deal.verdict, latest.findings, crm_row.properties, queue


def _body(**kw):
    return {"crm": "test", "deal_id": "D1", "feature_key": "sso",
            "reason": "Strategic account; SSO through the identity partner",
            "expires_at": (utcnow() + timedelta(days=7)).isoformat(), **kw}  # fmt: skip


def test_approval_lifts_the_block_and_revoking_restores_it(web, engine, pipeline, api_key):
    verdict, _, props, _ = _state(engine)
    assert verdict == "blocked" and props["block"] is True

    r = web.post("/api/v1/approvals", json=_body(promised_date="2026-12-01"),
                 headers=api_key("approver", name="pat"))  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["requeued"] == ["D1"] and r.json()["status"] == "active"
    approval_id = r.json()["id"]
    verdict, findings, _, queue = _state(engine)
    assert verdict != "blocked"  # lifted in the request, before any write-back
    sso = [f for f in findings if f["feature_key"] == "sso"]
    assert sso and all(f["approved"] and f["approved_by"] == "pat" for f in sso)
    assert (queue.status, queue.reason) == ("pending", "approval")
    _write(pipeline)
    _, _, props, _ = _state(engine)
    assert props["block"] is False and "pat" in props["summary"]
    detail = web.get("/api/v1/deals/test/D1", headers=api_key("viewer")).json()
    assert detail["approvals"][0]["approver"] == "pat"

    r = web.post(f"/api/v1/approvals/{approval_id}/revoke", headers=api_key("admin", name="root"))
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    verdict, findings, _, _ = _state(engine)
    assert verdict == "blocked" and not any(f["approved"] for f in findings)
    _write(pipeline)
    assert _state(engine)[2]["block"] is True
    r = web.post(f"/api/v1/approvals/{approval_id}/revoke", headers=api_key("admin"))
    assert r.status_code == 409
    with Session(engine) as s:
        actions = [a.action for a in s.exec(select(AuditLog).order_by(AuditLog.id))]
    assert actions[-2:] == ["approval.create", "approval.revoke"]


def test_expiry_restores_the_block_once(web, engine, settings, pipeline, api_key):
    r = web.post("/api/v1/approvals", json=_body(), headers=api_key("approver"))
    assert r.status_code == 201
    _write(pipeline)
    assert _state(engine)[2]["block"] is False
    with Session(engine) as s:  # a week passes
        s.execute(update(Approval).values(expires_at=utcnow() - timedelta(seconds=1)))
        s.commit()

    state = expire_approvals(JobContext(engine=engine, settings=settings, connectors={}, state={}))
    verdict, _, _, queue = _state(engine)
    assert verdict == "blocked" and queue.reason == "approval" and queue.status == "pending"
    _write(pipeline)
    assert _state(engine)[2]["block"] is True
    expire_approvals(JobContext(engine=engine, settings=settings, connectors={}, state=state))
    with Session(engine) as s:
        expired = s.exec(select(AuditLog).where(AuditLog.action == "approval.expire")).all()
    assert len(expired) == 1  # the next run does not act on it again
    listed = web.get("/api/v1/approvals?status=expired", headers=api_key("viewer")).json()
    assert [a["id"] for a in listed["items"]] == [r.json()["id"]]


def test_approval_input_is_checked(web, pipeline, api_key):
    """Each refusal names the field: a 422 invalid_request at its path, in the one shape every
    other mistake has (the service's own checks answered details {field, value})."""
    h = api_key("approver")
    cases = [
        (_body(deal_id="nope"), 404, "nope", None),
        (_body(feature_key="audit"), 422, "does not reference", "feature_key"),
        (_body(expires_at=(utcnow() - timedelta(hours=1)).isoformat()), 422, "in the past",
         "expires_at"),
        (_body(expires_at="2030-01-01T00:00:00"), 422, "timezone", "expires_at"),
        (_body(rule_id="no-such-rule"), 422, "no-such-rule", "rule_id"),
        (_body(reason="   "), 422, "reason", "reason"),
        (_body(colour="red"), 422, "colour", "colour"),
        # a number was read as 1970-01-01, the date the ledger then took as promised
        (_body(promised_date=0), 422, "promised_date", "promised_date"),
        (_body(promised_date="0"), 422, "promised_date", "promised_date"),
    ]  # fmt: skip
    for body, status, named, path in cases:
        r = web.post("/api/v1/approvals", json=body, headers=h)
        assert (r.status_code, named in r.text) == (status, True), (body, r.text)
        if path is not None:
            error = r.json()["error"]
            assert error["code"] == "invalid_request", r.text
            assert [d["path"] for d in error["details"]] == [path], r.text
    assert web.post("/api/v1/approvals", json=_body(), headers=h).status_code == 201
    r = web.post("/api/v1/approvals", json=_body(), headers=h)
    assert r.status_code == 409  # one active approval per finding
    # an approval without a rule covers every rule's finding on its feature: one naming the
    # rule is a duplicate too (it was stored, and revoking the first then blocked nothing)
    with Session(web.app.state.engine) as s:
        rule_id = s.get(Evaluation, s.exec(select(Deal)).one().last_evaluation_id).findings[0][
            "rule_id"
        ]
    r = web.post("/api/v1/approvals", json=_body(rule_id=rule_id), headers=h)
    assert r.status_code == 409, r.text


def test_only_approvers_and_admins_approve_or_revoke(web, pipeline, api_key):
    assert web.post("/api/v1/approvals", json=_body()).status_code == 401
    assert web.post("/api/v1/approvals/1/revoke").status_code == 401
    for role in ("viewer", "engineering", "revops"):
        h = api_key(role)
        assert web.post("/api/v1/approvals", json=_body(), headers=h).status_code == 403
        assert web.post("/api/v1/approvals/1/revoke", headers=h).status_code == 403
    r = web.post("/api/v1/approvals", json=_body(), headers=api_key("admin"))
    assert r.status_code == 201
    assert web.post("/api/v1/approvals/999/revoke", headers=api_key("approver")).status_code == 404


def test_an_off_roadmap_promise_is_approved_by_its_rule(web, engine, crm, pipeline, api_key):
    crm.put_deal(
        DealSnapshot(
            crm="test", deal_id="D1", name="Acme", stage=OPEN, amount=Decimal("50000"),
            close_date=date.today() + timedelta(days=30), owner_id="owner-1",
            notes=[Note(id="n1", body="We promised we'll build them a custom connector for SAP.")],
        )
    )  # fmt: skip
    pipeline.process([QueueItem(id=3, crm="test", deal_id="D1", attempts=1, reason="webhook")])
    verdict, findings, _, _ = _state(engine)
    off_roadmap = [f for f in findings if f["feature_key"] is None and f["severity"] == "block"]
    assert verdict == "blocked" and off_roadmap

    missing_rule = _body(feature_key=None)
    r = web.post("/api/v1/approvals", json=missing_rule, headers=api_key("approver"))
    assert (
        r.status_code == 422
        and "rule_id: required when feature_key is omitted" in r.json()["error"]["message"]
    )

    rule_id = off_roadmap[0]["rule_id"]
    r = web.post("/api/v1/approvals", json=_body(feature_key=None, rule_id=rule_id),
                 headers=api_key("approver", name="pat"))  # fmt: skip
    assert r.status_code == 201, r.text
    verdict, findings, _, _ = _state(engine)
    assert verdict != "blocked"
    covered = [f for f in findings if f["feature_key"] is None and f["rule_id"] == rule_id]
    assert covered and all(f["approved"] and f["approved_by"] == "pat" for f in covered)


@pytest.fixture
def approval_rows(engine):
    """Five approvals: three active, one expired, one revoked, created a day apart."""
    import datetime as dt

    now = utcnow()
    day = dt.timedelta(days=1)
    with Session(engine) as s:
        for i, (approver, key, expires, revoked) in enumerate([
            ("pat", "sso", now + 10 * day, False),
            ("lee", "scim", now + 3 * day, False),
            ("pat", "audit", now - day, False),  # expired
            ("ann", "sso", now + 5 * day, True),  # revoked
            ("lee", "api", now + 7 * day, False),
        ]):  # fmt: skip
            s.add(Approval(crm="test", deal_id=f"D{i}", feature_key=key, reason=f"why {i}",
                           approver=approver, expires_at=expires,
                           created_at=now - (10 - i) * day,
                           revoked_at=now - day if revoked else None,
                           revoked_by="root" if revoked else None))  # fmt: skip
        s.commit()


@pytest.mark.parametrize(
    ("query", "expected", "total"),
    [
        ("", ["D4", "D3", "D2", "D1", "D0"], 5),  # newest first
        ("sort=created_at", ["D0", "D1", "D2", "D3", "D4"], 5),
        ("sort=expires_at", ["D2", "D1", "D3", "D4", "D0"], 5),
        ("sort=approver,-created_at", ["D3", "D4", "D1", "D2", "D0"], 5),
        ("sort=-feature_key", ["D0", "D3", "D1", "D2", "D4"], 5),  # equal keys: by id
        ("limit=2", ["D4", "D3"], 5),
        ("limit=2&offset=2", ["D2", "D1"], 5),
        ("limit=2&offset=4", ["D0"], 5),
        ("limit=2&offset=9", [], 5),
        ("status=active&sort=deal_id&limit=2&offset=1", ["D1", "D4"], 3),
        ("approver=pat&sort=expires_at", ["D2", "D0"], 2),
    ],
)
def test_approval_list_pages_and_sorts(client, api_key, approval_rows, query, expected, total):
    r = client.get(f"/api/v1/approvals?{query}", headers=api_key("viewer"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert ([a["deal_id"] for a in body["items"]], body["total"]) == (expected, total)


def test_approval_list_csv_has_every_row_with_its_status(client, api_key, approval_rows):
    from app.api.approvals import APPROVAL_COLUMNS

    h = api_key("engineering")
    r = client.get("/api/v1/approvals?sort=created_at", headers={**h, "Accept": "text/csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'filename="approvals.csv"' in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert list(rows[0]) == APPROVAL_COLUMNS
    assert [(x["deal_id"], x["approver"], x["feature_key"], x["status"]) for x in rows] == [
        ("D0", "pat", "sso", "active"),
        ("D1", "lee", "scim", "active"),
        ("D2", "pat", "audit", "expired"),
        ("D3", "ann", "sso", "revoked"),
        ("D4", "lee", "api", "active"),
    ]
    assert (rows[3]["revoked_by"], rows[0]["revoked_by"], rows[0]["reason"]) == (
        "root",
        "",
        "why 0",
    )
    assert r.headers["x-total-count"] == "5"
    r = client.get("/api/v1/approvals?status=expired&format=csv", headers=h)
    assert [x["deal_id"] for x in csv.DictReader(io.StringIO(r.text))] == ["D2"]
    assert client.get("/api/v1/approvals?sort=reason", headers=h).status_code == 422


@pytest.mark.slow
def test_parallel_approvals_of_one_finding_make_one_and_parallel_revokes_revoke_once(
    make_app, crm, engine, pipeline, api_key
):
    """Sent at once, with every read of approvals slowed so each request sits between its
    duplicate check and its insert: one approval (201), the others 409; revoking it from
    several requests at once revokes it once."""
    from fastapi.testclient import TestClient

    from tests.api.test_concurrent_writes import in_parallel, slow_reads

    headers = api_key("approver", name="pat")
    with TestClient(make_app(connectors={"test": crm}), raise_server_exceptions=False) as web:
        with slow_reads(engine, "approval"):
            answers = in_parallel(
                lambda _: web.post("/api/v1/approvals", json=_body(), headers=headers), n=4
            )
        assert sorted(r.status_code for r in answers) == [201, 409, 409, 409], [
            r.text for r in answers
        ]
        (approval_id,) = [r.json()["id"] for r in answers if r.status_code == 201]
        with slow_reads(engine, "approval"):
            revokes = in_parallel(
                lambda _: web.post(f"/api/v1/approvals/{approval_id}/revoke", headers=headers),
                n=4,
            )
        assert sorted(r.status_code for r in revokes) == [200, 409, 409, 409]
    with Session(engine) as s:
        assert len(s.exec(select(Approval)).all()) == 1
        revoked = s.exec(select(AuditLog).where(AuditLog.action == "approval.revoke")).all()
    assert len(revoked) == 1


# --- what an approval covers: the findings it was given for, no more -----------------------

FAR = date(2030, 9, 30)  # SSO's target date, well after every deal's close date


@pytest.fixture
def late(engine, settings, make_app, api_key):
    """SSO coming soon (target FAR), Audit Log available; a deal per call of `put`."""
    from fastapi.testclient import TestClient

    from app.services.rules_service import install_default_rules

    with Session(engine) as s:
        s.add(
            Feature(
                key="sso",
                name="Single Sign-On",
                aliases=["SSO"],
                availability="coming_soon",
                target_date=FAR,
            )
        )
        s.add(Feature(key="audit-log", name="Audit Log", availability="available"))
        install_default_rules(s)
        s.commit()  # fmt: skip
    crm = TestCrmConnector(engine)
    pipeline = DealPipeline(engine, settings, {"test": crm})

    def put(deal_id: str, *notes: str) -> None:
        crm.put_deal(
            DealSnapshot(
                crm="test", deal_id=deal_id, name=f"Acme {deal_id}", stage=OPEN,
                amount=Decimal("50000"), close_date=date.today() + timedelta(days=45),
                owner_id="owner-1",
                notes=[Note(id=f"n{i}", body=b) for i, b in enumerate(notes)],
            )
        )  # fmt: skip
        pipeline.process([QueueItem(id=1, crm="test", deal_id=deal_id, attempts=1, reason="x")])

    def verdict(deal_id: str) -> str:
        with Session(engine) as s:
            return s.exec(select(Deal.verdict).where(Deal.deal_id == deal_id)).one()

    with TestClient(make_app(connectors={"test": crm})) as web:
        yield {"web": web, "put": put, "verdict": verdict, "approver": api_key("approver"),
               "revops": api_key("revops"), "pipeline": pipeline}  # fmt: skip


def _approve(late, **body):
    return late["web"].post(
        "/api/v1/approvals",
        json={"crm": "test", "reason": "Strategic account",
              "expires_at": (utcnow() + timedelta(days=7)).isoformat(), **body},
        headers=late["approver"],
    )  # fmt: skip


def test_an_approval_of_a_late_date_does_not_cover_the_feature_being_cancelled(late):
    """Approved: SSO promised by March 2030, before its target but after the close date. When
    product then cancels SSO, the deal depends on a feature that will never exist: nobody
    approved that, and the block comes back (it stayed lifted, "[APPROVED by pat] Single
    Sign-On is not going to be built")."""
    late["put"]("D1", "We promised SSO by March 2030.")
    assert late["verdict"]("D1") == "blocked"
    r = _approve(late, deal_id="D1", feature_key="sso", promised_date="2030-03-31")
    assert r.status_code == 201, r.text
    [covered] = r.json()["covers"]
    assert covered["feature_key"] == "sso" and covered["rule_id"] != "never-blocks"
    assert late["verdict"]("D1") == "warning"

    r = late["web"].patch(
        "/api/v1/features/sso",
        json={"availability": "never", "target_date": None},
        headers=late["revops"],
    )
    assert r.status_code == 200, r.text
    late["pipeline"].process(
        [QueueItem(id=2, crm="test", deal_id="D1", attempts=1, reason="roadmap")]
    )

    assert late["verdict"]("D1") == "blocked"


def test_an_off_roadmap_approval_covers_the_promise_it_was_given_for_not_a_later_one(late):
    late["put"]("D1", "We'll build them a custom SAP connector by Q2 2030.")
    r = _approve(late, deal_id="D1", rule_id="unknown-promised")
    assert r.status_code == 201, r.text
    assert [c["evidence"] for c in r.json()["covers"]] == [
        "We'll build them a custom SAP connector by Q2 2030."
    ]
    assert late["verdict"]("D1") == "warning"

    late["put"](
        "D1",
        "We'll build them a custom SAP connector by Q2 2030.",
        "We promised them a blockchain audit trail by January.",
    )

    assert late["verdict"]("D1") == "blocked"  # the second promise is nobody's approval


def test_an_approval_on_a_feature_with_no_problem_is_refused(late, engine):
    """It was a 201 "active" that changed nothing, and later silently lifted the block the
    feature's cancellation brought."""
    late["put"]("D1", "They need the Audit Log.")
    assert late["verdict"]("D1") == "clear"

    r = _approve(late, deal_id="D1", feature_key="audit-log")

    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"][0]["path"] == "feature_key"
    assert "no warning or block on feature 'audit-log'" in r.json()["error"]["message"]
    with Session(engine) as s:
        assert s.exec(select(Approval)).all() == []


def test_an_approval_for_an_earlier_date_than_promised_is_refused_then_the_right_one_passes(
    late, engine
):
    """A promised_date before the promise covered nothing but was "active", and the right
    approval then got a 409 "approval 1 already covers this finding"."""
    late["put"]("D1", "We promised SSO by March 2030.")

    early = _approve(late, deal_id="D1", feature_key="sso", promised_date="2030-01-31")

    assert early.status_code == 422, early.text
    assert early.json()["error"]["details"][0]["path"] == "promised_date"
    assert "2030-03-31" in early.json()["error"]["message"]
    right = _approve(late, deal_id="D1", feature_key="sso", promised_date="2030-03-31")
    assert right.status_code == 201, right.text
    assert late["verdict"]("D1") == "warning"
    again = _approve(late, deal_id="D1", feature_key="sso")
    assert (
        again.status_code == 409
        and again.json()["error"]["details"]["approval_id"] == (right.json()["id"])
    )
    with Session(engine) as s:
        assert len(s.exec(select(Approval)).all()) == 1


def test_a_finding_covered_by_several_approvals_names_them_all(late):
    """The 409 said "approval 1, 2 already covers this finding" and details named only 1."""
    late["put"]("D1", "We will have SSO by Q1 2030. We'll build SSO for them.")
    first = _approve(late, deal_id="D1", feature_key="sso", rule_id="promised-past-target")
    assert first.status_code == 201, first.text
    second = _approve(late, deal_id="D1", feature_key="sso")
    assert second.status_code == 201, second.text
    ids = [first.json()["id"], second.json()["id"]]

    again = _approve(late, deal_id="D1", feature_key="sso")

    assert again.status_code == 409, again.text
    error = again.json()["error"]
    assert error["message"] == (
        f"approvals {ids[0]} and {ids[1]} already cover this finding; revoke them first"
    )
    assert error["details"] == {"approval_id": ids[0], "approval_ids": ids}


def test_a_date_without_a_timezone_says_what_to_write(late):
    r = _approve(late, deal_id="D1", feature_key="sso", expires_at="2030-06-30")
    assert r.status_code == 422
    [detail] = r.json()["error"]["details"]
    assert detail["msg"] == "must include a timezone, e.g. 2030-06-30T00:00:00Z (UTC)"
    assert r.json()["error"]["message"] == f"expires_at: {detail['msg']}"


def test_a_misspelt_crm_is_named_not_answered_as_a_missing_deal(web, pipeline, api_key):
    """`crm: "HubSpot"` answered 404 "no deal 'D1' in crm 'HubSpot'" (the deal looked missing,
    not the CRM misspelt), and `GET /api/v1/approvals?crm=Test` an empty list: both are a 422
    at `crm` naming the CRM meant, as the deal lists' `crm` filter is."""
    h = api_key("approver")
    for crm, meant in (("Test", "test"), ("hubspott", "hubspot"), ("HubSpot", "hubspot")):
        r = web.post("/api/v1/approvals", json=_body(crm=crm), headers=h)
        assert r.status_code == 422, r.text
        error = r.json()["error"]
        assert error["code"] == "invalid_request"
        assert [d["path"] for d in error["details"]] == ["crm"]
        assert f"unknown CRM '{crm}'; did you mean '{meant}'?" in error["details"][0]["msg"]
    r = web.get("/api/v1/approvals", params={"crm": "Test"}, headers=h)
    assert r.status_code == 422, r.text
    assert [d["path"] for d in r.json()["error"]["details"]] == ["query.crm"]
    assert "did you mean 'test'?" in r.text
    r = web.post("/api/v1/approvals", json=_body(), headers=h)
    assert r.status_code == 201, r.text
    listed = web.get("/api/v1/approvals", params={"crm": "test"}, headers=h).json()
    assert [a["id"] for a in listed["items"]] == [r.json()["id"]]
    assert web.get("/api/v1/approvals", params={"crm": ""}, headers=h).json()["total"] == 1


def test_the_openapi_document_describes_what_approvals_answer(web, pipeline, api_key):
    """The three approval routes declared no answer at all (`{}`) and auto-generated operation
    ids (`create_approval_api_v1_approvals_post`): a client generated from the document had
    no type for an approval, its `status` or the `requeued` deals. Each now names its model,
    and what the routes answer is that model."""
    spec = web.get("/openapi.json").json()
    ops = {
        (method, path): op
        for path, item in spec["paths"].items()
        if path.startswith("/api/v1/approvals")
        for method, op in item.items()
    }
    schemas = spec["components"]["schemas"]

    def ok(method, path, status):
        op = ops[(method, path)]
        return op["operationId"], op["responses"][status]["content"]

    op_id, content = ok("post", "/api/v1/approvals", "201")
    assert (op_id, content["application/json"]["schema"]) == (
        "create_approval",
        {"$ref": "#/components/schemas/ApprovalChange"},
    )
    op_id, content = ok("post", "/api/v1/approvals/{approval_id}/revoke", "200")
    assert op_id == "revoke_approval"
    assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/ApprovalChange"}
    op_id, content = ok("get", "/api/v1/approvals", "200")
    assert op_id == "list_approvals"
    assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/ApprovalPage"}
    assert "text/csv" in content
    status = schemas["ApprovalPublic"]["properties"]["status"]
    assert status["enum"] == ["active", "expired", "revoked"]

    h = api_key("approver")
    created = web.post("/api/v1/approvals", json=_body(), headers=h)
    assert created.status_code == 201, created.text
    change_fields = set(schemas["ApprovalChange"]["properties"])
    assert set(created.json()) == change_fields
    assert created.json()["status"] == "active" and created.json()["covers"]
    page = web.get("/api/v1/approvals", headers=h).json()
    assert set(page) == set(schemas["ApprovalPage"]["properties"])
    assert [set(a) for a in page["items"]] == [set(schemas["ApprovalPublic"]["properties"])]
    revoked = web.post(f"/api/v1/approvals/{created.json()['id']}/revoke", headers=h)
    assert revoked.status_code == 200 and set(revoked.json()) == change_fields
    assert revoked.json()["status"] == "revoked"


def test_a_deal_id_pasted_with_whitespace_names_the_deal(web, pipeline, api_key):
    """A deal id pasted from a report or a spreadsheet cell ("D1 ", "D1\\n") answered 404 "no
    deal 'D1 ' in crm 'test'"; the whitespace around it (and around the crm) is not part of
    it. A blank one is a 422 at deal_id."""
    h = api_key("approver")
    r = web.post("/api/v1/approvals", json=_body(deal_id="   "), headers=h)
    assert r.status_code == 422, r.text
    assert [d["path"] for d in r.json()["error"]["details"]] == ["deal_id"]
    r = web.post("/api/v1/approvals", json=_body(deal_id=" D1\n", crm="test "), headers=h)
    assert r.status_code == 201, r.text
    assert (r.json()["crm"], r.json()["deal_id"]) == ("test", "D1")


def test_a_promise_moved_earlier_than_the_approved_date_blocks_again(late):
    """Approved: SSO promised by March 2030. The rep then promises January 2030, a date product
    never agreed to (riskier: less time to build it): it was still covered and the deal could
    close on it. An approval for a later date than the promise is refused, naming the date."""
    late["put"]("D1", "We promised SSO by March 2030.")
    later = _approve(late, deal_id="D1", feature_key="sso", promised_date="2030-06-30")
    assert later.status_code == 422, later.text
    assert "is not the date the deal promises (2030-03-31)" in later.json()["error"]["message"]
    r = _approve(late, deal_id="D1", feature_key="sso", promised_date="2030-03-31")
    assert r.status_code == 201, r.text
    assert late["verdict"]("D1") == "warning"

    late["put"]("D1", "We promised SSO by January 2030.")

    assert late["verdict"]("D1") == "blocked"
