"""References and findings are built without a second validation (the hot path of every
evaluation). They must be the very objects validation would build: same fields, same types,
same fields_set, same JSON, so a pydantic upgrade that changes its internals shows up here."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from app.rules.catalog import Catalog
from app.rules.engine import evaluate
from app.rules.model import FeatureReference, Finding, LineItem
from app.rules.references import trusted_model

from .conftest import TODAY, make_deal

NOTES = [
    "We will have SCIM by Q3; they don't need SSO.",
    "We'll build them a custom connector for their ERP by end of March.",
    "Customer asked whether we support the audit trail. Promised multi-region next quarter.",
]


def _revalidated(obj: BaseModel) -> BaseModel:
    """The same model built the validated way from the fields the fast path marked as set."""
    return type(obj)(**{name: getattr(obj, name) for name in obj.model_fields_set})


def _assert_same_as_validated(obj: BaseModel) -> None:
    again = _revalidated(obj)
    assert obj == again
    assert obj.model_fields_set == again.model_fields_set
    assert list(obj.__dict__) == list(type(obj).model_fields)  # declaration order
    assert repr(obj) == repr(again)
    assert obj.model_dump_json() == again.model_dump_json()
    assert obj.model_dump(exclude_unset=True) == again.model_dump(exclude_unset=True)
    for name, value in obj.__dict__.items():
        assert value is not PydanticUndefined, name
        assert type(value) is type(getattr(again, name)), name


def test_references_and_findings_equal_validated_ones(catalog: Catalog, default_rules) -> None:
    deal = make_deal(*NOTES, line_items=[LineItem(id="li1", name="SSO", sku="SSO-ENT")])
    result = evaluate(deal, catalog, default_rules, today=TODAY)
    sources = {r.source for r in result.references}
    assert sources == {"note", "line_item"}
    assert any(r.feature_key is None for r in result.references)  # off-roadmap promise
    assert result.findings
    _assert_same_as_validated(result)
    for ref in result.references:
        assert isinstance(ref, FeatureReference)
        _assert_same_as_validated(ref)
    for finding in result.findings:
        assert isinstance(finding, Finding)
        _assert_same_as_validated(finding)


def test_trusted_model_objects_stay_independent() -> None:
    values: dict[str, Any] = {
        name: field.default for name, field in Finding.model_fields.items()
    } | {"rule_id": "r", "severity": "block", "message": "m"}
    fields = frozenset({"rule_id", "severity", "message"})
    a = trusted_model(Finding, fields, dict(values))
    b = trusted_model(Finding, fields, dict(values))
    a.approved = True
    a.model_fields_set.add("approved")
    assert b.approved is False
    assert b.model_fields_set == fields
    assert a.model_copy(update={"message": "x"}).message == "x"
