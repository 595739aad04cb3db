"""What a reviewer's run of realistic sales notes showed the first reading got wrong: promises
about the sale itself, the customer's own dates, conditions and other people's promises, label
lines with their negation after the colon, ordinary words read as misspelt names, and short
names that are everyday words."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.rules.catalog import Catalog
from app.rules.model import Feature
from app.rules.references import find_references

from .conftest import FEATURES, TODAY, make_deal

# The shared roadmap plus names that are everyday words.
CATALOG = Catalog(
    [
        *FEATURES,
        Feature(key="offline", name="Offline mode", availability="never"),
        Feature(key="go", name="Go", availability="never"),
        Feature(key="flow", name="Flow", availability="coming_soon"),
        Feature(key="hub", name="Data Hub", aliases=["Hub"], availability="uncertain"),
    ]
)


def got(body: str) -> list[tuple]:
    return [
        (r.feature_key, r.feature_name if r.feature_key is None else "", r.is_commitment)
        for r in find_references(make_deal(body), CATALOG, today=TODAY)
    ]


@pytest.mark.parametrize(
    "body",
    [
        "We'll build a business case with their CFO.",
        "We will build a rollout plan by Q1.",
        "We'll develop a migration plan.",
        "We'll build an ROI model.",
        "We'll build them a demo workspace by Friday.",
        "Committed to weekly sync calls.",
        "We'll have a report ready for their board by Q1.",
        "We will provide a dashboard walkthrough next week.",
        "Promised a custom training session next week.",
    ],
)
def test_sales_process_work_is_no_off_roadmap_promise(body: str) -> None:
    # no off-roadmap reference, and no commitment on a feature the sentence names
    assert [ref for ref in got(body) if ref[0] is None or ref[2]] == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("We'll build them a custom SAP connector.", [(None, "custom SAP connector", True)]),
        ("We promised a custom integration with Workday.", [(None, "custom integration", True)]),
        ("Our team will build a connector to their ERP.", [(None, "custom connector", True)]),
        # someone else builds it: a dependency on the API, no custom build of ours
        ("Their team will build a connector to our API.", []),
        # "it" is the feature named: a promise of it, no custom build of something else
        ("They need SCIM and we will build it by Q1.", [("scim", "", True)]),
        ("If they need SCIM by Q1, we will build it.", [("scim", "", True)]),
    ],
)
def test_real_custom_builds_are_still_caught(body: str, expected: list[tuple]) -> None:
    assert got(body) == expected


# (note, [(feature_key, is_commitment)])
NOT_OUR_PROMISE = [
    # the customer's buying timeline
    ("They need SCIM and plan to sign by Q1.", [("scim", False)]),
    ("SCIM needed, decision expected by March.", [("scim", False)]),
    (
        "Procurement is committed to closing this by Q4, they want the audit trail.",
        [("audit", False)],
    ),
    ("They need SCIM; we'll have the contract ready by Friday.", [("scim", False)]),
    # the customer's own required date: the deal depends on it, nobody promised it
    ("They need SCIM by Q3.", [("scim", False)]),
    ("they need SCIM by Q3.", [("scim", False)]),
    ("Customer wants SCIM by Q1.", [("scim", False)]),
    ("SCIM required by March.", [("scim", False)]),
    ("SCIM needed by Q2.", [("scim", False)]),
    # wishes and requirement labels of theirs, with the date they want
    ("Ideally SCIM by Q1.", [("scim", False)]),
    ("They'd love SCIM by Q1.", [("scim", False)]),
    ("They would love to have SCIM by Q1.", [("scim", False)]),
    ("SCIM must be ready by Q1.", [("scim", False)]),
    ("Must haves: SCIM by Q1.", [("scim", False)]),
    ("Reqs: SCIM by Q1.", [("scim", False)]),
    ("Blockers: SCIM by Q1.", [("scim", False)]),
    ("Wishlist: SCIM by Q1.", [("scim", False)]),
    # ... but ours when we say it
    ("We'd love to deliver SCIM by Q1.", [("scim", True)]),
    ("We must be ready with SCIM by Q1.", [("scim", True)]),
    ("Ideally we deliver SCIM by Q1.", [("scim", True)]),
    ("Customer expects SCIM by Q1.", [("scim", False)]),
    ("They require SCIM before Q2.", [("scim", False)]),
    ("They need to have SCIM by Q1.", [("scim", False)]),
    ("By Q3 they need SCIM.", [("scim", False)]),
    ("By Q3, they need SCIM.", [("scim", False)]),
    ("They need SCIM by Q3, we promised SSO.", [("scim", False), ("sso", True)]),
    # conditions and other people's promises
    ("If we had SCIM by Q1 they would sign.", [("scim", False)]),
    ("If we can deliver SCIM by Q1, they'll sign.", [("scim", False)]),
    ("Competitor (Okta) promised them SCIM by Q1.", [("scim", False)]),
    ("Okta rep promised them SCIM support by Q1.", [("scim", False)]),
    ("The Okta rep promised them SCIM by Q1.", [("scim", False)]),
    ("The partner committed to SCIM by Q1.", [("scim", False)]),
    ("Their reseller promised SCIM by Q1.", [("scim", False)]),
    # ... but ours with our word after theirs, or by our own rep
    ("With the partner, we committed to SCIM by Q1.", [("scim", True)]),
    ("Our rep promised them SCIM by Q1.", [("scim", True)]),
    ("The sales rep promised SCIM by Q1.", [("scim", True)]),
    ("We will have SCIM by Q1 for the partner portal.", [("scim", True)]),
    # the customer's own step with the feature, dated: their plan
    ("They will enable SCIM next quarter.", [("scim", False)]),
    ("They plan to enable SCIM next quarter.", [("scim", False)]),
    ("They will roll out SCIM by Q1.", [("scim", False)]),
    ("Customer will turn on SSO next quarter.", [("sso", False)]),
    ("They will start using SCIM by Q1.", [("scim", False)]),
    ("Their security team will build the SCIM integration themselves by Q1.", [("scim", False)]),
    ("They will develop the SCIM connector by Q1.", [("scim", False)]),
    ("We committed to SCIM by Q1; their admins will test it.", [("scim", True)]),
    ("They will use SCIM once we ship it by Q1.", [("scim", True)]),
    ("They will have SCIM by Q1.", [("scim", True)]),
    ("PM said SCIM will ship by Q1 (not a commitment).", [("scim", False)]),
    # refused, disclaimed, or asked of us and not given
    ("Pushed back on committing to SCIM.", [("scim", False)]),
    ("No SCIM commitment.", [("scim", False)]),
    ("No SCIM commitment by Q1.", [("scim", False)]),
    ("Zero commitment on SCIM timing.", [("scim", False)]),
    ("There is no firm commitment on SCIM yet.", [("scim", False)]),
    ("Legal won't allow SCIM in the contract.", [("scim", False)]),
    ("SCIM by Q1 is non-binding.", [("scim", False)]),
    ("SCIM by Q1, directional only.", [("scim", False)]),
    ("They tried to get us to commit to SCIM by Q1, we refused.", [("scim", False)]),
    ("They pushed us for a commitment on SCIM by Q1.", [("scim", False)]),
    # still promises
    ("They asked us to commit to SCIM by Q1 and we did.", [("scim", True)]),
    ("They got us to commit to SCIM by Q1.", [("scim", True)]),
    ("We promised SCIM, no later than Q1.", [("scim", True)]),
    ("We promised SCIM by Q1.", [("scim", True)]),
    ("We need to ship SCIM by Q1.", [("scim", True)]),
    ("We're required to deliver SCIM by Q1.", [("scim", True)]),
    ("They need SCIM and we'll have it by Q3.", [("scim", True)]),
    ("Customer requested SCIM by Q1 and we committed to it.", [("scim", True)]),
    ("If they sign, we will have SCIM by Q1.", [("scim", True)]),
]


@pytest.mark.parametrize(
    ("body", "expected"), NOT_OUR_PROMISE, ids=[c[0][:40] for c in NOT_OUR_PROMISE]
)
def test_sale_dates_conditions_and_third_parties_are_not_our_commitments(
    body: str, expected: list[tuple]
) -> None:
    refs = find_references(make_deal(body), CATALOG, today=TODAY)
    assert [(r.feature_key, r.is_commitment) for r in refs] == expected


# Service boilerplate: no product is promised, so nothing off the roadmap.
SERVICE_BOILERPLATE = [
    "Committed to your success.",
    "We're committed to your success.",
    "Committed to your success with the integration.",
    "We guarantee your data is safe.",
    "We guarantee your data is safe during the integration.",
    "We guarantee your satisfaction.",
    "We're committed to customer satisfaction.",
    "Committed to a long-term partnership.",
    "We are committed to making this partnership work.",
    "You'll have a dedicated CSM.",
    "We will provide a dedicated CSM for the integration.",
    "Response times per our standard SLA are guaranteed.",
    "We guarantee support per our standard SLA.",
    "We guarantee uptime per our SLA.",
    "Guaranteed 99.9% uptime per our standard SLA.",
    "Promised support for the integration per our standard SLA.",
    "We are committed to providing the best service",
    "We\u2019re committed to providing excellent customer service.",
    "We are committed to the best possible support.",
    "Committed to world-class service for the integration.",
    "We guarantee great customer experience.",
]


@pytest.mark.parametrize("body", SERVICE_BOILERPLATE, ids=[b[:40] for b in SERVICE_BOILERPLATE])
def test_service_boilerplate_is_no_off_roadmap_promise(body: str) -> None:
    assert [ref for ref in got(body) if ref[0] is None or ref[2]] == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("We promised your team a Slack integration by Q3.", [(None, "Slack integration", True)]),
        ("We committed to delivering a compliance trail.", [(None, "compliance trail", True)]),
        ("We committed to building offline sync for them.", [(None, "offline sync", True)]),
        ("We are committed to your success, and we'll have SCIM by Q1.", [("scim", "", True)]),
        ("We're committed to the best service and we'll have SCIM by Q1.", [("scim", "", True)]),
        ("We'll build a custom notification service.", [(None, "custom build", True)]),
    ],
)
def test_promises_next_to_boilerplate_are_still_caught(body: str, expected: list[tuple]) -> None:
    assert got(body) == expected


def readings(body: str) -> list[tuple]:
    """(feature key, or the name of an off-roadmap thing; commitment; question; promised date)"""
    return [
        (r.feature_key or r.feature_name, r.is_commitment, r.is_question, r.promised_date)
        for r in find_references(make_deal(body), CATALOG, today=TODAY)
    ]


Q1 = date(2027, 3, 31)
# (note, [(feature, is_commitment, is_question, promised_date)])
HTML_MARKUP = [
    # inline tags are not sentence ends
    ("We <b>promised</b> SCIM by Q1.", [("scim", True, False, Q1)]),
    ("We <b>promised</b> SCIM.", [("scim", True, False, None)]),
    ("We <i>will</i> have SCIM.", [("scim", True, False, None)]),
    ("<strong>We'll have SCIM</strong> by <u>Q1</u>.", [("scim", True, False, Q1)]),
    (
        'We promised <a href="https://wiki.example/scim">SCIM</a> by Q1.',
        [("scim", True, False, Q1)],
    ),
    (
        'We <span style="color:red">promised</span> SCIM by <em>Q1</em>.',
        [("scim", True, False, Q1)],
    ),
    ('We <font color="red">promised</font> SCIM.', [("scim", True, False, None)]),
    ("They <b>don't</b> need SCIM.", []),
    # block tags still are
    (
        "<p>They need SSO</p><p>We promised SCIM by Q1</p>",
        [("sso", False, False, None), ("scim", True, False, Q1)],
    ),
    (
        "<ul><li>SSO is live</li><li>we promised SCIM by Q1</li></ul>",
        [("sso", False, False, None), ("scim", True, False, Q1)],
    ),
    ("<div>We will have SCIM</div><div>Pricing by Q1</div>", [("scim", True, False, None)]),
    (
        "<tr><td>SSO</td><td>live</td></tr><tr><td>SCIM</td><td>promised by Q1</td></tr>",
        [("sso", False, False, None), ("scim", True, False, Q1)],
    ),
    # (in one sentence "not in scope" would deny it; a line of its own it is not read with it)
    ("Offline mode<br>not in scope", [("offline", False, False, None)]),
    # character references read as the characters
    ("we&#39;ll have SCIM.", [("scim", True, False, None)]),
    ("We&#x27;ll&nbsp;have SCIM.", [("scim", True, False, None)]),
    ("We&rsquo;ll build SCIM for them.", [("scim", True, False, None)]),
    ("They don&#39;t need SCIM.", []),
    ("They don&rsquo;t need SSO &amp; SCIM.", []),
]


@pytest.mark.parametrize(("body", "expected"), HTML_MARKUP, ids=[c[0][:40] for c in HTML_MARKUP])
def test_html_left_in_notes_is_read_as_text(body: str, expected: list[tuple]) -> None:
    assert readings(body) == expected


def test_evidence_from_html_is_the_plain_sentence() -> None:
    body = "Intro call.<br>We <b>promised</b> SCIM&nbsp;by Q1 &amp; SSO.<p>Next: pricing</p>"
    refs = find_references(make_deal(body), CATALOG, today=TODAY)
    assert {r.evidence for r in refs} == {"We promised SCIM by Q1 & SSO."}


# (note, [(feature, is_commitment, is_question, promised_date)])
QUESTIONS = [
    ('Customer asked "Will SCIM ship by Q1?"', [("scim", False, True, None)]),
    ("Customer asked \u201cWill SCIM ship by Q1?\u201d", [("scim", False, True, None)]),
    ("Will SCIM ship by Q1?!", [("scim", False, True, None)]),
    ("They asked (will SCIM ship by Q1?) and moved on.", [("scim", False, True, None)]),
    (
        'He asked "SCIM by Q1?" We promised SSO by Q2.',
        [("scim", False, True, None), ("sso", True, False, date(2027, 6, 30))],
    ),
    ("Not sure whether SCIM ships by Q1.", [("scim", False, True, None)]),
    ("Unclear whether SCIM will be ready by Q1.", [("scim", False, True, None)]),
    ("Not sure if we'll have SCIM by Q1.", [("scim", False, True, None)]),
    ("Don't know if SCIM ships by Q1.", [("scim", False, True, None)]),
    # a question in a clause of its own after ", plus they", ", told them"
    (
        "They asked about SCIM, told them about SSO.",
        [("scim", False, True, None), ("sso", False, False, None)],
    ),
    (
        "SCIM promised for Q1, plus they asked about offline mode",
        [("scim", True, False, Q1), ("offline", False, True, None)],
    ),
    # items under a heading of their questions
    (
        "Open questions:\n- SCIM by Q1\n- Will we have the audit log by Q2",
        [("scim", False, True, None), ("audit", False, True, None)],
    ),
    ("They asked:\n* SCIM - Q1?\n* SSO", [("scim", False, True, None), ("sso", False, True, None)]),
    (
        "Questions from the call:\n- SSO\n- We promised SCIM by Q1",
        [("sso", False, True, None), ("scim", True, False, Q1)],
    ),
    (
        "Open questions:\n- We shipped SSO last year and will have SCIM by Q1",
        [("sso", False, True, None), ("scim", True, False, Q1)],
    ),
    # not questions
    ("We will have SCIM by Q1!", [("scim", True, False, Q1)]),
    ("We are sure we'll have SCIM by Q1.", [("scim", True, False, Q1)]),
]


@pytest.mark.parametrize(("body", "expected"), QUESTIONS, ids=[c[0][:40] for c in QUESTIONS])
def test_questions_and_doubt_are_no_promises(body: str, expected: list[tuple]) -> None:
    assert readings(body) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Offline mode: not needed.", []),
        ("Offline mode - not needed", []),
        ("Offline mode? Not needed.", []),
        ("\u2022 Offline mode \u2013 nope", []),
        ("Offline mode is not a blocker.", []),
        ("Offline mode is not a dealbreaker.", []),
        ("Neither offline mode nor SSO is needed.", []),
        ("No offline mode needed.", []),
        ("Offline mode wont be needed.", []),
        ("Offline mode was dropped from their requirements.", []),
        ("They are fine without offline mode.", []),
        # taken out of the deal: what the removal names, or the clause before its verb
        ("Removed offline mode from the order form.", []),
        ("Took offline mode out of the contract.", []),
        ("Offline mode struck from the SOW.", []),
        ("Removed offline mode and SSO from scope.", []),
        ("We're taking offline mode out of the deal since it won't ship.", []),
        # what we said of its future: it does not come
        ("Offline mode isn't planned.", []),
        ("Explained offline mode is not planned; they accepted the SLA.", []),
        ("Offline mode won't be built.", []),
        ("Offline mode: not planned.", []),
        # "it" not needed, after the one feature named or as the next sentence
        ("They asked about offline mode; they don't need it.", []),
        ("Offline mode came up, but they can live without it.", []),
        ("Offline mode came up, but it's not a blocker.", []),
        ("Offline mode came up. They don't need it anymore.", []),
        # a need given up or set aside
        ("Offline mode was discussed and dismissed.", []),
        ("They used to need offline mode, not anymore.", []),
        ("Offline mode is off the table.", []),
        ("Offline mode is a non-issue.", []),
        ("They decided against offline mode.", []),
        ("They deprioritized offline mode.", []),
        ("Offline mode: parked.", []),
        ("They are not asking for offline mode anymore.", []),
        # never part of the talk, or dropped from a list
        ("Offline mode not discussed", []),
        ("Offline mode didn't come up", []),
        ("Offline mode never came up.", []),
        ("Offline mode: not discussed.", []),
        ("Offline mode hasn't come up yet.", []),
        ("Offline mode was not raised on the call.", []),
        ("Offline mode dropped from scope", []),
        ("Offline mode dropped from the list", []),
        ("Removed offline mode from the wish list.", []),
        ("Offline mode was never a requirement.", []),
        ("We told them offline mode will never be built.", []),
        ("Explained that offline mode is not on the roadmap.", []),
        # another company's product, and nothing says they need it from us
        ("Competitor X has offline mode.", []),
        ("They're evaluating Acme because it has offline mode.", []),
        ("Acme offers offline mode; we don't.", []),
        ("Their current vendor's offline mode keeps crashing.", []),
        ("Their current tool supports a native offline mode.", []),
        ("They chose Acme because it offers offline mode.", []),
        ("Competitor's offline mode is better.", []),
        # ... a promise or question in a clause naming a feature of its own is that feature's
        ("Competitor X has SSO; we will have SCIM by Q1.", ["scim"]),
        ("Competitor X has SSO, we will have SCIM by Q1.", ["scim"]),
        ("Competitor X has SSO; they asked about SCIM.", ["scim"]),
        # ... so is a need word
        ("Competitor X has SSO; they need SCIM.", ["scim"]),
        ("Competitor X has SSO, they need SCIM.", ["scim"]),
        ("Competitor X has SSO; they need SCIM by Q1.", ["scim"]),
        ("Their current vendor's SSO is fine; they require SCIM.", ["scim"]),
        # not negated
        ("They need offline mode like Acme has.", ["offline"]),
        ("Competitor X has offline mode and they want it.", ["offline"]),
        ("Competitor X has offline mode; do we?", ["offline"]),
        ("Competitor X has offline mode; we will have it by Q1.", ["offline"]),
        ("Competitor X has SSO and SCIM; we will have them by Q1.", ["sso", "scim"]),
        ("They have offline mode today; we don't.", ["offline"]),
        ("Acme has offline mode.", ["offline"]),
        ("Customer has offline mode requirements.", ["offline"]),
        ("Their current vendor's offline mode crashes, they need ours.", ["offline"]),
        ("Competitor X has SSO; they need it.", ["sso"]),
        ("Competitor X has SSO and SCIM; they need them.", ["sso", "scim"]),
        ("Competitor X has SSO, which they need.", ["sso"]),
        ("Offline mode: required.", ["offline"]),
        # a nice-to-have is still wanted: a dependency, marked optional (`OPTIONAL` below)
        ("Nice to have: offline mode", ["offline"]),
        ("Offline mode would be nice to have.", ["offline"]),
        # ... not with a need in the sentence, and "dropped" with more after it may be a
        # release (a bare "Offline mode dropped" is a need given up: test_notes_round7.py)
        ("Offline mode required, pricing not discussed.", ["offline"]),
        ("Offline mode not discussed in detail, but they need it.", ["offline"]),
        # ... a need in a clause naming a feature of its own is that feature's
        ("Offline mode not discussed, SSO required.", ["sso"]),
        ("Offline mode not discussed, but SSO is required.", ["sso"]),
        ("SSO required, offline mode not discussed.", ["sso"]),
        ("Offline mode not discussed; they need SSO.", ["sso"]),
        ("Offline mode not discussed yet, but they need it.", ["offline"]),
        ("Offline mode and SSO not discussed, they need it.", ["offline", "sso"]),
        ("Offline mode dropped last week.", ["offline"]),
        ("We discussed offline mode.", ["offline"]),
        ("Offline mode: must-have; SSO not needed.", ["offline"]),
        ("Without offline mode they won't sign.", ["offline"]),
        ("They need SSO, removed offline mode from the order form.", ["sso"]),
        ("Dropped the discount from the quote, offline mode still required.", ["offline"]),
        ("They refused to remove offline mode from the contract.", ["offline"]),
        ("We can't drop offline mode from the SOW.", ["offline"]),
        # ... unless they need it all the same, or only a date is denied
        ("They need offline mode, which is not on the roadmap.", ["offline"]),
        ("Offline mode is a must-have for them, which will never be built.", ["offline"]),
        ("They require offline mode but it will never be built.", ["offline"]),
        ("Offline mode is not planned for Q2.", ["offline"]),
        # items under a heading of what is not needed, unless the item says they need it
        ("Not needed:\n- Offline mode\n- SSO", []),
        ("Out of scope:\n* offline mode by Q1", []),
        ("Not needed for phase 1:\n- Offline mode", []),
        ("Out of scope:\n- offline mode, they still need it", ["offline"]),
        ("Requirements:\n- Offline mode (they can live without it)", []),
        ("Not needed:\n- Offline mode: promised by Q2", ["offline"]),
        ("Not needed:\n- SSO\n\nOffline mode came up.", ["offline"]),
        ("Offline mode is a must-have, they can't live without it.", ["offline"]),
        ("Offline mode came up; they would not be fine without it.", ["offline"]),
        ("Offline mode came up. It's a blocker.", ["offline"]),
        ("They dismissed the competitor, they need offline mode.", ["offline"]),
        ("Price is off the table, offline mode required.", ["offline"]),
        # a negation stays in its clause: a feature after a comma opening one of its own
        ("They don't need SSO, offline mode is required.", ["offline"]),
        ("They need SSO, offline mode is not needed.", ["sso"]),
        # which feature "it" is, is not guessed
        ("They asked about offline mode and SSO; they don't need it.", ["offline", "sso"]),
    ],
)
def test_negations_in_bullet_style_notes(body: str, expected: list[str]) -> None:
    assert [key for key, _name, _c in got(body)] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # ordinary words one slip from a name word are not typos of it
        ("Offline model training is their use case.", []),
        ("The offline node in the cluster.", []),
        ("Offline modem", []),
        ("Offline made easy", []),
        ("Audio log from the call is attached.", []),
        # everyday words that are short names
        ("Go-live is planned for Q1.", []),
        ("Go with the enterprise plan.", []),
        ("Cash flow is tight.", []),
        ("Flow-based pricing.", []),
        ("Hub and spoke model for their offices.", []),
        # the names themselves, and real typos
        ("They want Flow by Q3.", ["flow"]),
        ("They need the Data Hub and a Hub license.", ["hub", "hub"]),
        ("Offlien mode is needed.", ["offline"]),
        ("the audti log matters", ["audit"]),
    ],
)
def test_everyday_words_are_not_feature_names(text: str, expected: list[str]) -> None:
    assert [m.feature_key for m in CATALOG.find_mentions(text)] == expected


def test_a_real_promise_keeps_its_date() -> None:
    (ref,) = find_references(make_deal("We will have SCIM by Q3."), CATALOG, today=TODAY)
    assert ref.is_commitment and ref.promised_date == date(2027, 9, 30)


@pytest.mark.parametrize(
    ("body", "promised"),
    [
        # A number after the quarter is a count, not a year (it was 2050, 2010, 2025).
        ("SCIM committed by H2 50 seats.", date(2026, 12, 31)),
        ("Promised SCIM by Q3 10 teams onboarded.", date(2027, 9, 30)),
        ("We promised SCIM by Q1 25 users.", date(2027, 3, 31)),
        ("We promised SCIM by March 1 2000 seats.", date(2027, 3, 1)),
        # "of <year>" keeps the year (it was dropped: Q1 of 2027).
        ("We promised SCIM by Q1 of 2028.", date(2028, 3, 31)),
        ("We promised SCIM by March of 2028.", date(2028, 3, 31)),
        # Written years still count.
        ("We promised SCIM by Q3 2027.", date(2027, 9, 30)),
        ("We promised SCIM by Q3'28.", date(2028, 9, 30)),
        ("We promised SCIM by Q3 FY28.", date(2028, 9, 30)),
        ("We promised SCIM by Q2 28.", date(2028, 6, 30)),
        # A year-less m/d after "by" is the next such day.
        ("We promised SCIM by 3/15.", date(2027, 3, 15)),
        ("We promised SCIM by 12/20.", date(2026, 12, 20)),
        # Names and fractions are not dates.
        ("We promised SCIM to Jan, their CTO.", None),
        ("We promised SCIM to 3/4 of the users.", None),
        ("We promised SCIM by end of March.", date(2027, 3, 31)),
        # Part of a quarter, the month's end, a bare year.
        ("We promised SCIM by early Q3.", date(2027, 7, 31)),
        ("We promised SCIM by mid Q3.", date(2027, 8, 31)),
        ("We promised SCIM by late Q3.", date(2027, 9, 30)),
        ("We promised SCIM by end of month.", date(2026, 11, 30)),
        ("We promised SCIM by EOM.", date(2026, 11, 30)),
        ("We promised SCIM in 2028.", date(2028, 12, 31)),
        ("They have 2028 users; we promised SCIM.", None),
        # Parts of a year: early = 31 March, the first half = 30 June, mid = 30 June, late and
        # the end = 31 December (they read late, as a whole year, or not at all).
        ("We promised SCIM early next year.", date(2027, 3, 31)),
        ("We promised SCIM in the first half of next year.", date(2027, 6, 30)),
        ("We promised SCIM in early 2027.", date(2027, 3, 31)),
        ("We promised SCIM by mid-2027.", date(2027, 6, 30)),
        ("We promised SCIM by late 2027.", date(2027, 12, 31)),
        ("We promised SCIM by end of 2027.", date(2027, 12, 31)),
        ("We promised SCIM by the end of 2027.", date(2027, 12, 31)),
        ("We promised SCIM by the second half of 2027.", date(2027, 12, 31)),
        ("SCIM ships by late next year.", date(2027, 12, 31)),
        # Counted from the note (25 Nov 2026); "of signature" from the close date (1 Mar 2027).
        ("We'll deliver SCIM within 90 days.", date(2027, 2, 23)),
        ("Agreed to deliver SCIM within 90 days of signature.", date(2027, 5, 30)),
        ("We'll deliver SCIM within 3 months of contract signature.", date(2027, 6, 1)),
        # months are calendar months, a shorter month's last day at most
        ("We promised SCIM in twelve months.", date(2027, 11, 25)),
        ("We promised SCIM in the next 60 days.", date(2027, 1, 24)),
        ("We promised SCIM in a couple of weeks.", date(2026, 12, 9)),
        ("We promised SCIM in a few months.", date(2027, 2, 25)),
        ("We promised SCIM by mid-March.", date(2027, 3, 31)),
        ("SCIM in two weeks after the kickoff, we promised.", date(2027, 3, 15)),
        # the end of a named year is that year's (it read as this year's: a false block)
        ("We promised SCIM by end of year 2027.", date(2027, 12, 31)),
        ("We promised SCIM by year end 2027.", date(2027, 12, 31)),
        ("We promised SCIM by EOY 2027.", date(2027, 12, 31)),
        ("We promised SCIM by end of year.", date(2026, 12, 31)),
        # a range is its later end; "post-close" counts from the close date
        ("We promised SCIM in 6-8 weeks.", date(2027, 1, 20)),
        ("We promised SCIM within 4 to 6 weeks.", date(2027, 1, 6)),
        ("We promised SCIM within 90 days post-close.", date(2027, 5, 30)),
    ],
)
def test_promised_dates_read_as_a_rep_means_them(body: str, promised: date | None) -> None:
    (ref,) = find_references(make_deal(body), CATALOG, today=TODAY)
    assert ref.is_commitment and ref.promised_date == promised


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("We'll give them SCIM in Q1.", [("scim", "", True)]),
        ("They'll get SCIM in Q1.", [("scim", "", True)]),
        ("We're delivering SCIM in Q1.", [("scim", "", True)]),
        ("Told the CFO SCIM ships in January.", [("scim", "", True)]),
        ("SCIM in Q1 - confirmed with customer.", [("scim", "", True)]),
        # a word between "will" and the verb, as "will probably have SCIM by Q2" already was
        ("We will likely deliver SCIM in Q2.", [("scim", "", True)]),
        ("We will also have SCIM in Q2.", [("scim", "", True)]),
        # The same verbs about the sale itself promise nothing.
        ("We're delivering the proposal on Friday, they need SCIM.", [("scim", "", False)]),
        ("They'll get a quote by Friday; SCIM came up.", [("scim", "", False)]),
        ("We're shipping a sandbox for the pilot.", []),
    ],
)
def test_more_ways_of_promising_are_caught(body: str, expected: list[tuple]) -> None:
    assert got(body) == expected


def test_days_of_signature_without_a_close_date_count_from_the_note() -> None:
    deal = make_deal("Agreed to deliver SCIM within 90 days of signature.", close_date=None)
    (ref,) = find_references(deal, CATALOG, today=TODAY)
    assert ref.is_commitment and ref.promised_date == date(2027, 2, 23)


def _promised(body: str, fiscal_year_start: int = 1) -> date | None:
    catalog = Catalog(FEATURES, fiscal_year_start=fiscal_year_start)
    (ref,) = find_references(make_deal(body), catalog, today=TODAY)
    assert ref.is_commitment
    return ref.promised_date


# The note is from 2026-11-25. A fiscal year is named by the calendar year it ends in: with a
# February start FY27 is Feb 2026 - Jan 2027, with a July start Jul 2026 - Jun 2027.
@pytest.mark.parametrize(
    ("body", "start", "promised"),
    [
        # Calendar (the default): fiscal words read as the calendar year.
        ("SCIM ships by FY27.", 1, date(2027, 12, 31)),
        ("We promised SCIM by FY 2028.", 1, date(2028, 12, 31)),
        ("We promised SCIM by fiscal 2028.", 1, date(2028, 12, 31)),
        ("We promised SCIM by fiscal year 2028.", 1, date(2028, 12, 31)),
        ("We promised SCIM by 1H27.", 1, date(2027, 6, 30)),
        ("We promised SCIM by 2H'27.", 1, date(2027, 12, 31)),
        ("We promised SCIM by 1H FY28.", 1, date(2028, 6, 30)),
        ("We promised SCIM by CY27.", 1, date(2027, 12, 31)),
        ("SCIM before fiscal year end, as promised.", 1, date(2026, 12, 31)),
        ("We promised SCIM by EOFY.", 1, date(2026, 12, 31)),
        ("We promised SCIM by the end of the fiscal year.", 1, date(2026, 12, 31)),
        ("We promised SCIM next fiscal year.", 1, date(2027, 12, 31)),
        ("We promised SCIM by Q3.", 1, date(2027, 9, 30)),
        ("We promised SCIM next quarter.", 1, date(2027, 3, 31)),
        # "2h" alone is two hours, not a half year.
        ("We promised SCIM, call took 2h.", 1, None),
        # February start: FY27 is nearly over on 2026-11-25.
        ("We promised SCIM by Q3.", 2, date(2027, 10, 31)),  # Q3 FY27 (Aug-Oct 2026) is past
        ("We promised SCIM by Q4.", 2, date(2027, 1, 31)),
        ("We promised SCIM by Q3 FY27.", 2, date(2026, 10, 31)),  # a year says so
        ("We promised SCIM by early Q1.", 2, date(2027, 2, 28)),
        ("SCIM ships by FY27.", 2, date(2027, 1, 31)),
        ("We promised SCIM by FY28.", 2, date(2028, 1, 31)),
        ("We promised SCIM by 1H28.", 2, date(2027, 7, 31)),
        ("We promised SCIM this quarter.", 2, date(2027, 1, 31)),
        ("We promised SCIM next quarter.", 2, date(2027, 4, 30)),
        ("We promised SCIM by EOFY.", 2, date(2027, 1, 31)),
        ("We promised SCIM next fiscal year.", 2, date(2028, 1, 31)),
        # A calendar year or quarter stays the calendar's.
        ("We promised SCIM by CY27.", 2, date(2027, 12, 31)),
        ("We promised SCIM by Q3 CY27.", 2, date(2027, 9, 30)),
        ("We promised SCIM by end of March.", 2, date(2027, 3, 31)),
        # July start: FY27 is Jul 2026 - Jun 2027.
        ("We promised SCIM by Q3.", 7, date(2027, 3, 31)),
        ("We promised SCIM by Q1.", 7, date(2027, 9, 30)),
        ("We promised SCIM by Q3 FY27.", 7, date(2027, 3, 31)),
        ("We promised SCIM by H1.", 7, date(2026, 12, 31)),
        ("We promised SCIM by H2.", 7, date(2027, 6, 30)),
        ("SCIM ships by FY27.", 7, date(2027, 6, 30)),
        ("We promised SCIM next quarter.", 7, date(2027, 3, 31)),
        ("We promised SCIM by the end of the fiscal year.", 7, date(2027, 6, 30)),
        # The first half of next year is next fiscal year's first half, like 1H28.
        ("We promised SCIM in the first half of next year.", 1, date(2027, 6, 30)),
        ("We promised SCIM in the first half of next year.", 2, date(2027, 7, 31)),
        ("We promised SCIM by H1 next year.", 2, date(2027, 7, 31)),
        ("We promised SCIM by 1H next year.", 2, date(2027, 7, 31)),
        ("We promised SCIM by H2 next fiscal year.", 7, date(2028, 6, 30)),
        ("We promised SCIM by the first half of FY28.", 7, date(2027, 12, 31)),
        ("We promised SCIM early next year.", 7, date(2027, 3, 31)),  # calendar months
    ],
)
def test_fiscal_years_quarters_and_halves(body: str, start: int, promised: date | None) -> None:
    assert _promised(body, start) == promised


@pytest.mark.parametrize("month", [0, 13, -1])
def test_a_fiscal_year_start_is_a_month(month: int) -> None:
    with pytest.raises(ValueError, match="fiscal_year_start must be a month 1-12"):
        Catalog(FEATURES, fiscal_year_start=month)


Q2 = date(2027, 6, 30)
Q3 = date(2027, 9, 30)
# (note, [(feature, is_commitment, is_question, promised_date)])
SALE_SCHEDULE = [
    # a date about a meeting, revisit, follow-up, reconnect or check-in is the sale's schedule
    ("We discussed SCIM; we'll revisit next quarter.", [("scim", False, False, None)]),
    ("Follow-up meeting next month about SCIM.", [("scim", False, False, None)]),
    ("Let's reconnect in Q1 on SSO.", [("sso", False, False, None)]),
    ("Let's reconnect by Q1 on SSO.", [("sso", False, False, None)]),
    ("We'll check in next quarter about SCIM.", [("scim", False, False, None)]),
    ("We'll revisit SCIM next quarter.", [("scim", False, False, None)]),
    ("Next month we reconnect about SCIM.", [("scim", False, False, None)]),
    ("Next quarter: call about SCIM", [("scim", False, False, None)]),
    ("Next month: demo of SSO.", [("sso", False, False, None)]),
    ("Next quarter - meeting about the audit trail.", [("audit", False, False, None)]),
    # the schedule word after the name, with the sentence's full stop or other punctuation
    ("Next quarter: SCIM call.", [("scim", False, False, None)]),
    ("Next quarter: SCIM call", [("scim", False, False, None)]),
    ("Next month: SSO demo.", [("sso", False, False, None)]),
    ("Next quarter - SCIM workshop!", [("scim", False, False, None)]),
    ("Next quarter: audit trail call.", [("audit", False, False, None)]),
    ("Next quarter SCIM sync.", [("scim", False, False, None)]),
    ("By Q1: SSO check-in.", [("sso", False, False, None)]),
    # ... also after a comma
    ("Next quarter: SCIM, call scheduled.", [("scim", False, False, None)]),
    ("Next month: SSO, demo booked.", [("sso", False, False, None)]),
    # still promises
    ("We'll deliver SCIM next quarter.", [("scim", True, False, Q1)]),
    ("Demo went well, we'll deliver SCIM next quarter.", [("scim", True, False, Q1)]),
    ("We'll have SCIM by Q1 and a follow-up call next week.", [("scim", True, False, Q1)]),
    ("Next quarter: we deliver SCIM.", [("scim", True, False, Q1)]),
    ("Next quarter: SCIM.", [("scim", True, False, Q1)]),
    ("Next quarter: SCIM, as promised.", [("scim", True, False, Q1)]),
    ("Next quarter: SCIM, then SSO.", [("scim", True, False, Q1), ("sso", True, False, Q1)]),
    ("We'll deliver SCIM next quarter. Call on Monday.", [("scim", True, False, Q1)]),
    ("By Q3, we will have SCIM.", [("scim", True, False, Q3)]),
]


@pytest.mark.parametrize(
    ("body", "expected"), SALE_SCHEDULE, ids=[c[0][:40] for c in SALE_SCHEDULE]
)
def test_the_sales_own_schedule_is_no_promise(body: str, expected: list[tuple]) -> None:
    assert readings(body) == expected


# (note, [(feature, is_commitment, is_question, promised_date)])
DATED_STATEMENTS = [
    # our statement of when it comes, with a date: a commitment with that date
    ("ETA for SCIM is Jan 2027.", [("scim", True, False, date(2027, 1, 31))]),
    ("SCIM ETA: Q1.", [("scim", True, False, Q1)]),
    ("Gave them an ETA of Q1 for SCIM.", [("scim", True, False, Q1)]),
    ("SCIM goes GA in Q1.", [("scim", True, False, Q1)]),
    ("Told the customer SCIM goes GA in Q1.", [("scim", True, False, Q1)]),
    ("SCIM will go live in Q1.", [("scim", True, False, Q1)]),
    ("Told them SCIM lands in Q1.", [("scim", True, False, Q1)]),
    ("SCIM will be live by March.", [("scim", True, False, Q1)]),
    ("SCIM is slated for Q2.", [("scim", True, False, Q2)]),
    ("SCIM is scheduled for Q2", [("scim", True, False, Q2)]),
    ("We have SSO planned for March", [("sso", True, False, Q1)]),
    ("We\u2019ve got the audit trail scheduled for Q3.", [("audit", True, False, Q3)]),
    ("SCIM planned for Q2 per the roadmap.", [("scim", True, False, Q2)]),
    ("Told them SCIM is scheduled to ship in Q2.", [("scim", True, False, Q2)]),
    ("SCIM releases in Q2.", [("scim", True, False, Q2)]),
    ("SCIM is targeted for Q2.", [("scim", True, False, Q2)]),
    ("SCIM is on track for Q2.", [("scim", True, False, Q2)]),
    ("The SCIM project is on track for Q2.", [("scim", True, False, Q2)]),
    ("We've pencilled in SCIM for Q2.", [("scim", True, False, Q2)]),
    # our word with a date and no verb; our aim (hedged)
    ("Told them SCIM in Q1", [("scim", True, False, Q1)]),
    ("We told the customer SCIM for Q2.", [("scim", True, False, Q2)]),
    ("Let them know SCIM in March.", [("scim", True, False, Q1)]),
    ("We're aiming for SCIM in Q1", [("scim", True, False, Q1)]),
    ("Aiming for Q1 for SCIM.", [("scim", True, False, Q1)]),
    ("We said SCIM in Q1.", [("scim", True, False, Q1)]),
    ("We're targeting Q1 for SCIM.", [("scim", True, False, Q1)]),
    ("We plan to have SCIM in Q1.", [("scim", True, False, Q1)]),
    ("Told them to expect SCIM in Q1.", [("scim", True, False, Q1)]),
    ("Told them they can expect SCIM in Q1.", [("scim", True, False, Q1)]),
    ("They need SCIM by Q1; told them Q2.", [("scim", True, False, Q2)]),
    # ... not about it, denied or doubted, without a date, to us, or aiming at the sale
    ("Told them about SCIM in Q1.", [("scim", False, False, None)]),
    ("Told them SCIM won't be in Q1.", [("scim", False, False, None)]),
    ("Told them SCIM in Q1 is unrealistic.", [("scim", False, False, None)]),
    ("We haven't told them SCIM in Q1.", [("scim", False, False, None)]),
    ("Told them SCIM is available.", [("scim", False, False, None)]),
    ("Told them we'd revisit SCIM in Q1.", [("scim", False, False, None)]),
    ("They told us SCIM in Q1.", [("scim", False, False, None)]),
    ("They're aiming for SCIM in Q1.", [("scim", False, False, None)]),
    ("We're aiming to sign by Q1, SCIM discussed.", [("scim", False, False, None)]),
    ("They said SCIM in Q1.", [("scim", False, False, None)]),
    ("They plan to have SCIM in Q1.", [("scim", False, False, None)]),
    ("We said no to SCIM by Q1.", [("scim", False, False, None)]),
    ("Told them Q1 for the pricing review, SCIM discussed.", [("scim", False, False, None)]),
    # no date, a question, a negation, the customer's need or go-live, a sale item's ETA
    ("SCIM goes GA soon.", [("scim", False, False, None)]),
    ("Asked for an ETA on SCIM by Q1.", [("scim", False, True, None)]),
    ("Is SCIM slated for Q2?", [("scim", False, True, None)]),
    ("No ETA for SCIM yet, maybe Q1.", [("scim", False, False, None)]),
    ("We don't have an ETA for SCIM by Q1.", [("scim", False, False, None)]),
    ("SCIM won't go GA in Q1.", [("scim", False, False, None)]),
    ("They need SCIM to go live by Q1.", [("scim", False, False, None)]),
    ("Customer goes live in Q1 and needs SSO.", [("sso", False, False, None)]),
    ("The PO lands in Q1, SCIM is needed.", [("scim", False, False, None)]),
    ("ETA on the contract is Jan 2027, they need SCIM.", [("scim", False, False, None)]),
    ("SCIM is scheduled.", [("scim", False, False, None)]),
    ("SCIM is not scheduled for Q2.", [("scim", False, False, None)]),
    ("SSO isn\u2019t planned for March.", [("sso", False, False, None)]),
    # the customer's own plans and projects
    ("They planned for SCIM in Q2.", [("scim", False, False, None)]),
    ("They\u2019ve planned for SSO in March.", [("sso", False, False, None)]),
    ("They have SCIM planned for Q2 internally.", [("scim", False, False, None)]),
    ("The customer has SSO planned for March.", [("sso", False, False, None)]),
    ("Their rollout is scheduled for Q2, they need SCIM.", [("scim", False, False, None)]),
    ("Their SCIM rollout is scheduled for Q2.", [("scim", False, False, None)]),
    ("Rollout is scheduled for Q2 with SSO.", [("sso", False, False, None)]),
    ("Demo scheduled for Monday, SCIM discussed.", [("scim", False, False, None)]),
    ("Meeting planned for March about SSO.", [("sso", False, False, None)]),
    ("They are on track to sign by Q4, SCIM needed.", [("scim", False, False, None)]),
    ("Their SCIM rollout is targeted for Q2.", [("scim", False, False, None)]),
    ("SCIM is not targeted for Q2.", [("scim", False, False, None)]),
    ("The project is on track for March, they want SCIM.", [("scim", False, False, None)]),
    ("The project is scheduled for March, they want SCIM.", [("scim", False, False, None)]),
    ("They pencilled in a call for Q2, SCIM discussed.", [("scim", False, False, None)]),
]


@pytest.mark.parametrize(
    ("body", "expected"), DATED_STATEMENTS, ids=[c[0][:40] for c in DATED_STATEMENTS]
)
def test_eta_ga_lands_and_slated_are_promises_with_their_date(
    body: str, expected: list[tuple]
) -> None:
    assert readings(body) == expected


# (note, [(feature, is_commitment, is_question, promised_date)])
SEVERAL_DATES = [
    # each feature takes the date nearest after it in its clause
    (
        "We promised SSO by Q1 and SCIM by Q3.",
        [("sso", True, False, Q1), ("scim", True, False, Q3)],
    ),
    (
        "We will have SSO by Q1 and SCIM and the audit trail by Q3.",
        [("sso", True, False, Q1), ("scim", True, False, Q3), ("audit", True, False, Q3)],
    ),
    ("SCIM goes GA in Q1 and SSO by Q3.", [("scim", True, False, Q1), ("sso", True, False, Q3)]),
    # one date: every feature's
    ("We will have SSO and SCIM by Q3.", [("sso", True, False, Q3), ("scim", True, False, Q3)]),
    # a part opening with its date gives it to the features in it
    ("By Q1 we'll have SSO, by Q3 SCIM", [("sso", True, False, Q1), ("scim", True, False, Q3)]),
    (
        "By Q1 we\u2019ll have the audit trail and by Q3 SCIM.",
        [("audit", True, False, Q1), ("scim", True, False, Q3)],
    ),
    ("In Q1 we'll ship SSO, in Q3 SCIM.", [("sso", True, False, Q1), ("scim", True, False, Q3)]),
    (
        "By Q1 we'll have SSO and SCIM, by Q3 the audit trail.",
        [("sso", True, False, Q1), ("scim", True, False, Q1), ("audit", True, False, Q3)],
    ),
]


@pytest.mark.parametrize(
    ("body", "expected"), SEVERAL_DATES, ids=[c[0][:40] for c in SEVERAL_DATES]
)
def test_each_feature_takes_its_own_date(body: str, expected: list[tuple]) -> None:
    assert readings(body) == expected


# (note, [(feature, is_commitment, is_question, promised_date)])
IN_ADDRESSES = [
    ("See https://docs.acme.com/sso-setup for details.", []),
    ("Mail scim-team@acme.com about it.", []),
    ("Setup guide at www.acme.com/sso, shared with IT.", [("it-portal", False, False, None)]),
    # the note's other text still counts
    ("Mail scim-team@acme.com about SSO.", [("sso", False, False, None)]),
    ("We promised SCIM (https://acme.com/scim) by Q1.", [("scim", True, False, Q1)]),
    ("See https://docs.acme.com/sso-setup; we promised SCIM by Q1.", [("scim", True, False, Q1)]),
]


@pytest.mark.parametrize(("body", "expected"), IN_ADDRESSES, ids=[c[0][:40] for c in IN_ADDRESSES])
def test_names_inside_web_and_mail_addresses_are_not_mentions(
    body: str, expected: list[tuple]
) -> None:
    assert readings(body) == expected


# (note, [(feature, is_commitment, is_question, promised_date)])
DELIVERED = [
    # a delivery already made is no promise (a dependency at most)
    ("We already delivered SCIM to them in Q3.", [("scim", False, False, None)]),
    ("SCIM shipped to them last quarter.", [("scim", False, False, None)]),
    ("We already delivered SCIM to them by Q3.", [("scim", False, False, None)]),
    ("We shipped SCIM to them by Q3.", [("scim", False, False, None)]),
    ("SCIM was delivered by Q3 as promised.", [("scim", False, False, None)]),
    ("We've delivered SCIM, as promised in the contract.", [("scim", False, False, None)]),
    ("We already shipped SCIM to them in Q3 as promised.", [("scim", False, False, None)]),
    ("We delivered a custom connector last year.", []),
    # a promise said to be kept, after it: no open commitment
    ("Promised SCIM in March, delivered on time.", [("scim", False, False, None)]),
    ("Promised SCIM by Q1 - already shipped.", [("scim", False, False, None)]),
    ("Promised SCIM by Q1; shipped last month.", [("scim", False, False, None)]),
    ("We promised SCIM by Q1 - delivered early.", [("scim", False, False, None)]),
    # ... or taken back: none either
    ("We had promised SCIM by Q1 but that's been walked back.", [("scim", False, False, None)]),
    ("The SCIM promise was retracted.", [("scim", False, False, None)]),
    ("We retracted our SCIM promise.", [("scim", False, False, None)]),
    # still promises
    ("Promised SCIM by Q1, still on track.", [("scim", True, False, Q1)]),
    ("We promised SCIM by Q1 and it hasn't been retracted.", [("scim", True, False, Q1)]),
    (
        "We will have SCIM by Q1, SSO already shipped.",
        [("scim", True, False, Q1), ("sso", False, False, None)],
    ),
    ("SCIM will be delivered by Q3.", [("scim", True, False, Q3)]),
    (
        "We shipped SSO last year; we'll have SCIM by Q1.",
        [("sso", False, False, None), ("scim", True, False, Q1)],
    ),
    (
        "We shipped SSO last year and will have SCIM by Q1",
        [("sso", False, False, None), ("scim", True, False, Q1)],
    ),
    (
        "We delivered the audit trail last quarter but will have SCIM by Q1.",
        [("audit", False, False, None), ("scim", True, False, Q1)],
    ),
    (
        "SSO shipped last year and SCIM will be ready by Q1.",
        [("sso", False, False, None), ("scim", True, False, Q1)],
    ),
    (
        "We will have SCIM by Q1 and already shipped SSO last year.",
        [("scim", True, False, Q1), ("sso", False, False, None)],
    ),
]


@pytest.mark.parametrize(("body", "expected"), DELIVERED, ids=[c[0][:40] for c in DELIVERED])
def test_a_delivery_already_made_is_no_promise(body: str, expected: list[tuple]) -> None:
    assert readings(body) == expected


# (note, [(feature, is_commitment, promised_date, needed_by)])
NEEDED_BY = [
    # the customer's own date: kept as needed_by, never as a promised date
    ("They need SCIM by Q3.", [("scim", False, None, Q3)]),
    ("SCIM required by March.", [("scim", False, None, Q1)]),
    ("Customer wants the audit trail by Q1.", [("audit", False, None, Q1)]),
    ("They require SCIM before FY28.", [("scim", False, None, date(2027, 12, 31))]),  # round 27
    ("They need to have SCIM by next quarter.", [("scim", False, None, Q1)]),
    ("By Q3 they need SCIM.", [("scim", False, None, Q3)]),
    ("By Q3, they need SCIM.", [("scim", False, None, Q3)]),
    # said critical, a dealbreaker, or what they can't sign without: their date
    ("SCIM by Q1 is critical.", [("scim", False, None, Q1)]),
    ("SCIM by Q1 is crucial for them.", [("scim", False, None, Q1)]),
    ("SCIM by Q1 or it's a dealbreaker.", [("scim", False, None, Q1)]),
    ("Dealbreaker if no SCIM by Q1.", [("scim", False, None, Q1)]),
    ("They can't sign without SCIM by Q1.", [("scim", False, None, Q1)]),
    ("They won't renew without SCIM by Q1.", [("scim", False, None, Q1)]),
    # a feature by a date called nice to have: their wish and date, not our promise
    ("Offline mode would be nice to have by Q1.", [("offline", False, None, Q1)]),
    ("Offline mode would be nice by Q1.", [("offline", False, None, Q1)]),
    ("Nice to have offline mode by Q1.", [("offline", False, None, Q1)]),
    ("SCIM would be a bonus by Q1.", [("scim", False, None, Q1)]),
    # ... not our own word beside it, nor a wish denied
    ("We will have offline mode by Q1, nice to have for them.", [("offline", True, Q1, None)]),
    ("Offline mode would be nice to have; we will have it by Q1.", [("offline", True, Q1, None)]),
    ("Offline mode is not optional by Q1.", [("offline", True, Q1, None)]),
    ("Offline mode by Q1.", [("offline", True, Q1, None)]),
    # ... also after a wish label and its colon: the colon opens a clause of its own
    ("Nice to have: offline mode by Q1", [("offline", False, None, Q1)]),
    ("Optional: SCIM by Q1", [("scim", False, None, Q1)]),
    ("Wish list: SCIM by Q1", [("scim", False, None, Q1)]),
    ("Nice-to-haves: SCIM by Q1", [("scim", False, None, Q1)]),
    (
        "Nice to have: offline mode, SSO by Q1",
        [("offline", False, None, Q1), ("sso", False, None, Q1)],
    ),
    ("Nice to have: offline mode by Q1; we will have it by Q2", [("offline", True, Q2, Q1)]),
    ("Nice to have: offline mode by Q1 - told them Q2", [("offline", True, Q2, Q1)]),
    # ... or a dash in place of the colon
    ("Nice to have - offline mode by Q1", [("offline", False, None, Q1)]),
    ("Nice to have \u2013 offline mode by Q1", [("offline", False, None, Q1)]),
    ("Nice to have \u2014 offline mode by Q1", [("offline", False, None, Q1)]),
    ("Nice to have\u2014offline mode by Q1", [("offline", False, None, Q1)]),
    ("- Nice to have - offline mode by Q1", [("offline", False, None, Q1)]),
    ("Optional - SCIM by Q1", [("scim", False, None, Q1)]),
    ("Wish list \u2013 SCIM by Q1", [("scim", False, None, Q1)]),
    ("Nice to have - offline mode by Q1; we will have it by Q2", [("offline", True, Q2, Q1)]),
    ("Nice to have - offline mode by Q1 - told them Q2", [("offline", True, Q2, Q1)]),
    ("Promised - SCIM by Q1", [("scim", True, Q1, None)]),
    ("Nice call - SCIM by Q1", [("scim", True, Q1, None)]),
    ("Nice - offline mode by Q1", [("offline", True, Q1, None)]),
    ("Nice to have - we will have offline mode by Q1", [("offline", True, Q1, None)]),
    # ... another feature's label with its requirement after a comma: its own clause
    (
        "Offline mode: optional, SSO: required by Q1",
        [("offline", False, None, None), ("sso", False, None, Q1)],
    ),
    (
        "We will have offline mode by Q1, SSO: required",
        [("offline", True, Q1, None), ("sso", False, None, None)],
    ),
    (
        "We will have offline mode by Q1, SSO and SCIM: required",
        [("offline", True, Q1, None), ("sso", False, None, None), ("scim", False, None, None)],
    ),
    (
        "We will have offline mode and SSO by Q1",
        [("offline", True, Q1, None), ("sso", True, Q1, None)],
    ),
    # ... not a label of ours, our own word after it, nor "nice" that is no wish
    ("Promised: SCIM by Q1", [("scim", True, Q1, None)]),
    ("Nice to have: we will have offline mode by Q1", [("offline", True, Q1, None)]),
    ("Nice call today. We will have SCIM by Q1", [("scim", True, Q1, None)]),
    ("Nice call: SCIM by Q1", [("scim", True, Q1, None)]),
    ("Nice: offline mode by Q1", [("offline", True, Q1, None)]),
    # ... not our own words
    ("We will have the critical SCIM fix by Q1.", [("scim", True, Q1, None)]),
    ("We will have SCIM by Q1, which is critical.", [("scim", True, Q1, None)]),
    # ... their signing on a condition: its date is when they need it (round 24)
    ("If we had SCIM by Q1 they would sign.", [("scim", False, None, Q1)]),
    ("They need SCIM to go live by Q1.", [("scim", False, None, Q1)]),
    ("They need SSO by Q1 and SCIM by Q3.", [("sso", False, None, Q1), ("scim", False, None, Q3)]),
    # their need of "it" in a clause naming nothing: the date of the feature named before
    ("Nice to have: offline mode; they need it by Q1", [("offline", False, None, Q1)]),
    ("Nice to have:\n- Offline mode, they need it by Q1", [("offline", False, None, Q1)]),
    ("Offline mode came up; they need it by Q1", [("offline", False, None, Q1)]),
    ("SSO came up, they need it by Q1", [("sso", False, None, Q1)]),
    ("We discussed SCIM; they need to have it by Q1", [("scim", False, None, Q1)]),
    ("Offline mode came up; they need it in Q1", [("offline", False, None, Q1)]),
    (
        "SCIM and SSO came up; they need them by Q1",
        [("scim", False, None, Q1), ("sso", False, None, Q1)],
    ),
    ("We will have offline mode by Q2; they need it by Q1", [("offline", True, Q2, Q1)]),
    # ... not "it" among two features, another object, or their own date
    (
        "SCIM and SSO came up; they need it by Q1",
        [("scim", False, None, None), ("sso", False, None, None)],
    ),
    ("Offline mode came up; they need the contract by Q1", [("offline", False, None, None)]),
    (
        "Offline mode came up; they need SSO by Q1",
        [("offline", False, None, None), ("sso", False, None, Q1)],
    ),
    ("They need SCIM by Q2; they need it by Q1", [("scim", False, None, Q2)]),
    # ... a sentence apart, "it" opening the next one: the one feature named before (round 24)
    ("Offline mode came up. They need it by Q1.", [("offline", False, None, Q1)]),
    # with a promise of ours: each date where it belongs
    ("They need SCIM by Q1; we promised it by Q3.", [("scim", True, Q3, Q1)]),
    ("Customer requested SCIM by Q1 and we committed to it.", [("scim", True, Q1, Q1)]),
    (
        "They need SCIM by Q3, we promised SSO.",
        [("scim", False, None, Q3), ("sso", True, None, None)],
    ),
    ("We'll have it by Q3, they need SCIM.", [("scim", True, Q3, None)]),
    # their go-live, launch or rollout, with a requirement in the sentence: their date
    ("Their go-live is scheduled for Q2, SCIM required", [("scim", False, None, Q2)]),
    ("Go-live planned for March; they need SSO for it", [("sso", False, None, Q1)]),
    ("Their go live is scheduled for Q2, SCIM required.", [("scim", False, None, Q2)]),
    ("Go-live by Q3, they need the audit trail.", [("audit", False, None, Q3)]),
    ("Launch planned for Q2; they need SCIM.", [("scim", False, None, Q2)]),
    (
        "Their launch is planned for Q3 and they need the audit trail.",
        [("audit", False, None, Q3)],
    ),
    ("Rollout scheduled for Q2, SCIM is a must-have.", [("scim", False, None, Q2)]),
    ("SCIM is required: their go-live is planned for Q2.", [("scim", False, None, Q2)]),
    # a need label before a colon: what follows is their need, not our promise
    ("Needs: SCIM by Q2.", [("scim", False, None, Q2)]),
    ("Champion: Jane. Needs: SCIM by Q2.", [("scim", False, None, Q2)]),
    ("- Their needs: SCIM by Q2", [("scim", False, None, Q2)]),
    ("They need: SCIM by Q3.", [("scim", False, None, Q3)]),
    ("Needs: we promised SCIM by Q2.", [("scim", True, Q2, None)]),
    ("Deadline: SCIM by Q3.", [("scim", False, None, Q3)]),
    ("Customer goes live in Q1 and needs SSO.", [("sso", False, None, Q1)]),
    ("They'll launch by Q2; SCIM required.", [("scim", False, None, Q2)]),
    # ours, whatever else the sentence says
    ("SCIM is scheduled for Q2", [("scim", True, Q2, None)]),
    ("SCIM is scheduled for Q2, ahead of their go-live.", [("scim", True, Q2, None)]),
    ("SCIM is scheduled for Q2 and they need it for go-live.", [("scim", True, Q2, None)]),
    ("We'll launch SCIM by Q2; they need it.", [("scim", True, Q2, None)]),
    ("SCIM will launch by Q2, they need it.", [("scim", True, Q2, None)]),
    ("The SCIM rollout is scheduled for Q2; it is required.", [("scim", True, Q2, None)]),
    # ... only for the features the requirement is about (what it needs, or what is required)
    ("Go-live planned for March with SCIM; they need training", [("scim", False, None, None)]),
    ("Go-live planned for March with SCIM, training required.", [("scim", False, None, None)]),
    ("Go-live in Q2 with SCIM, they need training.", [("scim", False, None, None)]),
    (
        "Go-live planned for March, SSO discussed, SCIM required.",
        [("sso", False, None, None), ("scim", False, None, Q1)],
    ),
    (
        "Go-live by Q3; they need SSO and SCIM.",
        [("sso", False, None, Q3), ("scim", False, None, Q3)],
    ),
    ("Go-live by Q3; they need training and SCIM.", [("scim", False, None, Q3)]),
    ("Go-live by Q3, SCIM is absolutely a must-have.", [("scim", False, None, Q3)]),
    (
        "SCIM and audit log both required by EOY",
        [("scim", False, None, date(2026, 12, 31)), ("audit", False, None, date(2026, 12, 31))],
    ),
    (
        "SCIM and the audit trail are all required by Q2.",
        [("scim", False, None, Q2), ("audit", False, None, Q2)],
    ),
    (
        "Both SCIM and audit log required by EOY",
        [("scim", False, None, date(2026, 12, 31)), ("audit", False, None, date(2026, 12, 31))],
    ),
    (
        "Required by EOY: SCIM and audit log",
        [("scim", False, None, date(2026, 12, 31)), ("audit", False, None, date(2026, 12, 31))],
    ),
    ("SCIM: required by Q2", [("scim", False, None, Q2)]),
    ("SCIM & audit log: required by Q2", [("scim", False, None, Q2), ("audit", False, None, Q2)]),
    (
        "SCIM and audit log - both needed by Q2",
        [("scim", False, None, Q2), ("audit", False, None, Q2)],
    ),
    (
        "They need SCIM as well as audit log by Q2",
        [("scim", False, None, Q2), ("audit", False, None, Q2)],
    ),
    ("SCIM: promised by Q2", [("scim", True, Q2, None)]),
    # no requirement: no date of theirs
    ("Their go-live is scheduled for Q2, SCIM discussed.", [("scim", False, None, None)]),
    # "in <date>" with a requirement of theirs: their date as well
    ("They need SCIM in Q3", [("scim", False, None, Q3)]),
    ("SCIM is required in March", [("scim", False, None, Q1)]),
    ("Go-live in Q2, SCIM required", [("scim", False, None, Q2)]),
    ("The customer needs SSO in January", [("sso", False, None, date(2027, 1, 31))]),
    ("In Q3 they need SCIM.", [("scim", False, None, Q3)]),
    ("SCIM in Q3 is a must-have.", [("scim", False, None, Q3)]),
    ("They are hoping for SCIM in Q3.", [("scim", False, None, Q3)]),
    ("They need SCIM in two weeks.", [("scim", False, None, date(2026, 12, 9))]),
    (
        "They need SSO and SCIM in Q3.",
        [("sso", False, None, Q3), ("scim", False, None, Q3)],
    ),
    ("They need SCIM in Q1; we promised it by Q3.", [("scim", True, Q3, Q1)]),
    # ... not our own "in <date>", a past need, nor a date without a requirement of theirs
    ("We'll have SCIM in Q3", [("scim", True, Q3, None)]),
    ("SCIM ships in January", [("scim", True, date(2027, 1, 31), None)]),
    ("We'll have SCIM in Q3, they need it.", [("scim", True, Q3, None)]),
    ("They needed SSO in 2024", [("sso", False, None, None)]),
    ("They needed SSO in March.", [("sso", False, None, None)]),
    ("We discussed SCIM in Q3 planning", [("scim", False, None, None)]),
    ("SCIM needed, decision in March.", [("scim", False, None, None)]),
    ("They need training in Q3, SCIM discussed.", [("scim", False, None, None)]),
    ("If they need SCIM in Q1, they will sign.", [("scim", False, None, Q1)]),  # round 24
    # no date of theirs
    ("We need to ship SCIM by Q1.", [("scim", True, Q1, None)]),
    ("We must ship SCIM by Q1.", [("scim", True, Q1, None)]),
    ("Customer expects SCIM by Q1.", [("scim", False, None, Q1)]),
    ("We will have the critical SCIM fix by Q1.", [("scim", True, Q1, None)]),
    # a feature opening a clause of its own after a comma is out of the promise before it
    (
        "SCIM promised for Q1, offline mode requested too",
        [("scim", True, Q1, None), ("offline", False, None, None)],
    ),
    (
        "We will have SCIM by Q1, SSO is already live.",
        [("scim", True, Q1, None), ("sso", False, None, None)],
    ),
    ("SSO is live, SCIM ships in Q2", [("sso", False, None, None), ("scim", True, Q2, None)]),
    (
        "SCIM promised for Q1, SSO available today.",
        [("scim", True, Q1, None), ("sso", False, None, None)],
    ),
    ("We will have SCIM, SSO ready by Q2", [("scim", True, Q2, None), ("sso", True, Q2, None)]),
    (
        "We promised SSO, SCIM will follow by Q3",
        [("sso", True, Q3, None), ("scim", True, Q3, None)],
    ),
    (
        "SCIM promised for Q1 and offline mode requested too",
        [("scim", True, Q1, None), ("offline", False, None, None)],
    ),
    ("We will have SCIM by Q2 while offline mode is not planned", [("scim", True, Q2, None)]),
    # ... not a list of names
    (
        "We promised SSO and SCIM will follow",
        [("sso", True, None, None), ("scim", True, None, None)],
    ),
    ("SSO, SCIM needed by Q1", [("sso", False, None, Q1), ("scim", False, None, Q1)]),
    ("SSO, SCIM are required by Q1", [("sso", False, None, Q1), ("scim", False, None, Q1)]),
    (
        "Promised SCIM, audit log and SSO by Q2",
        [("scim", True, Q2, None), ("audit", True, Q2, None), ("sso", True, Q2, None)],
    ),
    (
        "They need SSO - we promised SCIM by Q2",
        [("sso", False, None, None), ("scim", True, Q2, None)],
    ),
    ("They need SCIM and plan to sign by Q1.", [("scim", False, None, None)]),
    ("SCIM needed, decision expected by March.", [("scim", False, None, None)]),
    ("They need SCIM.", [("scim", False, None, None)]),
    # a need word's date is for what it needs, not for every feature in the sentence
    ("They need training by Q3, SCIM discussed.", [("scim", False, None, None)]),
    # their deadline, stated with "is"
    ("Their deadline for SCIM is Q3.", [("scim", False, None, Q3)]),
    ("SCIM deadline is March 1.", [("scim", False, None, date(2027, 3, 1))]),
    ("Their deadline for SCIM is still Q3.", [("scim", False, None, Q3)]),
    (
        "Deadline for the audit trail is still Q2, SCIM discussed.",
        [("audit", False, None, date(2027, 6, 30)), ("scim", False, None, None)],
    ),
    # ... "the end of <month>" is the month's end; a colon states it as "is" does
    ("The deadline for SCIM is the end of March.", [("scim", False, None, date(2027, 3, 31))]),
    ("Hard deadline for SCIM: March 1.", [("scim", False, None, date(2027, 3, 1))]),
    ("SCIM deadline: end of Q2.", [("scim", False, None, date(2027, 6, 30))]),
    (
        "Deadline for the audit trail: Q2, SCIM discussed.",
        [("audit", False, None, date(2027, 6, 30)), ("scim", False, None, None)],
    ),
    ("Deadline: Q3. SCIM discussed.", [("scim", False, None, None)]),
    ("Deadline for SCIM: we promised it by Q2.", [("scim", True, Q2, None)]),
    ("Their deadline is Q3; SCIM came up.", [("scim", False, None, None)]),
    # their own promise of the feature (to their board): their date; of a step of the sale: none
    ("Their CIO promised SCIM to his board by Q3.", [("scim", False, None, Q3)]),
    ("They promised to sign by Q3 if we have SCIM.", [("scim", False, None, None)]),
    # their request for our word: their date, no promise of ours
    ("They want us to commit to SCIM by Q2.", [("scim", False, None, Q2)]),
    ("They need a commitment on SCIM by Q3.", [("scim", False, None, Q3)]),
    ("Their CIO asked us to promise SCIM by Q2.", [("scim", False, None, Q2)]),
    ("They want SCIM; we committed to it by Q2.", [("scim", True, Q2, None)]),
    # their ultimatum: their date, no promise of ours
    ("SCIM by Q2 or they walk.", [("scim", False, None, Q2)]),
    ("SCIM by Q2, otherwise they won't sign.", [("scim", False, None, Q2)]),
    ("SCIM by Q2 or no deal.", [("scim", False, None, Q2)]),
    ("We promised SCIM by Q2 or they walk.", [("scim", True, Q2, Q2)]),
    ("SCIM by Q2 or Q3.", [("scim", True, Q3, None)]),  # a range: its later end (round 27)
    ("We promised SCIM by Q2; their deadline is Q3.", [("scim", True, Q2, None)]),
    # a heading over a list sets the reading of its items: the customer's needs ...
    (
        "Customer requirements:\n- SCIM by Q1\n- Audit log",
        [("scim", False, None, Q1), ("audit", False, None, None)],
    ),
    (
        "Requirements:\n\n1. SCIM - Q1\n2) SSO",
        [("scim", False, None, Q1), ("sso", False, None, None)],
    ),
    (
        "**Must-haves:**\n* SSO by Q1, SCIM by Q3",
        [("sso", False, None, Q1), ("scim", False, None, Q3)],
    ),
    ("Nice to have:\n\u2022 SCIM by Q1", [("scim", False, None, Q1)]),
    ("Dealbreakers (from the call):\n  - SCIM: end of March", [("scim", False, None, Q1)]),
    ("<p><b>Customer requirements:</b></p><p>- SCIM by Q1</p>", [("scim", False, None, Q1)]),
    # ... or our promises, with the item's date
    (
        "What we promised:\n1. SCIM - Q1\n2. Audit log",
        [("scim", True, Q1, None), ("audit", True, None, None)],
    ),
    ("Commitments:\n- SCIM in Q2", [("scim", True, Q2, None)]),
    ("We committed to:\n- SCIM (Q2)\n- SSO", [("scim", True, Q2, None), ("sso", True, None, None)]),
    ("We promised the following:\n- SCIM by Q1", [("scim", True, Q1, None)]),
    ("Promises made:\n- SCIM in Q2", [("scim", True, Q2, None)]),
    # ... what we told them: a promise with a date, as "Told them SCIM in Q1"
    (
        "What we told them:\n- SCIM in Q1\n- SSO",
        [("scim", True, Q1, None), ("sso", False, None, None)],
    ),
    # ... an item without a date of its own takes the heading's
    (
        "Promised for Q2:\n- SCIM\n- Audit log by Q3",
        [("scim", True, Q2, None), ("audit", True, Q3, None)],
    ),
    ("Q1 commitments:\n- SCIM", [("scim", True, Q1, None)]),
    ("Needed by Q1:\n- SCIM\n- SSO", [("scim", False, None, Q1), ("sso", False, None, Q1)]),
    ("Requirements from the call:\n- SCIM by Q1", [("scim", False, None, Q1)]),
    # ... the item's own words win where they say more
    ("Requirements:\n- we promised SCIM by Q2", [("scim", True, Q2, None)]),
    ("Requirements:\n- they don't need SSO\n- SCIM by Q1", [("scim", False, None, Q1)]),
    # ... a feature said to launch, right after its name: our word, as "will ship" is
    ("Requirements:\n- SCIM will launch by Q2", [("scim", True, Q2, None)]),
    ("Requirements:\n- SCIM will release by Q2", [("scim", True, Q2, None)]),
    ("Requirements:\n- SCIM will be launched by Q2", [("scim", True, Q2, None)]),
    ("Requirements:\n- SCIM will be out by Q2", [("scim", True, Q2, None)]),
    ("Nice to have:\n- SCIM will launch by Q2", [("scim", True, Q2, None)]),
    ("Requirements:\n- SCIM will ship by Q2", [("scim", True, Q2, None)]),
    ("Requirements:\n- SCIM will be ready by Q2", [("scim", True, Q2, None)]),
    ("SCIM will launch by Q2", [("scim", True, Q2, None)]),
    # ... not a need of its launch, a launch as a noun, another subject's launch, no date
    ("Requirements:\n- SCIM must launch by Q2", [("scim", False, None, Q2)]),
    ("Requirements:\n- SCIM needs to launch by Q2", [("scim", False, None, Q2)]),
    ("Requirements:\n- SCIM launch by Q2", [("scim", False, None, Q2)]),
    (
        "Requirements:\n- Their rollout will launch by Q2, SCIM needed",
        [("scim", False, None, Q2)],
    ),
    ("Requirements:\n- SCIM by Q1, will launch by Q2", [("scim", False, None, Q1)]),
    ("Promised:\n- they need SCIM by Q1", [("scim", False, None, Q1)]),
    ("Customer requirements:\n- SCIM by Q1 - told them Q2", [("scim", True, Q2, Q1)]),
    # a feature by a date alone, then our word with a date: their date, then our promise
    ("Requirements:\n- SCIM by Q1 (told them Q2)", [("scim", True, Q2, Q1)]),
    ("SCIM by Q1 - told them Q2", [("scim", True, Q2, Q1)]),
    ("SCIM by Q1 (told them Q2)", [("scim", True, Q2, Q1)]),
    ("SCIM by Q1; told them Q2.", [("scim", True, Q2, Q1)]),
    ("SCIM by Q1, told them Q2.", [("scim", True, Q2, Q1)]),
    # ... not our own promise first, nor our word of something else
    ("We will have SCIM by Q1 - told them Q2", [("scim", True, Q1, None)]),
    ("SCIM (told them Q2)", [("scim", True, Q2, None)]),
    ("SCIM by Q1 - told them about SSO", [("scim", True, Q1, None), ("sso", False, None, None)]),
    ("What we promised:\n- SCIM: not by Q1", [("scim", True, None, None)]),
    ("Requirements:\n- We might have SCIM by Q2", [("scim", True, Q2, None)]),
    ("Requirements:\n- By Q3, we will have SCIM", [("scim", True, Q3, None)]),
    ("Requirements:\n- We already delivered SCIM by Q3", [("scim", False, None, None)]),
    ("Requirements:\n- Let's reconnect in Q1 on SSO", [("sso", False, None, None)]),
    ("What we promised:\n- Customer confirmed SCIM for Q2", [("scim", False, None, None)]),
    ("What we promised:\n- Next quarter: SCIM call.", [("scim", False, None, None)]),
    # ... up to a blank line or a line that is no item; other headings set nothing
    (
        "Requirements:\n- SSO\n\n- SCIM by Q1",
        [("sso", False, None, None), ("scim", True, Q1, None)],
    ),
    (
        "Requirements:\n- SSO\nWe'll have SCIM by Q1.",
        [("sso", False, None, None), ("scim", True, Q1, None)],
    ),
    ("Next steps:\n- SCIM by Q1", [("scim", True, Q1, None)]),
]


@pytest.mark.parametrize(("body", "expected"), NEEDED_BY, ids=[c[0][:40] for c in NEEDED_BY])
def test_the_customers_own_date_is_kept_as_needed_by(body: str, expected: list[tuple]) -> None:
    refs = find_references(make_deal(body), CATALOG, today=TODAY)
    assert [
        (r.feature_key, r.is_commitment, r.promised_date, r.needed_by) for r in refs
    ] == expected


@pytest.mark.parametrize(
    ("body", "start", "needed"),
    [
        ("They need SCIM by Q3.", 1, Q3),
        ("They need SCIM by Q3.", 2, date(2027, 10, 31)),  # Q3 FY27 (Aug-Oct 2026) is past
        ("They need SCIM by EOFY.", 7, date(2027, 6, 30)),
        ("SCIM required by the first half of next year.", 2, date(2027, 7, 31)),
        # "within" and "in the next" as "in": from the note (25 Nov 2026), or from the close
        # date (1 Mar 2027) for "of signature", "of go-live"
        ("They need SCIM within 30 days.", 1, date(2026, 12, 25)),
        ("They need SCIM in the next 60 days.", 1, date(2027, 1, 24)),
        ("SCIM required within 90 days of signature.", 1, date(2027, 5, 30)),
        ("They need SCIM within 30 days of go-live.", 1, date(2027, 3, 31)),
    ],
)
def test_needed_by_dates_are_read_like_promised_dates(body: str, start: int, needed: date) -> None:
    catalog = Catalog(FEATURES, fiscal_year_start=start)
    (ref,) = find_references(make_deal(body), catalog, today=TODAY)
    assert not ref.is_commitment and ref.needed_by == needed


@pytest.mark.parametrize(
    "body",
    [
        "Ideally SCIM by Q1.",
        "They'd love SCIM by Q1.",
        "SCIM must be ready by Q1.",
        "Reqs: SCIM by Q1.",
        # pressed for by them: a bare "SCIM by Q1" after it read as our promise
        "Customer is pushing for SCIM by Q1.",
        "They're pushing hard for SCIM by Q1.",
        "Their CISO insists on SCIM by Q1.",
        # a must, a dealbreaker: what the deal cannot go on without
        "SCIM is a must for them by Q1.",
        "SCIM is an absolute must by Q1.",
        "Must: SCIM by Q1",
        "Dealbreaker: no SCIM by Q1",
        "Dealbreaker - no SCIM by Q1",
        "Blocker: no SCIM by Q1.",
        "No SCIM by Q1 is a showstopper for them.",
        "SCIM by Q1 is non-negotiable.",
        "Needs \u2013 SCIM by Q1",
        "SCIM is critical for them by Q1.",
        "SCIM is mandatory by Q1.",
        "Needed: SCIM by Q1",
        "Mandatory: SCIM by Q1",
        "Without SCIM by Q1 it's a no-go.",
    ],
)
def test_wishes_and_requirement_labels_give_the_date_they_need(body: str) -> None:
    (ref,) = find_references(make_deal(body), CATALOG, today=TODAY)
    assert not ref.is_commitment and ref.needed_by == date(2027, 3, 31)


# What the contract holds is what was sold: (note, [(feature, off-roadmap name, commitment)])
CONTRACT_LANGUAGE = [
    # the document includes it, it is part of the document, it was added to it
    ("Added SCIM to the contract.", [("scim", "", True)]),
    ("The contract includes SCIM provisioning.", [("scim", "", True)]),
    ("Contract includes SCIM provisioning at no extra cost.", [("scim", "", True)]),
    ("The MSA includes SCIM.", [("scim", "", True)]),
    ("Order form lists SCIM provisioning.", [("scim", "", True)]),
    ("SOW covers SCIM provisioning.", [("scim", "", True)]),
    ("SCIM is part of the SOW.", [("scim", "", True)]),
    ("SCIM is included in the order form.", [("scim", "", True)]),
    ("SCIM is covered by the MSA.", [("scim", "", True)]),
    ("SCIM is listed on the signed order form.", [("scim", "", True)]),
    ("They asked for it, so we added SCIM to the contract.", [("scim", "", True)]),
    ("Order form signed with SCIM as a future deliverable.", [("scim", "", True)]),
    ("Added a clause for SCIM to the contract.", [("scim", "", True)]),
    # the contract's own terms, with a feature only mentioned beside them
    ("Roadmap disclaimer added to the MSA; SCIM mentioned.", [("scim", "", False)]),
    ("Liability cap is in the contract, they need SCIM.", [("scim", "", False)]),
    ("The MSA includes a Slack integration.", [(None, "Slack integration", True)]),
    # the offer that becomes the contract
    ("Quote includes SCIM provisioning.", [("scim", "", True)]),
    ("Added SCIM to the proposal.", [("scim", "", True)]),
    ("SCIM is in the quote.", [("scim", "", True)]),
    ("Sent the quote to their procurement team; SCIM discussed.", [("scim", "", False)]),
    ("We'll have the proposal ready by Friday, they need SCIM.", [("scim", "", False)]),
    # ... unless it is not, or we refused it
    ("SCIM is not in the contract.", [("scim", "", False)]),
    ("SCIM isn't part of the SOW.", [("scim", "", False)]),
    ("SCIM is not yet part of the SOW.", [("scim", "", False)]),
    ("SCIM is not included in the contract.", [("scim", "", False)]),
    ("SCIM was not added to the contract.", [("scim", "", False)]),
    ("We did not put SCIM in the contract.", [("scim", "", False)]),
    ("We refused to put SCIM in the contract.", [("scim", "", False)]),
    ("We won't add SCIM to the order form.", [("scim", "", False)]),
    ("The contract does not include SCIM.", [("scim", "", False)]),
    ("The contract no longer includes SCIM.", [("scim", "", False)]),
    # ... or the customer asks for it to be: a dependency, not yet a promise
    ("They want SCIM in the contract.", [("scim", "", False)]),
    ("Legal wants SCIM written into the contract.", [("scim", "", False)]),
    ("They asked us to add SCIM to the contract.", [("scim", "", False)]),
    ("Customer requested SCIM be added to the MSA.", [("scim", "", False)]),
    # ... or the words are about the paperwork, not its content
    ("Sent the SCIM questions to the contract team.", [("scim", "", False)]),
    ("SCIM was key to the agreement.", [("scim", "", False)]),
    ("The contract includes a 30-day termination clause.", []),
    # notes drop the article: the same documents
    ("Added SCIM to contract.", [("scim", "", True)]),
    ("SCIM in contract.", [("scim", "", True)]),
    ("SCIM is part of SOW.", [("scim", "", True)]),
    ("SCIM in SOW.", [("scim", "", True)]),
    ("SCIM is not in contract.", [("scim", "", False)]),
    ("They want SCIM in contract.", [("scim", "", False)]),
    ("Refused to add SCIM to contract.", [("scim", "", False)]),
    # ... but a bare "to contract" is the deal's stage, and "contract review" the process
    ("Moved to contract with SCIM and SSO.", [("scim", "", False), ("sso", "", False)]),
    ("We are in contract review, they need SCIM.", [("scim", "", False)]),
    ("SCIM came up in contract negotiation.", [("scim", "", False)]),
    ("SCIM came up in the contract negotiation.", [("scim", "", False)]),
]


@pytest.mark.parametrize(
    ("body", "expected"), CONTRACT_LANGUAGE, ids=[c[0][:40] for c in CONTRACT_LANGUAGE]
)
def test_what_the_contract_holds_is_a_commitment(body: str, expected: list[tuple]) -> None:
    assert got(body) == expected


# A promise reported with "would": ours after our word of telling, else a wish or a condition.
REPORTED_PROMISES = [
    ("Told them SCIM would be ready before renewal.", [("scim", "", True)]),
    ("Told the customer SCIM would be available in Q2.", [("scim", "", True)]),
    ("AE told them SCIM would be ready in Q2.", [("scim", "", True)]),
    ("I said SCIM would be delivered by March.", [("scim", "", True)]),
    # every word of telling counts (a second `_TOLD` once hid "mentioned", "explained")
    ("Mentioned SCIM would be ready before renewal.", [("scim", "", True)]),
    ("I explained SCIM would be live before their rollout.", [("scim", "", True)]),
    ("They mentioned SCIM would be nice.", [("scim", "", False)]),
    ("SCIM would be nice to have.", [("scim", "", False)]),
    ("SCIM would help them a lot.", [("scim", "", False)]),
    ("It would be great to have SCIM.", [("scim", "", False)]),
    ("Told them they would have to wait for SCIM.", [("scim", "", False)]),
    ("Told them SCIM would not be ready by Q1.", [("scim", "", False)]),
    ("Told them we would have a proposal ready by Friday; SCIM came up.", [("scim", "", False)]),
    ("They said SCIM would be available from their other vendor.", [("scim", "", False)]),
    ("Customer said SCIM would be a deal breaker.", [("scim", "", False)]),
]


@pytest.mark.parametrize(
    ("body", "expected"), REPORTED_PROMISES, ids=[c[0][:40] for c in REPORTED_PROMISES]
)
def test_a_promise_reported_with_would_is_ours_only_when_we_told_them(
    body: str, expected: list[tuple]
) -> None:
    assert got(body) == expected


# A question answered, in the same sentence, with a promise of "it" is a promise.
ANSWERED_QUESTIONS = [
    ("They asked about SCIM, so we promised it by Q3.", ("scim", True, False, Q3)),
    (
        "They asked whether we support SCIM; we committed to it for Q2.",
        ("scim", True, False, Q2),
    ),
    ("They asked about SCIM, we promised a follow-up call.", ("scim", False, True, None)),
    ("They asked about SCIM; we will send the docs.", ("scim", False, True, None)),
    ("Asked whether SCIM ships by Q1, we will confirm it next week.", ("scim", False, True, None)),
    ("We promised it by Q3? They asked about SCIM.", ("scim", False, True, None)),
    ("Did we promise SCIM by Q3?", ("scim", False, True, None)),
    # ... or with our word and a date alone
    ("Customer asked when SCIM ships; told them Q1.", ("scim", True, False, Q1)),
    ("Customer asked when SCIM ships - told them Q1", ("scim", True, False, Q1)),
    ("They asked about SCIM; told them pricing is fixed.", ("scim", False, True, None)),
    # ... also when their question has a promise word of its own ("will be ready")
    ("Customer asking when SCIM will be ready, told them Q1", ("scim", True, False, Q1)),
    ("Customer asked when SCIM will be ready, told them Q1", ("scim", True, False, Q1)),
    ("Customer is asking when SCIM will be ready, told them Q1", ("scim", True, False, Q1)),
    ("They asked when SCIM will be ready; told them Q1.", ("scim", True, False, Q1)),
    ("They asked when SCIM will be ready - told them Q1", ("scim", True, False, Q1)),
    (
        "Customer asking whether SCIM will be ready by Q1, told them Q2",
        ("scim", True, False, Q2),
    ),
    (
        "Customer asking when SCIM will be ready, told them it will be ready by Q2",
        ("scim", True, False, Q2),
    ),
    ("Customer asking when SCIM will be ready, so we promised it by Q3", ("scim", True, False, Q3)),
    ("Customer asking when SCIM will be ready", ("scim", False, True, None)),
    ("Customer asking when SCIM will be ready, told them no ETA", ("scim", False, True, None)),
    (
        "Customer asking when SCIM will be ready, told them we'd follow up",
        ("scim", False, True, None),
    ),
    (
        "Customer asking when SCIM will be ready, told them not before Q3",
        ("scim", False, True, None),
    ),
    ("Customer asking when SCIM will be ready; we will send the docs", ("scim", False, True, None)),
    # their question reported without "?" (the date was read as our promise)
    ("They asked will SCIM be ready by Q1", ("scim", False, True, None)),
    ("Customer asked, will SCIM be ready by Q1.", ("scim", False, True, None)),
    # ... also after a dash or a colon
    ("Customer asked - will SCIM be ready by Q1", ("scim", False, True, None)),
    ("Asked: will we have SCIM by Q1", ("scim", False, True, None)),
    ("They asked \u2013 can we commit to SCIM by Q1", ("scim", False, True, None)),
    ("Customer asked: when will SCIM ship", ("scim", False, True, None)),
    ("Asked: SCIM by Q1", ("scim", False, True, None)),
    ("Asks: SCIM by Q1", ("scim", False, True, None)),
    ("Asks - SCIM by Q1", ("scim", False, True, None)),
    ("Customer asks: SCIM by Q1", ("scim", False, True, None)),
    # ... answered "we will have it": by the date asked about (round 24)
    ("Asked: SCIM by Q1. We will have it.", ("scim", True, False, Q1)),
    ("Customer asked re SCIM by Q1", ("scim", False, True, None)),
    ("Q: will SCIM be ready by Q1", ("scim", False, True, None)),
    ("Question - can we have SCIM by Q1", ("scim", False, True, None)),
    # ... not our answer after it
    ("Asked - we will have SCIM by Q1", ("scim", True, False, Q1)),
    ("Asks - we will have SCIM by Q1", ("scim", True, False, Q1)),
    ("Q1: we will have SCIM", ("scim", True, False, Q1)),
]


@pytest.mark.parametrize(
    ("body", "expected"), ANSWERED_QUESTIONS, ids=[c[0][:40] for c in ANSWERED_QUESTIONS]
)
def test_a_question_answered_with_a_promise_is_a_promise(body: str, expected: tuple) -> None:
    (ref,) = find_references(make_deal(body), CATALOG, today=TODAY)
    assert (ref.feature_key, ref.is_commitment, ref.is_question, ref.promised_date) == expected


# The customer's own promise (to their board, their users, or a term of the sale) is none of
# ours, nor is a date in its clause; a promise made to them is.
THEIR_PROMISES = [
    ("Their CIO promised SCIM to his board by Q3.", [("scim", "", False)]),
    ("The customer's CISO promised SSO to the auditors.", [("sso", "", False)]),
    ("Customer guaranteed their auditors SCIM by Q2.", [("scim", "", False)]),
    ("They've already promised their users SCIM.", [("scim", "", False)]),
    ("They have committed to SCIM internally.", [("scim", "", False)]),
    ("The customer committed to a 3-year term; SCIM discussed.", [("scim", "", False)]),
    ("They were promised SCIM by Q3.", [("scim", "", True)]),
    ("Customer was promised SCIM by Q3.", [("scim", "", True)]),
    ("They say we promised SCIM by Q3.", [("scim", "", True)]),
    # ... nor ours of a term of the sale, which no feature in the sentence inherits
    ("We committed to a 3-year term; SCIM discussed.", [("scim", "", False)]),
    ("We committed to 50 seats, SCIM discussed.", [("scim", "", False)]),
    (
        "Their CIO promised his board SCIM by Q3, and we will have it by Q2.",
        [("scim", "", True)],
    ),
]


# A feature listed after a sale item as what was promised is promised too; a feature that
# starts a clause of its own, or a sale item about it, is not.
LISTED_WITH_SALE_ITEMS = [
    ("We promised them a discount and SCIM by Q3.", [("scim", "", True)]),
    ("We committed to 200 seats plus SCIM.", [("scim", "", True)]),
    ("We promised a discount, SCIM and SSO by Q3.", [("scim", "", True), ("sso", "", True)]),
    ("We promised them a discount and the audit trail by Q3.", [("audit", "", True)]),
    ("We committed to a call next week and SCIM was discussed.", [("scim", "", False)]),
    ("We promised a follow-up call to discuss pricing and SCIM.", [("scim", "", False)]),
    ("We promised a demo and SCIM came up.", [("scim", "", False)]),
    ("We promised a demo and SCIM overview next week.", [("scim", "", False)]),
    ("We promised a demo and SCIM docs.", [("scim", "", False)]),
    ("We committed to the renewal and SCIM questions will follow.", [("scim", "", False)]),
]


# An ask of our own team (product, engineering) is no word given to the customer.
INTERNAL_ASKS = [
    ("Action item: get product to commit to SCIM by Q2.", [("scim", "", False)]),
    ("Asked engineering to deliver SCIM by Q2.", [("scim", "", False)]),
    ("Need the PM to commit to a date for SCIM.", [("scim", "", False)]),
    ("Waiting on product to confirm SCIM by Q2.", [("scim", "", False)]),
    ("Asked product to commit; we promised SCIM by Q3 anyway.", [("scim", "", True)]),
    (
        "Product team to deliver SCIM by Q2 per our commitment to the customer.",
        [("scim", "", True)],
    ),
]


# The sale's paperwork and events, around a date or a promise: no promise of a feature.
SALE_PAPERWORK = [
    ("Next step: security review by Jan 15; SSO docs sent.", [("sso", "", False)]),
    ("Security review by Jan 15, SSO discussed.", [("sso", "", False)]),
    ("Promised to send the SOC2 report by Friday.", []),
    ("Committed to sharing the SCIM roadmap by Q1.", [("scim", "", False)]),
    ("We promised SCIM by Q2 for the pilot.", [("scim", "", True)]),
    ("We promised them a custom usage report by Q2.", [(None, "usage report", True)]),
    # a step of the sale about the feature (getting back, escalating, following up, an ETA):
    # no promise of the feature, nor its date
    ("We will get back to them on SCIM by Friday.", [("scim", "", False)]),
    ("We'll get back to them on SCIM by Q1.", [("scim", "", False)]),
    ("Promised to escalate SCIM to product.", [("scim", "", False)]),
    ("Committed to getting them an ETA for SCIM.", [("scim", "", False)]),
    ("Committed to follow up on SCIM by Q1.", [("scim", "", False)]),
    ("Promised to confirm SCIM timing by Friday.", [("scim", "", False)]),
    ("We'll follow up about SCIM next week.", [("scim", "", False)]),
    ("Promised to send the SCIM docs by Monday.", [("scim", "", False)]),
    # "follow up with" is the sale's follow-up, whatever it is with: not read as a delivery
    ("We'll follow up with SCIM by Q1.", [("scim", "", False)]),
    # the feature itself still is
    ("We will have SCIM by Friday.", [("scim", "", True)]),
    ("Promised to get them SCIM by Q1.", [("scim", "", True)]),
    ("Committed to getting them SCIM by Q1.", [("scim", "", True)]),
    ("Promised to check on SCIM and we will have it by Q2.", [("scim", "", True)]),
]


# Service levels and programs are the account's, not a product promise; a product named
# after a giving verb is named without it.
SERVICE_PROMISES = [
    ("Promised them priority support and a named TAM.", []),
    ("We promised them 24/7 support.", []),
    ("We will add them to the beta program for new features.", []),
    ("We'll give them API access.", [(None, "API", True)]),
    ("We promised them a dedicated instance.", [(None, "dedicated instance", True)]),
]


# More ways of giving our word: "coming in <date>" (as "lands in"), "gave them our word",
# "locked in for"; not about the sale's own terms, nor someone else coming in.
OUR_WORD = [
    ("Told them SCIM is coming in Q2.", [("scim", "", True)]),
    ("SCIM coming by Q3, per product.", [("scim", "", True)]),
    ("Their team is coming in March for training; SCIM discussed.", [("scim", "", False)]),
    ("They are coming in Q2 to sign, SCIM needed.", [("scim", "", False)]),
    ("Gave them my word on SCIM.", [("scim", "", True)]),
    ("Gave them a verbal on SCIM.", [("scim", "", True)]),
    ("They gave us a verbal on the deal, SCIM needed.", [("scim", "", False)]),
    ("We did not give them our word on SCIM.", [("scim", "", False)]),
    ("SCIM is locked in for Q2.", [("scim", "", True)]),
    ("Pricing is locked in for Q2; SCIM discussed.", [("scim", "", False)]),
]


# The customer asking for our word, and our yes to it later in the sentence.
REQUEST_GRANTED = [
    ("They asked us to commit to SCIM by Q2 and we did.", [("scim", "", True)]),
    ("They asked us to commit to SCIM by Q2, which we did.", [("scim", "", True)]),
    ("They want a guarantee on SCIM by Q3; we gave it.", [("scim", "", True)]),
    ("They asked us to commit to SCIM by Q2 and we said yes.", [("scim", "", True)]),
    ("They asked us to commit to SCIM by Q2 and we did not.", [("scim", "", False)]),
    ("They asked us to commit to SCIM by Q2 but we declined.", [("scim", "", False)]),
]


# Agreeing to deliver, and throwing a feature in (giving it at no charge), are our word; the
# customer's agreement, a sale item thrown in, and either denied are not.
AGREED_OR_THROWN_IN = [
    ("Agreed to deliver SCIM.", [("scim", "", True)]),
    ("We agreed to build the audit trail for them.", [("audit", "", True)]),
    ("We'll throw in SCIM.", [("scim", "", True)]),
    ("Threw in SCIM for free.", [("scim", "", True)]),
    ("Threw in two extra training days and SCIM.", [("scim", "", True)]),
    ("They agreed to provide test users for SSO.", [("sso", "", False)]),
    ("We'll throw in a discount, they want SCIM.", [("scim", "", False)]),
    ("We'll throw in extra seats if they sign by Q4, they want SCIM.", [("scim", "", False)]),
    ("Didn't agree to deliver SCIM.", [("scim", "", False)]),
    ("We haven't agreed to deliver SCIM.", [("scim", "", False)]),
    ("We won't throw in SCIM.", [("scim", "", False)]),
]


# Bending the roadmap for the deal is our word, of the feature named right after the verb;
# so are assurances to their people and what "will be included".
STEERING = [
    ("We'll prioritize SCIM for them.", [("scim", "", True)]),
    ("We'll fast-track the SCIM work.", [("scim", "", True)]),
    ("We will expedite SCIM.", [("scim", "", True)]),
    ("We will ensure SCIM is available before go-live.", [("scim", "", True)]),
    ("We'll put SCIM on the roadmap for them.", [("scim", "", True)]),
    ("I assured the CTO SCIM is coming.", [("scim", "", True)]),
    ("SCIM will absolutely be included.", [("scim", "", True)]),
    ("They will prioritize SCIM internally.", [("scim", "", False)]),
    ("We won't prioritize SCIM.", [("scim", "", False)]),
    ("We'll prioritize their support tickets, SCIM needed.", [("scim", "", False)]),
    ("Training will be included, SCIM discussed.", [("scim", "", False)]),
]


# What "will be ready" is said of: a sale item's readiness promises no feature.
READY_SUBJECT = [
    ("Training will be ready by Q1, SCIM discussed.", [("scim", "", False)]),
    ("The proposal will be ready by Friday, they need SCIM.", [("scim", "", False)]),
    ("The sandbox will be ready by Monday; SCIM demo then.", [("scim", "", False)]),
    ("The SCIM connector will be ready by Q1.", [("scim", "", True)]),
    ("Training will be ready by Q1; SCIM next quarter.", [("scim", "", True)]),
]


# Whose word it is, table by table (above): one test, each case named by its table.
WHOSE_WORD = {
    "their-own-promise": THEIR_PROMISES,
    "listed-with-sale-item": LISTED_WITH_SALE_ITEMS,
    "internal-ask": INTERNAL_ASKS,
    "sale-paperwork": SALE_PAPERWORK,
    "service-level": SERVICE_PROMISES,
    "our-word": OUR_WORD,
    "agreed-or-thrown-in": AGREED_OR_THROWN_IN,
    "request-granted": REQUEST_GRANTED,
    "steering": STEERING,
    "ready-subject": READY_SUBJECT,
}


@pytest.mark.parametrize(
    ("body", "expected"),
    [case for cases in WHOSE_WORD.values() for case in cases],
    ids=[f"{name}:{body[:40]}" for name, cases in WHOSE_WORD.items() for body, _ in cases],
)
def test_whose_word_it_is(body: str, expected: list[tuple]) -> None:
    assert got(body) == expected


def test_months_from_a_months_last_day_end_on_a_shorter_months_last_day() -> None:
    deal = make_deal("We promised SCIM in a month.")
    written = datetime(2027, 1, 31, 12, tzinfo=UTC)
    deal = deal.model_copy(
        update={"notes": [deal.notes[0].model_copy(update={"created_at": written})]}
    )
    (ref,) = find_references(deal, CATALOG, today=TODAY)
    assert ref.promised_date == date(2027, 2, 28)


# A promise said with a hedge is still a commitment (the customer heard the date), marked
# `hedged` for rules that treat it apart. (note, is_commitment, hedged)
HEDGED = [
    ("We might have SCIM by Q2.", True, True),
    ("SCIM by Q2, hopefully.", True, True),
    ("Possibly SCIM by Q2.", True, True),
    ("We should have SCIM by Q2.", True, True),
    ("SCIM is targeted for Q2.", True, True),
    ("We've pencilled in SCIM for Q2.", True, True),
    ("We're aiming for SCIM in Q1.", True, True),
    ("Told them SCIM in Q1.", True, False),
    ("We'll try to have SCIM by Q2.", True, True),
    ("We'll do our best to deliver SCIM by Q2.", True, True),
    ("We will have SCIM by Q2.", True, False),
    ("They tried to get SCIM working; we promised SCIM by Q2.", True, False),  # theirs
    ("We promised SCIM by May.", True, False),  # the month, not the modal
    ("We promised SCIM by May 15.", True, False),
    ("They need SCIM by Q2, maybe sooner.", False, False),  # no promise to hedge
]


@pytest.mark.parametrize(("body", "commitment", "hedged"), HEDGED, ids=[c[0][:40] for c in HEDGED])
def test_a_hedged_promise_is_a_commitment_marked_hedged(
    body: str, commitment: bool, hedged: bool
) -> None:
    (ref,) = find_references(make_deal(body), CATALOG, today=TODAY)
    assert (ref.is_commitment, ref.hedged) == (commitment, hedged)


def test_the_firm_promise_is_kept_over_a_hedged_one_in_the_same_note() -> None:
    body = "We might have SCIM by Q1. Told them we will have SCIM by Q2."
    (ref,) = find_references(make_deal(body), CATALOG, today=TODAY)
    assert (ref.hedged, ref.evidence) == (False, "Told them we will have SCIM by Q2.")


CONFIRMED = [
    # A feature confirmed for a date, right before or right after the word: our promise
    ("SCIM confirmed for Q2.", (True, date(2027, 6, 30), None)),
    ("SCIM is confirmed for Q2.", (True, date(2027, 6, 30), None)),
    ("SCIM - confirmed for Q2.", (True, date(2027, 6, 30), None)),
    ("SCIM: confirmed for Q2.", (True, date(2027, 6, 30), None)),
    ("Confirmed SCIM for Q2 with the customer.", (True, date(2027, 6, 30), None)),
    ("We confirmed SCIM provisioning for March.", (True, date(2027, 3, 31), None)),
    # the customer's confirmation: theirs, and their need where they say so
    ("Customer confirmed SCIM for Q2.", (False, None, None)),
    ("Customer confirmed they need SCIM by Q2.", (False, None, date(2027, 6, 30))),
    # something else confirmed, a past fact, a denial, a question: no promise
    ("They confirmed the budget for Q1, SCIM discussed.", (False, None, None)),
    ("Confirmed pricing for Q1, SCIM included.", (False, None, None)),
    ("Confirmed the kickoff for March; SCIM is a must.", (False, None, None)),
    ("Confirmed their go-live for Q2, SCIM required.", (False, None, None)),
    ("We confirmed SCIM shipped in March.", (False, None, None)),
    ("Confirmed that SCIM is not planned for Q2.", (False, None, None)),
    ("SCIM is not confirmed for Q2.", (False, None, None)),
    ("Is SCIM confirmed for Q2?", (False, None, None)),
    ("Confirmed SCIM works with Okta.", (False, None, None)),
]


@pytest.mark.parametrize(("body", "expected"), CONFIRMED, ids=[c[0][:40] for c in CONFIRMED])
def test_a_feature_confirmed_for_a_date_is_a_promise(body: str, expected: tuple) -> None:
    (ref,) = find_references(make_deal(body), CATALOG, today=TODAY)
    assert (ref.feature_key, (ref.is_commitment, ref.promised_date, ref.needed_by)) == (
        "scim",
        expected,
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("We signed up to deliver SCIM by Q3.", [("scim", "", True)]),
        ("We signed up to deliver SCIM.", [("scim", "", True)]),
        ("You have my word on SCIM.", [("scim", "", True)]),
        ("They have our word on SCIM.", [("scim", "", True)]),
        ("Order form signed with SCIM as a future deliverable.", [("scim", "", True)]),
        # signed up to deliver a step of the sale, or theirs: no promise of ours
        ("We signed up to deliver a rollout plan by Q1, SCIM discussed.", [("scim", "", False)]),
        ("They signed up to build SCIM connectors on their side.", [("scim", "", False)]),
        # a deliverable asked for or refused is no deliverable of ours
        ("They asked us to list SCIM as a deliverable.", [("scim", "", False)]),
        ("They want SCIM as a deliverable.", [("scim", "", False)]),
        ("SCIM was not listed as a deliverable.", [("scim", "", False)]),
    ],
)
def test_signed_up_our_word_and_deliverables(body: str, expected: list[tuple]) -> None:
    assert got(body) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("We offered SCIM as part of the bundle.", ("scim", True, None)),
        ("Offered them SCIM at no cost.", ("scim", True, None)),
        ("Offered a beta of SCIM in Q1.", ("scim", True, date(2027, 3, 31))),
        ("We're offering SCIM at no extra cost.", ("scim", True, None)),
        # theirs, or a sale item offered: no promise
        ("They offered to pilot SCIM.", ("scim", False, None)),
        ("They offered SCIM to their users.", ("scim", False, None)),
        ("We offered a 10% discount; SCIM discussed.", ("scim", False, None)),
        ("Offered a workshop on SCIM.", ("scim", False, None)),
        # what we said of a feature's place on the roadmap, with a date: a dated promise
        ("SCIM is on the roadmap for H1.", ("scim", True, date(2027, 6, 30))),
        ("Told them SCIM is on our roadmap in Q3.", ("scim", True, date(2027, 9, 30))),
        ("SCIM is on the roadmap for next year.", ("scim", True, date(2027, 12, 31))),
        ("SCIM is on the roadmap.", ("scim", False, None)),  # no date: no promise
        ("Their SCIM project is on the roadmap for Q2.", ("scim", False, None)),
        ("Is SCIM on the roadmap for Q2?", ("scim", False, None)),
        ("SCIM isn't on the roadmap for Q1.", ("scim", False, None)),
    ],
)
def test_offers_and_roadmap_dates_we_gave(body: str, expected: tuple) -> None:
    (ref,) = find_references(make_deal(body), CATALOG, today=TODAY)
    assert (ref.feature_key, ref.is_commitment, ref.promised_date) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("They dropped the multi-region requirement.", []),
        ("They waived the multi-region requirement.", []),
        ("Multi-region requirement dropped.", []),
        ("The multi-region ask was withdrawn.", []),
        # kept: something else dropped, or the need not dropped
        ("They dropped the price, multi-region needed.", [("multi-region", "", False)]),
        ("Multi-region requirement was not dropped.", [("multi-region", "", False)]),
        ("They never dropped the multi-region requirement.", [("multi-region", "", False)]),
        ("They haven't dropped the requirement for multi-region.", [("multi-region", "", False)]),
        (
            "They dropped the multi-region requirement but need SCIM by Q2.",
            [("scim", "", False)],
        ),
    ],
)
def test_a_requirement_dropped_is_no_dependency(body: str, expected: list[tuple]) -> None:
    assert got(body) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Multi-region isn't a must.", []),
        ("Multi-region isn't important to them.", []),
        ("Multi-region is not critical.", []),
        ("Multi-region: N/A.", []),
        ("No multi-region requirement.", []),
        ("They have no use for multi-region.", []),
        # ", not needed" speaks of what came before it (was read as "not <the next name>")
        ("Multi-region is a future consideration, not needed now.", []),
        ("Multi-region was raised by their old CTO, not a requirement now.", []),
        # a need denied in a clause of its own that names nothing
        ("Multi-region would be nice but not needed.", []),
        ("Multi-region came up, though not required for now.", []),
        ("Multi-region would be nice, but it's not needed.", []),
        # still dependencies
        ("Multi-region is a must.", [("multi-region", "", False)]),
        ("Multi-region is important to them.", [("multi-region", "", False)]),
        ("Multi-region is a nice-to-have.", [("multi-region", "", False)]),
        ("They need SSO, not multi-region.", [("sso", "", False)]),
        ("They want multi-region but not needed by Q1.", [("multi-region", "", False)]),
        ("Multi-region would be nice but SCIM is not needed.", [("multi-region", "", False)]),
        ("We promised multi-region but it's not needed.", [("multi-region", "", True)]),
        # shorthand, labels answered no, the next sentence, taken out of the deal
        ("Multi-region not req'd.", []),
        ("They can go live w/o multi-region.", []),
        ("Multi-region is irrelevant for them.", []),
        ("Multi-region is not blocking.", []),
        ("Multi-region: no.", []),
        ("- Multi-region - none", []),
        ("They asked about multi-region. Not needed.", []),
        ("Multi-region descoped.", []),
        ("We descoped multi-region.", []),
        ("They dropped multi-region.", []),
        ("Removed multi-region from the opp.", []),
        ("Multi-region requirement removed.", []),
        ("They ended up not needing multi-region.", []),
        ("Customer no longer cares about multi-region.", []),
        ("Multi-region is moot now.", []),
        # ... but not these
        (
            "We are not needing anything else; they need multi-region.",
            [("multi-region", "", False)],
        ),
        ("Multi-region: no idea yet.", [("multi-region", "", False)]),
        ("They never dropped multi-region.", [("multi-region", "", False)]),
        ("We dropped the price, multi-region needed.", [("multi-region", "", False)]),
        ("We promised multi-region. Not needed.", [("multi-region", "", True)]),
        # "can't live without" is a need (it read as "fine without": no dependency at all)
        ("They can't live without multi-region.", [("multi-region", "", False)]),
        ("They won't go live without multi-region.", [("multi-region", "", False)]),
        ("They would not be fine without multi-region.", [("multi-region", "", False)]),
        ("They can live without multi-region.", []),
    ],
)
def test_more_ways_of_saying_a_feature_is_not_needed(body: str, expected: list[tuple]) -> None:
    assert got(body) == expected


# The customer calling a feature nice to have: still a dependency, marked `optional` (wanted,
# not required) for rules that treat it apart. Not for the feature of another clause, a
# commitment, a question, a denial or a firm need. (note, [(feature, optional)])
OPTIONAL = [
    ("Offline mode would be nice to have.", [("offline", True)]),
    ("Nice to have: offline mode", [("offline", True)]),
    (
        "Customer requirements:\n- SSO\nNice to have:\n- Offline mode",
        [("sso", False), ("offline", True)],
    ),
    ("Nice-to-haves:\n- Offline mode", [("offline", True)]),
    ("Wish list:\n- Offline mode", [("offline", True)]),
    ("Optional:\n- Offline mode", [("offline", True)]),
    ("Requirements:\n- SSO\n- Offline mode (optional)", [("sso", False), ("offline", True)]),
    ("Offline mode is optional for them.", [("offline", True)]),
    ("Offline mode would be a bonus.", [("offline", True)]),
    ("Offline mode: nice to have", [("offline", True)]),
    ("Offline mode came up, but it's a nice-to-have for them.", [("offline", True)]),
    ("Offline mode is on their wish list.", [("offline", True)]),
    ("Offline mode would be nice to have by Q1.", [("offline", True)]),
    ("Nice to have offline mode by Q1.", [("offline", True)]),
    ("Nice to have: offline mode by Q1", [("offline", True)]),
    ("Optional: SCIM by Q1", [("scim", True)]),
    ("Nice to have - offline mode by Q1", [("offline", True)]),
    ("Nice to have \u2013 offline mode by Q1", [("offline", True)]),
    ("Nice to have - offline mode", [("offline", True)]),
    # ... each feature by its own label, another's requirement after a comma
    ("Offline mode: optional, SSO: required", [("offline", True), ("sso", False)]),
    ("Offline mode: nice to have, SSO: required", [("offline", True), ("sso", False)]),
    ("Offline mode - optional, SSO - required", [("offline", True), ("sso", False)]),
    ("Offline mode: optional, SSO: must-have", [("offline", True), ("sso", False)]),
    ("Offline mode: optional; SSO: required", [("offline", True), ("sso", False)]),
    ("Offline mode: optional, SSO required", [("offline", True), ("sso", False)]),
    ("SSO: required, offline mode: optional", [("sso", False), ("offline", True)]),
    ("Offline mode: required, SSO: optional", [("offline", False), ("sso", True)]),
    # only the feature the wish is about
    ("They need offline mode; SSO would be nice.", [("offline", False), ("sso", True)]),
    ("They need offline mode and SSO would be nice.", [("offline", False), ("sso", True)]),
    ("Offline mode is a must-have, SSO is optional.", [("offline", False), ("sso", True)]),
    ("Offline mode would be nice. They need SSO.", [("offline", True), ("sso", False)]),
    # a firm need, a denial of the wish, a promise, a question: not optional
    ("Offline mode is a must-have.", [("offline", False)]),
    ("Offline mode is not optional.", [("offline", False)]),
    ("Offline mode is not just a nice to have, it's critical.", [("offline", False)]),
    ("Nice to have: offline mode; they need it by Q1.", [("offline", False)]),
    ("Nice to have:\n- Offline mode, they need it by Q1", [("offline", False)]),
    ("We promised offline mode, nice to have for them.", [("offline", False)]),
    ("Nice to have:\n- we promised offline mode", [("offline", False)]),
    ("Offline mode would be nice to have. We'll build it by Q3.", [("offline", False)]),
    ("We will have offline mode by Q1, nice to have for them.", [("offline", False)]),
    ("Does offline mode work? Nice to have.", [("offline", False)]),
    ("Nice call today; they need offline mode.", [("offline", False)]),
    ("They were nice; offline mode came up.", [("offline", False)]),
]


@pytest.mark.parametrize(("body", "expected"), OPTIONAL, ids=[c[0][:40] for c in OPTIONAL])
def test_a_nice_to_have_is_a_dependency_marked_optional(
    body: str, expected: list[tuple[str, bool]]
) -> None:
    refs = find_references(make_deal(body), CATALOG, today=TODAY)
    assert [(r.feature_key, r.optional) for r in refs] == expected
    assert not any(r.is_commitment and r.optional for r in refs)


def test_a_nice_to_have_keeps_the_customers_date_and_a_firm_mention_wins() -> None:
    (ref,) = find_references(make_deal("Nice to have:\n- Offline mode by Q1"), CATALOG, today=TODAY)
    assert (ref.optional, ref.needed_by, ref.is_commitment) == (True, date(2027, 3, 31), False)
    # a note calling it nice to have, then mentioning it plainly: the plain one is kept
    deal = make_deal("Offline mode would be nice to have. Offline mode came up again.")
    (ref,) = find_references(deal, CATALOG, today=TODAY)
    assert (ref.optional, ref.evidence) == (False, "Offline mode came up again.")


def test_stored_references_without_optional_read_as_not_optional() -> None:
    from app.rules.model import FeatureReference

    ref = FeatureReference.model_validate(
        {
            "feature_key": "offline",
            "feature_name": "Offline mode",
            "source": "note",
            "evidence": "x",
        }
    )
    assert ref.optional is False
