"""docs/roadmap.md, *Rule definitions (JSON)*: what RevOps copy must be true. Every example
rule validates against the real RuleDefinition, the pack's example is the pack's rule, the
refused one is refused where the doc says, and the vocabulary tables list what schema.py has."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.rules.default_pack import DEFAULT_RULES
from app.rules.schema import FIELDS, OPS_BY_KIND, PLACEHOLDERS, RuleDefinition

DOC = (Path(__file__).resolve().parents[2] / "docs" / "roadmap.md").read_text()
HEADING = "### Rule definitions (JSON)"


def _section() -> str:
    assert HEADING in DOC, f"docs/roadmap.md has no {HEADING!r} section"
    rest = DOC.split(HEADING, 1)[1]
    return re.split(r"\n#{2,3} ", rest, maxsplit=1)[0]


def _blocks(info: str) -> list[str]:
    return re.findall(rf"^```{re.escape(info)}\n(.*?)^```$", _section(), flags=re.M | re.S)


def test_the_section_has_the_examples_it_promises():
    rules = [json.loads(b) for b in _blocks("json")]
    assert len(rules) >= 3
    assert {r.get("applies_to", "reference") for r in rules} == {"reference", "deal"}
    assert any("offset_days" in json.dumps(r["when"]) for r in rules)
    assert any("count_references" in json.dumps(r["when"]) for r in rules)
    assert len(_blocks("json invalid")) == 1


@pytest.mark.parametrize("block", _blocks("json"), ids=lambda b: json.loads(b).get("id", "?"))
def test_every_example_rule_validates_against_the_real_rule_definition(block):
    RuleDefinition.model_validate(json.loads(block))


def test_the_default_pack_example_is_the_pack_rule_as_installed():
    pack = {r["id"]: r for r in DEFAULT_RULES}
    shown = [json.loads(b) for b in _blocks("json") if json.loads(b).get("id") in pack]
    assert shown, "no example from the default pack"
    for rule in shown:
        assert rule == pack[rule["id"]]


def test_the_refused_example_is_refused_at_the_paths_the_doc_shows():
    (block,) = _blocks("json invalid")
    with pytest.raises(ValidationError) as exc:
        RuleDefinition.model_validate(json.loads(block))
    section = _section()
    for err in exc.value.errors():
        assert json.dumps(list(err["loc"])) in section, err["loc"]
        shown = err["msg"].split("{feature.name}, ")[0]  # the doc shortens the long list
        assert shown in section, err["msg"]


def test_the_vocabulary_tables_list_every_field_operator_and_placeholder():
    section = _section()
    documented = set(
        re.findall(r"^\| `([a-z_.]+)` \| (?:enum|str|bool|number|date) \|", section, re.M)
    )
    assert documented == set(FIELDS)
    for name, spec in FIELDS.items():
        assert re.search(rf"^\| `{re.escape(name)}` \| {spec.kind} \|", section, re.M)
    for kind, ops in OPS_BY_KIND.items():
        assert f"| {kind} | " + ", ".join(f"`{o}`" for o in ops) + " |" in section
    for names in PLACEHOLDERS.values():
        for name in names:
            assert f"`{{{name}}}`" in section, name
    for key in RuleDefinition.model_fields:
        assert f"| `{key}` |" in section, key
    assert "components.schemas.RuleDefinition" in section
