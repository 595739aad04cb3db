"""Property-based: evaluation never raises on arbitrary snapshots and valid rules, and the same
input always gives the same result."""

from __future__ import annotations

from datetime import UTC, date, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.rules.catalog import Catalog
from app.rules.default_pack import DEFAULT_RULES
from app.rules.engine import StoredRule, evaluate
from app.rules.model import ApprovalGrant, DealSnapshot, LineItem, Note, Stage
from app.rules.schema import FIELDS, OPS_BY_KIND, RuleDefinition

from .conftest import FEATURES, MAPPINGS, TODAY

CATALOG = Catalog(FEATURES, MAPPINGS)
WORDS = [
    "SSO", "SCIM", "audit", "log", "trail", "multi-region", "AI", "we", "will", "have", "by",
    "Q3", "promised", "don't", "need", "asked", "whether", "?", ".", "custom", "connector",
    "build", "next", "quarter", "end", "of", "March", "<br>", "&nbsp;", "Sigle", "Sign-On",
    "2027-02-31", "13/45/2027", "in", "the", "contract", "May", "H2", "'s", "no", "not",
    "data", "residency", "January", "2027",
]  # fmt: skip

dates = st.one_of(st.none(), st.dates(date(1, 1, 1), date(9999, 12, 31)))
amounts = st.one_of(
    st.none(), st.decimals(allow_nan=False, allow_infinity=False, places=2, max_value=10**12)
)
note_text = st.one_of(
    st.text(max_size=200),
    st.lists(st.sampled_from(WORDS), max_size=40).map(" ".join),
)
notes = st.builds(
    Note,
    id=st.text(min_size=1, max_size=5),
    body=note_text,
    created_at=st.one_of(
        st.none(), st.datetimes(datetime(1, 1, 2), datetime(9999, 12, 30), timezones=st.just(UTC))
    ),
)
line_items = st.builds(
    LineItem,
    id=st.text(min_size=1, max_size=5),
    name=st.one_of(
        st.sampled_from(["Compliance Pack", "AI", "Single Sign-On", "EU data residency", ""]),
        st.text(max_size=20),
    ),
    sku=st.one_of(st.none(), st.sampled_from(["SSO-ENT", "BUNDLE-SEC", "x"])),
    product_id=st.one_of(st.none(), st.sampled_from(["prod_ai", "prod_sf"])),
    amount=amounts,
)
snapshots = st.builds(
    DealSnapshot,
    crm=st.just("hubspot"),
    deal_id=st.text(min_size=1, max_size=8),
    name=st.text(max_size=20),
    pipeline=st.one_of(st.none(), st.sampled_from(["default", "enterprise"])),
    stage=st.builds(
        Stage,
        id=st.sampled_from(["a", "negotiation"]),
        probability=st.one_of(st.none(), st.floats(0, 1)),
        is_won=st.booleans(),
    ),
    amount=amounts,
    close_date=dates,
    line_items=st.lists(line_items, max_size=4),
    notes=st.lists(notes, max_size=3),
)


def _value_for(field: str, op: str):
    spec = FIELDS[field]
    literal = {
        "enum": st.sampled_from(spec.values or ("x",)),
        "str": st.text(max_size=5),
        "bool": st.booleans(),
        "number": st.floats(-1e6, 1e6, allow_nan=False),
        "date": st.dates(date(1, 1, 1), date(9999, 12, 31)).map(date.isoformat),
    }[spec.kind]
    if op in ("is_null", "not_null"):
        return st.none()
    if op in ("in", "not_in"):
        return st.lists(literal, min_size=1, max_size=3)
    same_kind = sorted(
        f
        for f, s in FIELDS.items()
        if s.kind == spec.kind and s.values == spec.values and s.scope != "reference"
    )
    refs = (
        st.builds(
            lambda f, d: {"field": f, "offset_days": d},
            st.sampled_from(same_kind),
            st.integers(-36500, 36500) if spec.kind == "date" else st.just(0),
        )
        if same_kind
        else literal
    )
    return st.one_of(literal, refs)


@st.composite
def leaf(draw, scope: str = "reference"):
    fields = sorted(f for f, s in FIELDS.items() if scope == "reference" or s.scope != "reference")
    field = draw(st.sampled_from(fields))
    op = draw(st.sampled_from(OPS_BY_KIND[FIELDS[field].kind]))
    node = {"field": field, "op": op}
    value = draw(_value_for(field, op))
    if value is not None:
        node["value"] = value
    return node


conditions = st.recursive(
    leaf(),
    lambda inner: st.one_of(
        st.builds(lambda c: {"all": c}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda c: {"any": c}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda c: {"not": c}, inner),
    ),
    max_leaves=6,
)
deal_conditions = st.one_of(
    leaf("deal"),
    st.builds(lambda c: {"any_reference": c}, conditions),
    st.builds(lambda c: {"all_references": c}, conditions),
    st.builds(
        lambda c, op, n: {"count_references": {"where": c, "op": op, "value": n}},
        conditions,
        st.sampled_from(["eq", "gte", "lt"]),
        st.integers(0, 3),
    ),
)
rules = st.one_of(
    st.builds(
        lambda w, sev: {
            "id": "p",
            "name": "p",
            "severity": sev,
            "when": w,
            "message": "{feature.name} {feature.target_date} {reference.promised_date} {deal.amount}",
        },
        conditions,
        st.sampled_from(["info", "warning", "block"]),
    ),
    st.builds(
        lambda w: {
            "id": "q",
            "name": "q",
            "severity": "block",
            "applies_to": "deal",
            "when": w,
            "message": "{matched.count} {matched.features} {deal.close_date}",
        },
        deal_conditions,
    ),
)
DEFAULTS = [
    StoredRule(id=r["id"], version=1, enabled=True, definition=RuleDefinition.model_validate(r))
    for r in DEFAULT_RULES
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(snapshot=snapshots, rule_json=rules, today=st.dates(date(2, 1, 1), date(9998, 12, 31)))
def test_evaluate_never_raises_and_is_deterministic(
    snapshot: DealSnapshot, rule_json: dict, today: date
) -> None:
    stored = StoredRule(
        id=rule_json["id"],
        version=1,
        enabled=True,
        # as a stored rule loads: one written before a check (a percentage compared with a
        # 0-to-1 field) must still evaluate without raising
        definition=RuleDefinition.model_validate(rule_json, context={"stored": True}),
    )
    grants = [ApprovalGrant(id=1, feature_key="multi-region", approver="a")]
    first = evaluate(snapshot, CATALOG, [stored, *DEFAULTS], approvals=grants, today=today)
    second = evaluate(snapshot, CATALOG, [*DEFAULTS, stored], approvals=grants, today=today)
    assert first.model_dump() == second.model_dump()
    assert first.status in ("clear", "warning", "blocked")
    for f in first.findings:
        assert f.message


@settings(max_examples=100, deadline=None)
@given(snapshot=snapshots)
def test_default_pack_on_arbitrary_snapshots(snapshot: DealSnapshot) -> None:
    result = evaluate(snapshot, CATALOG, DEFAULTS, today=TODAY)
    assert result.model_dump() == evaluate(snapshot, CATALOG, DEFAULTS, today=TODAY).model_dump()
    blocked = any(f.severity == "block" and not f.approved for f in result.findings)
    assert (result.status == "blocked") is blocked


@settings(max_examples=150, deadline=None)
@given(snapshot=snapshots)
def test_default_pack_never_leaves_an_uncertain_or_never_feature_silent(
    snapshot: DealSnapshot,
) -> None:
    result = evaluate(snapshot, CATALOG, DEFAULTS, today=TODAY)
    warned = {f.feature_key for f in result.findings if f.severity in ("warning", "block")}
    for ref in result.references:
        feature = CATALOG.get(ref.feature_key)
        if feature is not None and feature.availability in ("uncertain", "never"):
            assert ref.feature_key in warned, ref
