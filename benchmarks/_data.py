"""Realistic synthetic roadmap features, product mappings, rules and deals with messy notes.

Deterministic for a given seed. Reusable by any benchmark or load test::

    from benchmarks._data import make_features, make_mappings, make_deals, make_rules
    features = make_features(1000, aliases=3)
    deals = make_deals(features, 100, notes_kb=20, line_items=20)

Notes mix plain sales chatter with feature mentions written the way reps write: aliases,
lower case, plurals, possessives, typos, negations, questions, promises with dates and
quarters, and HTML leftovers (<br>, &nbsp;).
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from app.rules.default_pack import DEFAULT_RULES
from app.rules.model import (
    Availability,
    DealSnapshot,
    Feature,
    LineItem,
    Note,
    ProductMappingEntry,
    Stage,
)

_MODIFIERS_TEXT = (
    "Advanced Bulk Custom Real-time Scheduled Automated Multi-region Granular Self-serve Embedded "
    "Offline Mobile Enterprise Delegated Conditional Federated Encrypted Predictive Shared Dynamic "
    "Role-based Usage-based Tiered Native Smart Visual Incremental Regional Sandbox Versioned "
    "Inline Unified Adaptive Guided Streaming Historical Secure Zero-downtime Cross-account Hybrid"
)
MODIFIERS = _MODIFIERS_TEXT.split()
NOUNS = [
    "Dashboards", "Audit Log", "Exports", "Webhooks", "Approvals", "Forecasting", "Workflows",
    "Permissions", "Reporting", "Backups", "Alerts", "Invoicing", "Data Residency", "Failover",
    "Provisioning", "Search", "Tagging", "Templates", "Notifications", "Quotas", "Billing",
    "Sync", "Imports", "Retention Policy", "Access Reviews", "Key Management",
    "Session Controls", "Usage Analytics", "API Limits", "Attachments",
]  # fmt: skip
_CODENAMES_TEXT = (
    "Falcon Otter Badger Heron Lynx Marten Osprey Puffin Raven Stoat Tapir Viper Walrus Yak Zebra "
    "Bison Condor Dingo Egret Ferret Gecko Hyena Ibis Jackal Kestrel Lemur Mink Newt Ocelot "
    "Panda Quokka Robin Swift Tern Urchin Vole Wren Xerus Aye Beaver Cobra Dove Eland Finch"
)
CODENAMES = _CODENAMES_TEXT.split()
_COLOURS_TEXT = (
    "Amber Azure Coral Crimson Ivory Jade Onyx Pearl Ruby Sable Slate Teal Umber Violet Cobalt "
    "Copper Indigo Olive Scarlet Silver Topaz"
)
COLOURS = _COLOURS_TEXT.split()
HAND_WRITTEN = [
    ("sso", "Single Sign-On", ["SSO", "SAML SSO", "SAML"]),
    ("scim", "SCIM provisioning", ["SCIM", "user provisioning", "SCIM 2.0"]),
    ("ai-assistant", "AI Assistant", ["AI", "copilot", "AI helper"]),
    ("sf-sync", "Salesforce integration", ["Salesforce", "SFDC sync", "Salesforce connector"]),
    ("multi-region", "Multi-region failover", ["multi-region", "geo failover", "DR"]),
    ("audit-log", "Audit log", ["audit trail", "activity log", "audit logs"]),
    ("hipaa", "HIPAA compliance", ["HIPAA", "BAA", "HIPAA BAA"]),
    ("custom-roles", "Custom roles", ["RBAC", "role-based access", "custom permissions"]),
]
GUIDANCE = [
    "Say it is on the roadmap and we will confirm timing in writing after product review.",
    "Offer the current export plus a scheduled call with product; never quote a date.",
    "Position the existing workaround and say the team is evaluating demand.",
    "You may say it is planned; dates come only from the product owner.",
]
_AVAILABILITY_WEIGHTS = [
    (Availability.available, 50),
    (Availability.beta, 10),
    (Availability.coming_soon, 20),
    (Availability.uncertain, 12),
    (Availability.never, 5),
    (Availability.unknown, 3),
]

FILLER = [
    "Had a good call with {person} from {company}, they are evaluating three vendors.",
    "Pricing discussion went well; procurement will send the MSA next week.",
    "Follow up with legal on the DPA and the security questionnaire.",
    "Budget is approved for FY27 and the champion is the VP of Operations.",
    "Security review is scheduled for Tuesday with their CISO.",
    "{person} wants a reference customer in the same industry.",
    "They currently run everything on spreadsheets and an old on-prem tool.",
    "Discussed seat counts: roughly {n} users in the first year, more after the pilot.",
    "Champion is worried about change management for the support team.",
    "Sent the recap email and the deck after the meeting.",
    "Competitor is cheaper but their onboarding took six months at a peer company.",
    "Next step is a technical deep dive with the platform team.",
    "They asked for a discount if they sign before the end of the month.",
    "Legal redlines came back, mostly about liability caps.",
    "Demo went fine, the admin console got a lot of questions.",
]
FEATURE_SENTENCES = [
    "They need {f} for the rollout.",
    "Customer asked whether we support {f}.",
    "We promised {f} by {when}.",
    "They don't need {f} anymore.",
    "We will have {f} and {g} by end of {month}.",
    "Do we have {f}?",
    "They used {f} at their previous vendor and liked it.",
    "{F} is a must-have for their compliance team.",
    "I told them {f} is in the contract.",
    "No need for {f}, they handle that in-house.",
    "<br>Also mentioned {f}&nbsp;for the EU team.",
    "{person} loved the {f} demo.",
    "Committed to deliver {f} next quarter.",
    "{F}'s pricing came up again.",
]
CUSTOM_SENTENCES = [
    "We'll build them a custom connector for their ERP.",
    "I said we could do a custom integration with their billing system.",
    "Promised a new reporting module for their board pack by Q2.",
]
PEOPLE = ["Dana", "Luis", "Priya", "Tom", "Akiko", "Sam", "Chen", "Maria", "Olu", "Jonas"]
COMPANIES = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka"]
MONTHS = ["January", "March", "June", "September", "October", "December"]
WHEN = ["Q3", "Q1 2027", "end of March", "next quarter", "June 30", "2027-05-01", "H2"]
GENERIC_PRODUCTS = ["Platform license", "Onboarding package", "Premium support", "Training days"]


def make_features(n: int = 1000, *, aliases: int = 3, seed: int = 0) -> list[Feature]:
    """`n` features with unique names and `aliases` aliases each (code names, "X add-on",
    shortened forms), a realistic mix of availabilities, dates, SKUs and guidance."""
    rng = random.Random(seed)
    combos = [(m, noun) for noun in NOUNS for m in MODIFIERS]
    rng.shuffle(combos)
    codenames = [f"Project {c} {w}" for w in CODENAMES for c in COLOURS]
    rng.shuffle(codenames)
    features: list[Feature] = []
    today = date(2026, 11, 25)
    for i in range(n):
        if i < len(HAND_WRITTEN):
            key, name, base_aliases = HAND_WRITTEN[i]
            alias_list = base_aliases[:aliases]
        else:
            modifier, noun = combos[(i - len(HAND_WRITTEN)) % len(combos)]
            suffix = "" if i - len(HAND_WRITTEN) < len(combos) else f" {i}"
            name = f"{modifier} {noun}{suffix}"
            key = f"f-{i:04d}"
            candidates = [
                codenames[i] if i < len(codenames) else f"Project {i}",
                f"{name} add-on",
                f"{modifier.split('-')[0]} {noun.split()[0].lower()} {i}",
            ]
            alias_list = candidates[:aliases]
        availability = rng.choices(
            [a for a, _ in _AVAILABILITY_WEIGHTS], [w for _, w in _AVAILABILITY_WEIGHTS]
        )[0]
        target = None
        if availability == Availability.coming_soon:
            target = today + timedelta(days=rng.randint(20, 400))
        elif availability == Availability.uncertain and rng.random() < 0.3:
            target = today + timedelta(days=rng.randint(180, 700))
        features.append(
            Feature(
                key=key,
                name=name,
                aliases=alias_list,
                availability=availability,
                target_date=target,
                confidence=round(rng.uniform(0.3, 0.95), 2) if target else None,
                skus=[f"SKU-{i:04d}"],
                product_ids=[f"prod_{i:05d}"] if rng.random() < 0.5 else [],
                guidance=rng.choice(GUIDANCE) if rng.random() < 0.6 else None,
            )
        )
    return features


def make_mappings(
    features: list[Feature], *, bundles: int = 100, seed: int = 0
) -> list[ProductMappingEntry]:
    """Bundle SKUs that deliver several features, plus product names mapped by name."""
    rng = random.Random(seed)
    keys = [f.key for f in features]
    out = [
        ProductMappingEntry(
            match_kind="sku",
            match_value=f"BUNDLE-{b:03d}",
            feature_keys=rng.sample(keys, k=min(len(keys), rng.randint(2, 4))),
        )
        for b in range(bundles)
    ]
    out += [
        ProductMappingEntry(match_kind="name", match_value=f"{f.name} Pack", feature_keys=[f.key])
        for f in features[: min(len(features), 50)]
    ]
    return out


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 5 or not word.isalpha():
        return word
    i = rng.randint(1, len(word) - 3)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]  # swap two neighbours


def _mention(feature: Feature, rng: random.Random, typo_rate: float) -> str:
    text = rng.choice([feature.name, feature.name, *feature.aliases])
    roll = rng.random()
    if roll < 0.25:
        text = text.lower()
    elif roll < 0.35 and not text.endswith("s"):
        text += "s"
    if rng.random() < typo_rate:
        words = text.split(" ")
        j = max(range(len(words)), key=lambda k: len(words[k]))
        words[j] = _typo(words[j], rng)
        text = " ".join(words)
    return text


def make_note_text(
    features: list[Feature],
    rng: random.Random,
    *,
    size: int = 2000,
    feature_share: float = 0.06,
    typo_rate: float = 0.1,
) -> str:
    """About `size` characters of note text; `feature_share` of sentences name features."""
    parts: list[str] = []
    length = 0
    while length < size:
        roll = rng.random()
        if roll < feature_share:
            f, g = rng.sample(features, 2)
            sentence = rng.choice(FEATURE_SENTENCES)
            fm = _mention(f, rng, typo_rate)
            sentence = sentence.format(
                f=fm,
                F=fm[:1].upper() + fm[1:],
                g=_mention(g, rng, typo_rate),
                when=rng.choice(WHEN),
                month=rng.choice(MONTHS),
                person=rng.choice(PEOPLE),
            )
        elif roll < feature_share + 0.02:
            sentence = rng.choice(CUSTOM_SENTENCES)
        else:
            sentence = rng.choice(FILLER).format(
                person=rng.choice(PEOPLE), company=rng.choice(COMPANIES), n=rng.randint(20, 900)
            )
        parts.append(sentence)
        length += len(sentence) + 1
        if rng.random() < 0.15:
            parts.append("\n")
    return " ".join(parts).replace(" \n ", "\n")


def make_deal(
    features: list[Feature],
    rng: random.Random,
    *,
    deal_id: str,
    line_items: int = 20,
    notes_kb: float = 20,
    notes: int = 10,
    typo_rate: float = 0.1,
    feature_share: float = 0.06,
    line_item_share: float = 0.25,
    crm: str = "hubspot",
) -> DealSnapshot:
    """One deal with `line_items` line items (`line_item_share` of them deliver roadmap
    features, the rest are licences, services and support) and `notes_kb` KB of notes spread
    over `notes` notes, where `feature_share` of the sentences name a feature."""
    created = datetime(2026, 9, 1, tzinfo=UTC) + timedelta(days=rng.randint(0, 80))
    items: list[LineItem] = []
    for j in range(line_items):
        roll = rng.random() * 0.25 / max(line_item_share, 1e-9)
        if roll < 0.15:
            f = rng.choice(features)
            item = LineItem(id=f"{deal_id}-li{j}", name=f.name, sku=f.skus[0] if f.skus else None)
        elif roll < 0.2:
            item = LineItem(
                id=f"{deal_id}-li{j}", name="Bundle", sku=f"BUNDLE-{rng.randint(0, 99):03d}"
            )
        elif roll < 0.25:
            f = rng.choice(features)
            item = LineItem(id=f"{deal_id}-li{j}", name=f.name)
        else:
            item = LineItem(
                id=f"{deal_id}-li{j}", name=rng.choice(GENERIC_PRODUCTS), sku=f"GEN-{j}"
            )
        item.quantity = float(rng.randint(1, 50))
        item.amount = Decimal(rng.randint(100, 20000))
        items.append(item)
    per_note = int(notes_kb * 1024 / max(1, notes))
    note_list = [
        Note(
            id=f"{deal_id}-n{k}",
            body=make_note_text(
                features, rng, size=per_note, typo_rate=typo_rate, feature_share=feature_share
            ),
            created_at=created + timedelta(days=k * 3, hours=rng.randint(0, 23)),
            author=rng.choice(PEOPLE),
        )
        for k in range(notes)
    ]
    probability = rng.choice([0.1, 0.2, 0.4, 0.6, 0.8, 0.9])
    return DealSnapshot(
        crm=crm,
        deal_id=deal_id,
        name=f"{rng.choice(COMPANIES)} - {rng.choice(['Platform', 'Expansion', 'Renewal'])} {deal_id}",
        pipeline=rng.choice(["default", "enterprise"]),
        stage=Stage(
            id=f"stage-{int(probability * 10)}", label="Negotiation", probability=probability
        ),
        amount=Decimal(rng.randint(5_000, 500_000)),
        currency="USD",
        close_date=created.date() + timedelta(days=rng.randint(30, 240)),
        owner_id=f"owner-{rng.randint(1, 30)}",
        created_at=created,
        updated_at=created + timedelta(days=30),
        line_items=items,
        notes=note_list,
    )


def make_deals(
    features: list[Feature], n: int, *, seed: int = 1, **kwargs: Any
) -> list[DealSnapshot]:
    rng = random.Random(seed)
    return [make_deal(features, rng, deal_id=f"D{i:06d}", **kwargs) for i in range(n)]


def make_rules(n: int = 25) -> list[dict[str, Any]]:
    """The default pack plus realistic RevOps variations (scopes, deal-level counts, date
    offsets), `n` rules in total, each a valid RuleDefinition JSON with an id."""
    extra: list[dict[str, Any]] = []
    i = 0
    while len(DEFAULT_RULES) + len(extra) < n:
        kind = i % 6
        rid = f"custom-{i:02d}"
        if kind == 0:
            extra.append({
                "id": rid, "name": "Coming soon within 30 days of close", "severity": "warning",
                "scope": {"pipelines": ["enterprise"], "min_amount": 50000},
                "when": {"all": [
                    {"field": "feature.availability", "op": "eq", "value": "coming_soon"},
                    {"field": "feature.target_date", "op": "after",
                     "value": {"field": "deal.close_date", "offset_days": -30}},
                ]},
                "message": "{feature.name} lands close to the close date {deal.close_date}.",
            })  # fmt: skip
        elif kind == 1:
            extra.append({
                "id": rid, "name": "Many promises on one deal", "severity": "warning",
                "applies_to": "deal",
                "when": {"count_references": {
                    "where": {"field": "reference.is_commitment", "op": "eq", "value": True},
                    "op": "gte", "value": 3 + i}},
                "message": "{matched.count} promises on {deal.name}: {matched.features}.",
            })  # fmt: skip
        elif kind == 2:
            extra.append({
                "id": rid, "name": "Low-confidence coming soon promised", "severity": "block",
                "scope": {"min_stage_probability": 0.4},
                "when": {"all": [
                    {"field": "feature.availability", "op": "eq", "value": "coming_soon"},
                    {"field": "feature.confidence", "op": "lt", "value": 0.5},
                    {"field": "reference.is_commitment", "op": "eq", "value": True},
                ]},
                "message": "{feature.name} has only {feature.confidence} confidence. {feature.guidance}",
            })  # fmt: skip
        elif kind == 3:
            extra.append({
                "id": rid, "name": "Never-built feature asked about", "severity": "info",
                "when": {"all": [
                    {"field": "feature.availability", "op": "in", "value": ["never", "uncertain"]},
                    {"field": "reference.is_question", "op": "eq", "value": True},
                ]},
                "message": "The customer asked about {feature.name}. {feature.guidance}",
            })  # fmt: skip
        elif kind == 4:
            extra.append({
                "id": rid, "name": "Promise past the deal's close", "severity": "warning",
                "when": {"all": [
                    {"field": "reference.promised_date", "op": "after",
                     "value": {"field": "deal.close_date", "offset_days": 90}},
                    {"not": {"field": "feature.availability", "op": "eq", "value": "available"}},
                ]},
                "message": "{feature.name} promised for {reference.promised_date}.",
            })  # fmt: skip
        else:
            extra.append({
                "id": rid, "name": "Beta on big deals", "severity": "block",
                "scope": {"min_amount": 250000 + i * 1000},
                "when": {"all": [
                    {"field": "feature.availability", "op": "eq", "value": "beta"},
                    {"field": "reference.source", "op": "eq", "value": "line_item"},
                ]},
                "message": "{feature.name} is beta on a {deal.amount} deal. {feature.guidance}",
            })  # fmt: skip
        i += 1
    return [dict(r) for r in DEFAULT_RULES] + extra
