"""An admin's property validation rule on one of roadmap-guard's own deal properties.

HubSpot enforces property validation rules on API writes (since July 2023): a value a rule does
not pass is refused with 400 VALIDATION_ERROR and "Property values were not valid:
[{"isValid":false,"message":"Enter only letters","error":"INVALID_ALPHA","name":...}]". A rule
on roadmap_guard_summary refused every update of the deal, status and clearance with it: the
deal went dead (a refusal of its input) with the block unwritten, and nothing wrote it once the
rule was removed.
"""

from __future__ import annotations

from app.connectors.base import PermanentError
from app.connectors.hubspot.errors import PropertyRuleRefused
from app.connectors.hubspot.setup import run_setup
from app.jobs.types import Outcome
from app.rules.model import VerdictStatus
from tests.connectors.hubspot.test_connector import _writeback

GUARD = "roadmap_guard_clearance"
SUMMARY = "roadmap_guard_summary"
UPDATE = "POST /crm/v3/objects/deals/batch/update"


def _letters_only(value):
    text = str(value)
    return None if text.replace(" ", "").isalpha() else ("INVALID_ALPHA", "Enter only letters")


def _at_most_40(value):
    return None if len(str(value)) <= 40 else ("MAX_LENGTH", "Enter at most 40 characters")


def test_the_block_lands_past_a_rule_on_the_summary_and_the_deal_is_held(
    fake, api, connector
) -> None:
    run_setup(api, guard_property=GUARD, access_token=fake.access_token)
    deals = [fake.add_deal("Acme"), fake.add_deal("Globex")]
    snaps = connector.read_deals(deals)
    clear = connector.write_back(
        [_writeback(snaps[d], status=VerdictStatus.clear, task_open=False) for d in deals]
    )
    assert all(o.error is None for o in clear.values())
    assert fake.deal(deals[0])["properties"][GUARD] == "clear"

    fake.add_property_rule("deals", SUMMARY, _letters_only)  # an admin's rule on our property
    snaps = connector.read_deals(deals)
    outs = connector.write_back([_writeback(snaps[d]) for d in deals])
    for deal in deals:
        error = outs[deal].error
        assert isinstance(error, PropertyRuleRefused) and not isinstance(error, PermanentError)
        outcome = Outcome.from_exception(error)
        assert outcome.kind == "retry" and outcome.hold and outcome.retry_after == 300
        text = str(error)
        assert SUMMARY in text and "Enter only letters" in text and "[{" not in text
        assert "remove the rule" in text and "Held, not dead" in text
        props = fake.deal(deal)["properties"]
        # The block landed without the refused summary: the clearance emptied, status blocked.
        assert props[GUARD] in (None, "") and props["roadmap_guard_status"] == "blocked"
        assert props[SUMMARY] != "Blocked: SSO will never be built."
        assert len(fake.tasks_for(deal)) == 1

    # Retried with the rule still there: held again, and nothing is rewritten (the checked-at
    # date does not move at every retry).
    checked = {d: fake.deal(d)["properties"]["roadmap_guard_checked_at"] for d in deals}
    snaps = connector.read_deals(deals)
    before = fake.calls[UPDATE]
    again = connector.write_back([_writeback(snaps[d], task_id=outs[d].task_id) for d in deals])
    assert all(isinstance(again[d].error, PropertyRuleRefused) for d in deals)
    assert {d: fake.deal(d)["properties"]["roadmap_guard_checked_at"] for d in deals} == checked
    assert fake.calls[UPDATE] - before == 3  # the batch refused, then each deal alone

    fake.remove_property_rule("deals", SUMMARY)  # the admin removes it: through, no replay
    snaps = connector.read_deals(deals)
    done = connector.write_back([_writeback(snaps[d], task_id=outs[d].task_id) for d in deals])
    for deal in deals:
        assert done[deal].error is None
        assert fake.deal(deal)["properties"][SUMMARY] == "Blocked: SSO will never be built."
        assert len(fake.tasks_for(deal)) == 1


def test_a_rule_refusing_one_deals_value_holds_only_that_deal(fake, api, connector) -> None:
    """HubSpot refuses the whole batch for one input: the batch is split down to the deal the
    rule refuses, and the other deal is written in full, without an error."""
    run_setup(api, guard_property=GUARD, access_token=fake.access_token)
    fake.add_property_rule("deals", SUMMARY, _at_most_40)
    deals = [fake.add_deal("Acme"), fake.add_deal("Globex")]
    snaps = connector.read_deals(deals)
    long_one = _writeback(snaps[deals[0]])
    long_one.summary = "Blocked: SSO will never be built, nor SCIM, nor audit logs."
    outs = connector.write_back([long_one, _writeback(snaps[deals[1]])])
    assert isinstance(outs[deals[0]].error, PropertyRuleRefused)
    assert "Enter at most 40 characters" in str(outs[deals[0]].error)
    assert fake.deal(deals[0])["properties"]["roadmap_guard_status"] == "blocked"
    assert outs[deals[1]].error is None
    assert fake.deal(deals[1])["properties"][SUMMARY] == "Blocked: SSO will never be built."


def test_a_rule_on_a_property_not_ours_is_still_the_deals_refusal(fake, api, connector) -> None:
    """Only roadmap-guard's own properties are the portal's set-up: a refusal naming another
    property (the guard's revert of dealstage, say) is not held."""
    from app.connectors.hubspot.errors import RefusedError

    run_setup(api, guard_property=GUARD, access_token=fake.access_token)
    fake.add_property_rule("deals", "dealstage", lambda v: ("INVALID_ALPHA", "Enter only letters"))
    deal = fake.add_deal("Acme")
    try:
        connector._update_deals([{"deal_id": deal, "props": {"dealstage": "closedwon"}}])
    except RefusedError as exc:
        assert not isinstance(exc, PropertyRuleRefused)
    else:
        raise AssertionError("the fake's rule did not refuse the stage")
