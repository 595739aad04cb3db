"""Roadmap what-if: which open deals, and how much pipeline, a change to one feature would
block or clear, before anyone makes it.

Engineering and product ask "if SSO slips to Q3, or we drop it, who is hurt?" before they
decide. The answer re-evaluates the feature's open dependants from their stored snapshots twice,
under the roadmap as it is and with the feature changed, with the rules and approvals in force,
and compares. Nothing is written: no evaluation, no queue row, no audit entry (the session is
only read).

The notes are not read again where the deal's last evaluation saw its current snapshot: its
stored references are reused (an availability or date change cannot change what a note names),
as the roadmap fan-out does. Amounts are what the deal adds to pipeline totals (its amount in
the CRM's company currency where converted: `queries.pipeline_amount`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select, true
from sqlmodel import Session

from app.errors import InvalidRequest, NotFound, did_you_mean
from app.models import Deal, DealFeature, Evaluation, utcnow
from app.models import Feature as FeatureRow
from app.models.types import RequestDate
from app.rules.model import Availability, DealSnapshot, Feature, FeatureReference, Finding
from app.services.queries import amounts_currency, money, pipeline_amount

CHUNK = 500  # deals read and evaluated at a time


class _Tried(BaseModel):
    """What to try for one feature: its availability, its target date, or both."""

    model_config = ConfigDict(extra="forbid")

    availability: Availability | None = Field(
        default=None, description="the availability to try (unset: as it is)"
    )
    # A date as YYYY-MM-DD: a number (`0`, "0") was read as Unix time, 1970-01-01, and a
    # scenario nobody asked for was answered.
    target_date: RequestDate | None = Field(
        default=None, description="the target date to try; null: no date (unset: as it is)"
    )

    @model_validator(mode="after")
    def _changes_something(self) -> _Tried:
        if not ({"availability", "target_date"} & self.model_fields_set):
            raise ValueError("give availability, target_date or both: nothing to try otherwise")
        if "availability" in self.model_fields_set and self.availability is None:
            raise ValueError("availability cannot be null: leave it out to keep it as it is")
        return self

    def applied(self, feature: Feature) -> Feature:
        changes: dict[str, Any] = {}
        if self.availability is not None:
            changes["availability"] = self.availability
        if "target_date" in self.model_fields_set:
            changes["target_date"] = self.target_date
        return feature.model_copy(update=changes)


class _Listing(BaseModel):
    only_changed: bool = Field(default=True, description="list only deals whose result changes")
    limit: int = Field(default=100, ge=0, le=1000, description="deals listed in the answer")
    offset: int = Field(default=0, ge=0)


class WhatIfRequest(_Tried, _Listing):
    """One feature's change (POST /api/v1/features/{key}/what-if)."""


MAX_KEY_LENGTH = 128  # a feature key's column


class FeatureChange(_Tried):
    feature_key: str = Field(min_length=1, max_length=MAX_KEY_LENGTH)


class ScenarioRequest(_Listing):
    """Several features changed at once (POST /api/v1/roadmap/what-if): a release cut, a
    quarter's plan slipping."""

    model_config = ConfigDict(extra="forbid")

    # One change per feature, each on the roadmap: checked with the roadmap at hand
    # (`features_as_they_are`), so each mistake is named at its change's feature_key.
    changes: list[FeatureChange] = Field(min_length=1, max_length=100)


class PipelineFigure(BaseModel):
    deal_count: int = 0
    amount: float = 0.0
    currency: str | None = Field(
        default=None, description="the one currency of the amounts, null when mixed or unknown"
    )
    mixed_currencies: bool = Field(
        default=False,
        description="the amount adds several currencies (deals the CRM did not convert): it is "
        "no amount of any one of them",
    )


class FeatureTried(BaseModel):
    feature_key: str
    feature_name: str
    availability: dict[str, str] = Field(description="before and after")
    target_date: dict[str, date | None] = Field(description="before and after")


class WhatIfDeal(BaseModel):
    crm: str
    deal_id: str
    name: str
    owner_name: str | None
    owner_id: str | None = Field(description="the CRM's owner id (shown where it gives no name)")
    stage_label: str | None
    stage_id: str | None = Field(description="the CRM's stage id (shown where it gives no label)")
    close_date: date | None
    amount: float | None = Field(description="what the deal adds to pipeline totals")
    currency: str | None
    before: str
    after: str
    findings_after: list[Finding] = Field(
        description="the findings on the changed features, after, and the deal-level findings "
        "(no feature_key) the change brings"
    )


class WhatIfResult(BaseModel):
    features: list[FeatureTried]
    deals: int = Field(description="open deals depending on a changed feature, evaluated twice")
    before: dict[str, int]
    after: dict[str, int]
    changed: int = Field(description="deals whose verdict or findings change")
    newly_blocked: PipelineFigure
    no_longer_blocked: PipelineFigure
    matching: int = Field(description="deals that qualify for the list; page with offset/limit")
    offset: int
    items: list[WhatIfDeal]


class _ChangedCatalog:
    """The catalog with some features replaced, for evaluation from stored references (which
    reads features through `get` alone)."""

    def __init__(self, catalog: Any, features: dict[str, Feature]) -> None:
        self._catalog = catalog
        self._features = features

    def get(self, key: str | None) -> Feature | None:
        tried = self._features.get(key) if key is not None else None
        return tried if tried is not None else self._catalog.get(key)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._catalog, name)


def what_if(
    session: Session,
    key: str,
    request: WhatIfRequest,
    progress: Callable[[int, int], None] | None = None,
) -> WhatIfResult:
    """One feature's change: the scenario of that change alone."""
    if len(key) > MAX_KEY_LENGTH:
        # no feature has such a key (the path's key was a 500 through the model's check)
        raise NotFound(f"feature '{key}' is not on the roadmap")
    change = FeatureChange(
        feature_key=key,
        **request.model_dump(include=request.model_fields_set & {"availability", "target_date"}),
    )
    alone = ScenarioRequest(
        changes=[change],
        only_changed=request.only_changed,
        limit=request.limit,
        offset=request.offset,
    )
    return run_scenario(session, alone, progress, scenario=False)


def features_as_they_are(
    session: Session, changes: list[FeatureChange], *, scenario: bool = True
) -> dict[str, Feature]:
    """The changed features as the roadmap has them now.

    A scenario (`scenario`) is refused with a 422 invalid_request naming each change whose
    feature is not on the roadmap, or that repeats a feature, at ("changes", i,
    "feature_key"), streamed or not, before anything runs. One feature's what-if names its
    feature in the path: a key not on the roadmap is a 404."""
    from app.services.catalog import feature_from_row

    current: dict[str, Feature] = {}
    first: dict[str, int] = {}
    errors: list[dict[str, Any]] = []
    roadmap: list[str] | None = None  # its keys, read at the first unknown one, to suggest

    def unknown(key: str) -> str:
        nonlocal roadmap
        if roadmap is None:
            roadmap = list(session.execute(select(FeatureRow.key)).scalars())
        return f"feature '{key}' is not on the roadmap{did_you_mean(key, roadmap)}"

    for i, change in enumerate(changes):
        key = change.feature_key
        if key in first:
            errors.append(
                _change_error(i, f"'{key}' repeats changes[{first[key]}]: one change per feature")
            )
            continue
        first[key] = i
        row = session.get(FeatureRow, key)
        if row is None:
            if not scenario:
                raise NotFound(unknown(key))
            errors.append(_change_error(i, unknown(key)))
        else:
            current[key] = feature_from_row(row)
    if errors:
        raise InvalidRequest(errors, rendered=True)
    return current


def _change_error(index: int, msg: str) -> dict[str, Any]:
    return {"loc": ("changes", index, "feature_key"), "msg": msg, "type": "value_error"}


def run_scenario(
    session: Session,
    request: ScenarioRequest,
    progress: Callable[[int, int], None] | None = None,
    *,
    scenario: bool = True,
) -> WhatIfResult:
    """`progress(done, total)` after each chunk of deals (a streamed answer shows it);
    `scenario`: False for one feature's what-if (see `features_as_they_are`)."""
    from app.rules.engine import evaluate
    from app.rules.references import find_references
    from app.services.catalog import load_catalog_and_matcher, load_rules
    from app.services.pipeline import grants_by_deal

    current = features_as_they_are(session, request.changes, scenario=scenario)
    tried = {c.feature_key: c.applied(current[c.feature_key]) for c in request.changes}
    keys = set(tried)
    catalog, matcher = load_catalog_and_matcher(session)
    changed_catalog = _ChangedCatalog(catalog, tried)
    rules = load_rules(session)
    now = utcnow()
    today = catalog.local_date(now)

    dependants = session.execute(
        select(DealFeature.crm, DealFeature.deal_id)
        .where(
            DealFeature.feature_key.in_(sorted(keys)),
            DealFeature.is_primary == true(),
            DealFeature.deal_open == true(),
        )
        .group_by(DealFeature.crm, DealFeature.deal_id)
        .order_by(DealFeature.crm, DealFeature.deal_id)
    ).all()
    before_counts: Counter[str] = Counter()
    after_counts: Counter[str] = Counter()
    blocked_now = _Figure()
    cleared = _Figure()
    listed: list[WhatIfDeal] = []
    matching = changed = 0
    if progress is not None:
        # the total first, as simulation sends it: a client learns the size of the run (and
        # one with no dependants hears of it) before the first chunk is read
        progress(0, len(dependants))
    for start in range(0, len(dependants), CHUNK):
        chunk = dependants[start : start + CHUNK]
        by_crm: dict[str, list[str]] = {}
        for crm, deal_id in chunk:
            by_crm.setdefault(crm, []).append(deal_id)
        for crm, ids in by_crm.items():
            grants = grants_by_deal(session, crm, ids, now)
            deals = session.execute(
                select(Deal).where(Deal.crm == crm, Deal.deal_id.in_(ids), Deal.tracked == true())
            ).scalars()
            deals = [d for d in deals if d.snapshot]
            stored = _stored_references(session, deals, matcher)
            for deal in sorted(deals, key=lambda d: d.deal_id):
                snapshot = DealSnapshot.model_validate(deal.snapshot)
                refs = stored.get(deal.id)
                if refs is None:
                    refs = find_references(snapshot, catalog, today=today)
                approvals = grants.get(deal.deal_id, [])
                was = evaluate(
                    snapshot, catalog, rules, approvals=approvals, today=today, references=refs
                )
                becomes = evaluate(
                    snapshot,
                    changed_catalog,
                    rules,
                    approvals=approvals,
                    today=today,
                    references=refs,
                )
                before_counts[was.status.value] += 1
                after_counts[becomes.status.value] += 1
                # Models compare by value, as simulation compares them: no JSON dump per deal.
                differs = was.status != becomes.status or was.findings != becomes.findings
                changed += differs
                amount = pipeline_amount(deal)
                if becomes.status.value == "blocked" and was.status.value != "blocked":
                    blocked_now.add(amount)
                if was.status.value == "blocked" and becomes.status.value != "blocked":
                    cleared.add(amount)
                if request.only_changed and not differs:
                    continue
                matching += 1
                if request.offset < matching <= request.offset + request.limit:
                    listed.append(
                        WhatIfDeal(
                            crm=deal.crm,
                            deal_id=deal.deal_id,
                            name=deal.name,
                            owner_name=deal.owner_name,
                            owner_id=deal.owner_id,
                            stage_label=deal.stage_label,
                            stage_id=deal.stage_id,
                            close_date=deal.close_date,
                            amount=None if amount["amount"] is None else money(amount["amount"]),
                            currency=amount["currency"],
                            before=was.status.value,
                            after=becomes.status.value,
                            findings_after=_findings_on_change(
                                was.findings, becomes.findings, keys
                            ),
                        )
                    )
        if progress is not None:
            progress(min(start + CHUNK, len(dependants)), len(dependants))
    statuses = ("clear", "warning", "blocked")
    return WhatIfResult(
        features=[
            FeatureTried(
                feature_key=c.feature_key,
                feature_name=current[c.feature_key].name,
                availability={
                    "before": current[c.feature_key].availability.value,
                    "after": tried[c.feature_key].availability.value,
                },
                target_date={
                    "before": current[c.feature_key].target_date,
                    "after": tried[c.feature_key].target_date,
                },
            )
            for c in request.changes
        ],
        deals=sum(before_counts.values()),
        before={s: before_counts[s] for s in statuses},
        after={s: after_counts[s] for s in statuses},
        changed=changed,
        newly_blocked=blocked_now.figure(),
        no_longer_blocked=cleared.figure(),
        matching=matching,
        offset=request.offset,
        items=listed,
    )


def _findings_on_change(
    was: list[Finding], becomes: list[Finding], keys: set[str]
) -> list[Finding]:
    """The findings after the change on the changed features, and the deal-level ones (a rule
    counting the deal's references: no feature) that the change brings or alters. Those on
    the features alone left a deal listed as newly blocked by a deal-level rule without the
    finding that blocks it."""
    return [f for f in becomes if f.feature_key in keys or (f.feature_key is None and f not in was)]


class _Figure:
    """Deals and the pipeline they add, with the currency label of `queries.exposure`."""

    def __init__(self) -> None:
        self.count = 0
        self.amount = 0.0
        self.currencies: set[str | None] = set()

    def add(self, amount: dict[str, Any]) -> None:
        self.count += 1
        if amount["amount"] is not None:
            self.amount += money(amount["amount"])
            self.currencies.add(amount["currency"])

    def figure(self) -> PipelineFigure:
        # `currency: null` alone said both "GBP and USD added" and "not known".
        return PipelineFigure(
            deal_count=self.count, amount=money(self.amount), **amounts_currency(self.currencies)
        )


def _stored_references(
    session: Session, deals: list[Deal], matcher: str | None
) -> dict[int, list[FeatureReference]]:
    """deal row id -> the references of its last evaluation where they still hold
    (`pipeline.references_reusable`, as the fan-out decides); the other deals' notes are read."""
    from app.services.pipeline import references_reusable

    ids = [d.last_evaluation_id for d in deals if d.last_evaluation_id]
    if not ids or matcher is None:
        return {}
    rows = {
        r.id: r
        for r in session.execute(
            select(
                Evaluation.id,
                Evaluation.references,
                Evaluation.matcher_version,
                Evaluation.created_at,
            ).where(Evaluation.id.in_(ids))
        )
    }
    out: dict[int, list[FeatureReference]] = {}
    for deal in deals:
        prev = rows.get(deal.last_evaluation_id)
        if references_reusable(prev, deal, matcher):
            out[deal.id] = [FeatureReference.model_validate(r) for r in prev.references or []]
    return out
