"""Dashboard pages over HTTP (fast, no browser): sign-in, cookie, redirects, seeded content."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select, update

from app.security import Role, create_api_key
from app.settings import Settings
from tests.dashboard.seed import seed


@pytest.fixture
def key(sqlite_engine):
    with Session(sqlite_engine) as s:
        seed(s)
        _, key = create_api_key(s, name="erin", role=Role.engineering, created_by="tests")
        s.commit()
    return key


def dashboard_settings(engine, **overrides) -> Settings:
    values = {
        "database_url": engine.url.render_as_string(hide_password=False),
        "worker_mode": "off",
        "log_format": "console",
        "public_base_url": "http://testserver",
        "install_default_rules": False,
        **overrides,
    }
    return Settings(_env_file=None, **values)


@pytest.fixture
def web(sqlite_engine):
    from app.main import create_app

    app = create_app(
        settings=dashboard_settings(sqlite_engine), engine=sqlite_engine, connectors={}
    )
    with TestClient(app) as c:
        yield c


def test_pages_redirect_to_signin_without_a_valid_key(web, key):
    r = web.get("/dashboard/deals/hubspot/h1", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/dashboard/signin?next=/dashboard/deals/hubspot/h1"
    web.cookies.set("rg_api_key", "rg_notavalidkey123")
    assert web.get("/dashboard", follow_redirects=False).status_code == 303


def test_signin_sets_a_secure_httponly_lax_cookie_and_refuses_bad_keys(web, key):
    r = web.post("/dashboard/signin", data={"api_key": "rg_wrong_key_000", "next": "/dashboard"})
    assert r.status_code == 401 and "not valid" in r.text
    assert "set-cookie" not in r.headers
    r = web.post("/dashboard/signin", data={"api_key": key, "next": "https://evil.example/"},
                 follow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == "/dashboard"  # no open redirect
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"rg_api_key={key};")
    for attribute in ("HttpOnly", "Secure", "SameSite=lax", "Path=/"):
        assert attribute.lower() in cookie.lower()
    r = web.post("/dashboard/signout", follow_redirects=False)
    assert 'rg_api_key="";' in r.headers["set-cookie"] or "Max-Age=0" in r.headers["set-cookie"]


def test_sign_in_and_out_from_another_site_are_refused(web, key):
    """Login CSRF: another site's form signed the visitor in with the attacker's key (their
    dashboard reading and CSV downloads then ran under it), or signed them out."""
    evil = {"Origin": "https://evil.example"}
    r = web.post("/dashboard/signin", data={"api_key": key}, headers=evil, follow_redirects=False)
    assert r.status_code == 403 and "set-cookie" not in r.headers
    referer = {"Referer": "https://evil.example/page"}
    r = web.post("/dashboard/signin", data={"api_key": key}, headers=referer,
                 follow_redirects=False)  # fmt: skip
    assert r.status_code == 403 and "set-cookie" not in r.headers
    r = web.post("/dashboard/signout", headers=evil, follow_redirects=False)
    assert r.status_code == 403 and "set-cookie" not in r.headers
    # Our own pages (as PUBLIC_BASE_URL names the service, or as the request reached it).
    for origin in ("http://testserver", "HTTP://TESTSERVER"):
        r = web.post("/dashboard/signin", data={"api_key": key}, headers={"Origin": origin},
                     follow_redirects=False)  # fmt: skip
        assert r.status_code == 303 and r.headers["set-cookie"].startswith("rg_api_key=")
    r = web.post("/dashboard/signout", headers={"Referer": "http://testserver/dashboard"},
                 follow_redirects=False)  # fmt: skip
    assert r.status_code == 303


def test_overview_and_deal_pages_show_seeded_data(web, key):
    web.cookies.set("rg_api_key", key)
    r = web.get("/dashboard")
    assert r.status_code == 200
    assert "default-src 'self'" in r.headers["content-security-policy"]
    bars = re.findall(r'data-feature="(\w+)" data-amount="([\d.]+)"', r.text)
    assert bars[:4] == [
        ("audit", "7000.0"),
        ("sso", "6000.0"),
        ("scim", "3000.0"),
        ("api", "1000.0"),
    ]
    assert "bar: amount in USD;" in r.text and 'id="mixed-currencies"' not in r.text
    blocked = r.text.split('id="blocked-deals"')[1].split("</table>")[0]
    assert re.findall(r'data-deal="([\w/]+)"', blocked) == ["salesforce/s1", "hubspot/h2"]
    assert re.search(r'<td class="num">[\d,.]+ USD</td>', blocked)  # each amount says its currency
    assert re.findall(r'data-commitment="\d+" data-feature="(\w+)" class="flagged"', r.text) == [
        "sso"
    ]
    r = web.get("/dashboard/deals/hubspot/h2")
    assert r.status_code == 200
    assert 'data-feature="audit" data-severity="block"' in r.text
    assert "audit export is a must" in r.text
    assert web.get("/dashboard/deals/hubspot/zz").status_code == 404
    r = web.get("/dashboard/features/sso")
    assert "We promised SSO by Q3." in r.text


def test_overview_says_when_its_totals_mix_currencies(web, key, sqlite_engine):
    """A deal stored before amounts were converted, in another currency: the chart's totals
    add amounts in two currencies, and the page says so instead of naming one."""
    from sqlmodel import update

    from app.models import DealFeature

    with Session(sqlite_engine) as s:
        s.exec(update(DealFeature).where(DealFeature.deal_id == "h2").values(currency="EUR"))
        s.commit()
    web.cookies.set("rg_api_key", key)
    page = web.get("/dashboard").text
    assert 'id="mixed-currencies"' in page and "bar: amount in USD" not in page


def test_deal_page_says_what_was_promised_and_how_firmly(web, key, sqlite_engine):
    from sqlmodel import update

    from app.models import DealFeature

    with Session(sqlite_engine) as s:
        s.exec(
            update(DealFeature)
            .where(DealFeature.deal_id == "h2", DealFeature.feature_key == "audit")
            .values(is_commitment=True, hedged=True, promised_date=date(2027, 6, 30))
        )
        s.commit()
    web.cookies.set("rg_api_key", key)
    page = web.get("/dashboard/deals/hubspot/h2").text
    assert '<span class="promise">promised (hedged) by 2027-06-30</span>' in page
    assert page.count('class="promise"') == 1  # SSO is only needed there


def test_deal_page_says_which_features_were_only_nice_to_have(web, key, sqlite_engine):
    from tests.dashboard.seed import wish_for_sso_on_s3

    web.cookies.set("rg_api_key", key)
    assert 'class="optional"' not in web.get("/dashboard/deals/salesforce/s3").text
    wish_for_sso_on_s3(sqlite_engine)
    page = web.get("/dashboard/deals/salesforce/s3").text
    assert page.count('<span class="optional">nice to have</span>') == 1  # SSO, not SCIM
    assert (
        '<li data-feature="sso"><strong><a href="/dashboard/features/sso">Single sign-on</a></strong>'
        ' <span class="source">note</span> <span class="optional">' in page
    )


def test_dashboard_can_be_disabled(sqlite_engine, key):
    from app.main import create_app

    settings = dashboard_settings(sqlite_engine, dashboard_enabled=False)
    app = create_app(settings=settings, engine=sqlite_engine, connectors={})
    with TestClient(app) as c:
        assert c.get("/dashboard/signin").status_code == 404


def test_deal_page_names_expired_and_revoked_approvals(web, key, sqlite_engine):
    from datetime import timedelta

    from app.models import Approval, utcnow

    now = utcnow()
    with Session(sqlite_engine) as s:
        for feature, expires, revoked in [
            ("audit", now + timedelta(days=3), False),  # active: no status shown
            ("sso", now - timedelta(minutes=1), False),  # expired a minute ago
            ("audit", now + timedelta(days=3), True),
        ]:
            s.add(Approval(crm="hubspot", deal_id="h2", feature_key=feature, reason="why",
                           approver="pat", expires_at=expires, created_at=now - timedelta(days=1),
                           revoked_at=now if revoked else None))  # fmt: skip
        s.commit()
    web.cookies.set("rg_api_key", key)
    r = web.get("/dashboard/deals/hubspot/h2")
    assert r.status_code == 200
    table = r.text.split('id="approvals"')[1].split("</table>")[0]
    statuses = re.findall(r"<td>([^<]*)</td></tr>", table)  # the last cell of each row
    assert sorted(statuses) == ["", "expired", "revoked"]
    assert len(re.findall(r'data-status="expired"', table)) == 1


def test_the_what_if_page_previews_a_change_to_a_feature(web, key):
    """From a feature's page: links to try dropping it or removing its date, and a GET form;
    the page shows the verdicts before and after, the pipeline newly blocked and the deals,
    and changes nothing. A bad value is a 422 with the form and the reason."""
    web.cookies.set("rg_api_key", key)
    feature = web.get("/dashboard/features/sso").text
    assert 'href="/dashboard/features/sso/what-if?availability=never"' in feature
    form = web.get("/dashboard/features/sso/what-if")
    assert form.status_code == 200
    assert 'id="what-if-form"' in form.text and 'id="what-if-summary"' not in form.text
    r = web.get("/dashboard/features/sso/what-if?availability=never")
    assert r.status_code == 200
    assert "coming_soon → <strong>never</strong>" in r.text
    assert "preview of the 3 open deals" in r.text  # h1, h2, s3: not won h3, not untracked h4
    summary = r.text.split('id="what-if-summary"')[1].split("</table>")[0]
    assert re.findall(r'<td class="num">(\d+)</td>', summary) == ["3", "0", "0", "3", "0", "0"]
    assert 'id="what-if-blocked"' in r.text
    # Nothing was written: the feature is as it was.
    assert "coming_soon" in web.get("/dashboard/features/sso").text
    bad = web.get("/dashboard/features/sso/what-if?target_date=next+year")
    assert bad.status_code == 422 and 'id="what-if-error"' in bad.text
    assert "valid date" in bad.text
    # A number is no date: it was read as 1970-01-01 and a scenario was shown.
    for number in ("0", "20270930"):
        bad = web.get(f"/dashboard/features/sso/what-if?target_date={number}")
        assert bad.status_code == 422 and 'id="what-if-error"' in bad.text
        assert "must be a date as YYYY-MM-DD" in bad.text
        assert 'id="what-if-summary"' not in bad.text
    assert web.get("/dashboard/features/nope/what-if?availability=never").status_code == 404
    assert web.get("/dashboard/features/sso/what-if?no_target_date=1").status_code == 200


def test_the_what_if_page_says_when_its_total_mixes_currencies(web, key, monkeypatch):
    """GBP deals the CRM did not convert beside USD ones: the newly blocked total is no amount
    of one currency, and the page says so (it printed "207,500 of pipeline" with no warning).
    The seeded set blocks nothing without rules: the what-if's answer is given here."""
    from app.services import what_if as service

    web.cookies.set("rg_api_key", key)
    usd = web.get("/dashboard/features/sso/what-if?availability=never").text
    assert 'id="what-if-mixed-currencies"' not in usd
    real = service.what_if

    def mixed(session, key, request, progress=None):
        result = real(session, key, request, progress)
        return result.model_copy(
            update={
                "newly_blocked": service.PipelineFigure(
                    deal_count=2, amount=207500.0, currency=None, mixed_currencies=True
                )
            }
        )

    monkeypatch.setattr(service, "what_if", mixed)
    r = web.get("/dashboard/features/sso/what-if?availability=never")
    assert r.status_code == 200
    blocked = r.text.split('id="what-if-blocked"')[1].split("</p>")[0]
    assert "207,500 of pipeline in mixed currencies" in blocked
    assert 'id="what-if-mixed-currencies"' in blocked and "mixes currencies" in blocked


def test_ledger_shows_each_amount_with_its_currency(web, key, sqlite_engine):
    """A JPY 1,500,000 promise beside a USD 7,000 one: each amount says its currency, and the
    company-currency amount where the CRM converted it (the table showed bare numbers)."""
    from decimal import Decimal

    from app.models import Commitment

    with Session(sqlite_engine) as s:
        s.add(Commitment(crm="hubspot", deal_id="j1", deal_name="Deal j1", feature_key="sso",
                         feature_name="Single sign-on", availability_at_signing="coming_soon",
                         amount=Decimal("1500000"), currency="JPY", amount_home=Decimal("10000"),
                         home_currency="USD", signed_at=datetime(2026, 2, 1, tzinfo=UTC)))  # fmt: skip
        s.exec(update(Commitment).where(Commitment.deal_id == "h3").values(currency="USD"))
        s.commit()
    web.cookies.set("rg_api_key", key)
    ledger = web.get("/dashboard").text.split('id="ledger"')[1].split("</table>")[0]
    amounts = dict(re.findall(r'data-commitment="\d+".*?<a [^>]*>([^<]*)</a>.*?<td class="num">(.*?)</td>',
                              ledger, re.S))  # fmt: skip
    assert amounts == {
        "Deal j1": '1,500,000 JPY <small class="home">(10,000 USD)</small>',
        "Deal h3": "7,000 USD",
    }


def test_ledger_says_which_signed_promises_were_hedged(web, key, sqlite_engine):
    from sqlmodel import update

    from app.models import Commitment

    web.cookies.set("rg_api_key", key)
    assert 'class="hedged"' not in web.get("/dashboard").text
    with Session(sqlite_engine) as s:
        s.exec(update(Commitment).where(Commitment.deal_id == "h3").values(hedged=True))
        s.commit()
    ledger = web.get("/dashboard").text.split('id="ledger"')[1].split("</table>")[0]
    assert '<td>2026-06-30 <span class="hedged">(hedged)</span></td>' in ledger


@pytest.mark.parametrize(
    ("url", "linked"),
    [
        ("https://app.hubspot.com/contacts/1/deal/h2", True),
        ("javascript:alert(document.cookie)", False),
        (" JavaScript:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("file:///etc/passwd", False),
        ("//evil.example.com/x", False),
    ],
)
def test_a_deals_crm_link_is_shown_only_when_it_is_a_web_link(web, key, sqlite_engine, url, linked):
    """A deal's URL comes from the CRM or the test CRM's PUT body (any text): it was put in
    an href as it came."""
    from sqlmodel import update

    from app.models import Deal

    with Session(sqlite_engine) as s:
        s.exec(update(Deal).where(Deal.deal_id == "h2").values(url=url))
        s.commit()
    web.cookies.set("rg_api_key", key)
    page = web.get("/dashboard/deals/hubspot/h2").text
    assert ("open in CRM" in page) is linked
    assert ("alert(" in page or "file:" in page) is False


@pytest.mark.parametrize("deal_id", ["D 45#x?y", "a/b&c"])
def test_links_to_a_deal_encode_its_crm_and_id(web, key, sqlite_engine, deal_id):
    """A deal id "D 45#x?y" gave the link ".../dashboard/deals/hubspot/D 45#x?y": "#x?y" read
    as a fragment and a query. The link the CRM record gets (evaluation_url) and the dashboard's
    hrefs percent-encode each segment, and the page they open is the deal's."""
    from decimal import Decimal
    from urllib.parse import quote

    from app.models import Deal
    from app.services.queries import evaluation_url

    with Session(sqlite_engine) as s:
        s.add(Deal(crm="hubspot", deal_id=deal_id, name="Odd id", verdict="blocked",
                   amount=Decimal("123456"), currency="USD", tracked=True))  # fmt: skip
        s.commit()
    path = f"/dashboard/deals/hubspot/{quote(deal_id, safe='')}"
    assert evaluation_url("https://rg.example/", "hubspot", deal_id) == "https://rg.example" + path
    assert evaluation_url("https://rg.example", "my crm", "1") == (
        "https://rg.example/dashboard/deals/my%20crm/1"
    )
    web.cookies.set("rg_api_key", key)
    overview = web.get("/dashboard").text
    assert f'href="{path}"' in overview
    page = web.get(path)
    assert page.status_code == 200 and "Odd id" in page.text, page.text[-600:]
    listed = web.get("/api/v1/deals?verdict=blocked&sort=-amount&limit=1").json()["items"][0]
    assert listed["evaluation_url"] == "http://testserver" + path


def test_ledger_marks_the_promises_of_deals_that_left_won_and_lists_them_last(
    web, key, sqlite_engine
):
    from app.models import Commitment, utcnow

    web.cookies.set("rg_api_key", key)
    with Session(sqlite_engine) as s:
        first = s.exec(select(Commitment)).one()  # the seed's
        for n in range(2):  # two more that stand, signed earlier
            s.add(Commitment(crm="hubspot", deal_id=f"old{n}", feature_key="sso",
                             promise_key="sso", feature_name="SSO",
                             signed_at=datetime(2025, 1, 1 + n, tzinfo=UTC)))  # fmt: skip
        s.exec(
            update(Commitment)
            .where(Commitment.id == first.id)
            .values(withdrawn_at=utcnow(), flagged_at=utcnow())
        )
        s.commit()
        first_id = first.id
    ledger = web.get("/dashboard").text.split('id="ledger"')[1].split("</table>")[0]
    rows = re.findall(r'data-commitment="(\d+)"', ledger)
    assert rows[-1] == str(first_id)  # flagged, but withdrawn: after the ones that stand
    assert 'class="withdrawn"' in ledger.split(f'data-commitment="{first_id}"')[1]
    assert ledger.count('class="withdrawn"') == 1
