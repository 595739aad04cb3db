"""The read-only dashboard: server-rendered pages, no front-end build.

Outside /api, but behind the same API keys: sign-in posts a key once, which is kept in an
HttpOnly, SameSite=Lax cookie (Secure unless COOKIE_SECURE=false for plain-http development)
that `deps.get_principal` also accepts. Pages without a valid key redirect to the sign-in form.
The deal page is the "evaluation link" the CRM record shows.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import func
from sqlmodel import Session, select

from app.api import deps
from app.api.deals import one_snapshot
from app.api.deps import Principal, SessionDep, SettingsDep
from app.connectors.registry import canonical_deal_id
from app.errors import NotFound
from app.models import ApiKey, Commitment, Deal, Feature
from app.models.types import web_link
from app.security import Role, authenticate
from app.services import queries
from app.services.queries import DealFilters, PageRequest
from app.services.reports import NOT_APPROVED_BLOCKED, NOT_APPROVED_COMING_SOON

router = APIRouter(include_in_schema=False)

COOKIE = "rg_api_key"
COOKIE_MAX_AGE = 12 * 3600
APP_DIR = Path(__file__).resolve().parent.parent
templates = Jinja2Templates(directory=str(APP_DIR / "templates"))
templates.env.filters["money"] = lambda v: "—" if v is None else f"{v:,.0f}"
# A link from data (a deal's CRM URL) only when it is http(s): never a "javascript:" one.
templates.env.filters["web_link"] = web_link
# A deal's page, its CRM and id percent-encoded ("D 45#x?y" is one path segment, not a fragment).
templates.env.globals["deal_path"] = queries.deal_path


def approver_of(entry: dict) -> str:
    """A ledger entry's approver, or why there is none, as the commitments report names it:
    an entry with a rule and no approver is a block no one approved, won all the same (the
    column was blank, read as "approved by nobody in particular")."""
    if entry.get("approver"):
        return entry["approver"]
    return NOT_APPROVED_BLOCKED if entry.get("rule_id") else NOT_APPROVED_COMING_SOON


templates.env.globals["approver_of"] = approver_of
CHART_FEATURES = 20
TABLE_ROWS = 50
FEATURE_ROWS = 200
HISTORY_ROWS = 50  # a deal's latest evaluations and write-backs
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _enabled(request: Request) -> None:
    if not request.app.state.settings.dashboard_enabled:
        raise NotFound("the dashboard is disabled (DASHBOARD_ENABLED=false)")


def _record_use(request: Request, row: ApiKey) -> None:
    """The key's `last_used_at`, written as the API writes it (at most once a minute, off the
    request's path): a key used only to read the dashboard was listed as never used, the key
    an admin's clean-up revokes first."""
    deps.record_key_use(request, row.id, row.last_used_at)


def _principal(request: Request) -> Principal | None:
    key = request.cookies.get(COOKIE)
    if not key:
        return None
    with Session(request.app.state.engine) as session:
        row = authenticate(session, key)
        if row is None:
            return None
        _record_use(request, row)
        return Principal(key_id=row.id, name=row.name, role=Role(row.role))


def _to_signin(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/dashboard/signin?next={quote(target)}", status_code=303)


def _origin_of(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        return None
    scheme, host = parts.scheme.lower(), parts.netloc.lower()
    # A browser's Origin leaves out the scheme's default port: PUBLIC_BASE_URL
    # "https://rg.example.com:443" refused every sign-in from https://rg.example.com.
    default = {"https": ":443", "http": ":80"}.get(scheme)
    if default and host.endswith(default):
        host = host.removesuffix(default)
    return f"{scheme}://{host}"


def _from_this_site(request: Request) -> bool:
    """Whether a form POST came from our own pages: its Origin (or, without one, its Referer)
    is this service's, as PUBLIC_BASE_URL names it or as the request reached us. Without the
    check another site could sign a visitor in with the attacker's key (login CSRF: what the
    visitor then reads and downloads is under that key) or sign them out. A request carrying
    neither header (not a browser's cross-site form) is let through."""
    sent = request.headers.get("origin")
    if sent is None or sent == "null":
        sent = _origin_of(request.headers.get("referer")) if sent is None else sent
    if sent is None:
        return True
    ours = {
        _origin_of(request.app.state.settings.public_base_url),
        _origin_of(str(request.base_url)),
    } - {None}
    origin = _origin_of(sent)  # None for "null" (an opaque origin): never ours
    return origin is not None and origin in ours


def _cross_site(request: Request) -> HTMLResponse:
    response = HTMLResponse(
        "This form was not sent from roadmap-guard's own pages, so it was refused.",
        status_code=403,
    )
    response.headers.update(SECURITY_HEADERS)
    return response


def _safe_next(value: str | None) -> str:
    # Only our own pages: an open redirect would turn the sign-in form into a phishing aid.
    if value and value.startswith("/dashboard") and not value.startswith("//"):
        return value
    return "/dashboard"


def _page(request: Request, name: str, context: dict, status_code: int = 200) -> HTMLResponse:
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    return response


@router.get("/dashboard/static/dashboard.css")
def stylesheet() -> FileResponse:
    return FileResponse(APP_DIR / "static" / "dashboard.css", media_type="text/css")


@router.get("/dashboard/signin")
def signin_form(request: Request, settings: SettingsDep, next: str | None = None) -> Response:
    _enabled(request)
    if not request.cookies.get(COOKIE) or _principal(request) is not None:
        return _page(request, "signin.html", {"next": _safe_next(next), "error": None})
    # Signed in with a key since revoked: every page sent the visitor here with nothing said,
    # and the dead key stayed in the cookie.
    response = _page(
        request,
        "signin.html",
        {
            "next": _safe_next(next),
            "error": "The key this browser was signed in with is no longer valid (it was "
            "revoked). Sign in with another key.",
        },
    )
    response.delete_cookie(
        COOKIE, path="/", secure=settings.cookie_secure, httponly=True, samesite="lax"
    )
    return response


@router.post("/dashboard/signin")
def signin(
    request: Request,
    settings: SettingsDep,
    api_key: Annotated[str, Form(max_length=256)],
    next: Annotated[str | None, Form()] = None,
) -> Response:
    _enabled(request)
    if not _from_this_site(request):
        return _cross_site(request)
    with Session(request.app.state.engine) as session:
        row = authenticate(session, api_key.strip())
        if row is not None:
            _record_use(request, row)
    if row is None:
        return _page(
            request,
            "signin.html",
            {"next": _safe_next(next), "error": "That key is not valid or has been revoked."},
            status_code=401,
        )
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE,
        api_key.strip(),
        max_age=COOKIE_MAX_AGE,
        path="/",
        secure=settings.cookie_secure,
        httponly=True,
        samesite="lax",
    )
    return response


@router.post("/dashboard/signout")
def signout(request: Request, settings: SettingsDep) -> Response:
    if not _from_this_site(request):
        return _cross_site(request)
    response = RedirectResponse("/dashboard/signin", status_code=303)
    response.delete_cookie(
        COOKIE, path="/", secure=settings.cookie_secure, httponly=True, samesite="lax"
    )
    return response


def _missing_feature(session: Session, principal: Principal, key: str, page: str) -> dict:
    """The 404 of a feature key, with the roadmap key meant when one is close ("SSO", "ssoo":
    the JSON API suggests it, the page said only "There is no feature SSO")."""
    keys = session.execute(select(Feature.key)).scalars().all()
    close = difflib.get_close_matches(key.strip().lower(), keys, n=1, cutoff=0.75)
    context: dict = {"principal": principal, "what": f"feature {key}", "suggestion": None}
    if close and close[0] != key:
        context["suggestion"] = {
            "key": close[0],
            "path": f"/dashboard/features/{quote(close[0], safe='')}{page}",
        }
    return context


def _what_if_again(request: Request) -> str:
    # the suggested feature's what-if, with the change the visitor asked to try
    return "/what-if" + (f"?{request.url.query}" if request.url.query else "")


def chart(items: list[dict], width: int = 640, bar: int = 22, gap: int = 8) -> dict:
    """Geometry of the horizontal bar chart, computed here so the template only draws."""
    top = max((i["amount"] for i in items), default=0.0) or 1.0
    label_w, value_w = 200, 110
    span = width - label_w - value_w
    bars = []
    for n, item in enumerate(items):
        bars.append(
            {
                **item,
                "y": n * (bar + gap),
                "w": max(1.0, round(span * item["amount"] / top, 1)) if item["amount"] else 0.0,
                "ww": round(span * item["weighted_amount"] / top, 1),
            }
        )
    return {
        "bars": bars,
        "width": width,
        "height": max(len(items), 1) * (bar + gap),
        "bar": bar,
        "label_w": label_w,
        "span": span,
    }


@router.get("/dashboard")
def overview(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    _enabled(request)
    principal = _principal(request)
    if principal is None:
        return _to_signin(request)
    # Five lists and counts: read from one snapshot, or on PostgreSQL a deal or an entry
    # committed between two of them was counted in one and missing from another ("1 of 2
    # entries" over a ledger of one row).
    one_snapshot(session)
    base = settings.public_base_url
    exposure = queries.exposure(
        session, DealFilters(), PageRequest(limit=CHART_FEATURES, sort="-amount")
    )
    blocked = queries.list_deals(
        session,
        DealFilters(verdict="blocked"),
        PageRequest(limit=TABLE_ROWS, sort="-amount"),
        base_url=base,
    )
    warned = queries.list_deals(
        session,
        DealFilters(verdict="warning"),
        PageRequest(limit=TABLE_ROWS, sort="-amount"),
        base_url=base,
    )
    # With `deal_deleted_in_crm` (one query for the page), as /api/v1/commitments lists them:
    # a won deal deleted or merged away in the CRM read as signed business that holds.
    ledger = queries.commitment_rows(
        session,
        session.execute(
            select(Commitment)
            .order_by(
                Commitment.withdrawn_at.is_not(None),  # the promises that stand first
                Commitment.flagged_at.desc().nulls_last(),
                Commitment.signed_at.desc(),
            )
            .limit(TABLE_ROWS)
        )
        .scalars()
        .all(),
    )
    # The ledger lists one page: how many entries there are says when it is not all of them.
    ledger_total = session.execute(select(func.count()).select_from(Commitment)).scalar_one()
    return _page(
        request,
        "overview.html",
        {
            "principal": principal,
            "exposure": exposure,
            "chart": chart(exposure.items),
            "blocked": blocked,
            "warned": warned,
            "ledger": ledger,
            "ledger_total": ledger_total,
        },
    )


@router.get("/dashboard/features/{key}")
def feature_page(key: str, request: Request, session: SessionDep, settings: SettingsDep):
    _enabled(request)
    principal = _principal(request)
    if principal is None:
        return _to_signin(request)
    one_snapshot(session)  # the totals, the page of deals and their quotes agree
    try:
        deals = queries.feature_deals(
            session,
            key,
            DealFilters(),
            PageRequest(limit=FEATURE_ROWS, sort="-amount"),
            base_url=settings.public_base_url,
        )
    except NotFound:
        return _page(request, "missing.html", _missing_feature(session, principal, key, ""), 404)
    # A key its deals still name but the roadmap no longer has: nothing to try a change on
    # (its what-if is a 404), so the page offers none.
    on_roadmap = session.get(Feature, key) is not None
    return _page(
        request,
        "feature.html",
        {"principal": principal, "result": deals, "key": key, "on_roadmap": on_roadmap},
    )


@router.get("/dashboard/features/{key}/what-if")
def what_if_page(
    key: str,
    request: Request,
    session: SessionDep,
    availability: str | None = None,
    target_date: str | None = None,
    no_target_date: bool = False,
):
    """The what-if of one feature (services/what_if.py) as a page: a GET form, so it runs in the
    page's read-only transaction and the dashboard's cookie suffices. Without a change to try,
    the form alone."""
    from pydantic import ValidationError

    from app.models import Feature as FeatureRow
    from app.rules.model import Availability
    from app.services.catalog import feature_from_row
    from app.services.what_if import WhatIfRequest, what_if

    _enabled(request)
    principal = _principal(request)
    if principal is None:
        return _to_signin(request)
    one_snapshot(session)  # the deals before and after, their counts and pipeline agree
    row = session.get(FeatureRow, key)
    if row is None:
        return _page(
            request,
            "missing.html",
            _missing_feature(session, principal, key, _what_if_again(request)),
            404,
        )
    chosen = {
        "availability": availability or None,
        "target_date": target_date or None,
        "no_target_date": no_target_date,
    }
    tried: dict = {}
    if chosen["availability"]:
        tried["availability"] = chosen["availability"]
    if no_target_date:
        tried["target_date"] = None
    elif chosen["target_date"]:
        tried["target_date"] = chosen["target_date"]
    context = {
        "principal": principal,
        "feature": feature_from_row(row),
        "availabilities": [a.value for a in Availability],
        "chosen": chosen,
        "result": None,
        "error": None,
    }
    if not tried:
        if availability is not None or target_date is not None:
            # "Try it" with the form as it came: the page came back unchanged, nothing said.
            context["error"] = "Choose an availability or a target date (or no date) to try."
        return _page(request, "what_if.html", context)
    try:
        body = WhatIfRequest(**tried, limit=TABLE_ROWS)
    except ValidationError as exc:
        # Each message names its field ("Input should be a valid date" said not which).
        context["error"] = "; ".join(
            ": ".join(
                [
                    *(str(p).replace("_", " ") for p in e["loc"][:1]),
                    e["msg"].removeprefix("Value error, "),
                ]
            )
            for e in exc.errors()
        )
        return _page(request, "what_if.html", context, status_code=422)
    context["result"] = what_if(session, key, body)
    return _page(request, "what_if.html", context)


# `:path`: a deal id holding "/" (its link encodes it as %2F, which the router sees decoded).
@router.get("/dashboard/deals/{crm}/{deal_id:path}")
def deal_page(crm: str, deal_id: str, request: Request, session: SessionDep, settings: SettingsDep):
    _enabled(request)
    principal = _principal(request)
    if principal is None:
        return _to_signin(request)
    one_snapshot(session)  # the deal, its findings, history, approvals and ledger agree
    deal_id = canonical_deal_id(crm, deal_id)
    exists = session.execute(
        select(Deal.id).where(Deal.crm == crm, Deal.deal_id == deal_id)
    ).first()
    if exists is None:
        return _page(
            request,
            "missing.html",
            {"principal": principal, "what": f"deal {deal_id} in {crm}"},
            status_code=404,
        )
    detail = queries.deal_detail(
        session, crm, deal_id, base_url=settings.public_base_url, history_limit=HISTORY_ROWS
    )
    return _page(
        request, "deal.html", {"principal": principal, "d": detail, "history_rows": HISTORY_ROWS}
    )
