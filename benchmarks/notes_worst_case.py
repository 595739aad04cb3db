"""Seconds to read one hostile CRM note, per note size: shows whether reading grows linearly.

    .venv/bin/python -m benchmarks.notes_worst_case [--sizes 16,32,64,128,256] [--patterns months,slashes]
        [--limit both|off|on]

Anyone who can edit a CRM note chooses its text, so a note is read in time linear in its
length whatever it holds. Each pattern is one note repeating a short unit with no sentence
break ("SSO by March April May June ", "SSO/", ...), the shapes that once made a mention's
reading scan the whole note. For each pattern it prints the CPU seconds of `find_references`
at 16, 32, 64, 128 and 256 KB and the ratio largest/smallest: ~16x is linear growth over a
16x size range, ~256x is quadratic. That first table is read without the cap on a note's text
(`NOTE_READ_LIMIT` raised past the largest size): the growth of the reading itself. A second
table reads as the app does, up to the first 64 KiB of plain text: past it the time stays
flat. No assertions: figures only.
"""

from __future__ import annotations

import argparse
import logging
import time
from datetime import UTC, date, datetime

import structlog

from app.rules import references
from app.rules.catalog import Catalog
from app.rules.model import Availability, DealSnapshot, Feature, Note, Stage
from app.rules.references import find_references

TODAY = date(2026, 11, 25)

PATTERNS = {
    "months": "SSO by March April May June ",
    "slashes": "SSO/",
    "sso-by": "SSO by ",
    "commas": "SSO, ",
    "and": "SSO and SCIM and ",
    "not": "SSO not ",
    "q-dates": "SSO by Q3 ",
    "html-li": "<li>SSO ",
    "newlines": "SSO\n",
    "colons": "SSO: ",
    # a promise in brackets after each feature, features joined by "and" (`_split_bracketed`
    # cuts a clause per feature: 0.76 s -> 8.5 s at 64 KB before its lookups were bisections)
    "brackets": "SSO (Q2 commit) and SCIM, ",
}


def _catalog() -> Catalog:
    features = [
        Feature(key="sso", name="Single Sign-On", aliases=["SSO"], availability="available"),
        Feature(
            key="scim",
            name="SCIM provisioning",
            aliases=["SCIM"],
            availability=Availability.coming_soon,
            target_date=date(2027, 6, 30),
        ),
        Feature(key="audit", name="Audit log", availability="uncertain"),
    ]
    return Catalog(features, [])


def _deal(body: str) -> DealSnapshot:
    return DealSnapshot(
        crm="hubspot",
        deal_id="D1",
        name="Acme - Platform",
        stage=Stage(id="negotiation", probability=0.6),
        close_date=date(2027, 3, 1),
        line_items=[],
        notes=[Note(id="n0", body=body, created_at=datetime(2026, 11, 25, tzinfo=UTC))],
    )


def _table(catalog: Catalog, sizes: list[int], patterns: list[str]) -> None:
    print(f"{'pattern':10s} " + " ".join(f"{s:>7d}KB" for s in sizes) + "   largest/smallest")
    for name in patterns:
        unit = PATTERNS[name]
        times = []
        for kb in sizes:
            deal = _deal(unit * (kb * 1024 // len(unit)))
            start = time.process_time()
            find_references(deal, catalog, today=TODAY)
            times.append(time.process_time() - start)
        ratio = times[-1] / max(times[0], 1e-6)
        print(
            f"{name:10s} " + " ".join(f"{t:8.3f}s" for t in times) + f"   {ratio:7.1f}x", flush=True
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="16,32,64,128,256", help="note sizes in KB")
    parser.add_argument("--patterns", default=",".join(PATTERNS), help="comma-separated names")
    parser.add_argument("--limit", choices=("both", "off", "on"), default="both")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    patterns = args.patterns.split(",")
    # the cut note's warning, once a note past the cap, is no figure
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    catalog = _catalog()
    cap = references.NOTE_READ_LIMIT
    if args.limit in ("both", "off"):
        print(f"Without the cap on a note's text (NOTE_READ_LIMIT raised from {cap}):")
        references.NOTE_READ_LIMIT = max(sizes) * 1024 + 1
        try:
            _table(catalog, sizes, patterns)
        finally:
            references.NOTE_READ_LIMIT = cap
    if args.limit in ("both", "on"):
        print(f"As read, up to NOTE_READ_LIMIT = {cap} characters of a note's plain text:")
        _table(catalog, sizes, patterns)


if __name__ == "__main__":
    main()
