"""Write-back under the portal's own set-up faults (review 9)."""

from __future__ import annotations

from app.connectors.base import CredentialsError, PermanentError, TransientError
from app.connectors.hubspot.setup import run_setup
from app.jobs.types import Outcome
from tests.connectors.hubspot.test_connector import _writeback

GUARD = "roadmap_guard_clearance"


def test_a_deleted_roadmap_property_holds_the_deals_and_they_go_through_after_setup(
    fake, api, connector
) -> None:
    """An admin deleted roadmap_guard_summary: HubSpot refuses every deal update with
    VALIDATION_ERROR PROPERTY_DOESNT_EXIST. Each deal went dead (a PermanentError) with no
    status or block written; now the deals are held with the fix named, and written once
    setup has put the property back, without a second task."""
    run_setup(api, guard_property=GUARD, access_token=fake.access_token)
    with fake.lock:
        del fake.properties["deals"]["roadmap_guard_summary"]
    deals = [fake.add_deal("Acme"), fake.add_deal("Globex")]
    snaps = connector.read_deals(deals)
    outs = connector.write_back([_writeback(snaps[d]) for d in deals])
    for deal in deals:
        error = outs[deal].error
        assert isinstance(error, CredentialsError), error
        outcome = Outcome.from_exception(error)
        assert outcome.kind == "retry" and outcome.hold
        assert "roadmap_guard_summary" in str(error) and "setup hubspot" in str(error)
        assert "[{" not in str(error)  # HubSpot's reason in words, not its JSON
    # one call, not one per deal: the batch is not split input by input
    assert fake.calls["POST /crm/v3/objects/deals/batch/update"] == 1

    run_setup(api, guard_property=GUARD, access_token=fake.access_token)
    again = connector.write_back([_writeback(snaps[d], task_id=outs[d].task_id) for d in deals])
    for deal in deals:
        assert again[deal].error is None
        assert fake.deal(deal)["properties"]["roadmap_guard_status"] == "blocked"
        assert len(fake.tasks_for(deal)) == 1


def test_an_option_taken_off_a_roadmap_property_holds_the_deal(fake, api, connector) -> None:
    """The 'blocked' option removed from roadmap_guard_status: INVALID_OPTION, held too."""
    run_setup(api, guard_property=GUARD, access_token=fake.access_token)
    with fake.lock:
        status = fake.properties["deals"]["roadmap_guard_status"]
        status["options"] = [o for o in status["options"] if o["value"] != "blocked"]
    deal = fake.add_deal("Acme")
    snap = connector.read_deals([deal])[deal]
    error = connector.write_back([_writeback(snap)])[deal].error
    assert isinstance(error, CredentialsError), error
    assert "roadmap_guard_status" in str(error) and "blocked was not one of" in str(error)


def test_a_refusal_of_another_property_still_fails_only_its_deal(fake, api, connector) -> None:
    """Not our property: a refusal of the deal's input, as before (split, the others go on)."""
    run_setup(api, guard_property=GUARD, access_token=fake.access_token)
    deal = fake.add_deal("Acme")
    snap = connector.read_deals([deal])[deal]
    fake.inject("400", 1, path="/deals/batch/update")
    error = connector.write_back([_writeback(snap)])[deal].error
    assert error is not None and not isinstance(error, CredentialsError)


def test_a_gateways_html_502_is_retried_with_its_title_not_its_markup(fake, connector) -> None:
    """HubSpot's CDN answers a bad gateway with an HTML page: the deal's error quoted its first
    300 characters of markup. It names the page's title, is retried, and goes through after."""
    deal = fake.add_deal("Acme")
    snap = connector.read_deals([deal])[deal]
    fake.inject("502_html", 1, path="/deals/batch/update")
    out = connector.write_back([_writeback(snap)])[deal]
    error = out.error
    assert isinstance(error, TransientError) and not isinstance(error, PermanentError)
    assert "HTTP 502" in str(error) and "502 Bad Gateway" in str(error)
    assert "<" not in str(error) and "HTML page" in str(error)
    again = connector.write_back([_writeback(snap, task_id=out.task_id)])[deal]
    assert again.error is None and len(fake.tasks_for(deal)) == 1
    assert fake.deal(deal)["properties"]["roadmap_guard_status"] == "blocked"


def test_a_missing_write_scope_holds_the_deal_and_names_the_scope(fake, connector) -> None:
    """HubSpot's 403 MISSING_SCOPES says only 'hasn't been granted all required scopes'; the
    scope is in errors[].context.requiredScopes. The held deal's error names it."""
    deal = fake.add_deal("Acme")
    snap = connector.read_deals([deal])[deal]
    fake.scopes.remove("crm.objects.deals.write")
    out = connector.write_back([_writeback(snap)])[deal]
    assert isinstance(out.error, CredentialsError)
    assert Outcome.from_exception(out.error).hold
    assert "lacks the scope crm.objects.deals.write" in str(out.error)
    assert fake.access_token not in str(out.error)
    fake.scopes.append("crm.objects.deals.write")
    again = connector.write_back([_writeback(snap, task_id=out.task_id)])[deal]
    assert again.error is None and len(fake.tasks_for(deal)) == 1
