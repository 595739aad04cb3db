"""What the HubSpot account name COSTS in calls (issue 4: <= 5 calls for one deal incl.
write-back, re-evaluation 3). One or two deals' GET lists their companies (no association
read), and company names are cached for an hour, so a warm one-deal read asks for no company at
all. Counted by the fake HubSpot, through the real hubspot-api-client."""

from __future__ import annotations

import pytest
from sqlmodel import Session
from structlog.testing import capture_logs

from app.connectors.base import ConnectorError
from app.connectors.hubspot.companies import (
    COMPANIES_SCOPE,
    MISSING_SCOPE_PAUSE_SECONDS,
    MISSING_TTL_SECONDS,
    NAME_TTL_SECONDS,
)
from app.connectors.hubspot.errors import MissingScopeError
from app.jobs.queue import enqueue_deals
from tests.connectors.hubspot.test_account_name_review11 import ASSOC, COMPANIES, Clock
from tests.connectors.hubspot.test_end_to_end import SSO, deal_row, drain, world  # noqa: F401


def get(deal: str) -> str:
    return f"GET /crm/v3/objects/deals/{deal}"


def test_one_deal_through_the_worker_costs_five_calls_warm_and_three_again(
    fake,
    world,  # noqa: F811
) -> None:
    """The benchmark's one-deal case, with a company: the first deal warms the caches; a
    second deal of the same company costs its GET, line items, notes, task create and deal
    update (5); re-evaluating it after a stage change costs its three reads (3)."""
    acme = fake.add_company("Acme Corp")
    deals = []
    for name in ("Acme SSO", "Acme SSO 2"):
        deal = fake.add_deal(name, line_items=[SSO], notes=["Kick-off went well."], emit=False)
        fake.associate("deals", deal, "companies", acme, primary=True, emit=False)
        deals.append(deal)

    def run(deal: str) -> dict[str, int]:
        fake.reset_calls()
        with Session(world["engine"]) as s:
            enqueue_deals(s, "hubspot", [deal], reason="webhook")
            s.commit()
        drain(world)
        return dict(fake.calls)

    cold = run(deals[0])
    assert cold[COMPANIES] == 1 and ASSOC not in cold
    warm = run(deals[1])
    assert warm == {
        get(deals[1]): 1,
        "POST /crm/v3/objects/line_items/batch/read": 1,
        "POST /crm/v3/objects/notes/batch/read": 1,
        "POST /crm/v3/objects/tasks/batch/create": 1,
        "POST /crm/v3/objects/deals/batch/update": 1,
    }
    assert deal_row(world, deals[1]).account_name == "Acme Corp"
    assert deal_row(world, deals[1]).verdict == "blocked"
    fake.ui_set_stage(deals[1], "contractsent")
    again = run(deals[1])
    assert sum(again.values()) == 3 and ASSOC not in again and COMPANIES not in again


def test_one_deals_get_lists_its_companies_primary_first_else_the_lowest_id(
    fake, connector
) -> None:
    reseller = fake.add_company("Reseller GmbH")
    customer = fake.add_company("Initech Inc")
    deal = fake.add_deal("Initech via reseller")
    fake.associate("deals", deal, "companies", reseller)  # lower id, unlabeled
    fake.associate("deals", deal, "companies", customer, primary=True)
    other = fake.add_deal("Two companies, no primary")
    fake.associate("deals", other, "companies", customer)
    fake.associate("deals", other, "companies", reseller)
    bare = fake.add_deal("No company")
    fake.reset_calls()
    snaps = connector.read_deals([deal, other])
    assert snaps[deal].account_name == "Initech Inc"
    assert snaps[other].account_name == "Reseller GmbH"
    assert fake.calls[ASSOC] == 0 and fake.calls[COMPANIES] == 1
    fake.reset_calls()
    assert connector.read_deals([bare])[bare].account_name is None
    assert fake.total_calls() == 1  # its GET only


def test_a_deal_with_more_companies_than_its_get_lists_is_read_by_association(
    fake, connector
) -> None:
    fake.object_read_association_limit = 2
    paged = fake.add_deal("Many companies")
    for i in range(3):
        fake.associate("deals", paged, "companies", fake.add_company(f"Partner {i}"))
    fake.associate("deals", paged, "companies", fake.add_company("Umbrella"), primary=True)
    # the primary is listed first: decided by the GET, however many there are
    fake.reset_calls()
    assert connector.read_deals([paged])[paged].account_name == "Umbrella"
    assert fake.calls[ASSOC] == 0
    # no primary, and more than the GET lists: the lowest id may be on a later page
    unpaged = fake.add_deal("Many companies, no primary")
    partners = [fake.add_company(f"Other {i}") for i in range(3)]
    for company in reversed(partners):
        fake.associate("deals", unpaged, "companies", company)
    fake.reset_calls()
    assert connector.read_deals([unpaged])[unpaged].account_name == "Other 0"
    assert fake.calls[ASSOC] == 1


def test_company_names_are_cached_for_an_hour(fake, connector) -> None:
    clock = Clock()
    connector.accounts.clock = clock
    acme = fake.add_company("Acme Corp")
    gone = fake.add_company("Deleted Co")
    one = fake.add_deal("Acme 1")
    two = fake.add_deal("Acme 2")
    fake.associate("deals", one, "companies", acme, primary=True)
    fake.associate("deals", two, "companies", gone, primary=True)
    fake.objects["companies"].pop(gone)  # deleted: its association outlives it here
    assert connector.read_deals([one, two])[one].account_name == "Acme Corp"
    fake.reset_calls()
    snaps = connector.read_deals([one, two])
    assert snaps[one].account_name == "Acme Corp" and snaps[two].account_name is None
    assert fake.calls[COMPANIES] == 0
    # a batch uses the cache too
    batch = [one, two, fake.add_deal("No company")]
    fake.reset_calls()
    assert connector.read_deals(batch)[one].account_name == "Acme Corp"
    assert fake.calls[ASSOC] == 1 and fake.calls[COMPANIES] == 0
    # renamed: shown once the hour is over; a missing company is asked after ten minutes
    fake.objects["companies"][acme]["properties"]["name"] = "Acme Inc"
    clock.now += MISSING_TTL_SECONDS
    fake.reset_calls()
    assert connector.read_deals([one, two])[one].account_name == "Acme Corp"
    assert fake.calls[COMPANIES] == 1  # the deleted one only
    clock.now += NAME_TTL_SECONDS - MISSING_TTL_SECONDS
    assert connector.read_deals([one])[one].account_name == "Acme Inc"


def test_one_deal_without_the_companies_scope_reads_again_without_them(fake, connector) -> None:
    """What HubSpot answers a deal GET asking for companies without the scope is not
    documented; the fake refuses it (403), the strictest answer. The deal is read again
    without them, and the GETs leave them out for the pause (one call a deal, not two)."""
    clock = Clock()
    connector.accounts.clock = clock
    fake.scopes.remove(COMPANIES_SCOPE)
    acme = fake.add_company("Acme Corp")
    deal = fake.add_deal("Acme", line_items=[SSO])
    fake.associate("deals", deal, "companies", acme, primary=True)
    fake.reset_calls()
    with capture_logs() as logs:
        snap = connector.read_deals([deal])[deal]
        assert snap.account_name is None and snap.line_items[0].name == "SSO add-on"
        assert fake.calls[get(deal)] == 2  # refused with the companies, read without
        fake.reset_calls()
        assert connector.read_deals([deal])[deal].account_name is None
        assert fake.calls[get(deal)] == 1 and fake.calls[COMPANIES] == 0
    warnings = [e for e in logs if e["log_level"] == "warning" and COMPANIES_SCOPE in e["event"]]
    assert len(warnings) == 1
    fake.scopes.append(COMPANIES_SCOPE)
    clock.now += MISSING_SCOPE_PAUSE_SECONDS
    fake.reset_calls()
    assert connector.read_deals([deal])[deal].account_name == "Acme Corp"
    assert fake.calls[get(deal)] == 1 and fake.calls[ASSOC] == 0


def test_a_refused_deal_read_is_still_a_refusal(fake, connector) -> None:
    """The second GET (without companies) is an ordinary call: a 403 to it fails the read as
    any refused deal read does, and the company reads are not paused for it."""
    deal = fake.add_deal("Acme")
    fake.inject("403", 2, path="/objects/deals/")
    fake.reset_calls()
    with pytest.raises(ConnectorError) as err:
        connector.read_deals([deal])
    assert not isinstance(err.value, MissingScopeError)
    assert fake.calls[get(deal)] == 2
    assert connector.accounts.readable()
