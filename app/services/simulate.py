"""Rule simulation: run a draft rule set against the stored deal snapshots (or snapshots sent
in the request) and compare with the rules in force. Writes nothing: only SELECTs run, and the
callers roll the session back.

Draft semantics with base="current": a draft whose id matches a current rule replaces it (a
draft with enabled=false switches it off; one without "enabled" keeps the stored rule on or
off, as a PUT of it would); other drafts are added. base="none": the drafts
alone. References are found once per deal and shared by the before and after evaluations.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError
from sqlalchemy import select
from sqlmodel import Session

from app.errors import did_you_mean
from app.models import Deal, Rule, utcnow
from app.models.types import RequestDate
from app.rules.model import (
    KNOWN_CRMS,
    ApprovalGrant,
    DealSnapshot,
    Finding,
    VerdictStatus,
    human_deal_shape,
)
from app.rules.schema import RuleDefinition

Progress = Callable[[int, int], None]
CHUNK = 500  # deals per read and per progress report; run_simulation(chunk_size=) overrides it


class SimulatedSnapshot(DealSnapshot):
    """A deal to simulate, in the shape the test CRM takes (`stage` as its id, line items and
    notes without ids) or the full snapshot shape; `crm` one roadmap-guard knows."""

    @model_validator(mode="before")
    @classmethod
    def _human_shape(cls, data: Any) -> Any:
        return human_deal_shape(data)

    @field_validator("crm")
    @classmethod
    def _known_crm(cls, crm: str) -> str:
        if crm not in KNOWN_CRMS:
            raise ValueError(
                f"unknown CRM '{crm}'{did_you_mean(crm, KNOWN_CRMS)} (one of: "
                + ", ".join(KNOWN_CRMS)
                + ")"
            )
        return crm

    @model_validator(mode="after")
    def _stored_id(self) -> SimulatedSnapshot:
        """The deal's id as roadmap-guard keeps it: a Salesforce report's 15-character id lost
        the deal's approvals (kept under the 18-character one) and simulated it as blocked."""
        from app.connectors.registry import canonical_deal_id

        self.deal_id = canonical_deal_id(self.crm, self.deal_id)
        return self


class SimulateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: list[RuleDefinition] = Field(default_factory=list, max_length=500)
    base: Literal["current", "none"] = Field(
        default="current",
        description="current: drafts replace same-id rules and add to the rules in force; "
        "none: the drafts alone",
    )
    snapshots: list[SimulatedSnapshot] | None = Field(
        default=None, max_length=5000, description="evaluate these instead of the stored deals"
    )
    include_closed: bool = False
    only_changed: bool = Field(default=True, description="list only deals whose result changed")
    limit: int = Field(default=100, ge=0, le=1000, description="deals listed in the answer")
    offset: int = Field(default=0, ge=0)
    today: RequestDate | None = Field(
        default=None,
        description="evaluate as on this day (YYYY-MM-DD; default today where the sales team "
        "works); on a later day, approvals that will have expired by then lift nothing",
    )

    @model_validator(mode="after")
    def _ids_are_unique(self) -> SimulateRequest:
        """Two drafts with one id would both run (and both replace the same rule in force):
        refused at the repeating draft's id, `rules[1].id`."""
        first: dict[str, int] = {}
        errors: list[InitErrorDetails] = []
        for i, rule in enumerate(self.rules):
            if rule.id is None:
                continue
            if rule.id in first:
                message = (
                    f"'{rule.id}' repeats rules[{first[rule.id]}].id: each draft needs its own id"
                )
                errors.append(
                    {
                        "type": PydanticCustomError("value_error", "{reason}", {"reason": message}),
                        "loc": ("rules", i, "id"),
                        "input": rule.id,
                    }
                )
            else:
                first[rule.id] = i
        if errors:
            raise ValidationError.from_exception_data(type(self).__name__, errors)
        return self

    @field_validator("snapshots")
    @classmethod
    def _deals_are_unique(cls, snapshots: list[DealSnapshot] | None) -> list[DealSnapshot] | None:
        """The same deal twice would be counted twice in every figure of the answer."""
        first: dict[tuple[str, str], int] = {}
        for i, snapshot in enumerate(snapshots or []):
            key = (snapshot.crm, snapshot.deal_id)
            if key in first:
                raise ValueError(
                    f"snapshots[{i}] repeats snapshots[{first[key]}] (crm '{snapshot.crm}', "
                    f"deal_id '{snapshot.deal_id}'): post each deal once"
                )
            first[key] = i
        return snapshots


class SimulatedDeal(BaseModel):
    crm: str
    deal_id: str
    name: str
    before: VerdictStatus
    after: VerdictStatus
    verdict_changed: bool
    findings_before: list[Finding]
    findings_after: list[Finding]


class SimulationResult(BaseModel):
    processed: int
    total: int
    rules_before: list[str]
    rules_after: list[str]
    before: dict[str, int]
    after: dict[str, int]
    changed: int = Field(description="deals whose verdict changed")
    findings_changed: int = Field(description="deals whose findings changed (verdict or not)")
    matching: int = Field(description="deals that qualify for the list; page with offset/limit")
    offset: int
    deals: list[SimulatedDeal]


def refuse_deleted_ids(session: Session, request: SimulateRequest) -> None:
    """A draft with a deleted rule's id is refused, as creating it is: saving it would not
    work (restore the rule first), so simulating it would predict what cannot happen."""
    from app.errors import InvalidRequest
    from app.services.rules_service import deleted_message

    named = {d.id: i for i, d in reversed(list(enumerate(request.rules))) if d.id}
    if not named:
        return
    deleted = set(
        session.execute(
            select(Rule.id).where(Rule.id.in_(sorted(named)), Rule.deleted_at.is_not(None))
        ).scalars()
    )
    if deleted:
        errors = [
            {
                "loc": ("rules", i, "id"),
                "msg": f"{deleted_message(rule_id)}, or choose another id",
                "type": "value_error",
            }
            for rule_id, i in sorted(named.items(), key=lambda item: item[1])
            if rule_id in deleted
        ]
        raise InvalidRequest(errors, rendered=True)


def rule_sets(session: Session, request: SimulateRequest):
    from app.rules.engine import StoredRule
    from app.services.catalog import load_rules

    refuse_deleted_ids(session, request)
    current = load_rules(session)
    # Every stored rule, switched off and deleted ones too: a draft without an id must not
    # take one of theirs (and so replace it), and a draft of one carries its next version.
    stored_version: dict[str, int] = {}
    stored_enabled: dict[str, bool] = {}
    for rule_id, version, enabled in session.execute(select(Rule.id, Rule.version, Rule.enabled)):
        stored_version[rule_id] = version
        stored_enabled[rule_id] = enabled
    drafts = []
    named = {d.id for d in request.rules if d.id}
    taken = named | set(stored_version)
    for i, definition in enumerate(request.rules):
        rule_id = definition.id
        if rule_id is None:  # draft-N, past any id a draft was given or a rule has
            n = i + 1
            while f"draft-{n}" in taken:
                n += 1
            rule_id = f"draft-{n}"
            taken.add(rule_id)
        # A draft of a stored rule carries the version it would get when saved; a new one, 0.
        version = stored_version[rule_id] + 1 if rule_id in stored_version else 0
        # As a PUT of the draft would: without "enabled" a stored rule stays on or off as it is.
        enabled = definition.enabled
        if "enabled" not in definition.model_fields_set and rule_id in stored_enabled:
            enabled = stored_enabled[rule_id]
        drafts.append(
            StoredRule(id=rule_id, version=version, enabled=enabled, definition=definition)
        )
    if request.base == "none":
        after = [d for d in drafts if d.enabled]
    else:
        replaced = named  # only a draft that names a rule replaces it
        after = [r for r in current if r.id not in replaced] + [d for d in drafts if d.enabled]
    return current, after


def _stored_snapshots(
    session: Session, include_closed: bool, chunk_size: int
) -> tuple[int, Iterator[list[tuple[str, DealSnapshot]]]]:
    """The deals to simulate, chosen once (their row ids, read now), then read chunk by chunk,
    each chunk in its own short read transaction: on SQLite every transaction takes the write
    lock (BEGIN IMMEDIATE), and a long simulation must not hold it against webhooks and the
    worker. The chunks read those deals and no others, each as stored when its chunk is read:
    re-applying the filter per chunk read a deal stored meanwhile too (the progress went past
    its total, 4 of 3) and skipped one closed meanwhile (it stopped short, 2 of 3)."""
    # Only deals read at least once: one queued but not yet read (a webhook or backfill in
    # flight) has no snapshot to evaluate, and counted in `total` it left `processed` short of
    # it at the end (the progress read as stuck).
    conditions = [Deal.tracked == True, Deal.snapshot_at.is_not(None)]  # noqa: E712
    if not include_closed:
        conditions.append(Deal.is_closed == False)  # noqa: E712
    ids = list(session.execute(select(Deal.id).where(*conditions).order_by(Deal.id)).scalars())
    bind = session.get_bind()

    def chunks() -> Iterator[list[tuple[str, DealSnapshot]]]:
        for start in range(0, len(ids), chunk_size):
            with Session(bind) as short:
                rows = short.execute(
                    select(Deal.id, Deal.snapshot)
                    .where(Deal.id.in_(ids[start : start + chunk_size]))
                    .order_by(Deal.id)
                ).all()
                short.rollback()
            # A deal row is never deleted and its snapshot never emptied once read.
            yield [(str(r[0]), DealSnapshot.model_validate(r[1])) for r in rows if r[1]]

    return len(ids), chunks()


def _posted(
    snapshots: list[DealSnapshot], chunk_size: int
) -> Iterator[list[tuple[str, DealSnapshot]]]:
    for start in range(0, len(snapshots), chunk_size):
        yield [(str(i), s) for i, s in enumerate(snapshots[start : start + chunk_size], start)]


def _grants(
    session: Session, snapshots: list[DealSnapshot], now
) -> dict[tuple[str, str], list[ApprovalGrant]]:
    from app.services.pipeline import grants_by_deal

    by_crm: dict[str, list[str]] = {}
    for s in snapshots:
        by_crm.setdefault(s.crm, []).append(s.deal_id)
    out: dict[tuple[str, str], list[ApprovalGrant]] = {}
    for crm, ids in by_crm.items():
        for deal_id, grants in grants_by_deal(session, crm, ids, now).items():
            out[(crm, deal_id)] = grants
    return out


def approvals_as_of(now: datetime, today: date, catalog) -> datetime:
    """The moment whose approvals a simulation counts: now, or for a day after today the start
    of that day where the sales team works. Simulating a later day counted an approval that
    will have expired by then, and a deal blocked on that day read as approved."""
    from app.rules.catalog import time_zone

    if today <= catalog.local_date(now):
        return now
    return datetime.combine(today, time.min, tzinfo=time_zone(catalog.timezone)).astimezone(UTC)


def _unversioned(findings: list[Finding]) -> list[Finding]:
    """Findings as the rep sees them: a draft's rule version is not a change of its findings
    (an unchanged draft, or one with only a new description, changes nothing on any deal)."""
    return [f.model_copy(update={"rule_version": 0}) for f in findings]


def run_simulation(
    session: Session,
    request: SimulateRequest,
    *,
    progress: Progress | None = None,
    chunk_size: int | None = None,
) -> SimulationResult:
    """Progress is reported before the first deal and after each chunk of `chunk_size` deals
    (default CHUNK, read at call time)."""
    from app.rules.engine import evaluate
    from app.rules.references import find_references
    from app.services.catalog import load_catalog

    now = utcnow()
    catalog = load_catalog(session)
    today = request.today or catalog.local_date(now)
    as_of = approvals_as_of(now, today, catalog)
    before_rules, after_rules = rule_sets(session, request)
    size = chunk_size or CHUNK
    if size < 1:
        raise ValueError("chunk_size must be at least 1")
    if request.snapshots is not None:
        total, chunks = len(request.snapshots), _posted(request.snapshots, size)
    else:
        total, chunks = _stored_snapshots(session, request.include_closed, size)

    counts_before: Counter[str] = Counter()
    counts_after: Counter[str] = Counter()
    changed = findings_changed = processed = matched = 0
    listed: list[SimulatedDeal] = []
    if progress:
        progress(0, total)
    session.rollback()  # end the set-up read; each chunk reads in its own short transaction
    for chunk in chunks:
        with Session(session.get_bind()) as short:
            grants = _grants(short, [s for _, s in chunk], as_of)
            short.rollback()
        for _, snapshot in chunk:
            approvals = grants.get((snapshot.crm, snapshot.deal_id), [])
            references = find_references(snapshot, catalog, today=today)
            before = evaluate(snapshot, catalog, before_rules, approvals=approvals, today=today,
                              references=references)  # fmt: skip
            after = evaluate(snapshot, catalog, after_rules, approvals=approvals, today=today,
                             references=references)  # fmt: skip
            processed += 1
            counts_before[before.status.value] += 1
            counts_after[after.status.value] += 1
            verdict_changed = before.status != after.status
            differs = verdict_changed or (
                before.findings != after.findings
                and _unversioned(before.findings) != _unversioned(after.findings)
            )
            changed += verdict_changed
            findings_changed += differs
            if differs or not request.only_changed:
                if request.offset <= matched < request.offset + request.limit:
                    listed.append(
                        SimulatedDeal(
                            crm=snapshot.crm,
                            deal_id=snapshot.deal_id,
                            name=snapshot.name,
                            before=before.status,
                            after=after.status,
                            verdict_changed=verdict_changed,
                            findings_before=before.findings,
                            findings_after=after.findings,
                        )
                    )
                matched += 1
        if progress:
            progress(processed, total)
    verdicts = [v.value for v in VerdictStatus]
    return SimulationResult(
        processed=processed,
        total=total,
        rules_before=[r.id for r in before_rules],
        rules_after=[r.id for r in after_rules],
        before={v: counts_before[v] for v in verdicts},
        after={v: counts_after[v] for v in verdicts},
        changed=changed,
        findings_changed=findings_changed,
        matching=matched,
        offset=request.offset,
        deals=listed,
    )
