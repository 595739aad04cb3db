"""The default pack's wording as the rep reads it in the task and the summary."""

from __future__ import annotations

from app.rules.catalog import Catalog
from app.rules.engine import StoredRule, evaluate

from .conftest import TODAY, make_deal


def test_an_uncertain_feature_sold_says_not_committed_once(
    catalog: Catalog, default_rules: list[StoredRule]
) -> None:
    """It read "EU data residency is not committed on the roadmap: it is on the roadmap
    (target date: Jan 31, 2027) but not committed"."""
    result = evaluate(
        make_deal("We promised data residency by January."), catalog, default_rules, today=TODAY
    )
    [finding] = result.findings
    assert finding.rule_id == "uncertain-promised"
    assert finding.message.startswith(
        "EU data residency is on the roadmap (target date: Jan 31, 2027) but not committed, "
        "so it may never ship. This deal sells or promises it"
    )
    assert finding.message.count("not committed") == 1


def test_a_coming_soon_feature_without_a_target_date_may_be_promised_no_date(
    catalog: Catalog, default_rules: list[StoredRule]
) -> None:
    """ "Do not promise a date earlier than the target", of a feature with no target date, left
    any date open."""
    result = evaluate(
        make_deal("They need a retention policy."), catalog, default_rules, today=TODAY
    )
    [finding] = result.findings
    assert finding.rule_id == "coming-soon-mentioned"
    assert "target date: not set" in finding.message
    assert "or any date while it has none" in finding.message
