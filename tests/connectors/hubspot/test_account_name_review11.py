"""HubSpot deals carry their ACCOUNT NAME: the name of the deal's company (primary, else first).

The notes reader tells the customer's own steps by it ("Acme will roll out SCIM by March" is
Acme's plan, not our promise). Salesforce filled it from Opportunity.Account.Name; the HubSpot
connector never filled it, so on HubSpot every such step still read as our promise. These run
the real hubspot-api-client against the fake HubSpot."""

from __future__ import annotations

import pytest
from sqlmodel import Session
from structlog.testing import capture_logs

from app import metrics
from app.connectors.base import TransientError
from app.connectors.hubspot.companies import COMPANIES_SCOPE, MISSING_SCOPE_PAUSE_SECONDS
from app.connectors.hubspot.setup import run_setup
from app.models import Feature
from tests.connectors.hubspot.test_end_to_end import deal_row, deliver, drain, world  # noqa: F401

ASSOC = "POST /crm/v4/associations/deals/companies/batch/read"
COMPANIES = "POST /crm/v3/objects/companies/batch/read"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_the_deals_company_name_arrives_in_the_snapshot(fake, connector) -> None:
    acme = fake.add_company("Acme Corp", domain="acme.example")
    one = fake.add_deal("Acme SSO", notes=["Acme will roll out SCIM by March."])
    fake.associate("deals", one, "companies", acme, primary=True)
    # one or two deals: the single-read path
    assert connector.read_deals([one])[one].account_name == "Acme Corp"

    # a batch: deals sharing a company ask for it once; a deal without a company has none
    globex = fake.add_company("Globex", deals=[fake.add_deal("Globex 1")])
    two = fake.add_deal("Acme renewal")
    fake.associate("deals", two, "companies", acme, primary=True)
    three = fake.add_deal("Globex 2")
    fake.associate("deals", three, "companies", globex)
    bare = fake.add_deal("No company")
    fake.reset_calls()
    snaps = connector.read_deals([one, two, three, bare])
    assert {d: s.account_name for d, s in snaps.items()} == {
        one: "Acme Corp",
        two: "Acme Corp",
        three: "Globex",
        bare: None,
    }
    assert snaps[one].notes[0].body == "Acme will roll out SCIM by March."  # still read
    # one association read and one company read for the whole batch
    assert fake.calls[ASSOC] == 1 and fake.calls[COMPANIES] == 1


def test_deals_without_a_company_cost_no_company_read(fake, connector) -> None:
    deals = [fake.add_deal(f"D{i}") for i in range(3)]
    fake.reset_calls()
    snaps = connector.read_deals(deals)
    assert [s.account_name for s in snaps.values()] == [None, None, None]
    assert fake.calls[ASSOC] == 1 and fake.calls[COMPANIES] == 0
    fake.reset_calls()
    assert connector.read_deals([deals[0]])[deals[0]].account_name is None
    # one deal: its GET lists its companies (none), no association read
    assert fake.calls[ASSOC] == 0 and fake.calls[COMPANIES] == 0


def test_the_primary_company_wins_else_the_first(fake, connector) -> None:
    reseller = fake.add_company("Reseller GmbH")
    customer = fake.add_company("Initech Inc")
    deal = fake.add_deal("Initech via reseller")
    fake.associate("deals", deal, "companies", reseller)  # lower id, unlabeled
    fake.associate("deals", deal, "companies", customer, primary=True)
    assert connector.read_deals([deal])[deal].account_name == "Initech Inc"

    # no primary: the associated company with the lowest id, on every read
    other = fake.add_deal("Two companies, no primary")
    fake.associate("deals", other, "companies", customer)
    fake.associate("deals", other, "companies", reseller)
    assert connector.read_deals([other])[other].account_name == "Reseller GmbH"

    # the primary on a later page of the deal's associations is found (a batch: v4 reads)
    fake.association_page_size = 2
    paged = fake.add_deal("Many companies")
    for i in range(4):
        fake.associate("deals", paged, "companies", fake.add_company(f"Partner {i}"))
    fake.associate("deals", paged, "companies", fake.add_company("Umbrella"), primary=True)
    fake.reset_calls()
    snaps = connector.read_deals([paged, deal, other])
    assert snaps[paged].account_name == "Umbrella"
    assert snaps[deal].account_name == "Initech Inc"
    assert fake.calls[ASSOC] == 3 and fake.calls[COMPANIES] == 1  # Umbrella's name only


def test_a_missing_or_nameless_company_gives_no_name(fake, connector) -> None:
    nameless = fake.add_company(None, domain="nameless.example")
    blank = fake.add_company("   ")
    gone = fake.add_company("Deleted Co")
    long_name = fake.add_company("X" * 300)
    deals = {}
    for company in (nameless, blank, gone, long_name):
        deal = fake.add_deal(f"deal of {company}", line_items=[{"name": "SSO"}])
        fake.associate("deals", deal, "companies", company, primary=True)
        deals[company] = deal
    # deleted between the association read and the company read (HubSpot answers 207)
    fake.objects["companies"].pop(gone)
    snaps = connector.read_deals(list(deals.values()))
    assert snaps[deals[nameless]].account_name is None
    assert snaps[deals[blank]].account_name is None
    assert snaps[deals[gone]].account_name is None
    assert snaps[deals[gone]].line_items[0].name == "SSO"  # the deal itself is read
    # the column holds 255 characters
    assert snaps[deals[long_name]].account_name == "X" * 255


def test_a_token_without_the_companies_scope_reads_deals_without_account_names(
    fake, connector
) -> None:
    clock = Clock()
    connector.accounts.clock = clock
    fake.scopes.remove(COMPANIES_SCOPE)
    acme = fake.add_company("Acme Corp")
    deals = [fake.add_deal(f"Acme {i}", line_items=[{"name": "SSO"}]) for i in range(3)]
    for deal in deals:
        fake.associate("deals", deal, "companies", acme, primary=True)
    fake.reset_calls()
    with capture_logs() as logs:
        for _ in range(4):
            snaps = connector.read_deals(deals)
            assert [s.account_name for s in snaps.values()] == [None, None, None]
            assert all(s.line_items[0].name == "SSO" for s in snaps.values())
        connector.read_deals(deals[:1])  # the single-read path too
    assert fake.calls[COMPANIES] == 1  # refused once (403), then not asked for a while
    warnings = [e for e in logs if e["log_level"] == "warning" and COMPANIES_SCOPE in e["event"]]
    assert len(warnings) == 1
    assert "Private Apps" in warnings[0]["event"] and "setup hubspot" in warnings[0]["event"]
    assert fake.access_token not in repr(logs)
    # an optional scope is no refusal of our credentials: no alarm, no held deals
    assert "hubspot" not in metrics._refused

    # the scope added: used once the pause is over
    fake.scopes.append(COMPANIES_SCOPE)
    assert connector.read_deals(deals)[deals[0]].account_name is None  # still paused
    clock.now += MISSING_SCOPE_PAUSE_SECONDS
    assert connector.read_deals(deals)[deals[0]].account_name == "Acme Corp"


@pytest.mark.parametrize("path", ["/associations/deals/companies", "/objects/companies"])
@pytest.mark.parametrize("kind", ["429", "502"])
def test_rate_limits_and_errors_fail_the_read_as_a_line_item_read_does(
    fake, connector, path, kind
) -> None:
    """Read without its account name, a deal's notes could block it for the customer's own
    plan: a 429 or 5xx on the companies is retried by the queue, as one on line items is."""
    acme = fake.add_company("Acme Corp")
    deal = fake.add_deal("Acme")
    fake.associate("deals", deal, "companies", acme, primary=True)
    # one deal's GET lists its companies: the association read is a batch's (3 deals or more)
    read = [deal] if path == "/objects/companies" else [deal, *(fake.add_deal("x") for _ in "ab")]
    fake.inject(kind, 1, path=path, retry_after=2)
    with pytest.raises(TransientError) as err:
        connector.read_deals(read)
    if kind == "429":
        assert err.value.retry_after == 2.0
    assert connector.read_deals(read)[deal].account_name == "Acme Corp"


def test_setup_recommends_the_companies_scope_without_failing(fake, api) -> None:
    fake.scopes.remove(COMPANIES_SCOPE)
    report = run_setup(
        api, guard_property="roadmap_guard_clearance", access_token=fake.access_token
    )
    assert report.missing_scopes == [] and report.missing_recommended == [COMPANIES_SCOPE]


def test_the_customers_own_step_does_not_block_a_hubspot_deal(fake, world) -> None:  # noqa: F811
    """Through webhook, worker, rules and write-back: 'Acme will roll out SCIM by March' on a
    deal of Acme Corp is Acme's plan; on a deal with no company it still reads as our promise
    (the notes reader without an account name, as every HubSpot deal was read before)."""
    with Session(world["engine"]) as s:
        # coming soon, no target date: promised, it blocks; mentioned, it is no issue
        s.add(Feature(key="scim", name="SCIM", aliases=["SCIM"], availability="coming_soon"))
        s.commit()
    note = "Acme will roll out SCIM by March."
    acme = fake.add_company("Acme Corp")
    theirs = fake.add_deal("Acme", notes=[note], emit=False)
    fake.associate("deals", theirs, "companies", acme, primary=True, emit=False)
    unknown = fake.add_deal("No company", notes=[note], emit=False)
    for deal in (theirs, unknown):
        fake.ui_set_stage(deal, "contractsent")
    deliver(fake, world)
    drain(world)
    row = deal_row(world, theirs)
    assert row.account_name == "Acme Corp"
    assert row.verdict == "clear"
    assert fake.deal(theirs)["properties"]["roadmap_guard_status"] != "blocked"
    assert deal_row(world, unknown).account_name is None
    assert deal_row(world, unknown).verdict == "blocked"
