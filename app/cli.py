"""`roadmap-guard` command line: serve | worker | migrate | apikey | setup <crm> | demo | ...

Each domain adds its sub-commands through a module in CLI_MODULES exposing
`register(subparsers)`; every sub-command sets `func(args) -> int`.
"""

from __future__ import annotations

import argparse
import importlib
import sys

CLI_MODULES = [
    "app.services.roadmap_cli",
    "app.connectors.hubspot.cli",
    "app.connectors.salesforce.cli",
    "app.sandbox.demo",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="roadmap-guard", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for module in CLI_MODULES:
        importlib.import_module(module).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
