"""`roadmap-guard setup hubspot`."""

from __future__ import annotations

import argparse
import sys

from tqdm import tqdm


def _setup_parsers(subparsers) -> argparse._SubParsersAction:
    """`setup` is shared by the CRMs: reuse its sub-parsers if another module made it first."""
    setup = subparsers.choices.get("setup")
    if setup is None:
        setup = subparsers.add_parser("setup", help="install what a CRM needs (setup <crm>)")
        crm = setup.add_subparsers(dest="crm", required=True)
        setup.set_defaults(_crm_subparsers=crm)
        return crm
    existing = setup.get_default("_crm_subparsers")
    if existing is not None:
        return existing
    return next(a for a in setup._actions if isinstance(a, argparse._SubParsersAction))


def register(subparsers) -> None:
    parser = _setup_parsers(subparsers).add_parser(
        "hubspot",
        help="create the HubSpot property group and properties, check scopes, print settings",
    )
    parser.set_defaults(func=_setup_hubspot)


def _setup_hubspot(args: argparse.Namespace) -> int:
    from app.connectors.base import ConnectorError
    from app.connectors.hubspot.client import HubSpotApi
    from app.connectors.hubspot.properties import deal_properties
    from app.connectors.hubspot.setup import (
        RECOMMENDED_SCOPES,
        REQUIRED_SCOPES,
        currency_check,
        identity_check,
        instructions,
        run_setup,
    )
    from app.settings import load_settings

    settings = load_settings()
    if settings.hubspot_access_token is None:
        print("error: HUBSPOT_ACCESS_TOKEN is not set (a private app token)", file=sys.stderr)
        return 2
    token = settings.hubspot_access_token.get_secret_value()
    api = HubSpotApi(
        access_token=token,
        api_base=settings.hubspot_api_base,
        timeout=settings.hubspot_timeout_seconds,
        requests_per_10s=settings.hubspot_requests_per_10s,
    )
    total = len(deal_properties(settings.hubspot_guard_property)) + 1
    try:
        with tqdm(total=total, desc="hubspot properties", unit="item") as bar:
            report = run_setup(
                api,
                guard_property=settings.hubspot_guard_property,
                access_token=token,
                progress=lambda _m: bar.update(1),
            )
    except ConnectorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for name in report.created:
        print(f"created  {name}")
    for name in report.existing:
        print(f"exists   {name}")
    if not report.scopes_checked:
        print("scopes: could not read the token's scopes; check them by hand")
    elif report.missing_scopes:
        print("scopes: MISSING")
        for scope in report.missing_scopes:
            print(f"  {scope}  ({REQUIRED_SCOPES[scope]})")
    else:
        print("scopes: ok")
    if report.scopes_checked and report.missing_recommended:
        print("scopes: recommended, missing (setup still succeeds without them)")
        for scope in report.missing_recommended:
            print(f"  {scope}  ({RECOMMENDED_SCOPES[scope]})")
        print("  add them to the private app (Scopes tab), then run setup again")
    if report.failed:
        print(f"error: {report.failed}", file=sys.stderr)
        print("  add the missing scopes to the private app, then run setup again", file=sys.stderr)
    identity_ok, identity_lines = identity_check(
        report, settings.hubspot_portal_id, settings.hubspot_app_id
    )
    for line in identity_lines:
        print(line)
    currency_ok, currency_line = currency_check(report, settings.hubspot_company_currency)
    print(currency_line)
    print(instructions(settings.public_base_url, settings.hubspot_guard_property))
    return 1 if report.missing_scopes or not currency_ok or not identity_ok else 0
