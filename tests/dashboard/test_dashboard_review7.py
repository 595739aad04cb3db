"""Dashboard review, round 7: what an engineering manager or product lead saw in the browser."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.rules.model import EvaluationResult, FeatureReference, VerdictStatus
from app.security import Role, create_api_key
from tests.dashboard.seed import seed
from tests.dashboard.test_pages import dashboard_settings


@pytest.fixture
def key(sqlite_engine):
    with Session(sqlite_engine) as s:
        seed(s)
        _, key = create_api_key(s, name="erin", role=Role.engineering, created_by="tests")
        s.commit()
    return key


@pytest.fixture
def web(sqlite_engine, key):
    from app.main import create_app

    app = create_app(
        settings=dashboard_settings(sqlite_engine), engine=sqlite_engine, connectors={}
    )
    with TestClient(app) as c:
        c.cookies.set("rg_api_key", key)
        yield c


def _section(page: str, marker: str, end: str = "</table>") -> str:
    return page.split(marker, 1)[1].split(end, 1)[0]


def test_overview_legend_shows_the_open_pipeline_per_availability(web):
    """The legend under the chart was always empty: it read `by_availability` from the page
    result, which keeps it in `extra`. It now lists, as /api/v1/exposure does, each
    availability's deals (each counted once) and their amount with its currency."""
    legend = _section(web.get("/dashboard").text, '<ul class="legend"', "</ul>")
    items = re.findall(r'data-availability="(\w+)">([^<]*)</li>', legend)
    api = web.get("/api/v1/exposure").json()["by_availability"]
    assert [a for a, _ in items] == [a["availability"] for a in api]
    said = dict(items)
    # never: audit (h2 2,000 + s1 5,000); coming_soon: sso (h1, h2, s3)
    assert said["never"] == "never: 2 deals, 7,000 USD"
    assert said["coming_soon"] == "coming_soon: 3 deals, 6,000 USD"


def test_a_deal_deleted_in_the_crm_says_so_on_its_page_and_in_the_ledger(web, sqlite_engine):
    """h3 (won, its SSO promise in the ledger) deleted in the CRM: its page read as a live deal
    with its last verdict and the overview's ledger said its promise "holds", where the JSON
    API says `deleted_in_crm` / `deal_deleted_in_crm` (not signed business any more)."""
    from sqlmodel import update

    from app.models import Deal

    with Session(sqlite_engine) as s:
        s.exec(update(Deal).where(Deal.deal_id == "h3").values(tracked=False))
        s.commit()
    page = web.get("/dashboard/deals/hubspot/h3").text
    assert web.get("/api/v1/deals/hubspot/h3").json()["deal"]["deleted_in_crm"] is True
    assert 'id="deal-deleted"' in page and "deleted in the CRM" in page
    ledger = _section(web.get("/dashboard").text, 'id="ledger"')
    assert web.get("/api/v1/commitments").json()["items"][0]["deal_deleted_in_crm"] is True
    assert "deal deleted in the CRM" in ledger
    # a deal still in the CRM says neither
    assert "deleted in the CRM" not in web.get("/dashboard/deals/hubspot/h2").text


def test_lists_cut_to_a_page_say_so_and_link_every_row(web, sqlite_engine, monkeypatch):
    """The overview's chart, blocked and warned deals and ledger, and a feature's deals, are
    each one page (20 features, 50 or 200 rows): the rest were simply not there, with nothing
    saying so, and a feature past the chart's 20 was linked from nowhere. Each cut list now
    says how many it shows of how many, and links the whole list as the API's CSV, which the
    dashboard's cookie opens."""
    from datetime import UTC, datetime

    from app.api import dashboard
    from app.models import Commitment

    with Session(sqlite_engine) as s:
        s.add(Commitment(crm="hubspot", deal_id="h1", feature_key="api", promise_key="api",
                         feature_name="Public API", signed_at=datetime(2025, 1, 1, tzinfo=UTC)))  # fmt: skip
        s.commit()
    monkeypatch.setattr(dashboard, "CHART_FEATURES", 3)
    monkeypatch.setattr(dashboard, "TABLE_ROWS", 1)
    monkeypatch.setattr(dashboard, "FEATURE_ROWS", 2)
    page = web.get("/dashboard").text
    assert "The 3 of 4 features with the most open pipeline" in page
    assert 'href="/api/v1/exposure?format=csv"' in page
    assert "The 1 largest of 2;" in _section(page, 'id="blocked-deals"', "<h2>")
    assert 'href="/api/v1/deals?verdict=blocked&amp;format=csv"' in page
    assert 'href="/api/v1/deals?verdict=warning&amp;format=csv"' in page
    assert "Commitment ledger <small>(2)</small>" in page
    assert "1 of 2 entries" in page and 'href="/api/v1/commitments?format=csv"' in page
    csv = web.get("/api/v1/deals?verdict=blocked&format=csv")  # with the page's cookie alone
    assert csv.status_code == 200 and len(csv.text.strip().splitlines()) == 1 + 2
    feature = web.get("/dashboard/features/sso").text
    assert "3 open deals depend on it" in feature
    assert len(re.findall(r"<tr data-deal=", feature)) == 2
    assert "The 2 largest of 3;" in feature
    assert 'href="/api/v1/features/sso/deals?format=csv"' in feature
    # a list that is all there says nothing more
    monkeypatch.setattr(dashboard, "TABLE_ROWS", 50)
    monkeypatch.setattr(dashboard, "CHART_FEATURES", 20)
    monkeypatch.setattr(dashboard, "FEATURE_ROWS", 200)
    assert 'class="hint more"' not in web.get("/dashboard").text
    assert 'class="hint more"' not in web.get("/dashboard/features/sso").text


def test_a_feature_no_open_deal_depends_on_says_so(web, sqlite_engine):
    """Its table was an empty header, with nothing in it."""
    from app.models import Feature

    with Session(sqlite_engine) as s:
        s.add(Feature(key="mfa", name="MFA", availability="coming_soon"))
        s.commit()
    page = web.get("/dashboard/features/mfa").text
    assert "0 open deals depend on it" in page
    assert "No open deal depends on it." in _section(page, 'id="feature-deals"')


def test_a_feature_gone_from_the_roadmap_offers_no_what_if_that_leads_nowhere(web, sqlite_engine):
    """Deleted from the roadmap while deals still name it: its page (linked from the chart)
    offered "what if it were dropped / had no date", each a 404 "There is no feature scim"."""
    from sqlmodel import delete

    from app.models import Feature

    with Session(sqlite_engine) as s:
        s.exec(delete(Feature).where(Feature.key == "scim"))
        s.commit()
    page = web.get("/dashboard/features/scim")
    assert page.status_code == 200 and "1 open deals depend on it" in page.text
    assert "/what-if" not in page.text
    assert 'id="not-on-roadmap"' in page.text
    assert web.get("/dashboard/features/scim/what-if?availability=never").status_code == 404
    # on the roadmap: the links are there and open
    sso = web.get("/dashboard/features/sso").text
    assert 'id="what-if-dropped"' in sso and 'id="not-on-roadmap"' not in sso


def test_a_revoked_key_in_the_cookie_is_named_on_the_sign_in_page_and_dropped(
    web, key, sqlite_engine
):
    """The key the browser signed in with was revoked: every page bounced to the sign-in form
    with nothing said (the visitor pasted the same key again and again), and the dead key
    stayed in the cookie."""
    from app.models import ApiKey
    from app.security import revoke_api_key

    assert web.get("/dashboard", follow_redirects=False).status_code == 200
    with Session(sqlite_engine) as s:
        revoke_api_key(s.exec(select(ApiKey).where(ApiKey.name == "erin")).one())
        s.commit()
    r = web.get("/dashboard/deals/hubspot/h2")  # follows the redirect to the sign-in form
    assert r.url.path == "/dashboard/signin"
    assert 'id="signin-error"' in r.text and "no longer valid" in r.text
    assert 'rg_api_key="";' in r.headers["set-cookie"] or "Max-Age=0" in r.headers["set-cookie"]
    assert 'value="/dashboard/deals/hubspot/h2"' in r.text  # and it still goes back there
    # a visitor who was never signed in sees the plain form
    web.cookies.clear()
    plain = web.get("/dashboard/signin")
    assert "signin-error" not in plain.text and "set-cookie" not in plain.headers


def test_a_won_deals_page_shows_its_promises_and_which_broke(web):
    """The overview's ledger says h3's SSO promise is broken (the target moved) and links to
    h3's page, which said only "clear, no findings": nothing of what was promised when it was
    won. The page now lists the deal's ledger entries and their status, as /api/v1/deals/..
    returns them."""
    api = web.get("/api/v1/deals/hubspot/h3").json()["commitments"]
    assert [c["feature_key"] for c in api] == ["sso"] and api[0]["flagged"]
    page = web.get("/dashboard/deals/hubspot/h3").text
    promised = _section(page, 'id="commitments"')
    row = re.search(r'<tr data-commitment="\d+" data-feature="sso" class="flagged">(.*?)</tr>',
                    promised).group(1)  # fmt: skip
    assert "Single sign-on" in row and "2026-06-30" in row and "pat" in row
    assert "broken" in row and "target moved to 2026-09-30" in row
    # a deal with no promise recorded has no such section
    assert 'id="commitments"' not in web.get("/dashboard/deals/hubspot/h2").text


def test_the_what_if_form_says_what_is_wrong_and_where(web):
    """A bad date said "Input should be a valid date or datetime, ..." without saying which
    input; "Try it" with nothing chosen gave the same form back with nothing said."""
    bad = web.get("/dashboard/features/sso/what-if?target_date=2026-02-30")
    assert bad.status_code == 422
    error = _section(bad.text, 'id="what-if-error">', "</p>")
    assert error.startswith("target date: ") and "valid date" in error
    both = web.get("/dashboard/features/sso/what-if?availability=bogus&target_date=2026-02-30")
    error = _section(both.text, 'id="what-if-error">', "</p>")
    assert error.startswith("availability: ") and "; target date: " in error
    empty = web.get("/dashboard/features/sso/what-if?availability=&target_date=")
    assert empty.status_code == 200 and 'id="what-if-summary"' not in empty.text
    assert "Choose an availability or a target date" in empty.text
    # the form opened from the feature's page says nothing yet
    assert 'id="what-if-error"' not in web.get("/dashboard/features/sso/what-if").text


def test_chart_labels_longer_than_the_label_column_are_cut(web, sqlite_engine):
    """Labels are cut at 28 characters to fit the chart's 200-pixel label column, but Jinja's
    `truncate` lets up to 5 more through whole: a 33-character name ran into its bar."""
    from sqlmodel import update

    from app.models import Feature

    long = "Single sign-on for every tenant!!"  # 33 characters
    with Session(sqlite_engine) as s:
        s.exec(update(Feature).where(Feature.key == "sso").values(name=long))
        s.exec(update(Feature).where(Feature.key == "audit").values(name="A" * 28))
        s.commit()
    page = web.get("/dashboard").text
    labels = dict(
        re.findall(r'href="/dashboard/features/(\w+)"><text [^>]*class="label">([^<]*)<', page)
    )
    assert labels["sso"] == long[:27] + "…"
    assert labels["audit"] == "A" * 28  # a name that fits is whole
    assert f"<title>{long}: 3 deals" in page  # the whole name on hover


def test_a_features_page_says_how_much_pipeline_depends_on_it(web, sqlite_engine):
    """ "Which features carry how much open pipeline": the chart answers for its top 20; the
    page of any feature (one past the chart, opened from the CSV) gave only a count of deals,
    each deal's amount in its own currency. It now gives the total and the weighted total, as
    /api/v1/features/{key}/deals sums them, and says when they mix currencies."""
    from sqlmodel import update

    from app.models import DealFeature

    totals = web.get("/api/v1/features/sso/deals").json()["totals"]
    assert (totals["amount"], totals["weighted_amount"]) == (6000.0, 3600.0)
    line = _section(web.get("/dashboard/features/sso").text, 'id="feature-totals">', "</p>")
    assert line.startswith("3 open deals depend on it: 6,000 USD of pipeline, 3,600 weighted")
    with Session(sqlite_engine) as s:
        s.exec(update(DealFeature).where(DealFeature.deal_id == "h2").values(currency="EUR"))
        s.commit()
    line = _section(web.get("/dashboard/features/sso").text, 'id="feature-totals">', "</p>")
    assert "6,000 of pipeline" in line and "more than one currency" in line


def test_deal_amounts_show_the_company_currency_amount_they_are_sorted_by(web, sqlite_engine):
    """A JPY deal the CRM converted: lists sort by the company-currency amount, so "1,500,000
    JPY" sat above "5,000 USD" with nothing showing why (or read as the larger number); the
    ledger already showed "(10,000 USD)" beside it, the deal tables and the deal page now do."""
    from decimal import Decimal

    from sqlmodel import update

    from app.models import Deal

    with Session(sqlite_engine) as s:
        s.exec(update(Deal).where(Deal.deal_id == "h2").values(
            amount=Decimal("1500000"), currency="JPY", amount_home=Decimal("10000"),
            home_currency="USD"))  # fmt: skip
        s.exec(update(Deal).where(Deal.deal_id == "s1").values(
            amount_home=Decimal("5000"), home_currency="USD"))  # fmt: skip
        s.commit()
    blocked = _section(web.get("/dashboard").text, 'id="blocked-deals"')
    assert re.findall(r'data-deal="([\w/]+)"', blocked) == ["hubspot/h2", "salesforce/s1"]
    assert '1,500,000 JPY <small class="home">(10,000 USD)</small>' in blocked
    assert "5,000 USD</td>" in blocked  # already in the company currency: said once
    feature = web.get("/dashboard/features/audit").text
    assert '1,500,000 JPY <small class="home">(10,000 USD)</small>' in feature
    deal = web.get("/dashboard/deals/hubspot/h2").text
    assert '1,500,000 JPY <small class="home">(10,000 USD)</small>' in deal


def test_reading_the_dashboard_records_the_keys_use(web, sqlite_engine):
    """A key used only for the dashboard kept `last_used_at` empty (the API's reads write it,
    the dashboard's pages did not): the admin key list showed it as never used."""
    from datetime import timedelta

    from app.api.deps import wait_for_touches
    from app.models import ApiKey, utcnow

    def last_used():
        wait_for_touches()  # written off the request's path, as the API writes it
        with Session(sqlite_engine) as s:
            return s.exec(select(ApiKey).where(ApiKey.name == "erin")).one().last_used_at

    assert last_used() is None
    before = utcnow() - timedelta(seconds=1)
    assert web.get("/dashboard/features/sso").status_code == 200
    used = last_used()
    assert used is not None and used.replace(tzinfo=before.tzinfo) >= before


def test_a_mistyped_feature_key_suggests_the_one_meant(web):
    """/dashboard/features/SSO said only "There is no feature SSO" where the JSON API says
    "did you mean 'sso'?": the 404 page now links the feature meant (its what-if keeps the
    change asked for)."""
    assert "did you mean 'sso'" in web.get("/api/v1/features/SSO/deals").json()["error"]["message"]
    page = web.get("/dashboard/features/SSO")
    assert page.status_code == 404
    assert '<a id="did-you-mean" href="/dashboard/features/sso">sso</a>' in page.text
    what_if = web.get("/dashboard/features/ssoo/what-if?availability=never")
    assert what_if.status_code == 404
    assert 'href="/dashboard/features/sso/what-if?availability=never"' in what_if.text
    nothing_close = web.get("/dashboard/features/kubernetes")
    assert nothing_close.status_code == 404 and "did-you-mean" not in nothing_close.text


def test_a_deal_without_its_own_currency_reads_in_the_company_currency(web, sqlite_engine):
    """A HubSpot deal with no `deal_currency_code` is in the company currency (its converted
    amount is the same number): the tables showed a bare "2,000" and then "2,000 (2,000
    USD)"; it reads "2,000 USD", once."""
    from decimal import Decimal

    from sqlmodel import update

    from app.models import Deal

    with Session(sqlite_engine) as s:
        s.exec(update(Deal).where(Deal.deal_id == "h2").values(
            currency=None, amount_home=Decimal("2000"), home_currency="USD"))  # fmt: skip
        s.commit()
    blocked = _section(web.get("/dashboard").text, 'id="blocked-deals"')
    row = _section(blocked, 'data-deal="hubspot/h2"', "</tr>")
    assert '<td class="num">2,000 USD</td>' in row
    assert "<dd>2,000 USD</dd>" in web.get("/dashboard/deals/hubspot/h2").text
    assert '<td class="num">2,000 USD</td>' in web.get("/dashboard/features/audit").text


def test_a_deal_not_evaluated_yet_says_so_in_its_history(web, sqlite_engine):
    """Its history was a bare table header."""
    from decimal import Decimal

    from app.models import Deal

    with Session(sqlite_engine) as s:
        s.add(Deal(crm="hubspot", deal_id="new1", name="Fresh deal", amount=Decimal("10"),
                   currency="USD", tracked=True))  # fmt: skip
        s.commit()
    page = web.get("/dashboard/deals/hubspot/new1").text
    assert "Not evaluated yet." in _section(page, 'id="history"')
    assert "Not evaluated yet." not in _section(
        web.get("/dashboard/deals/hubspot/h2").text, 'id="history"'
    )


def test_sign_in_is_not_refused_when_public_base_url_names_the_default_port(sqlite_engine, key):
    """PUBLIC_BASE_URL=https://rg.example.com:443: a browser's Origin leaves the default port
    out ("https://rg.example.com"), and every sign-in from our own page was refused as
    cross-site. Another site, or an opaque ("null") origin, still is."""
    from app.main import create_app

    settings = dashboard_settings(sqlite_engine, public_base_url="https://RG.example.com:443/")
    app = create_app(settings=settings, engine=sqlite_engine, connectors={})
    with TestClient(app) as c:
        for origin, status in (
            ("https://rg.example.com", 303),
            ("https://rg.example.com:443", 303),
            ("https://rg.example.com:8443", 403),
            ("http://rg.example.com", 403),
            ("https://evil.example", 403),
            ("null", 403),
        ):
            r = c.post("/dashboard/signin", data={"api_key": key}, headers={"Origin": origin},
                       follow_redirects=False)  # fmt: skip
            assert r.status_code == status, origin
        r = c.post("/dashboard/signout", headers={"Referer": "https://rg.example.com/dashboard"},
                   follow_redirects=False)  # fmt: skip
        assert r.status_code == 303


def test_ledger_says_why_a_promise_has_no_approver(web, sqlite_engine):
    """A block no one approved on a deal won all the same, and a coming-soon promise (which
    needs no approval), are entries without an approver: the column was blank where the
    commitments report names them "(not approved: signed while blocked)" and "(not approved:
    coming soon)"."""
    from datetime import UTC, datetime

    from app.models import Commitment

    with Session(sqlite_engine) as s:
        for deal_id, rule_id in (("w1", "never"), ("w2", None)):
            s.add(Commitment(crm="hubspot", deal_id=deal_id, deal_name=f"Deal {deal_id}",
                             feature_key="audit", promise_key="audit", feature_name="Audit",
                             rule_id=rule_id, signed_at=datetime(2026, 3, 1, tzinfo=UTC)))  # fmt: skip
        s.commit()
    ledger = _section(web.get("/dashboard").text, 'id="ledger"')
    approvers = dict(re.findall(r'>(Deal \w+)</a>.*?<td class="num">.*?</td><td[^>]*>([^<]*)</td>',
                                ledger, re.S))  # fmt: skip
    assert approvers == {
        "Deal h3": "pat",
        "Deal w1": "(not approved: signed while blocked)",
        "Deal w2": "(not approved: coming soon)",
    }


def test_a_features_deals_name_their_owner_and_stage_by_id_when_no_name_is_known(
    web, sqlite_engine
):
    """A deal whose owner's name the CRM did not give (HubSpot without the owners scope, the
    demo's deals): the overview listed its owner id, the feature's page a blank cell."""
    from sqlmodel import update

    from app.models import Deal

    with Session(sqlite_engine) as s:
        s.exec(update(Deal).where(Deal.deal_id == "h2").values(owner_name=None, stage_label=None))
        s.commit()
    row = _section(web.get("/dashboard/features/audit").text, 'data-deal="hubspot/h2"', "</tr>")
    assert "<td>proposal</td><td>bob</td>" in row
    blocked = _section(web.get("/dashboard").text, 'data-deal="hubspot/h2"', "</tr>")
    assert "<td>proposal</td><td>bob</td>" in blocked  # as the overview says it


def test_form_errors_are_announced_and_tied_to_their_field(web, key):
    """A wrong key or a bad what-if value was a red paragraph a screen reader did not
    announce, not tied to the field it is about."""
    web.cookies.clear()
    r = web.post("/dashboard/signin", data={"api_key": "rg_wrong_key_000"})
    assert r.status_code == 401
    assert '<p class="error" role="alert" id="signin-error">' in r.text
    field = re.search(r'<input type="password" id="api_key"[^>]*>', r.text).group(0)
    assert 'aria-invalid="true"' in field and 'aria-describedby="signin-error"' in field
    web.cookies.set("rg_api_key", key)
    bad = web.get("/dashboard/features/sso/what-if?target_date=2026-02-30")
    assert '<p class="error" role="alert" id="what-if-error">' in bad.text
    plain = re.search(
        r'<input type="password" id="api_key"[^>]*>', web.get("/dashboard/signin").text
    )
    assert "aria-invalid" not in plain.group(0)


def test_every_page_renders_on_both_databases(engine):
    """The dashboard's tests ran on SQLite alone: the overview's ledger order (NULLS LAST),
    its page of deleted deals and owner names (row-value IN) and the what-if on PostgreSQL
    too."""
    from app.main import create_app

    with Session(engine) as s:
        seed(s)
        _, key = create_api_key(s, name="erin", role=Role.engineering, created_by="tests")
        s.commit()
    app = create_app(settings=dashboard_settings(engine), engine=engine, connectors={})
    with TestClient(app) as c:
        c.cookies.set("rg_api_key", key)
        overview = c.get("/dashboard")
        assert overview.status_code == 200
        assert re.findall(r'data-feature="(\w+)" data-amount', overview.text) == [
            "audit", "sso", "scim", "api"]  # fmt: skip
        assert "never: 2 deals, 7,000 USD" in overview.text
        for path in (
            "/dashboard/features/sso",
            "/dashboard/features/sso/what-if?availability=never",
            "/dashboard/deals/hubspot/h2",
            "/dashboard/deals/hubspot/h3",
        ):
            assert c.get(path).status_code == 200, path


def test_a_features_page_says_which_deals_were_promised_it_and_by_when(web, sqlite_engine):
    """ "What was promised": the feature's page quoted each deal's words but not what the deal
    page and /api/v1/features/{key}/deals say of them: a promise (hedged or not) and its
    date, a need with the customer's date, or only a wish."""
    from datetime import date

    from sqlmodel import select as select_

    from app.models import Deal
    from app.services.pipeline import replace_dependencies

    with Session(sqlite_engine) as s:
        for deal_id, ref in (
            ("h1", FeatureReference(feature_key="sso", feature_name="Single sign-on",
                                    source="note", evidence="We promised SSO by Q3.",
                                    is_commitment=True, hedged=True,
                                    promised_date=date(2026, 9, 30))),
            ("h2", FeatureReference(feature_key="sso", feature_name="Single sign-on",
                                    source="note", evidence="They need SSO by March.",
                                    needed_by=date(2027, 3, 31))),
            ("s3", FeatureReference(feature_key="sso", feature_name="Single sign-on",
                                    source="note", evidence="SSO would be a bonus",
                                    optional=True)),
        ):  # fmt: skip
            deal = s.exec(select_(Deal).where(Deal.deal_id == deal_id)).one()
            replace_dependencies(
                s, deal, EvaluationResult(status=VerdictStatus(deal.verdict), references=[ref])
            )
        s.commit()
    page = web.get("/dashboard/features/sso").text
    said = {
        deal: _section(page, f'data-deal="{deal}"', "</tr>")
        for deal in ("hubspot/h1", "hubspot/h2", "salesforce/s3")
    }
    assert "promised (hedged) by 2026-09-30" in said["hubspot/h1"]
    assert "needed by 2027-03-31" in said["hubspot/h2"] and "promised" not in said["hubspot/h2"]
    assert "nice to have" in said["salesforce/s3"]


def test_features_named_on_a_deal_and_in_the_ledger_link_to_their_pages(web):
    """From a deal blocked on audit export, or a broken SSO promise, the way to the feature's
    other deals was back to the chart: the features named were plain text."""
    deal = web.get("/dashboard/deals/hubspot/h2").text
    assert '<a href="/dashboard/features/audit">audit</a>' in _section(deal, 'id="findings"')
    refs = _section(deal, 'id="references"', "</ul>")
    assert '<a href="/dashboard/features/sso">Single sign-on</a>' in refs
    assert '<a href="/dashboard/features/audit">Audit log export</a>' in refs
    ledger = _section(web.get("/dashboard").text, 'id="ledger"')
    assert '<a href="/dashboard/features/sso">Single sign-on</a>' in ledger
    assert web.get("/dashboard/features/audit").status_code == 200


def test_the_what_if_says_plainly_when_nothing_would_be_blocked(web, monkeypatch):
    """Most tries block nothing new: the page read "0 deals would be newly blocked, 0  of
    pipeline; 0 would no longer be blocked (0 )."."""
    from app.services import what_if as service

    line = _section(
        web.get("/dashboard/features/sso/what-if?availability=never").text,
        'id="what-if-blocked">',
        "</p>",
    )
    assert " ".join(line.split()) == (
        "<strong>0</strong> deals would be newly blocked; 0 would no longer be blocked."
    )
    real = service.what_if

    def some(session, key, request, progress=None):
        result = real(session, key, request, progress)
        return result.model_copy(update={
            "newly_blocked": service.PipelineFigure(deal_count=2, amount=3000.0, currency="USD"),
            "no_longer_blocked": service.PipelineFigure(deal_count=1, amount=500.0, currency="USD"),
        })  # fmt: skip

    monkeypatch.setattr(service, "what_if", some)
    line = _section(
        web.get("/dashboard/features/sso/what-if?availability=never").text,
        'id="what-if-blocked">',
        "</p>",
    )
    assert " ".join(line.split()) == (
        "<strong>2</strong> deals would be newly blocked, 3,000 USD of pipeline;"
        " 1 would no longer be blocked (500 USD)."
    )


def test_a_deals_history_says_when_it_shows_only_the_latest(web, sqlite_engine, monkeypatch):
    """A deal evaluated more often than the page lists showed a history that looked whole."""
    from datetime import UTC, datetime, timedelta

    from app.api import dashboard
    from app.models import Evaluation

    monkeypatch.setattr(dashboard, "HISTORY_ROWS", 3)
    page = web.get("/dashboard/deals/hubspot/h2").text  # 2 evaluations, 1 write-back
    assert len(re.findall(r"<tr><td>2026-", _section(page, 'id="history"'))) == 2
    assert "more-history" not in page and "more-write-backs" not in page
    with Session(sqlite_engine) as s:
        for n in range(3):
            s.add(Evaluation(crm="hubspot", deal_id="h2", verdict="blocked",
                             created_at=datetime(2026, 2, 1, tzinfo=UTC) + timedelta(hours=n)))  # fmt: skip
        s.commit()
    page = web.get("/dashboard/deals/hubspot/h2").text
    assert len(re.findall(r"<tr><td>2026-", _section(page, 'id="history"'))) == 3
    assert "The latest 3 evaluations only." in page and "more-write-backs" not in page
