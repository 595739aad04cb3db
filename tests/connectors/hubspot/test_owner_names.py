"""HubSpot deals carry their owner's NAME (CRM Owners API), looked up once per owner.

Before, `DealSnapshot.owner_name` was never set on HubSpot: templates' {deal.owner_name}
always said "the deal owner" and views, dashboards and reports showed owner ids."""

from __future__ import annotations

from structlog.testing import capture_logs

from app import metrics
from app.connectors.hubspot.owners import OWNERS_SCOPE, TTL_SECONDS, display_name
from app.connectors.hubspot.setup import run_setup


def owner_calls(fake) -> int:
    return sum(n for key, n in fake.calls.items() if key.startswith("GET /crm/v3/owners"))


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_a_deal_carries_its_owners_first_and_last_name(fake, connector) -> None:
    ada = fake.add_owner("Ada", "Lovelace", "ada@example.com")
    mail_only = fake.add_owner(None, "", "rep@example.com")
    left = fake.add_owner("Grace", "Hopper", "grace@example.com", archived=True)
    deals = {
        fake.add_deal("Acme", owner_id=ada): "Ada Lovelace",
        fake.add_deal("Globex", owner_id=mail_only): "rep@example.com",
        # a rep who left: HubSpot answers the owner only with archived=true
        fake.add_deal("Initech", owner_id=left): "Grace Hopper",
        fake.add_deal("Umbrella", owner_id="987654"): None,  # no such owner: 404
        fake.add_deal("Hooli", owner_id=None): None,
    }
    snaps = connector.read_deals(list(deals))
    assert {d: s.owner_name for d, s in snaps.items()} == deals
    assert snaps[next(iter(deals))].owner_id == ada


def test_one_or_two_deals_cost_one_call_per_owner(fake, connector) -> None:
    ada = fake.add_owner("Ada", "Lovelace", "ada@example.com")
    deal = fake.add_deal("Acme", owner_id=ada)
    assert connector.read_deals([deal])[deal].owner_name == "Ada Lovelace"
    assert fake.calls[f"GET /crm/v3/owners/{ada}"] == 1
    fake.reset_calls()
    for _ in range(20):
        assert connector.read_deals([deal])[deal].owner_name == "Ada Lovelace"
    assert owner_calls(fake) == 0  # cached: not one call per deal read


def test_a_burst_of_deals_costs_a_few_list_calls_not_one_per_deal(fake, connector) -> None:
    owners = [fake.add_owner(f"Rep{i}", "Smith", f"rep{i}@example.com") for i in range(40)]
    gone = fake.add_owner("Old", "Timer", "old@example.com", archived=True)
    deals = [fake.add_deal(f"Deal {i}", owner_id=owners[i % 40], emit=False) for i in range(240)]
    deals.append(fake.add_deal("Old deal", owner_id=gone, emit=False))
    fake.reset_calls()
    for start in range(0, len(deals), 100):
        snaps = connector.read_deals(deals[start : start + 100])
        assert all(
            s.owner_name and s.owner_name.endswith(("Smith", "Timer")) for s in snaps.values()
        )
    # the active owners' page and the archived owners' page, once for the whole burst
    assert owner_calls(fake) == 2
    assert fake.calls["GET /crm/v3/owners/"] == 2
    # and the names serve the whole burst: 10,000 lookups, no more calls
    for _ in range(10_000 // len(owners)):
        connector.owners.names(owners)
    assert owner_calls(fake) == 2


def test_a_rename_shows_once_the_cached_name_is_an_hour_old(fake, connector) -> None:
    clock = Clock()
    connector.owners.clock = clock
    ada = fake.add_owner("Ada", "Lovelace", "ada@example.com")
    deal = fake.add_deal("Acme", owner_id=ada)
    assert connector.read_deals([deal])[deal].owner_name == "Ada Lovelace"
    fake.rename_owner(ada, "Ada", "King")
    clock.now += TTL_SECONDS - 60
    assert connector.read_deals([deal])[deal].owner_name == "Ada Lovelace"
    clock.now += 61
    assert connector.read_deals([deal])[deal].owner_name == "Ada King"


def test_a_token_without_the_owners_scope_reads_deals_without_names_and_says_so_once(
    fake, connector
) -> None:
    fake.scopes.remove(OWNERS_SCOPE)
    deals = [fake.add_deal("Acme"), fake.add_deal("Globex")]
    with capture_logs() as logs:
        for _ in range(5):
            snaps = connector.read_deals(deals)
            assert [s.owner_name for s in snaps.values()] == [None, None]
            assert [s.owner_id for s in snaps.values()] == ["101", "101"]
    assert owner_calls(fake) == 1  # asked once, then left alone for a while
    warnings = [e for e in logs if e["log_level"] == "warning" and OWNERS_SCOPE in e["event"]]
    assert len(warnings) == 1
    assert "Private Apps" in warnings[0]["event"] and "setup hubspot" in warnings[0]["event"]
    assert fake.access_token not in repr(logs)
    # an optional scope is no refusal of our credentials: no alarm, no held deals
    assert "hubspot" not in metrics._refused


def test_owners_api_failures_never_fail_the_deal_read(fake, connector) -> None:
    clock = Clock()
    connector.owners.clock = clock
    ada = fake.add_owner("Ada", "Lovelace", "ada@example.com")
    deal = fake.add_deal("Acme", owner_id=ada)
    other = fake.add_deal("Globex")  # owner 101
    fake.inject("500", 1, path="/crm/v3/owners")
    with capture_logs() as logs:
        assert connector.read_deals([deal])[deal].owner_name is None
        assert connector.read_deals([deal])[deal].owner_name is None  # paused, not re-asked
    assert len([e for e in logs if e["log_level"] == "warning"]) == 1
    clock.now += 61
    assert connector.read_deals([deal])[deal].owner_name == "Ada Lovelace"

    # a 429: the deal is read, at once, without the name of an owner not yet known
    clock.now += 61
    fake.inject("429", 1, path="/crm/v3/owners", retry_after=1)
    before = owner_calls(fake)
    assert connector.read_deals([other])[other].owner_name is None
    assert owner_calls(fake) == before + 1  # refused once, not waited out and asked again

    # a refresh that fails keeps the name known
    clock.now += TTL_SECONDS + 1
    fake.inject("502", 1, path="/crm/v3/owners")
    assert connector.read_deals([deal])[deal].owner_name == "Ada Lovelace"


def test_display_name() -> None:
    assert display_name("Ada", "Lovelace", "a@x.io") == "Ada Lovelace"
    assert display_name(" Ada ", None, "a@x.io") == "Ada"
    assert display_name(None, "Lovelace", None) == "Lovelace"
    assert display_name("", " ", "a@x.io") == "a@x.io"
    assert display_name(None, None, None) is None


def test_setup_recommends_the_owners_scope_without_failing(
    fake, api, monkeypatch, capsys, tmp_path
) -> None:
    fake.scopes.remove(OWNERS_SCOPE)
    report = run_setup(
        api, guard_property="roadmap_guard_clearance", access_token=fake.access_token
    )
    assert report.missing_scopes == [] and report.missing_recommended == [OWNERS_SCOPE]

    from app.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", fake.access_token)
    monkeypatch.setenv("HUBSPOT_API_BASE", fake.base_url)
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://rg.example.com")
    assert main(["setup", "hubspot"]) == 0  # an existing install keeps working
    out = capsys.readouterr().out
    assert "scopes: ok" in out  # every required scope is there
    assert f"  {OWNERS_SCOPE}  (owner names:" in out

    fake.scopes.append(OWNERS_SCOPE)
    assert main(["setup", "hubspot"]) == 0
    assert OWNERS_SCOPE not in capsys.readouterr().out


def test_the_owner_list_is_read_page_by_page(fake, connector, monkeypatch) -> None:
    from app.connectors.hubspot import owners as owners_module

    monkeypatch.setattr(owners_module, "PAGE_LIMIT", 5)
    reps = [fake.add_owner(f"Rep{i}", "Page", None) for i in range(12)]
    gone = fake.add_owner(None, None, "gone@example.com", archived=True)
    names = connector.owners.names([*reps, gone, "555"])
    assert names[reps[11]] == "Rep11 Page" and names[gone] == "gone@example.com"
    assert names["555"] is None
    # 13 active owners (owner 101 too) in pages of 5, then one page of archived ones
    assert fake.calls["GET /crm/v3/owners/"] == 4
