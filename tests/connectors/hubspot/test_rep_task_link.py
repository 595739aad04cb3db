"""The roadmap task links to the deal's page in roadmap-guard: its text sends the rep there
(for a product owner's approval, for the rest of a list cut to HubSpot's limit), and a task
read in the task list shows none of the deal's properties."""

from __future__ import annotations

from datetime import UTC, datetime

from app.connectors.base import DealWriteBack, TaskSpec
from app.connectors.hubspot.connector import BODY_MAX
from app.rules.model import VerdictStatus


def _item(snapshot, body: str, url: str | None) -> DealWriteBack:
    return DealWriteBack(
        crm="hubspot",
        deal_id=snapshot.deal_id,
        status=VerdictStatus.blocked,
        summary="Blocked: SSO will never be built.",
        block=True,
        checked_at=datetime.now(UTC),
        evaluation_url=url,
        task=TaskSpec(subject="Roadmap check: Acme is blocked", body=body),
        task_id=None,
        snapshot=snapshot,
    )


def test_the_task_links_to_the_deals_page_in_roadmap_guard(fake, connector) -> None:
    deal = fake.add_deal("Acme")
    snap = connector.read_deals([deal])[deal]
    url = f"https://rg.example.com/dashboard/deals/hubspot/{deal}?a=1&b=2"
    out = connector.write_back([_item(snap, "Ask a product owner to approve it.", url)])[deal]
    assert out.error is None
    stored = fake.tasks_for(deal)[0]["properties"]["hs_task_body"]
    href = f"https://rg.example.com/dashboard/deals/hubspot/{deal}?a=1&amp;b=2"
    assert f'Full check in roadmap-guard: <a href="{href}">{href}</a>' in stored
    assert stored.endswith(f"(roadmap-guard ref rgdeal{deal})")


def test_a_task_cut_to_hubspots_limit_keeps_the_link_to_the_rest(fake, connector) -> None:
    deal = fake.add_deal("Acme")
    snap = connector.read_deals([deal])[deal]
    url = f"https://rg.example.com/dashboard/deals/hubspot/{deal}"
    body = "\n".join(f"[BLOCKER] Finding {i}: SSO promised by Q1." for i in range(3000))
    out = connector.write_back([_item(snap, body, url)])[deal]
    assert out.error is None
    stored = fake.tasks_for(deal)[0]["properties"]["hs_task_body"]
    assert len(stored) <= BODY_MAX
    assert "the full list is on the deal&#x27;s page in roadmap-guard" in stored
    assert f'<a href="{url}">' in stored


def test_no_link_without_a_web_address(fake, connector) -> None:
    deal = fake.add_deal("Acme")
    snap = connector.read_deals([deal])[deal]
    connector.write_back([_item(snap, "SSO will never be built.", None)])
    stored = fake.tasks_for(deal)[0]["properties"]["hs_task_body"]
    assert stored == f"SSO will never be built.<br><br>(roadmap-guard ref rgdeal{deal})"
