"""Per-deal evaluation time with a realistic roadmap and realistic deals.

    .venv/bin/python -m benchmarks.evaluate [--deals 300] [--features 1000] [--rules 25]

Setup: 1,000 features with 3 aliases each, 25 rules, deals with 20 line items and 20 KB of
notes (10 notes). Every deal's notes are different (generated with typos, plurals, questions,
negations, promises). Prints median and p99 of `evaluate()` per deal, and, measured in the same
process on the same text, one plain pass of the catalog's compiled name matcher (lower-case the
text + `findall`), i.e. the least any exact name search must cost. The ratio is the price of
everything else: typo tolerance, sentences, promise/question/negation language, dates, line
items, 25 rules, messages. No assertions: figures only.

Each deal is timed twice over: wall clock (`perf_counter`) and the thread's CPU time
(`thread_time`). On a machine shared with other work the wall figures include time the
process spent waiting for a core; the CPU figures do not, so they are the ones to compare
between runs. The load average is printed with the figures.

The issue's workload is the headline. A second, labelled figure follows with the same sizes
and a lighter density (2% of sentences naming a feature instead of 6%, 10% of line items on
the roadmap instead of 25%): the default generates ~30 references and ~40 findings per deal,
with every deal blocked, more than most real deals carry. `--light-feature-share -1` skips it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date

from tqdm import tqdm

from app.rules.catalog import Catalog
from app.rules.engine import StoredRule, evaluate
from app.rules.model import Feature
from app.rules.references import find_references
from app.rules.schema import RuleDefinition
from benchmarks._data import make_deals, make_features, make_mappings, make_rules


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--features", type=int, default=1000)
    parser.add_argument("--aliases", type=int, default=3)
    parser.add_argument("--rules", type=int, default=25)
    parser.add_argument("--line-items", type=int, default=20)
    parser.add_argument("--notes-kb", type=float, default=20)
    parser.add_argument(
        "--feature-share", type=float, default=0.06, help="share of note sentences naming a feature"
    )
    parser.add_argument(
        "--line-item-share",
        type=float,
        default=0.25,
        help="share of line items that deliver roadmap features",
    )
    parser.add_argument(
        "--light-feature-share",
        type=float,
        default=0.02,
        help="second, labelled figure: same sizes, this share of sentences naming a feature "
        "(negative: skip it)",
    )
    parser.add_argument("--light-line-item-share", type=float, default=0.1)
    args = parser.parse_args(argv)

    today = date(2026, 11, 25)
    features = make_features(args.features, aliases=args.aliases)
    mappings = make_mappings(features)
    t0 = time.perf_counter()
    catalog = Catalog(features, mappings)
    build_ms = (time.perf_counter() - t0) * 1e3
    rules = [
        StoredRule(id=r["id"], version=1, enabled=True, definition=RuleDefinition.model_validate(r))
        for r in make_rules(args.rules)
    ]
    print(
        f"setup: {len(features)} features x {args.aliases} aliases, {len(mappings)} mappings, "
        f"{len(rules)} rules, {args.line_items} line items, {args.notes_kb:g} KB notes/deal; "
        f"catalog build {build_ms:.0f} ms",
        file=sys.stderr,
    )
    print(
        f"== the issue's workload ({args.feature_share:.0%} of note sentences name a feature, "
        f"{args.line_item_share:.0%} of line items are roadmap features)"
    )
    _measure(args, catalog, rules, today, features, args.feature_share, args.line_item_share)
    if args.light_feature_share >= 0:
        print(
            f"\n== second figure, lighter density: same sizes, {args.light_feature_share:.0%} of "
            f"sentences name a feature, {args.light_line_item_share:.0%} of line items are roadmap "
            "features (the headline above uses the issue's workload)"
        )
        _measure(
            args,
            catalog,
            rules,
            today,
            features,
            args.light_feature_share,
            args.light_line_item_share,
        )
    print("targets: median <= 1 ms per deal; <= 3x the plain pass")
    return 0


def _measure(
    args: argparse.Namespace,
    catalog: Catalog,
    rules: list[StoredRule],
    today: date,
    features: list[Feature],
    feature_share: float,
    line_item_share: float,
) -> None:
    deals = make_deals(
        features,
        args.warmup + args.deals,
        line_items=args.line_items,
        notes_kb=args.notes_kb,
        feature_share=feature_share,
        line_item_share=line_item_share,
    )
    note_bytes = statistics.mean(sum(len(n.body.encode()) for n in d.notes) for d in deals)
    pattern = catalog.pattern
    assert pattern is not None
    for deal in deals[: args.warmup]:  # fills the catalog's memo of words that are not typos
        evaluate(deal, catalog, rules, today=today)
        rules[0].compiled  # noqa: B018

    wall, cpu = time.perf_counter, time.thread_time
    full: list[float] = []
    plain: list[float] = []
    stored: list[float] = []
    full_cpu: list[float] = []
    plain_cpu: list[float] = []
    stored_cpu: list[float] = []
    findings = references = blocked = 0
    load_before = os.getloadavg()[0]
    for deal in tqdm(deals[args.warmup :], desc="deals", unit="deal", file=sys.stderr):
        text = "\n".join(n.body for n in deal.notes)
        c, t = cpu(), wall()
        pattern.findall(text.lower())
        plain.append(wall() - t)
        plain_cpu.append(cpu() - c)

        c, t = cpu(), wall()
        result = evaluate(deal, catalog, rules, today=today)
        full.append(wall() - t)
        full_cpu.append(cpu() - c)

        refs = find_references(deal, catalog, today=today)
        c, t = cpu(), wall()
        evaluate(deal, catalog, rules, today=today, references=refs)
        stored.append(wall() - t)
        stored_cpu.append(cpu() - c)
        findings += len(result.findings)
        references += len(result.references)
        blocked += result.status == "blocked"
    load_after = os.getloadavg()[0]

    def ms(values: list[float]) -> str:
        return f"median {statistics.median(values) * 1e3:.3f} ms   p99 {_pct(values, 0.99) * 1e3:.3f} ms"

    def ratio(numerator: list[float], denominator: list[float]) -> str:
        of_medians = statistics.median(numerator) / statistics.median(denominator)
        per_deal = statistics.median([f / p for f, p in zip(numerator, denominator, strict=True)])
        return f"{of_medians:.2f}x (median of per-deal ratios {per_deal:.2f}x)"

    n = len(full)
    print(f"deals measured:                     {n} ({note_bytes / 1024:.1f} KB notes per deal)")
    print(f"references / findings per deal:     {references / n:.1f} / {findings / n:.1f}")
    print(f"blocked deals:                      {blocked}/{n}")
    print(
        f"load average (1 min):               {load_before:.2f} before, {load_after:.2f} after "
        f"({os.cpu_count()} CPUs)"
    )
    print("                                    wall clock                      thread CPU time")
    print(f"evaluate() per deal:                {ms(full)}   {ms(full_cpu)}")
    print(f"plain compiled-matcher pass:        {ms(plain)}   {ms(plain_cpu)}")
    print(
        f"ratio evaluate / plain pass:        {ratio(full, plain)}   {ratio(full_cpu, plain_cpu)}"
    )
    print(
        f"evaluate() with stored references:  {ms(stored)}   {ms(stored_cpu)}   "
        "(re-evaluation after a roadmap change)"
    )


if __name__ == "__main__":
    raise SystemExit(main())
