"""`roadmap-guard setup salesforce [--out DIR] [--won-stage NAME ...] [--deploy] [--check-only]
[--without-notes-class]`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

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
        "salesforce",
        help="write (and optionally deploy) the Salesforce fields and validation rule package",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("salesforce-metadata"), help="output folder"
    )
    parser.add_argument(
        "--won-stage",
        action="append",
        default=[],
        help="a won stage API name (repeatable); default: read IsWon stages from the org",
    )
    parser.add_argument("--deploy", action="store_true", help="deploy through the Metadata API")
    parser.add_argument(
        "--check-only",
        action="store_true",
        help="with --deploy: a check-only deploy (Salesforce validates the package and runs our "
        "Apex test; nothing is saved)",
    )
    parser.add_argument(
        "--without-notes-class",
        action="store_true",
        help="leave out the notes Apex class (an org with enhanced Notes turned off, where it "
        "cannot compile; found by itself with credentials)",
    )
    parser.set_defaults(func=run, _salesforce_parser=parser)


def run(args: argparse.Namespace, settings=None) -> int:
    from app.connectors.base import ConnectorError
    from app.connectors.salesforce import SalesforceConnector
    from app.connectors.salesforce.connector import NOTES_RESOURCE, FieldNames
    from app.connectors.salesforce.ids import to18
    from app.connectors.salesforce.setup import (
        build_package,
        check_access,
        deploy_package,
        instructions,
        rule_formula,
    )
    from app.settings import load_settings

    if args.check_only and not args.deploy:
        # It only changes how --deploy deploys: alone it would be silently ignored.
        message = (
            "--check-only needs --deploy: it makes the Metadata API deploy check-only "
            "(field access is checked on every run anyway)"
        )
        parser = getattr(args, "_salesforce_parser", None)
        if parser is not None:
            parser.error(message)  # exits 2 with the usage
        print(f"error: {message}", file=sys.stderr)
        return 2
    settings = settings or load_settings()
    names = FieldNames.from_settings(settings)
    has_credentials = bool(
        settings.salesforce_instance_url
        or settings.salesforce_client_id
        or settings.salesforce_username
    )
    connector = SalesforceConnector.from_settings(settings) if has_credentials else None
    won = list(args.won_stage)
    try:
        if won and connector is not None:
            # A typo'd name deploys a rule that guards nothing: check every name with the org.
            org_won = connector.won_stages()
            unknown = [w for w in won if w not in org_won]
            if unknown:
                print(
                    f"error: --won-stage {', '.join(repr(u) for u in unknown)}: not an active won "
                    f"stage of this org (OpportunityStage IsWon and IsActive); the org's won "
                    f"stages: {', '.join(repr(w) for w in org_won) or 'none'}",
                    file=sys.stderr,
                )
                return 2
            for stage in org_won:
                if stage not in won:
                    print(
                        f"warning: the active won stage {stage!r} is not in --won-stage: the "
                        "rule will let a blocked deal be moved into it",
                        file=sys.stderr,
                    )
        if not won:
            if connector is None:
                print(
                    "error: no Salesforce credentials to read won stages; pass --won-stage NAME",
                    file=sys.stderr,
                )
                return 2
            won = connector.won_stages()
            if not won:
                print(
                    "error: the org has no active stage with IsWon; pass --won-stage NAME",
                    file=sys.stderr,
                )
                return 2
        # An org with enhanced Notes turned off has no ContentNote type: the notes class would
        # not compile there, and one component that fails fails the whole deploy (fields and
        # validation rule included). It has no enhanced notes to read either.
        notes_class = not getattr(args, "without_notes_class", False)
        if notes_class and connector is not None and not connector.enhanced_notes_enabled():
            notes_class = False
            print(
                "this org has no enhanced Notes (ContentNote): the notes Apex class is left out "
                "(classic notes are read as they are)"
            )
        files = build_package(
            args.out, names, won, settings.salesforce_api_version, notes_class=notes_class
        )
        print(f"wrote {len(files)} files to {args.out}/ (Metadata API format)")
        for path in files:
            print(f"  {path}")
        print(f"validation rule: {rule_formula(won, names.block)}")
        print(
            f"set SALESFORCE_WON_STAGES={','.join(won)} (the deployed rule's won stages: the "
            "service warns when the org has an active won stage not among them; re-run setup "
            "after adding a won stage)"
        )
        if args.deploy:
            if connector is None:
                print("error: --deploy needs Salesforce credentials", file=sys.stderr)
                return 2
            api = connector.api
            with tqdm(desc="deploying", unit="poll") as bar:
                result = deploy_package(
                    _DeployApi(api, check_only=args.check_only, run_tests=notes_class),
                    args.out,
                    progress=lambda state: (bar.set_postfix_str(state), bar.update(1)),
                )
            print(f"deployment {result['id']}: {result.get('state')}")
            reported = 0
            for err in (result.get("deployment_detail") or {}).get("errors") or []:
                print(f"  {err.get('file')}: {err.get('message')}", file=sys.stderr)
                reported += 1
            # A failed Apex test fails the whole deploy (nothing is saved) and is reported apart
            # from the components: without it the admin read "Failed" and nothing else.
            for err in (result.get("unit_test_detail") or {}).get("errors") or []:
                print(
                    f"  Apex test {err.get('class')}.{err.get('method')} failed: "
                    f"{err.get('message')}",
                    file=sys.stderr,
                )
                reported += 1
            if result.get("state") != "Succeeded":
                if not reported:
                    print(
                        f"  no failure was reported ({result.get('state_detail') or 'no detail'});"
                        f" see Setup > Deployment Status, deployment {result['id']}",
                        file=sys.stderr,
                    )
                return 1
        if connector is not None:
            # describe() answers for whoever these credentials log in as: name that user.
            me = connector.api.whoami()
            who = me.get("username") or me.get("id")
            print(
                f"field access checked as {who} ({me.get('name')}, {me.get('id')}): "
                "the user these credentials log in as"
            )
            configured = settings.salesforce_integration_user_id
            if configured and me.get("id") and to18(configured) != to18(me["id"]):
                print(
                    f"  warning: SALESFORCE_INTEGRATION_USER_ID is {configured}, not this user: "
                    "run setup with the integration user's credentials to check its access"
                )
            report = check_access(connector.api.describe("Opportunity"), names)
            for name in report.ok:
                print(f"  ok         {name}: readable and writable by {who}")
            for name in report.missing:
                print(
                    f"  missing    {name}: not visible to {who} (deploy, or assign the permission set)"
                )
            for name in report.read_only:
                print(f"  read-only  {name}: {who} cannot write it (permission set)")
            if not notes_class:
                print(f"  skipped    Apex REST {NOTES_RESOURCE}: not installed (no enhanced notes)")
            elif connector.notes_resource_available():
                print(f"  ok         Apex REST {NOTES_RESOURCE}: long notes are read in batches")
            else:
                print(
                    f"  missing    Apex REST {NOTES_RESOURCE}: not callable by {who} (deploy, or "
                    "assign the permission set); each long enhanced note costs one blob GET"
                )
            if not report.ready:
                print(instructions(settings, names))
                return 1
        else:
            print("(no credentials: field access not checked)")
    except ConnectorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(instructions(settings, names))
    return 0


class _DeployApi:
    def __init__(self, api, *, check_only: bool, run_tests: bool = True) -> None:
        self.api, self.check_only, self.run_tests = api, check_only, run_tests

    def deploy(self, zip_path: str) -> dict:
        from app.connectors.salesforce.setup import APEX_TESTS

        # Without the notes class the package has no Apex, and so no test to run: naming one
        # that is not in the org would fail the deploy.
        tests = APEX_TESTS if self.run_tests else None
        return self.api.deploy(zip_path, check_only=self.check_only, tests=tests)

    def deploy_status(self, async_id: str) -> dict:
        return self.api.deploy_status(async_id)
