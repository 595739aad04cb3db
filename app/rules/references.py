"""Which roadmap features a deal depends on, with the evidence quoted exactly.

Line items map to features through the product mapping. Notes are read sentence by sentence:
a sentence that names a feature is a dependency; promise language in it ("will have", "by Q3",
"we'll build") makes it a commitment with an optional promised date; a negation ("they don't
need SSO") removes it; a question ("asked whether we support SCIM") keeps it as a dependency
but never as a promise. A promise that names nothing on the roadmap still becomes a reference
(feature_key=None, availability unknown) so off-roadmap promises are caught too. A promise taken
back ("we haven't promised SCIM", "SCIM won't ship in Q1") or a date denied ("- SCIM: not by
Q1", "SCIM: not before Q3"; not after a promise in its clause: "SCIM by Q1, not by Q3") is
none, and its date is no promised date of another clause ("We'll have SCIM, but not by Q1": no
date); a later clause may promise it again: "...but we will have it by Q2", as may the next
sentence, of the one feature this one names: "SCIM won't be ready for launch. We promised it by
Q3 though."; "it" after the denial of an off-roadmap thing is that thing: "We can't deliver the
Slack integration by Q1 but we will have it by Q2", also in the next sentence when the denial
names one such thing and no feature and that sentence names none of its own: "We can't build a
Slack integration by Q1. We'll have it by Q2."), the customer's own date ("they need SCIM by
Q3"; "in <date>" only so, with a need word about the feature and not in the past: "They need
SCIM in Q3", "SCIM is required in March", not "They needed SSO in March"; their deadline:
"Their deadline for SCIM is Q3", not SCIM's in "Deadline for X is Q2, SCIM discussed"; or their go-live,
launch or rollout with a requirement about the feature: "Their go-live is scheduled for Q2,
SCIM required", "Go-live in Q2, SCIM required", "Go-live planned for March; they need SSO for
it", not SCIM's in "Go-live planned for March with SCIM, training required"; kept as
`needed_by`, resolved as promised dates are) and service boilerplate ("committed to your
success", "the best service") are no commitments, nor are the sale's own schedule ("we'll
revisit next quarter", "Next quarter: call about SCIM", "Next quarter: SCIM call.", "Next
quarter: SCIM, call scheduled.") and deliveries already made ("we already delivered SCIM").
A promise reported with "would" is ours after our word of telling ("Told them SCIM would be
ready by renewal"; not "SCIM would help them", "They said SCIM would be ...").
What a contract document holds is a commitment ("SCIM is in the contract", "The MSA includes
SCIM", "Added SCIM to the order form", "SCIM is part of the SOW"), unless negated or refused ("SCIM
is not in the contract", "We refused to put SCIM in the MSA") or asked for by the customer
("They want SCIM in the contract": a dependency).
"ETA", "goes GA", "lands in", "slated for", "scheduled for", "planned for" promise only with a
date in their clause, and only when ours ("SCIM is scheduled for Q2" is); with several dates in
a clause each feature takes the one in its part of the clause ("SSO by Q1 and SCIM by Q3", "By
Q1 SSO, by Q3 SCIM"), else the nearest after it. Names inside web and mail addresses are no
mentions. An off-roadmap promise without a date is dated by a promise of "it" in the next
sentence, under the same limits as after a denial ("We promised a Slack integration. We'll have
it by Q2.": one reference, by Q2). HTML left in a note is read as text first
(`plain_note_text`): evidence quotes the sentence as text (both sentences for a promise of "it"
in the next one). A heading over a list sets the reading of its items (`_list_headings`):
"Customer requirements:\n- SCIM by Q1" is their need by Q1, "What we promised:\n1. SCIM - Q1" our
promise by Q1, "Open questions:\n- SCIM by Q1" a question, "Out of scope:\n- SCIM" none; an
item's own words win where they say more ("Requirements:\n- we promised SCIM by Q2"). Under
needs, promises, what we told them or questions, lines pasted with no mark are items too
("Requirements:\nSCIM by Q1", "What we promised:\nSCIM - Q1", "What we told them:\nSCIM in Q1").

Cost: one regex pass over a deal's notes (the catalog's trie, which also marks product words
such as "integration" or "custom"), one look for misspelt names per deal, and then work only on
the sentences around a hit; sentences are delimited locally, never for the whole note.
"""

from __future__ import annotations

import calendar
import html
import re
import re._constants as _c
import re._parser as _parser
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import lru_cache
from itertools import accumulate
from operator import itemgetter
from typing import Any, NamedTuple, TypeVar

import structlog
from pydantic import BaseModel

from app.rules.catalog import Catalog, Mention, lower_same_length
from app.rules.model import DealSnapshot, FeatureReference, Note

log = structlog.get_logger("app.rules")

_MONTHS = {
    name: i
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sept", "sep"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
_APOS = "['\u2019]"


class _WordStartPattern:
    """A pattern whose matches all start at a word start, searched fast.

    `re` has no way to skip positions for a pattern that starts with a look-behind, so it
    runs the whole alternation at every character. Putting one consumed non-word character in
    front (`[^a-z0-9](?:...)`) lets it skip every letter in a C loop: only word starts are
    tried; a look-ahead of the pattern's possible first `depth` characters (worked out from
    the pattern itself, see `_leading_atoms`) then turns most word starts away before the
    alternation runs. Four characters, not two: the first two of ordinary words ("an", "be",
    "co", "do", "in", "we", "wh") begin some cue too, and each such word start ran the whole
    alternation; four tell "and", "because", "could"/"compliance", "week" from the cues
    ("any ", "befo", "coul", "we'l"): cues 3.0 -> 2.0 us a sentence, and deeper look-aheads
    gained no more. Same matches as the plain pattern (group spans are unchanged; the match
    itself starts one character early, so callers use the span of a named group); the one
    place without a character in front, the start of the text, is tried with the plain pattern.
    """

    __slots__ = ("plain", "led")

    def __init__(self, source: str, depth: int = 4) -> None:
        self.plain = re.compile(source)
        self.led = re.compile(r"[^a-z0-9]" + _lookahead(source, depth) + "(?:" + source + ")")

    def finditer(self, low: str, a: int, b: int) -> Iterator[re.Match[str]]:
        if a:  # the usual case, without a generator in between (~50 sentences per deal)
            return self.led.finditer(low, a - 1, b)
        return self._from_text_start(low, b)

    def _from_text_start(self, low: str, b: int) -> Iterator[re.Match[str]]:
        first = self.plain.match(low, 0, b)
        if first is not None:
            yield first
            a = first.end()  # matches end at a word end: the next one starts later
        else:
            a = 1
        yield from self.led.finditer(low, a - 1, b)


def _lookahead(source: str, depth: int = 2) -> str:
    """`(?=...)` accepting every way a match of `source` can begin (its first `depth`
    characters, or fewer where the pattern is too loose to say), or "" if it can begin with
    anything. Sound by construction: it only ever accepts more than the pattern."""
    prefixes = _leading_atoms(list(_parser.parse(source)), [()], depth)
    if any(not p or p[0] == "" for p in prefixes):
        return ""  # some match can begin with anything
    tree: dict[str, dict] = {}
    for prefix in prefixes:
        node = tree
        for atom in prefix:
            node = node.setdefault(atom, {})
        node[""] = {}  # a shorter prefix accepts whatever follows it

    def build(node: dict[str, dict]) -> str:
        if "" in node:
            return ""
        return "(?:" + "|".join(atom + build(child) for atom, child in sorted(node.items())) + ")"

    return "(?=" + build(tree) + ")"


def _first_char_class(source: str) -> str:
    """`(?=[...])` of the literal characters a match of `source` can begin with, or "" when it
    can begin otherwise. A character class in front lets `re` skip the other characters in C
    (a look-ahead of alternatives does not)."""
    firsts = _leading_atoms(list(_parser.parse(source)), [()], 1)
    if not all(
        len(p) == 1 and not p[0].startswith("[") and p[0] not in ("", r"\d", r"\s") for p in firsts
    ):
        return ""
    return "(?=[" + "".join(sorted({p[0] for p in firsts})) + "])"


_Prefix = tuple[str, ...]  # regex atoms, one per character; a closed prefix ends in ""


def _leading_atoms(items: list, prefixes: list[_Prefix], depth: int) -> list[_Prefix]:
    """Extend each open prefix (shorter than `depth`, not closed) over the parsed `items`."""
    for op, av in items:
        open_ = [p for p in prefixes if len(p) < depth and not (p and p[-1] == "")]
        if not open_:
            break
        done = [p for p in prefixes if p not in open_]
        if op in (_c.ASSERT, _c.ASSERT_NOT, _c.AT):
            continue  # zero width
        if op is _c.LITERAL:
            grown = [p + (re.escape(chr(av)),) for p in open_]
        elif op is _c.IN and (atom := _class_atom(av)) is not None:
            grown = [p + (atom,) for p in open_]
        elif op is _c.SUBPATTERN:
            grown = _leading_atoms(list(av[3]), open_, depth)
        elif op is _c.BRANCH:
            grown = [q for alt in av[1] for q in _leading_atoms(list(alt), open_, depth)]
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT):
            # Taken: closed after one round (how many follow is not tracked); skipped (when it
            # may be): still open, what follows the repeat may come first.
            low_count, _high, item = av
            grown = [_close(q) for q in _leading_atoms(list(item), open_, depth)]
            if low_count == 0:
                grown += open_
        else:
            grown = [_close(p) for p in open_]
        prefixes = done + grown
    return list(dict.fromkeys(prefixes))


def _close(prefix: _Prefix) -> _Prefix:
    return prefix if prefix and prefix[-1] == "" else (*prefix, "")


def _class_atom(members: list) -> str | None:
    """A parsed character class back as regex source; None for what is not rebuilt here."""
    parts = []
    for op, av in members:
        if op is _c.LITERAL:
            parts.append(re.escape(chr(av)))
        elif op is _c.RANGE:
            parts.append(re.escape(chr(av[0])) + "-" + re.escape(chr(av[1])))
        elif op is _c.CATEGORY and av is _c.CATEGORY_DIGIT:
            parts.append(r"\d")
        elif op is _c.CATEGORY and av is _c.CATEGORY_SPACE:
            parts.append(r"\s")
        else:
            return None
    return "[" + "".join(parts) + "]"


# Contract documents, and the offers that become one, as `_PROMISE`'s contract cues name them.
_DOCS = (
    "contract", "msa", "sow", "order form", "agreement", "statement of work", "quote", "proposal",
    "addendum", "amendment", "exhibit", "appendix", "annex",
)  # fmt: skip
_DOCS_RE = (
    "(?:contract|msa|sow|order form|agreement|statement of work|quote|proposal|addendum"
    "|amendment|exhibit|appendix|annex)"
)
# The documents a contract is made of, as "in the MSA" names them ("in the addendum").
_PARTS_RE = "(?:msa|sow|order form|quote|proposal|addendum|amendment|exhibit|appendix|annex)"
# After a contract document's name: the people and steps of the sale, not the document ("in
# contract review", "to the contract team", "part of the contract negotiation").
_NOT_DOC_PROCESS = (
    r"(?! (?:team|manager|owner|desk|review|reviewer|signer|stage|phase|process|negotiation"
    r"|call|meeting|discussion|talks|redlines?))"
)
# A feature not there by its date, as a remedy's condition (`_SLIP_CUE`).
_NOT_THERE_BY = (
    r"(?:(?:is|are)(?:n['\u2019]t| not)|not) (?:yet )?(?:live|delivered|available|ready|shipped"
    r"|in place|ga|generally available) (?:by|before)"
)
# "by FY27", "before fiscal 2028", "by fiscal year end", "by 1H27" (the last through "by \d...").
_FY_CUE = r"(?:fy|fiscal(?: year)?)\s*'?\d+|fy[- ]end|fiscal[- ]year[- ]end"
# Who "gave <name> a verbal" is not the customer (`_PROMISE`): us, our own people, or no one
# named. ("Told <name> ..." is no cue: the name may be one of ours, "Told Raj (our SE) SCIM in
# Q3", and a regression probe found it read hedges told to a name as promises.)
_NOT_GIVEN_NAMES = (
    "(?:us|me|my|our|we|you|your|him|her|them|em|it|this|that|these|those|the|a|an|everyone"
    "|everybody|nobody|someone|somebody|anyone|internally|product|pm|pms|eng|engineering|dev"
    "|devs|team|manager|boss|legal|finance|ops|cs|csm|se|ae|sales|marketing|leadership|exec"
    "|execs|management|support|security|procurement|partner|partners|vendor|cust|customer"
    "|client|him/her|so|not|no|about|off|on|to|again|otherwise|anybody)"
)
_PROMISE = re.compile(
    r"(?<![a-z0-9])(?:"
    # Reported: "told them SCIM would be ready by renewal" (`_ours`: only after a word of
    # telling; "SCIM would help them" is no promise).
    # ... also shortened: "Told them we'd have SCIM by Q2"
    r"(?:would|(?<=['\u2019])d) (?:definitely |certainly )?(?:have(?! to)|be (?:ready|available"
    r"|live|delivered|"
    r"shipped|done|there|in place|ga|generally available|in (?:the|our) (?:[a-z0-9-]+ )?release)"
    r"|deliver|ship|support|provide|include"
    r"|build|develop|add|enable)"
    r"|(?:will|shall|going to) (?:definitely |certainly |absolutely |also |likely |probably "
    r"|most likely |still |already )?"
    # "We will be able to deliver SCIM in Q2" as "We will deliver SCIM in Q2"
    r"(?:be able to )?"
    r"(?:have|be (?:ready|available|live|delivered|shipped|done|there|in place|included"
    # "SCIM will be in the Q2 release", "... in our next release"
    r"|supported|launched|released|ga|generally available|in (?:the|our) (?:[a-z0-9-]+ )?release)"
    r"|deliver|ship|support|provide|build|add|develop|get|give"
    # "SCIM will launch in Q2" as "SCIM will ship in Q2" (`_ours`: said of a feature or by us)
    r"|include|enable|make|launch|release"
    # bending the roadmap for the deal: "We'll prioritize SCIM for them", "fast-track"
    r"|ensure|prioriti[sz]e|fast[- ]?track|expedite|accelerate)"
    # "We should be able to deliver SCIM in Q2": hedged (`_HEDGE`), still said
    r"|should (?:definitely |certainly |also |still )?be able to (?:have|deliver|ship|support"
    r"|provide|build|add|develop|give|include|enable|launch|release)"
    rf"|we{_APOS}ll (?:still |already )?(?:be able to )?(?:have|deliver|ship|support|provide|build|add|develop"
    r"|get|give|include|"
    r"enable|make|ensure|prioriti[sz]e|fast[- ]?track|expedite|accelerate|launch|release)"
    r"|(?:on|to|onto) (?:the|our) roadmap for (?:them|him|her|the customer|the client"
    r"|this (?:deal|customer|client))"
    # "we're delivering SCIM in Q1", "they'll get SCIM": behind look-behinds, so the common
    # words ("we're", "they'll") do not start a match (see _WordStartPattern).
    r"|(?:(?<=we're )|(?<=we\u2019re )|(?<=we are ))(?:delivering|shipping|adding|building)"
    # ... with "still" or "already" before it: "We are still shipping SCIM in Q2"
    r"|(?:(?<=we're still )|(?<=we\u2019re still )|(?<=we are still )|(?<=we're already )"
    r"|(?<=we\u2019re already )|(?<=we are already ))(?:delivering|shipping|adding|building)"
    r"|(?:(?<=they'll )|(?<=they\u2019ll )|(?<=they will ))get"
    r"|ship(?:s|ping)? (?:in|by|on|before)"
    # "We will be shipping SCIM in Q2" as "We will ship SCIM in Q2" (after "ship ... in" above:
    # "We will be shipping in Q2, they need SCIM" keeps its cue)
    r"|(?:(?<=we will be )|(?<=we shall be )|(?<=we'll be )|(?<=we\u2019ll be )"
    r"|(?<=we are going to be )|(?<=we're going to be )|(?<=we\u2019re going to be ))"
    r"(?:delivering|shipping|adding|building)"
    r"|confirmed (?:with|to|w/) (?:the )?(?:customer|client|them|cust)"
    # our telling ending the line, as "promised" would: "SCIM Q2, told them", "SCIM Q2 (told
    # cust)", "SCIM - Q2 - told cust"
    r"|told (?:them|em|cust|the customer|the client|client)(?=[ \t]*(?:[.!;)\n]|$))"
    # ... or the customer told, ending the line: "SCIM was Q1, now Q2 - customer informed"
    r"|(?:informed|notified)(?=[ \t]*(?:[.!;)\n]|$))(?:(?<=customer informed)|(?<=cust informed)"
    r"|(?<=client informed)|(?<=customer notified)|(?<=cust notified)|(?<=client notified))"
    r"|commit(?:ted|ting|s|ments?)?|guarantee(?:d|s)?|guaranteeing|promis(?:e|ed|es|ing)"
    # what we owe them: "We owe the customer the audit log", "We still owe them SCIM"
    r"|owe(?:(?<=we owe)|(?<=we still owe))"
    r"|(?:reassur|assur)(?:e|ed|ing) (?:them|him|her|the customer|the client|(?:the|their) (?:cto|cio|ciso"
    r"|cfo|ceo|vp|champion|buyer|team|it team|security team))"
    # "in the contract", "SCIM in contract" (not "in contract review", "into contract stage")
    rf"|in(?:to)? (?:the )?contract{_NOT_DOC_PROCESS}|contractual(?:ly)?"
    # "Gave them our word on SCIM", "SCIM is locked in for Q2"
    r"|gave (?:them |him |her |the customer |the client )?(?:our|my) word|locked (?:in )?(?:for|by)"
    # Our forecast with a date (`_DATED_CUES`), hedged (`_HEDGE`): "We expect SCIM in Q2",
    # "We expect to ship SCIM in Q2"
    r"|(?:(?<=we )|(?<=i ))expect(?: to (?:have|ship|deliver|release|launch|add|support|build))?"
    # our word to them in an e-mail: "You can count on SCIM in Q1", "You can expect SCIM in Q1"
    r"|(?:count(?<=you can count)|rely(?<=you can rely)) on|expect(?<=you can expect)"
    # "Handshake agreement on SCIM for Q2", "Shook hands on SCIM by Q2"
    r"|handshake (?:agreement|deal|commitment|promise)|shook hands on"
    # ... with a date in the clause (`_DATED_CUES`): "SCIM in Q2 is locked in", "SCIM for Q2
    # is a done deal" (not "Pricing is locked in")
    r"|locked in|done deal"
    # ... terse: "SCIM Q2 locked", "SCIM date locked: Q2"
    r"|locked(?=[ \t]*(?:[.!;:)\n]|$))"
    r"|(?:have|has) (?:my|our) word"  # "You have my word on SCIM"
    # "We offered SCIM as part of the bundle", "Offered them SCIM at no cost" (`_ours`: not
    # theirs, not a sale item: "offered a discount")
    r"|offer(?:ed|ing)"
    rf"|gave (?:them|him|her|the customer|the client|(?!{_NOT_GIVEN_NAMES}(?![a-z0-9]))[a-z]"
    r"[a-z0-9&'\u2019-]*) an? (?:verbal|soft|tentative|informal)"
    r"(?: (?:on|for|yes|commit(?:ment)?|ok|okay|go-ahead))?"
    # "Order form signed with SCIM as a future deliverable"
    r"|as an? (?:future |contractual |committed )?deliverable"
    # "Agreed to deliver SCIM within 90 days", "We signed up to deliver SCIM", "We'll throw
    # in SCIM" (given at no charge)
    r"|(?:agree(?:d|s)?|signed up) to (?:deliver|ship|build|provide|include|add|develop"
    r"|support|give|enable)"
    # a contract document's label over what it holds: "Order form: SCIM provisioning (Q2
    # 2027)" (`_doc_label`: at a line's start, a feature named right after it)
    r"|(?:order form|sow|msa|contract|statement of work|addendum|amendment)(?=:)"
    # ... agreed or aligned on a date (`_AGREED_CUES`: only with a date in its clause): "We
    # agreed on Q2 for SCIM", "Timeline agreed with customer: SCIM in Q2", "SCIM (agreed: Q2)"
    r"|agreed(?! to (?:deliver|ship|build|provide|include|add|develop|support|give|enable))"
    r"|aligned"
    r"|(?:throw(?:s|ing)?|threw|thrown) (?:in|them in)"
    rf"|written into|in (?:the )?{_PARTS_RE}{_NOT_DOC_PROCESS}"
    # What the contract holds: "The MSA includes SCIM", "SCIM is part of the SOW", "Added SCIM
    # to the contract" (`_is_contract_cue`: refused, negated or asked for, it is none).
    # ... "Exhibit B lists SCIM" (a part's letter or number after its name)
    rf"|{_DOCS_RE}s?(?: [a-z0-9]{{1,2}})? (?:now |also )?(?:includes?|included|lists|covers"
    r"|contains|specifies)"
    r"|(?:part of|included in|covered (?:by|in|under)|listed (?:in|on)|specified in) (?:the )?"
    rf"(?:signed |final )?{_DOCS_RE}{_NOT_DOC_PROCESS}"
    # What the contract says: "Per the MSA, SCIM must be available at go-live"
    r"|(?:per|under|according to|as per) (?:the |our )?(?:signed |final )?"
    rf"{_DOCS_RE}{_NOT_DOC_PROCESS}"
    # "Added SCIM to the contract"; "to contract" without "the" only after an adding verb
    # (`_bare_to_doc`: "moved to contract" is a stage)
    rf"|to (?:the )?(?:signed |final )?(?:contract|{_PARTS_RE})"
    rf"{_NOT_DOC_PROCESS}"
    r"|custom[- ]?(?:build|built|development|dev|work|"
    r"connector|integration|feature|module|version|code)"
    # ... "by 15 July", "by 2027", "by 1H27", "before 6/30": a number only when a date starts
    # there (`_our_word`: not "by 10 users", "by 5 percent")
    r"|build (?:it|this|that|them|one|a|an)(?![a-z0-9])|by (?:q[1-4]|h[12]|(?:the )?end of|eo[qmy]|"
    rf"eofy|{_FY_CUE}|next|{_MONTH_RE}|\d[0-9a-z]*|(?:the )?(?:first|second) half"
    r"|(?:early|mid|late)[- ](?:q[1-4]|20\d\d|next (?:year|quarter))|day (?:one|1)(?![0-9]))"
    rf"|before (?:q[1-4]|(?:the )?end of|{_FY_CUE}|{_MONTH_RE}|\d[0-9a-z]*)"
    r"|no later than"
    r"|next (?:quarter|month|release|sprint)|in time for"
    # A remedy agreed for the feature's delay: "a 20% discount if SCIM slips past Q2",
    # "They can terminate if SCIM is late" (`_SLIP_CUE`: only with a remedy in the sentence)
    r"|slip(?:s|ped)? (?:past|beyond|after|into)|(?:is|are|gets?) delayed (?:past|beyond|after)"
    r"|(?:is|runs?) late|miss(?:es|ed)? (?:the )?(?:q[1-4]|h[12]|deadline|date|go-?live)"
    # ... not there by its date: "Termination right if SCIM isn't live by June 30", "Credit
    # if the audit log is not delivered by March"
    rf"|{_NOT_THERE_BY}"
    # Promises only with a date in their clause (`_DATED_CUES`): "ETA for SCIM is Jan 2027",
    # "SCIM goes GA in Q1", "SCIM lands in Q1", "SCIM is slated for Q2", "scheduled for Q2",
    # "we have SSO planned for March". Last: the usual cues match before these are tried.
    r"|eta|land(?:s|ing)? (?:in|by|on|before)|slated (?:for|to|in)|go(?:es|ing)? (?:ga|live)"
    r"|coming (?:in|by|on|before)|releas(?:es|ing) (?:in|by|on|before)|targeted (?:for|in)"
    r"|coming(?= (?:q[1-4]|h[12])(?![a-z0-9]))"  # "Rep said SCIM is coming Q2"
    # "We can deliver SCIM in Q2" (with a date: "we can ship SCIM" alone is no promise)
    r"|(?:(?<=we )|(?<=i ))can (?:absolutely |definitely |certainly )?(?:deliver|ship|provide"
    r"|release|launch|build)(?![a-z0-9])"
    # "SSO is live; SCIM will follow in Q2", "SCIM to follow in Q2", "SCIM will come in Q2"
    r"|(?:(?<=will )|(?<=to ))(?:come|follow) (?:in|by|on|before)|(?:comes|follows) (?:in|by|before)"
    # "SCIM launches in Q2" as "SCIM releases in Q2" (not "launch": their launch, a noun)
    r"|launch(?:es|ing) (?:in|by|on|before)"
    r"|(?<=on )track (?:for|to)"
    r"|scheduled (?:for|to|in)|planned (?:for|in)|pencil(?:l)?ed in"
    # "SCIM confirmed for Q2", "Confirmed SCIM for Q2 with the customer" (the undated
    # "confirmed with the customer" above is tried first); "SCIM is on the roadmap for H1"
    # (after "on the roadmap for them" above)
    r"|confirmed|on (?:the|our) roadmap (?:for|in)"
    # "Gave them the Q2 date for SCIM", "Shared the SCIM Q2 date with the customer" (a date
    # given to them: with one in the clause)
    r"|gave(?= (?:them|him|her|the customer|the client) (?:the|a|an|our) (?:[a-z0-9-]+ ){0,3}"
    r"(?:date|timeline|eta|target)(?![a-z0-9]))"
    r"|shared(?= (?:the|a|an|our) (?:[a-z0-9-]+ ){0,3}(?:date|timeline|eta|target) with "
    r"(?:them|him|her|the customer|the client|(?:their|the) [a-z]+)(?![a-z0-9]))"
    # Our word with a date and no verb: "Told them SCIM in Q1", "Let them know SCIM for Q2"
    # (`_told_dated`); our soft commitment: "We're aiming for SCIM in Q1" (hedged)
    r"|(?:told|informed) (?:them|em|him|her|(?:the )?customer(?! success| support| care)"
    r"|(?:the )?client|cust"
    r"|(?:their|the) (?:cto|cio|ciso"
    r"|cfo|ceo|vp|champion|buyer|team|it team|security team|admin|it lead))"
    r"|let (?:them|him|her|(?:the )?customer|(?:the )?client) know|(?:(?<=we )|(?<=i ))said"
    # ... our side by its role: "AE said SCIM Q2", "Our AE said SCIM in Q2", "Rep said ..."
    # (not another company's: "The Okta AE said SCIM Q2")
    r"|said(?:(?<=^ae said)|(?<=\nae said)|(?<= the ae said)|(?<=^the ae said)|(?<=our ae said)"
    r"|(?<=^se said)|(?<=\nse said)|(?<= the se said)|(?<=^the se said)|(?<=our se said)"
    r"|(?<=^rep said)|(?<=\nrep said)|(?<= the rep said)|(?<=^the rep said)|(?<=our rep said))"
    # ... told in the passive, the customer told (by us): "Customer was told SCIM in Q2" (not
    # "We were told SCIM in Q2": told by someone else, product or a partner)
    r"|(?:(?<=was )|(?<=were )|(?<=been ))(?<!we were )(?<!i was )(?<!we've been )"
    r"(?<!we\u2019ve been )(?<!i've been )(?<!i\u2019ve been )(?<!we have been )"
    r"(?<!i have been )(?<!we had been )(?<!i had been )told"
    # ... "We're targeting Q1 for SCIM", "We plan to have SCIM in Q1"
    r"|(?:aim(?:s|ed|ing)? (?:for|to)|plan(?:s|ning)? to) (?:have|ship|deliver|release|launch"
    r"|build|add|support|provide|enable|get|make)|aim(?:s|ed|ing)? for|targeting|shooting for"
    r")(?![a-z0-9])"
)
_CUSTOM = re.compile(
    r"(?<![a-z0-9])(?:custom[- ]?(?:build|built|development|dev|work|connector|integration|"
    rf"feature|module|version|code)|(?:we|we{_APOS}ll|i{_APOS}ll|will|going to) (?:build|develop)"
    # ... with what is built in between: "a custom SCIM build", "custom Workday sync work"
    r"|custom (?:[a-z0-9-]+ ){1,2}(?:build|development|dev work)"
    r"|build (?:it|this|that|them|one|a|an)(?![a-z0-9]))"
)
_QUESTION = re.compile(
    r"(?<![a-z0-9])(?:ask(?:ed|ing|s)? (?:whether|if|about|for|how|when|re|regarding)"
    # their question reported without "?": "They asked will SCIM be ready by Q1", "Customer
    # asked, will SCIM be ready by Q1", "Customer asked - will SCIM ...", "Asked: will we ...",
    # "Asked: SCIM by Q1", "Asks - SCIM by Q1" (not our answer after it: "Asked - we will
    # have SCIM by Q1"); across
    # the clause joint, `_clauses` marks the clause it ends in too
    r"|ask(?:ed|s)?(?:,|:| -| \u2013| \u2014)? (?:will|would|can|could|does|do|did)(?= )"
    r"|ask(?:ed|s)(?::| -| \u2013| \u2014)(?= (?!(?:we|i|they|he|she|you|us|our|and|but|so|then|yes"
    r"|no)(?![a-z0-9])))"
    # a question written as one: "Q: will SCIM be ready by Q1", "Question - can we ..."
    r"|(?:q|question)(?::| -| \u2013| \u2014) (?:will|would|can|could|does|do|did|is|are|when"
    r"|whether|if|how|any)(?= )"
    r"|wonder(?:ed|ing)? (?:whether|if|about)|want(?:s|ed)? to know|wanted to confirm"
    r"|need(?:s|ed)? to confirm|"
    r"(?:do|does|did) (?:we|you|it|the product|your product) (?:have|support|offer|do)|"
    r"(?:is|are) there|(?:can|could|would) (?:we|you|it)|whether (?:we|you|it|the)|"
    r"inquir(?:ed|ing|y)|any plans? (?:for|to)|question(?:s|ed)? (?:about|on|re)|"
    # "not sure whether SCIM ships by Q1": doubt, not a promise
    r"(?:not (?:sure|clear|certain)|unsure|unclear|uncertain|(?:do|does|did)(?:n['\u2019]?t| not)"
    r" know) (?:whether|if))(?![a-z0-9])"
)
_NEG_BEFORE = re.compile(
    r"(?<![a-z0-9])(?:(?:do|does|did|will|would)(?:n['\u2019]?t| not)|won['\u2019]?t|never|"
    r"no longer|not) (?:really )?(?:need|require|want|cares? about|use|interested in|looking for)|"
    # "They ended up not needing offline mode"
    r"not needing|"
    r"no (?:need|requirement|interest|plans?|use|real need) (?:for|in|to)"
    r"|not (?:interested in|looking for)|"
    r"(?:dropped|removed|waived) (?:the )?(?:requirement|need|ask) for|instead of|rather than"
    # left out, or replaced: "Everything except offline mode is committed", "Offered a
    # single-region SLA in lieu of multi-region"
    # ("except" only after "everything": "Nothing except SCIM was promised" promises SCIM)
    # (each word first, its look-behind after: only its own word starts try it)
    r"|except(?:(?<=everything except)|(?<=everything, except)|(?<=anything except)"
    r"|(?<=all except))(?: for)?|excluding|lieu of(?<=in lieu of)|place of(?<=in place of)"
    # ... or worked around: "Promised a workaround for offline mode by Q1"
    r"|workarounds? (?:for|to)"
    # a need given up: "They used to need SCIM", "decided against SCIM", "They deprioritized
    # SCIM", "They are not asking for SCIM anymore"
    r"|used to (?:need|require|want|ask for)|decided against|depriori(?:ti[sz]|ti[sz]ed|ti[sz]ing)"
    r"|(?:not|no longer|stopped) asking (?:for|about)"
    # ... refused by them: "They declined SSO", "They opted out of SCIM", "They turned down
    # the AI Assistant beta", "Zero interest in offline mode", "Nobody asked about SCIM"
    r"|(?:declined(?<=they declined)|rejected(?<=they rejected)|turned down(?<=they turned down)"
    r"|passed on(?<=they passed on)|opted out of|zero interest in|nobody asked (?:about|for))"
    # (what they refused ends the sentence: not "They declined the meeting, SCIM needed")
    r"(?=(?: [a-z0-9'\u2019-]+){1,5}[ \t]*(?:[.!;\n]|$))"
    # "They dropped the multi-region requirement", "waived their SCIM ask": the need, named
    # within a few words after (not "They dropped the price, SCIM needed")
    r"|(?:dropped|waived|withdrew|withdrawn)(?= (?:the |their )?(?:[a-z0-9-]+ ){1,3}"
    r"(?:requirements?|needs?|asks?|requests?)(?![a-z0-9]))"
    # "they need SSO, not SCIM", also in parentheses: "SCIM by Q1 (not SSO)"; not ", not
    # needed" (`_NEG_AFTER`: of what came before)
    # (nor how it was said: "We promised SCIM by Q2, not in the contract", "..., not in writing")
    r"|(?:(?<=, )|(?<=\())not(?! just| only| yet| needed| required| necessary| a requirement"
    r"| in (?:the |a |any |our |their )?(?:contract|msa|sow|order form|writing|paper)"
    r"| contractual| written| binding| formal| signed"
    r"| a priority| relevant| in scope| wanted| important| essential| critical| an? (?:blocker|must"
    r"|dealbreaker|deal[- ]breaker|showstopper|hard requirement))(?= )"
    r"|neither"
)  # not "without": "without SSO they won't sign" is a dependency
# "No SSO needed": checked at each mention (`_no_x_needed`), not as a cue: a cue starting with
# "no" made every "now", "note", "nothing" run the whole cue alternation (~0.1 ms a deal).
_NEEDED_AFTER = re.compile(r"(?: [a-z-]+)? (?:needed|required|necessary|requirements?)(?![a-z0-9])")
_NEG_AFTER = re.compile(
    r"(?<![a-z0-9])(?:(?:(?:is|are|was|were)n['\u2019]?t|not|no longer|never) (?:needed|required|"
    r"req['\u2019]?d|necessary|a requirement|a priority|relevant|in scope|wanted|important|essential"
    r"|critical|a must(?![- ]?have))|out of scope|"
    r"no need(?! (?:for|to))|not (?:a |an )?(?:blocker|dealbreaker|deal[- ]breaker|"
    r"must[- ]have|showstopper|hard requirement|blocking)|non-?blocking"
    # "Offline mode is irrelevant for them", "Offline mode descoped"
    r"|(?:(?<=is )|(?<=are )|(?<=was )|(?<='s )|(?<=\u2019s ))irrelevant|descoped"
    # "Multi-region: N/A" (a nice-to-have is still wanted: a dependency)
    r"|n/a"
    # Common words ("will", "was", "are") behind look-behinds, so a match starts at the rare
    # word and only its word starts run this alternation (see _WordStartPattern).
    r"|(?:(?<=won't )|(?<=won\u2019t )|(?<=wont )|(?<=will not ))be (?:needed|required|necessary)"
    r"|(?:(?<=was )|(?<=were )|(?<=been )|(?<=got )|(?<=is )|(?<=are ))"
    r"(?:dropped|removed|descoped)"
    # set aside: "Multi-region is off the table", "discussed and dismissed", "a non-issue",
    # "Multi-region: parked"
    r"|off the table|dismissed|(?:a )?non-issue|not (?:an issue|a concern)|parked"
    # "Multi-region requirement dropped", "the SCIM ask was withdrawn"
    r"|(?:requirement|need|ask|request)s? (?:(?:was|were|is|are|has been|have been|got) )?"
    r"(?:dropped|waived|withdrawn|removed)"
    # "Offline mode is moot now", "Offline mode: moot"
    r"|moot"
    # "Dashboards: no interest", "AI: not interested", "AI assistant - no interest"
    r"|no interest(?! in)|not interested(?! in)"
    # never part of the talk: "Offline mode not discussed", "Offline mode didn't come up",
    # "never came up", "wasn't raised" (group `untalked`; the verb starts the match and the
    # negation is a look-behind, as "have", "were" would start many. Not in a sentence with
    # a need word: "Offline mode required, pricing not discussed", "... not discussed yet,
    # but they need it", see `_clauses`)
    r"|(?P<untalked>(?=dis|rai|men|bro|cov|c[ao]m)(?:(?<=not )|(?<=never )|(?<=n't )"
    r"|(?<=n\u2019t )|(?<=not been )|(?<=n't been )|(?<=n\u2019t been )|(?<=not yet )"
    r"|(?<=n't yet )|(?<=n\u2019t yet ))(?:discussed|raised|mentioned|brought up|covered"
    r"|c[ao]me up))"
    r"|nope)(?![a-z0-9])"
)
# What we said of the feature's future: it does not come ("will never be built", "not on the
# roadmap", "not planned", "won't be built"). The mentions before it in its clause are no
# dependency ("Explained offline mode is not on the roadmap"), unless a need word comes before
# them there: "They need offline mode, which is not on the roadmap" still depends on it.
_UNAVAILABLE = re.compile(
    r"(?<![a-z0-9])(?:never be (?:built|delivered|shipped|available)"
    r"|not (?:on|in) (?:the|our) roadmap"
    # behind look-behinds: only "planned" starts a match ("were", "not" start many words);
    # the look-ahead first, so other word starts do not try the look-behinds
    r"|(?=pla)(?:(?<=not )|(?<=never )|(?<=n't )|(?<=n\u2019t ))planned"
    r"(?! (?:for|in|until|before|by|next|this)(?![a-z0-9]))"
    r"|(?=be )(?:(?<=won't )|(?<=won\u2019t )|(?<=wont )|(?<=will not ))be built)(?![a-z0-9])"
)
# A feature taken out of the deal: "Removed SCIM from the order form", "Took multi-region out of
# the contract", "SCIM struck from the SOW". The cue is what it is taken out of; the removal
# verb before it in the clause (`_REMOVAL_VERB`, looked for only then) says what goes: its
# object, or with none, the clause's words before the verb (`_removed_span`).
_REMOVED = re.compile(
    r"(?:out of|from) (?:the |their |our |this )?(?:signed |final |draft |revised |new )?"
    r"(?:contract|deal|scope|order form|sow|msa|quote|proposal|requirements|rfp|renewal|order"
    r"|agreement|list|wish ?list|shortlist)s?(?![a-z0-9])"
)
_REMOVAL_VERB = re.compile(
    r"(?<![a-z0-9])(?:remov(?:e|ed|es|ing)|drop(?:s|ped|ping)?|struck|strike|pull(?:s|ed|ing)?"
    r"|took|taken|tak(?:e|es|ing)|descop(?:e|ed|es|ing)|delet(?:e|ed|es|ing)"
    r"|exclud(?:e|ed|es|ing)|cut(?:s|ting)?)(?: out)?(?![a-z0-9])"
)
# Before the removal verb: it is refused or not done ("They refused to remove SCIM from the
# contract", "we can't drop SCIM from the SOW"), and the feature stays in the deal.
_NOT_REMOVED = re.compile(
    r"(?:n['\u2019]?t|not|never|cannot|refus(?:e|ed|es|ing) to|declin(?:e|ed|es|ing) to"
    r"|unwilling to|won['\u2019]?t)(?: (?:be|to|want to|agree to|let us|allow us to))? $"
)
# The `_NEG_BEFORE` cues of a need given up that a negation before them keeps
_GIVEN_UP = ("dropped", "waived", "withdrew", "withdrawn", "removed")
# A promise taken back or refused ("we did not promise SCIM", "can't commit to it by Q3", "no
# promises were made", "we haven't promised SCIM", "not in a position to commit"), or a
# delivery said not to happen ("SCIM won't ship in Q1", "SCIM won't be shipping in Q1", "can't
# deliver it by Q3", "will not have it by March", "SCIM won't launch by Q2"): the clause is no
# commitment, whatever else in it sounds like one.
_PROMISE_VERB = r"(?:promis(?:e|ed|es|ing)|commit(?:ted|ting|s)?|guarantee(?:d|s)?|guaranteeing)"
# Only after a future or modal negation (group `fut`): "we don't ship on-prem" takes back no
# promise.
_DELIVERY_VERB = (
    r"(?:ship(?:s|ping)?|deliver(?:ing)?|have|build|develop|go (?:ga|live)|throw (?:it |them )?in"
    # "We can't do SCIM by Q1", "We can't get SCIM to them by Q1"
    r"|do|get"
    r"|launch|release|be (?:ready|available|live|delivered|shipped|shipping|done|there|in place"
    r"|launched|released|ga|generally available))"
)
_DENIED = re.compile(
    r"(?<![a-z0-9])(?:(?:(?P<fut>(?:can|could|will|would|shall)(?:n['\u2019]?t| not)|cannot"
    r"|can['\u2019]?t|won['\u2019]?t|never|unable to|unlikely to|not (?:in a position|able|going) to"
    r"|no way (?:we|i)(?: can| could| will|['\u2019]ll)"
    r"|in no position to)|(?:do|does|did|should)(?:n['\u2019]?t| not)|not|no longer|refused to"
    r"|declined to|unwilling to|reluctant to|without|not (?:prepared|willing|ready) to"
    # "Nobody on our side promised SCIM by Q1", "No one has promised the audit log"
    r"|(?:nobody|no one|no-one)(?: (?:on|from) our (?:side|end|team))?(?: (?:has|had|have))?"
    r"(?: ever)?"
    # "Careful not to promise SCIM", "We avoided committing to SCIM", "We stopped short of
    # promising SCIM", "At no point did we commit to SCIM"
    r"|not to|avoid(?:s|ed|ing)?|stopp?(?:ed|ing)? short of|(?:at no point|in no way"
    r"|under no circumstances) (?:did|do|will|would|have|had|can|could|should) (?:we|i))"
    # ("We will not be committing to SCIM by Q1")
    r"(?: be able to| be)?(?: (?:yet|really|actually|explicitly|formally|officially|ever|even|once"
    rf"|any))? (?:{_PROMISE_VERB}|agreed? to|(?(fut){_DELIVERY_VERB}|(?!))"
    # the noun: "We can't make a commitment on SCIM yet", "unable to give any commitments"
    r"|(?:make|give|offer|provide)(?: (?:a|an|any|firm|specific|concrete|formal|hard))*"
    r" (?:promise|commitment|guarantee)s?)"
    r"|(?:no|zero) (?:promises?|commitments?|guarantees?|agreements?)"
    # "SCIM discussed, nothing committed", "none committed", "Nothing has been committed to
    # the customer"
    r"|(?:nothing|none)(?: (?:was|were|has been|have been|is|are|yet))?(?= (?:committed|promised"
    r"|guaranteed))"
    # our doubt before it: "Not sure SCIM will be ready by Q1", "I doubt we'll have SCIM by Q1"
    # (not "Not sure whether SCIM ships by Q1": their question, `_QUESTION`)
    r"|not (?:sure|confident|certain)(?! (?:whether|if|about))(?: that)?"
    r"|(?:doubt(?<!no doubt)(?<!a doubt)(?:ful)?|unsure)(?! (?:whether|if|about))(?: that)?"
    r"|not (?:a |any )?(?:promise|commitment|guarantee)"
    # "SCIM by Q2 is not confirmed", "... not locked in", "... not a done deal"
    r"|not (?:yet |officially |really )?(?:confirmed|locked(?: in)?|a done deal|set in stone"
    # ... or judged out of reach: "SCIM by Q2 is not realistic", "... is unrealistic"
    r"|realistic|feasible|doable|possible|achievable|happening)"
    r"|(?:is|are)n['\u2019]?t (?:realistic|feasible|doable|possible|achievable|happening)"
    r"|(?:(?<=is )|(?<=was )|(?<=\u2019s )|(?<='s ))(?:unrealistic|infeasible|impossible"
    r"|unlikely|a long shot|not going to happen)"
    # "No SCIM commitment", "no firm date commitment", "Pushed back on committing to SCIM",
    # "SCIM by Q1 is non-binding", "SCIM in Q2, directional only"
    r"|no (?:[a-z0-9-]+ ){1,2}(?:promises?|commitments?|guarantees?|agreements?)"
    # "... but there's no firm date", "SCIM targeted for Q2, no firm date" (not "no date" alone:
    # "no date slip")
    r"|no (?:firm|fixed|committed|hard|confirmed|set|official|guaranteed) (?:dates?|eta|timeline)"
    r"(?![a-z0-9-])"
    # "Dashboards GA (no date promised)", "no ETA committed"
    r"|no (?:dates?|eta|timeline|timing)(?: (?:was|has been|is|yet))? (?:promised|committed"
    r"|guaranteed)"
    # "SCIM - no commit", "SCIM commitment: none", "SCIM committed: no"
    r"|no commit(?![a-z0-9])"
    r"|(?:commitment|committed|promised?)s?\s?[:=-]\s?(?:none|no|n/a|n)(?=[ \t]*(?:[.!;,)\n]|$))"
    # ... and "Pushed back on SCIM by Q1" (their ask, refused)
    r"|push(?:ed|es|ing)? back on|non-?binding|not binding|directional(?:ly)? only"
    # "Non-commitments: audit log", "Non-committed items: ..."
    r"|non-?commit(?:ted|ments?)"
    r"|(?:only|just|purely) directional"
    # "We said no to SCIM by Q1"
    r"|(?:said|say|says|saying) no to"
    # a contract's words refused or struck: "We struck the clause committing SCIM by Q1", "...;
    # we rejected that line", "They tried to add a clause committing us to SCIM by Q1"
    r"|(?:struck|stricken|struck out|removed|deleted|redlined|crossed out|rejected|refused"
    r"|declined|pushed back on|took out)(?: (?:the|that|this|their|a|an|its))?"
    r"(?: [a-z0-9'\u2019-]+)? (?:clause|line|language|wording|sentence|term|provision)s?"
    # (not one replaced by another date: "... and replaced it with Q3" re-dates it)
    r"(?![a-z0-9])(?![^.;\n]* replaced (?:it |them |that |this )?with )"
    r"|(?:tried|wanted|asked|attempted|wants|asks|proposed) to (?:add|insert|include|put in)"
    r"(?: (?:a|an|the|their|some))?(?: [a-z0-9'\u2019-]+)? (?:clause|line|language|wording"
    r"|sentence|term|provision)s?(?![a-z0-9])"
    # someone else's word, said so: "Snowflake told them multi-region is coming in Q1;
    # unrelated to us", "... (not from us)"
    # (alone in its clause: not "the outage was unrelated to us", "nothing to do with us that
    # their SI is late", said of something else)
    r"|(?:unrelated to us|nothing to do with us|not from us|not ours)"
    r"(?:(?<=; unrelated to us)|(?<=, unrelated to us)|(?<=\(unrelated to us)|(?<=- unrelated to us)"
    r"|(?<=; nothing to do with us)|(?<=, nothing to do with us)|(?<=\(nothing to do with us)"
    r"|(?<=; not from us)|(?<=, not from us)|(?<=\(not from us)|(?<=- not from us)"
    r"|(?<=; not ours)|(?<=, not ours)|(?<=\(not ours)|(?<=- not ours))"
    r"(?=[ \t]*(?:[.);\n]|$))"
    # our own plan, not said to the customer: "AI Assistant GA committed for Q1 (internal)",
    # "Eng committed to SCIM in the Q2 train (internal planning only)", "SCIM: committed to Q2
    # internally, do not share externally" (not "confirmed internally, told them Q2": `_PROMISE`)
    # (a tag after the words, not one opening a sentence: "(internal) Dana was promised SCIM")
    r"|internal(?<=[a-z0-9] \(internal)(?=[),]| only| planning| use)"
    r"|internally(?=[ \t]*(?:[.;,)\n]|$))"
    r"|(?:do not|don't|don\u2019t|dont|never) share (?:this |that |it )?(?:externally"
    r"|with (?:the )?(?:customers?|clients?|them))"
    r"|not for (?:the )?(?:customers?|clients?|external)"
    # "We declined SCIM by Q1", "I refused SCIM by Q1": our refusal of their ask
    r"|declined(?<=we declined)|declined(?<=i declined)|refused(?<=we refused)"
    r"|refused(?<=i refused)"
    # a short "is not" ending its clause: "SCIM committed Q2, audit log and multi-region are
    # not", "SCIM by Q2 is committed; audit log by Q1 is not" (`_split_denied_tail`)
    # (the common verbs behind look-behinds: only the rarer word starts try it, see
    # _WordStartPattern)
    r"|(?:not(?:(?<=is not)|(?<=are not)|(?<=was not)|(?<=were not))"
    r"|no longer(?:(?<=is no longer)|(?<=are no longer)|(?<=was no longer)|(?<=were no longer))"
    r"|(?:isn|aren|wasn|weren)['\u2019]?t"
    # (not a list's own mark: "SCIM (Q2), audit log (TBD)")
    r"|tbd(?<=[a-z0-9] tbd)|undecided(?<=[a-z0-9] undecided)"
    r"|determined(?<=[a-z0-9] to be determined))(?=[ \t]*(?:[.!;\n]|$))"
    # our word denied: "We never said SCIM by Q2", "We didn't tell them SCIM in Q2"
    r"|(?:never|did(?:n['\u2019]?t| not)) (?:(?:ever|actually|once) )?(?:say|said|tell|told)"
    # "Product declined the SCIM Q2 commitment", "rejected the promise"
    r"|(?:declined|rejected|refused|vetoed|turned down)(?: (?:the|a|an|any|our|their|this"
    r"|that))?(?: [a-z0-9'\u2019-]+){0,3} (?:commitment|promise|guarantee)s?"
    # a promise taken back since: "... but we walked it back", "We have since retracted it"
    # (done, not to do: "we need to walk that back" still holds it)
    r"|(?:walked|took|pulled|dialed|dialled) (?:it|that|this|them|the (?:promise"
    r"|commitment|date)) back|(?:walked|took|pulled) back (?:the|our)(?: [a-z0-9-]+){0,4}"
    r" (?:promise|commitment|date)"
    r"|(?:we|i) (?:have |had )?(?:since )?(?:retracted|rescinded|withdrew)"
    # "Retracted the SCIM by Q1 commitment" (the promise's words between)
    r"|(?:retracted|rescinded|withdrew) (?:it|that|this|(?:the|our)(?: [a-z0-9-]+){0,4}"
    r" (?:promise|commitment|date))"
    # ... or said taken out: "SCIM commitment removed from the order form"
    r"|(?:promise|commitment|guarantee)s?(?: (?:for|by|in|from) [a-z0-9/'-]+(?: [a-z0-9/'-]+)?)?"
    r" (?:was |were |has been |have been |is |are |got )?"
    r"(?:removed|dropped|struck|pulled|withdrawn|retracted|rescinded|walked back|taken out"
    r"|rejected|denied|declined|vetoed)"
    # Custom work refused: "No custom build of SCIM", "We won't do a custom SCIM build"
    r"|(?:no|zero) custom|(?:(?:can|could|will|would|shall|do|does|did)(?:n['\u2019]?t| not)"
    r"|cannot|won['\u2019]?t|never|refused to|declined to|not) (?:do|doing|offer|offering"
    r"|take on|taking on|build|building|provide|providing) (?:a |an |any )?custom"
    # "SCIM is not something we will build by Q1", "nothing we can commit to"
    r"|(?:not|nothing|(?:is|are|was|were)n['\u2019]?t)(?: (?:something|anything|a thing))?"
    r"(?: that)? (?:we|i)(?:['\u2019]ll| will| would| can| could| are going to| plan to)?"
    rf" (?:build|deliver|ship|develop|have|offer|support|provide|{_PROMISE_VERB})"
    r")(?![a-z0-9])"
)  # "we haven't promised", "isn't going to ship": `_TAKEN_BACK`, at the promise cue
# A delivery already made (`past`): "we (already) delivered", "SCIM has shipped", "was
# released", "shipped to them last quarter". The words before the verb are look-behinds, so
# only the rare verbs start a match (see _WordStartPattern).
_PAST_DELIVERY = r"(?:delivered|shipped|released|launched|deployed|rolled out|went (?:live|ga))"
_DELIVERED = re.compile(
    # The verb's first letters first: at the other word starts the look-behinds are not tried.
    r"(?=deli|ship|rele|laun|depl|roll|went)(?:"
    r"(?:(?<=we )|(?<=they )|(?<=has )|(?<=have )|(?<=had )|(?<=was )|(?<=were )"
    r"|(?<=been )|(?<=already )|(?<='ve )|(?<=\u2019ve )|(?<='d )|(?<=\u2019d ))"
    + _PAST_DELIVERY
    + rf"|{_PAST_DELIVERY}(?: [^\s.;:,!?]+){{0,6}}? (?:already|last (?:week|month|quarter|year"
    r"|sprint|release)|ago|yesterday|earlier|previously))"
)
_CUES = _WordStartPattern(
    "|".join(
        f"(?P<{name}>(?<![a-z0-9])(?:{pattern.pattern})(?![a-z0-9]))"
        for name, pattern in (
            ("denied", _DENIED),  # first: at one position the first alternative wins
            ("custom", _CUSTOM),
            ("neg_before", _NEG_BEFORE),
            # with two kinds of its own inside (one group costs less than three at every
            # word start tried): `unav` (`_UNAVAILABLE`) and `removed` (`_REMOVED`)
            (
                "neg_after",
                re.compile(
                    f"{_NEG_AFTER.pattern}|(?P<unav>{_UNAVAILABLE.pattern})"
                    f"|(?P<removed>{_REMOVED.pattern})"
                ),
            ),
            ("question", _QUESTION),
            ("promise", _PROMISE),
            ("past", _DELIVERED),  # last: no promise cue starts like it
        )
    )
)
# What a contract cue before it says the document leaves out: "Per the MSA, SCIM is not
# included", "In the contract, SCIM is excluded", "Under the SOW, SCIM is out of scope".
_EXCLUDED_AFTER = re.compile(
    r"(?<![a-z0-9])(?:excluded|out of scope)(?![a-z0-9])"
    r"|(?:(?<![a-z0-9])not|n['\u2019]t)(?: be)? (?:included|part of|covered|listed|in scope)"
    r"(?![a-z0-9])"
)
# Promise language in a sentence naming nothing but a product word ("a custom connector"):
# re would try _PROMISE's look-behind at every character of it.
_PROMISE_AT = _WordStartPattern(f"(?P<promise>{_PROMISE.pattern})")
# Telling the customer, before a reported "would" ("Told them SCIM would be ready by Q2").
_TOLD = re.compile(
    r"(?<![a-z0-9])(?:told|tell|telling|said|say|says|saying|assured|informed|confirmed"
    r"|promised|let (?:them|him|her|the customer|the client) know|mentioned|explained)"
    r"(?![a-z0-9])"
)
# A contract cue after a negation or a refusal of ours: no commitment ("SCIM is not in the
# contract", "SCIM isn't part of the SOW", "We refused to put SCIM in the contract", "SCIM
# was not added to the order form"). Anchored at the cue.
_CONTRACT_DENIED = re.compile(
    r"(?:(?<![a-z0-9])(?:not|never|no longer|cannot|isnt|wasnt|arent|werent)|n['\u2019]t"
    r"|(?<![a-z0-9])(?:refus|declin|unwilling|reluctant)[a-z]*"
    # "Nothing about SCIM in the contract", "No mention of SCIM in the MSA"
    r"|(?<![a-z0-9])(?:nothing (?:about|on|regarding)|no mention of)(?: [^ ,;:.!?]+){1,4})"
    r"(?: (?:yet|been|be|ever|currently|actually|explicitly|formally|really|going|able|to))*"
    r"(?: (?:put|add|added|include|included|write|written|list|listed|place|placed|allow"
    r"|allowed|accept|accepted|permit|permitted)"
    r"(?: [^ ,;:.!?]+){0,4}?)? $"
)
# A contract cue after the customer's request: what they ask to have in it, not what it holds
# ("They want SCIM in the contract", "Legal wants SCIM written into the contract", "They asked
# us to add SCIM to the contract"); the feature stays a dependency.
_CONTRACT_ASKED = re.compile(
    r"(?<![a-z0-9])(?:wants?|wanted|wanting|ask(?:s|ed|ing)?|request(?:s|ed|ing)"
    r"|insist(?:s|ed|ing)?|push(?:es|ed|ing)? for|demand(?:s|ed|ing)?|hop(?:e|es|ed|ing))"
    r"(?![a-z0-9])"
)


# Before a bare "to contract" (no "the"): what makes it a document a feature went into
# ("Added SCIM to contract", "put SCIM to SOW"), not the deal's stage ("moved to contract").
_ADDED_TO = re.compile(
    r"(?<![a-z0-9])(?:add(?:s|ed|ing)?|put(?:s|ting)?|wr[io]te|written)(?![a-z0-9])"
)


def _is_contract_cue(cue: str) -> bool:
    """Whether the promise cue `cue` places a feature in a contract document."""
    return (
        cue.endswith(_DOCS)
        or cue == "written into"
        or (cue.startswith(_DOCS) and not cue.startswith("contractual"))
        # "SCIM as a deliverable": what the contract lists, as asked or refused as any
        # ("They asked us to list SCIM as a deliverable", "not listed as a deliverable")
        or cue.endswith("deliverable")
    )


# Where one clause ends and another starts inside a sentence: negation and questions stay local.
# Every alternative starts with a literal character, so `re` skips letters in a C loop (the
# equivalent "`,? but |...`" form costs a backtracking attempt at every character).
_SUBJECT = (
    r"(?=(?:we|i|they|he|she|you|(?:the )?(?:customer|client|prospect)(?! (?:success|base)))"
    r"(?:['\u2019 ]))"
)
_CLAUSE = re.compile(
    r";|:|\?[!?\"')\]\u201d\u2019]*(?=\s)|\u2014 ?"
    # ", we promised SCIM": a comma before a new subject starts a clause ("They can't have
    # downtime, we promised SCIM": the negation stays in its own clause), also after "so"
    # ("They asked for it, so we added SCIM to the contract": the question stays in its own),
    # "plus", "also", "then" ("SCIM promised for Q1, plus they asked about offline mode"), and
    # our word without its subject ("Customer asked when SCIM ships, told them Q1").
    rf"|,(?: but | however| although | whereas | (?:and|so|plus|also|then) {_SUBJECT}"
    # (not the told customer ending the line: "SCIM Q2, customer informed", one clause)
    rf"| (?!(?:the )?(?:customer|client) (?:informed|notified)[ \t.!]*(?:\n|$)){_SUBJECT}"
    r"| (?=told (?:them|him|her|the customer|the client) ))"
    # "SCIM by Q1 (told them Q2)": our word in parentheses
    r"| \((?=told (?:them|him|her|the customer|the client) )"
    # our "not yet" answered, then what will be: "Not yet, it will be ready in Q2"
    # (the comma first, as every alternative starts with a literal: `re` skips other characters)
    r"|,(?:(?<=not yet,)|(?<=not today,)|(?<=not now,)|(?<=not currently,))"
    r"(?= (?:it|this|that)\W)"
    # " though " as " although ": "We can't deliver SCIM by Q1 though we will have it by Q2";
    # " while ": "We will have SCIM by Q2 while offline mode is not planned"
    # " | " between a status line's items: "offline mode - no | SCIM - committed Q2"
    rf"|(?: but | however(?=[ ,])| although | though | whereas | while | - | \| | \u2013 | \u2014 ?"
    rf"| and {_SUBJECT})"
)
# The year after a quarter or half: "Q3 2027", "Q3'27", "Q3 FY27", "Q3 CY27" (a calendar
# year: `{0}_cy`), "Q1 of 2028", or two digits after a space only when no word follows ("Q3 27."
# yes; "by Q3 10 teams" is not 2010).
_QY = (
    r"(?:\s*(?:fy|(?P<{0}_cy>cy))\s*'?(?P<{0}_y>\d{{4}}|\d{{2}})|\s*'(?P<{0}_ya>\d{{2}})"
    r"|(?:\s+of)?\s+(?P<{0}_yl>(?:19|20)\d{{2}})(?![0-9])|\s+(?P<{0}_ys>\d{{2}})(?![0-9])(?!\s*[a-z]))"
)
# "Q1 next year", "H1 next year", "first half of next fiscal year": the next fiscal year's.
_NEXT_YEAR = r"\s+(?:of\s+)?(?P<{0}_next>next (?:fiscal )?(?:year|yr))"
_DATE = _WordStartPattern(
    r"(?<![a-z0-9])(?:"
    # "2027 Q2", "2027-Q2", "2027 H1": the year before the quarter or half (`q_yb`, `h_yb`)
    # ... or the fiscal year before it: "FY27 Q1", "FY2027 Q1" (`q_yf`); "EOQ1" (end of Q1)
    r"(?P<q>(?:(?P<q_part>early|mid|late|beginning of|start of|end of|eo)[- ]?)?"
    r"(?:(?:fy\s*'?(?P<q_yf>\d{4}|\d{2})|(?P<q_yb>20\d{2}))[ -]?)?"
    rf"q(?P<q_n>[1-4])(?:{_QY.format('q')}|{_NEXT_YEAR.format('q')})?)"
    r"|(?P<h>(?:(?P<h_yb>20\d{2})[ -]?)?"
    rf"h(?P<h_n>[12])(?:{_QY.format('h')}|{_NEXT_YEAR.format('h')})?)"
    # "1H27", "2H'27", "2H 2027", "1H FY27": the year is required ("2h" alone is two hours).
    r"|(?P<nh>(?P<nh_n>[12])h(?:(?:\s*(?P<nh_cy>cy)|\s*fy)?\s*'?(?P<nh_y>\d{4}|\d{2})"
    rf"|{_NEXT_YEAR.format('nh')}))"
    # "2Q27", "3Q 2027", "1Q FY28": a quarter as finance writes it, the year required ("2q"
    # alone is no date)
    r"|(?P<nq>(?P<nq_n>[1-4])q(?:(?:\s*(?P<nq_cy>cy)|\s*fy)?\s*'?(?P<nq_y>\d{4}|\d{2})"
    rf"|{_NEXT_YEAR.format('nq')}))"
    # "first half of next year", "the second half of 2027", "first half of FY28": a half.
    # ("back half", "front half", "latter half": as finance says it)
    r"|(?P<hw>(?P<hw_n>first|second|1st|2nd|front|back|latter) half(?:\s+of)?(?:\s+the)?"
    rf"(?:{_NEXT_YEAR.format('hw')}|\s+(?:(?:fy|fiscal(?: year)?)\s*'?)?(?P<hw_y>20\d{{2}})"
    r"|\s+(?:fy|fiscal(?: year)?)\s*'?(?P<hw_ys>\d{2})|\s+(?:fiscal )?year)?)"
    # "the first quarter of next year", "the third quarter of 2027", "the second quarter": a
    # quarter in words (formal e-mails, recorders' summaries); "of next year" was the whole year
    r"|(?P<qw>(?P<qw_n>first|second|third|fourth|1st|2nd|3rd|4th) (?:quarter|qtr)(?:\s+of)?"
    rf"(?:\s+the)?(?:{_NEXT_YEAR.format('qw')}|\s+(?:(?:fy|fiscal(?: year)?)\s*'?)?"
    r"(?P<qw_y>20\d{2})|\s+(?:fiscal )?year)?)"
    # "early 2027", "mid-2027", "late next year", "end of 2027": calendar months of a year.
    r"|(?P<yp>(?P<yp_part>early|beginning of|start of|mid|middle of|late|end of)[- ]"
    r"(?:(?P<yp_y>20\d{2})(?![-/0-9]|\.[0-9])|(?P<yp_next>next (?:year|yr))))"
    # "FY27", "FY 2027", "fiscal 2027", "CY27" (calendar): a whole fiscal or calendar year.
    r"|(?P<fy>(?:fy|fiscal(?: year)?|(?P<fy_cy>cy|calendar year))\s*'?(?P<fy_y>\d{4}|\d{2}))"
    r"|(?P<eofy>(?:(?:the )?end of (?:the |this )?(?:fiscal year|fy)|eofy|fy[- ]end"
    r"|fiscal[- ]year[- ]end|(?:this|the) fiscal year(?!\s*'?\d)))"
    r"|(?P<nextfy>next (?:fiscal year|fy))"
    # ("qtr", "yr": CRM shorthand; "next Q" without its number)
    r"|(?P<nextq>next (?:quarter|qtr|q(?![0-9a-z])))"
    r"|(?P<thisq>(?:this|the) (?:quarter|qtr)|end of (?:the |this )?(?:quarter|qtr)|eoq)"
    r"|(?P<nextm>next month)|(?P<nexty>next (?:year|yr))|(?P<eom>end of (?:the |this )?month|eom)"
    # "SCIM (Q2), SSO (now)": a list's own date for a feature, the day of the note (`ref`;
    # "day one", "at signing": the close date); without it SSO took SCIM's Q2. Only in parentheses: a bare "now" is mostly not a date
    # ("They now need SCIM").
    r"|(?<=\()(?P<now>now|today|immediately|right away|asap"
    r"|(?P<now_start>at signing|at signature|day one|day 1))(?=\))"
    r"|(?:(?<=in )|(?<=by )|(?<=until )|(?<=during )|(?<=before ))(?P<yr>(?P<yr_y>20\d{2}))(?![-/0-9]|\.[0-9])"
    # "by day one", "needed from day 1": the deal's start, its close date (`_DAY_ONE_LEAD`)
    r"|(?P<dayone>day (?:one|1)(?![0-9]))"
    r"|(?P<eoy>(?:end of (?:the |this )?(?:year|yr)|year[- ]end|eoy|ye)"
    r"(?:\s+(?:of\s+)?(?P<eoy_y>20\d{2})(?![-/0-9]|\.[0-9]))?)"
    r"|(?P<iso>(?P<iso_y>\d{4})-(?P<iso_m>\d{1,2})-(?P<iso_d>\d{1,2}))"
    # "06/2027", "6/2027", "2027/06", "2027-06": a month of a year (its last day)
    # "30.06.2027": day, month and year as most of Europe writes them
    r"|(?P<dmy>(?P<dmy_d>[0-3]?\d)\.(?P<dmy_m>[01]?\d)\.(?P<dmy_y>20\d{2})(?![0-9]|\.[0-9]))"
    r"|(?P<my>(?P<my_m>0?[1-9]|1[0-2])/(?P<my_y>20\d{2})(?![0-9/]))"
    r"|(?P<ym>(?P<ym_y>20\d{2})[/-](?P<ym_m>0?[1-9]|1[0-2])(?![0-9/-]|\.[0-9]))"
    r"|(?P<us>(?P<us_m>\d{1,2})/(?P<us_d>\d{1,2})(?:/(?P<us_y>\d{4}|\d{2}))?(?![0-9/]))"
    rf"|(?P<md>(?P<md_m>{_MONTH_RE})\.?(?:\s+(?P<md_d>\d{{1,2}})(?:st|nd|rd|th)?(?![0-9]))?"
    r"(?:,?\s+(?:of\s+)?(?P<md_y>\d{4}))?)"
    r"|(?P<dm>(?P<dm_d>\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?"
    rf"(?P<dm_m>{_MONTH_RE})(?:,?\s+(?P<dm_y>\d{{4}}))?)"
    # "by summer", "this fall", "next spring", "by end of summer 2027" (the northern hemisphere's
    # seasons, meteorological: summer ends 31 August), "by Christmas": only after a word that
    # makes them a date (`_SEASON_LEAD`)
    r"|(?P<season>(?:(?:early|mid|late|end of(?: the)?)[- ])?(?P<season_n>spring|summer|fall"
    r"|autumn|winter)(?:\s+(?:of\s+)?(?P<season_y>20\d{2}))?)|(?P<xmas>christmas|xmas)"
    # "in 90 days", "within the next 60 days", "in a couple of weeks", "in a few months"
    # "in 6-8 weeks", "within 4 to 6 weeks": the later end (what the customer was told to expect)
    r"|(?P<rel>(?:in|within) (?:the (?:next )?)?(?:~\s*|about |around |approx\.? |approximately "
    r"|roughly |some )?(?:\d{1,3}\s*(?:-|\u2013|to)\s*)?"
    r"(?P<rel_n>\d{1,3}|a couple of|a few|a|one|two|three"
    r"|four|five|six|seven|eight|nine|ten|eleven|twelve)(?: |(?<=[0-9]))(?P<rel_u>day|week|month|wk"
    r"|mo|d)s?"
    # "within 90 days of signature": counted from the deal's close date (`_When.close`)
    r"(?P<rel_of> (?:(?:of|after|from|following) |post[- ]?)(?:the |their |our |contract |deal )*"
    r"(?:signature|signing|close|closing|contract|purchase|kick-?off|go-?live|go live"
    r"|onboarding))?)"
    # "60 days after signature", "two weeks after signing": as "within ..." (an anchor needed:
    # "60 days" alone is a length)
    r"|(?P<after>(?P<after_n>\d{1,3}|one|two|three|four|five|six|seven|eight|nine|ten|eleven"
    r"|twelve)(?: |(?<=[0-9]))(?P<after_u>day|week|month|wk|mo|d)s? (?:after|from|following"
    r"|post[- ]?)"
    r" ?(?:the |their |our |contract |deal )*(?:signature|signing|close|closing|contract"
    r"|purchase|kick-?off|go-?live|go live))"
    r")(?![a-z0-9])"
)
_NUMBER_WORDS = {
    "a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "a couple of": 2, "a few": 3,  # "a few": read as three
}  # fmt: skip
# What every match of _UNKNOWN_OBJECT contains (the object word, or "support for ..."): found
# first, it tells where the full pattern can start (see `_unknown_object`).
_OBJECT_WORD_SOURCE = (
    r"(?:integrations?|connectors?|features?|modules?|apis?|"
    r"plug-?ins?|add-?ons?|extensions?|reports?|dashboards?|workflows?|capabilit(?:y|ies)|"
    r"functionality|endpoints?|sync|versions?)(?![a-z0-9])|support for(?: (?!(?:by|in|before|"
    r"until|next|for|to|and|with|on|this|that|from|at|q[1-4])(?![a-z0-9]))[\w\-/.&]+){1,3}"
)
_OBJECT_WORD = re.compile(_first_char_class(_OBJECT_WORD_SOURCE) + f"(?:{_OBJECT_WORD_SOURCE})")
# The object word with up to two words before it ("SAP billing integration").
_UNKNOWN_OBJECT = re.compile(r"(?:(?:[a-z0-9][\w\-/.&]*\s+){0,2})" + _OBJECT_WORD_SOURCE)
_SPACE_RUN = re.compile(r"\s+")
_LEADING_FILLER = re.compile(
    r"^(?:(?:a|an|the|them|him|her|us|our|their|its|it|this|that|some|new|custom|will|we|"
    r"build|building|add|have|deliver|give|get|provide|offer|enable|make|and|to|for|with)\s+)+"
)
# Where sentences end: line breaks, HTML leftovers, and ". ! ?" before a space (not after an
# abbreviation such as "e.g." or "approx."); "!" and "?" also with closing quotes, brackets or
# more "!?" after them ('asked "do we have SCIM?" then', "(SCIM?) then", "by Q1?! then").
# The character class comes first so `re` skips ordinary characters in a C loop.
_BOUNDARY = re.compile(
    # "<" and ">" are HTML leftovers, not the arrows of a plain-text note ("SCIM -> Q2", "=>",
    # "<-"): those ran the sentence's end into its start ("SCIM ->" read alone)
    r"[\n<>!?.](?:(?<=\n)|(?<=<)(?![-=])|(?<=>)(?<![-=]>)|(?<=[!?])[!?\"')\]\u201d\u2019]*(?=\s)"
    r"|(?<=\.)(?<!e\.g\.)(?<!i\.e\.)(?<!etc\.)"
    r"(?<![^a-z]vs\.)(?<!approx\.)(?<![^a-z]mr\.)(?<![^a-z]ms\.)(?<!mrs\.)(?<![^a-z]dr\.)"
    r"(?<!inc\.)(?<![^a-z]no\.)[\"')\]\u201d\u2019]*(?=\s)"
    # an abbreviated month before its day: "by Jan. 15" (cut there, the day was lost and the
    # date read as the month's end)
    r"(?!(?:"
    + "|".join(
        rf"(?<=[^a-z]{m}\.)"
        for m in [
            "jan",
            "feb",
            "mar",
            "apr",
            "jun",
            "jul",
            "aug",
            "sep",
            "sept",
            "oct",
            "nov",
            "dec",
        ]
    )
    + r")\s+\d))"
)
# The characters a sentence boundary can be, searched in the reversed note: the last one before
# a hit in one C call (`re` cannot search backwards).
_BOUNDARY_CHAR = re.compile(r"[\n<>!?.]")


@dataclass(slots=True, eq=False)  # compared by identity: `clauses.index(c)` in a long sentence
class _Clause:
    start: int  # offsets into the note
    end: int
    question: bool = False
    promise: bool = False
    custom: bool = False
    denied: bool = False  # a promise taken back or refused: no commitment in this clause
    sale: bool = False  # a promise of a sale item ("a business case"): its dates are the sale's
    dated: bool = False  # a cue that promises only with a date in the clause ("ETA", "lands in")
    past: bool = False  # a delivery already made ("we already delivered"): promises no more
    # "no" before the feature named right before the date cue ("No SSO by Q1"): `denied` too,
    # but under a heading of needs the date is theirs, as in "Requirements:\n- No SSO in Q1"
    no_date: bool = False
    # Negation cue end / start offsets (tuples: most clauses have none, and an empty tuple
    # costs nothing to create).
    neg_before: tuple[int, ...] = ()
    neg_after: tuple[int, ...] = ()
    removed: tuple[tuple[int, int], ...] = ()  # spans taken out of the deal (`_REMOVED`)
    unavailable: tuple[int, ...] = ()  # starts of "not on the roadmap" (`_UNAVAILABLE`)
    # The customer's own dates ("they need SCIM by Q3"): (date cue start, end of the cue's
    # clause, start and end of the need word), kept by the clause holding the need word. An
    # end of -1: the date is every feature's in the clause ("they need SCIM by Q3"); else only
    # the features the need word is about (`_tied`: "They need SCIM in Q3", "Go-live planned
    # for March with SCIM, training required": not SCIM's).
    needed: tuple[tuple[int, int, int, int], ...] = ()


_M = TypeVar("_M", bound=BaseModel)
_new_object = object.__new__
_set_slot = object.__setattr__


def trusted_model(cls: type[_M], fields_set: frozenset[str], values: dict[str, Any]) -> _M:
    """`cls(**given)` without validating again, for values that already have the field types.

    `values` holds every field in declaration order (defaults included) and `fields_set` the
    names a caller would have passed. Pydantic's `model_construct` does the same in a Python
    loop over the fields and costs 3x a validation; this costs a third of one. Only for
    models without private attributes or extra fields (FeatureReference, Finding,
    EvaluationResult);
    tests/rules/test_trusted_models.py checks it still builds the same object as validation.
    """
    obj = _new_object(cls)
    _set_slot(obj, "__dict__", values)
    _set_slot(obj, "__pydantic_fields_set__", set(fields_set))
    _set_slot(obj, "__pydantic_extra__", None)
    _set_slot(obj, "__pydantic_private__", None)
    return obj


_REFERENCE_DEFAULTS: dict[str, Any] = {
    name: field.default for name, field in FeatureReference.model_fields.items()
}
_LINE_ITEM_FIELDS = frozenset(
    ("feature_key", "feature_name", "source", "source_id", "evidence", "matched_text")
)
_NOTE_FIELDS = frozenset(FeatureReference.model_fields)
_UNKNOWN_FIELDS = _NOTE_FIELDS - {"is_question", "matched_text"}


def _reference(fields_set: frozenset[str], **values: Any) -> FeatureReference:
    """A FeatureReference from values of the right types (~30 per deal); same object as
    `FeatureReference(**values)`, without validating them again."""
    return trusted_model(FeatureReference, fields_set, {**_REFERENCE_DEFAULTS, **values})


# HTML left in a note body (connectors strip it, but notes typed or synced elsewhere, and
# Salesforce classic notes, keep some): inline tags ("<b>", "<a href=...>") are dropped so
# "We <b>promised</b> SCIM" stays one sentence, block tags ("<p>", "<br>", "<li>", "</tr>") end
# a line, table cells are a space, and character references ("&#39;", "&amp;", "&nbsp;") are
# read as the characters they stand for. Tags not named here stay: their "<" and ">" still end
# sentences (`_BOUNDARY`).
_INLINE_TAGS_TEXT = """a abbr b big cite code del dfn em font i ins kbd mark q s samp small span
    strike strong sub sup tt u var wbr o:p"""
_INLINE_TAGS = frozenset(_INLINE_TAGS_TEXT.split())
_BLOCK_TAGS_TEXT = """address article aside blockquote br dd div dl dt figcaption figure footer h1
    h2 h3 h4 h5 h6 header hr li main nav ol p pre section table tbody tfoot thead tr ul"""
BLOCK_TAGS = frozenset(_BLOCK_TAGS_TEXT.split())
CELL_TAGS = frozenset(("td", "th"))
_MARKUP = re.compile(
    r"</?(?P<tag>[a-zA-Z][a-zA-Z0-9]*(?::[a-zA-Z]+)?)(?:\s[^<>]*)?/?>"
    r"|&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});"
)


def _markup_text(m: re.Match[str]) -> str:
    tag = m.group("tag")
    if tag is None:  # a character reference
        return html.unescape(m.group()).replace("\xa0", " ")
    tag = tag.lower()
    if tag in _INLINE_TAGS:
        return ""
    if tag in BLOCK_TAGS:
        return "\n"
    if tag in CELL_TAGS:
        return " "
    return m.group()  # not a tag we know: left as it was


def _item_marked(parts: list[str], text: str) -> str:
    """`text`, a list item's first text, with the item's mark ("- ") before its first
    character, on the line after the text in `parts`: as the CRM connectors write a list
    (`html_to_text`). The tags and spaces between items add no blank line (one would end a
    heading's list): what `parts` ends with after its last text is dropped."""
    while parts and not parts[-1].strip():
        parts.pop()
    if not parts:
        return "- " + text.lstrip()
    parts[-1] = parts[-1].rstrip()
    return "\n- " + text.lstrip()


def plain_note_text(body: str) -> str:
    """A note body as the sentences are read: HTML tags and character references left in it
    turned into plain text (see `_MARKUP`), no-break spaces into spaces. Evidence is quoted
    from this text. The "<" and "&" are found with `str.find` (a `re` scan of a whole note
    costs several times more) and `_MARKUP` is tried only there.

    A list item keeps its mark as the CRM connectors give it (`html_to_text`): "- " before
    its first text on a line of its own, so the items under a heading are read by it
    ("<p>Customer requirements:</p><ul><li>SCIM by Q1</li></ul>": the customer's need, not
    our promise). No blank line between items (one ends a heading's list); an empty item gets
    no mark."""
    lt, amp = body.find("<"), body.find("&")
    if lt >= 0 or amp >= 0:
        parts: list[str] = []
        done = 0  # body[:done] is in parts
        item = False  # a list item opened and its first text not seen yet
        while lt >= 0 or amp >= 0:
            at = lt if amp < 0 or 0 <= lt < amp else amp
            m = _MARKUP.match(body, at)
            nxt = at + 1
            if m is not None:
                text = body[done:at]
                if item and text.strip():
                    text, item = _item_marked(parts, text), False
                parts.append(text)
                if body[at + 1] in "lL" and body[at] == "<" and m.group("tag").lower() == "li":
                    item = True  # its mark before its first text (not an empty item's)
                else:
                    text = _markup_text(m)
                    if item:  # rare: "<li>&amp; ...", or an empty item's end (no mark)
                        tag = m.group("tag")
                        if tag is None and text.strip():
                            text, item = _item_marked(parts, text), False
                        elif tag is not None and tag.lower() == "li":
                            item = False
                    parts.append(text)
                done = nxt = m.end()
            if lt >= 0 and lt < nxt:
                lt = body.find("<", nxt)
            if amp >= 0 and amp < nxt:
                amp = body.find("&", nxt)
        if done:
            text = body[done:]
            if item and text.strip():
                text = _item_marked(parts, text)
            parts.append(text)
            body = "".join(parts)
    if "\xa0" in body:
        body = body.replace("\xa0", " ")
    return body


# The most of a note's plain text read: its first 64 KiB (65,536 characters), HubSpot's
# own limit on a note body (`hs_note_body`) and twice Salesforce's on a classic note's
# (32,000). Real notes are a few KB; a longer one is pasted or hostile text, and reading it
# all would only let whoever can edit a note choose how long a deal takes to read.
NOTE_READ_LIMIT = 65_536


def _read_part(text: str, note: Note) -> str:
    """The part of a note's plain text that is read: all of it up to `NOTE_READ_LIMIT`
    characters, else its first `NOTE_READ_LIMIT` cut before the word the limit falls in (a
    name cut in two could read as another, misspelt one), with a warning in the log."""
    if len(text) <= NOTE_READ_LIMIT:
        return text
    cut = k = NOTE_READ_LIMIT
    while k > NOTE_READ_LIMIT - 64 and not text[k].isspace():
        k -= 1
    if text[k].isspace():
        cut = k
    # in the log with the deal (the worker binds its ids): what a user sees of the cut
    log.warning("note_read_in_part", note_id=note.id, read_chars=cut, note_chars=len(text))
    return text[:cut]


# Promise words misspelt as reps type them ("garanteed", "commited", "promissed"): read as a
# promise word of the same length, so the lower-cased note keeps every offset (evidence is
# quoted from the note as written, at the same offsets) and every pattern, negations included
# ("not commited" is "not promised"), reads them. Each stands for a word of its own form: a
# past participle for a past participle, a noun for a noun.
_PROMISE_TYPOS = {
    **dict.fromkeys(("guarenteed", "gauranteed", "gaurenteed", "guarunteed"), "guaranteed"),
    **dict.fromkeys(("garanteed", "garunteed", "guarnteed", "guranteed"), "committed"),
    **dict.fromkeys(("gaurantee", "guarentee", "gaurentee", "guarantie"), "guarantee"),
    **dict.fromkeys(("guarentees", "gaurantees", "gaurentees"), "guarantees"),
    **dict.fromkeys(("commited", "comitted", "promsied"), "promised"),
    **dict.fromkeys(("commiting", "comitting"), "promising"),
    "comitment": "guarantee",
    "committment": "commitments",
    "promissed": "committed",
    # Our word given again is our word: "Reconfirmed SCIM for Q2" as "Confirmed SCIM for Q2"
    # (spaces before it keep the length)
    "reconfirmed": "  confirmed",
    "re-confirmed": "   confirmed",
    # ... and promised again: "Recommitted to Q1" as "Committed to Q1" (the later word)
    "recommitted": "  committed",
    "re-committed": "   committed",
    "prommised": "committed",
    "pr0mised": "promised",
    # Shorthand for "before": read as "by" by every pattern; `_When.b4` keeps where, so that
    # "b4 Q2" is still before Q2 begins (`_promised_dates`).
    "b4": "by",
}
assert all(len(typo) == len(word) for typo, word in _PROMISE_TYPOS.items())
# As `str.split` leaves them: the deal's word set is looked at first, a set test.
_PROMISE_TYPO_TOKENS = frozenset(
    head + typo + tail
    for typo in _PROMISE_TYPOS
    for head in ("", "(", '"', "\u201c")
    for tail in ("", ",", ".", ";", ":", ")", "!", "?", '"', "\u201d", ".)", '."')
)
_PROMISE_TYPO = re.compile(
    r"(?<![a-z0-9])(?:" + "|".join(sorted(_PROMISE_TYPOS, key=len, reverse=True)) + r")(?![a-z0-9])"
)


_B4 = re.compile(r"(?<![A-Za-z0-9])[bB]4(?![A-Za-z0-9])")


def _mend_promise_typos(low: str) -> str:
    """`low` with its misspelt promise words (`_PROMISE_TYPOS`) as the words they stand for."""
    return _PROMISE_TYPO.sub(lambda m: _PROMISE_TYPOS[m.group()], low)


# Hard-wrapped lines (an e-mail pasted as sent, wrapped at 72 columns): a line break inside a
# sentence is read as a space, or the date on the next line was lost ("We will deliver SCIM by
# the end of\nQ1 as agreed": a promise with no date). A break is inside a sentence when the
# line before it ends with a word that cannot end one ("of", "the", "by", "and"), or is long (a
# wrapped line, not a terse list's) with no mark at its end and the next line starts in lower
# case. Only lines starting with their first word join: a quoted reply's ("> ") or an
# indented line would leave its marks as spaces inside the sentence ("will be   available"),
# which no pattern reads; a list's next item starts with its mark and is kept apart.
# (the line break first, the character before it looked behind: `re` finds a literal fast)
_WRAP_BREAK = re.compile(r"\n(?<=[A-Za-z0-9,]\n)(?=[A-Za-z0-9])")
_WRAP_WORDS_TEXT = """of the a an to by in for and or with before after until till from on at our
    your their its is are be will we'll we’ll this that as than into within via per
    committing promising guaranteeing deliver delivering ship shipping provide providing
    include including"""
_WRAP_WORDS = frozenset(_WRAP_WORDS_TEXT.split())
_WRAP_DATE_LEADS = ("by ", "in ", "before ", "until ", "till ")
_WRAP_END = (" by end", " the end", " before end", " until end")
_WRAP_LONG = 50  # a line this long with no mark at its end was wrapped (terse lists are short)
_WRAP_SHORT = 20  # shorter lines ending in "to"/"and" are labels or fragments, kept


def _unwrapped(text: str, low: str) -> str:
    """`low` with the line breaks inside hard-wrapped sentences as spaces (same length)."""
    joins = None
    for m in _WRAP_BREAK.finditer(text):
        at = m.start()
        line = text[text.rfind("\n", 0, at) + 1 : at]
        if len(line) < _WRAP_SHORT or line[0] in "#> \t":
            continue
        last = low[at - len(line) : at].rsplit(None, 1)[-1]
        if (
            last in _WRAP_WORDS
            or (last == "end" and low.endswith(_WRAP_END, at - 12, at))  # "by end\nof February"
            or (len(line) >= _WRAP_LONG and text[m.end()].islower() and line[-1] != ",")
            or (
                low.startswith(_WRAP_DATE_LEADS, m.end())
                and line[-1] != ","
                and _wrapped_date(low, m.end())
            )
        ):
            if joins is None:
                joins = []
            joins.append(at)
    if joins is None:
        return low
    chars = list(low)
    for at in joins:
        chars[at] = " "
    return "".join(chars)


def _wrapped_date(low: str, k: int) -> bool:
    """Whether the line at low[k] opens with a date after its lead word ("by Q2 2027", "by the
    end of Q2", "in March"): the end of a sentence wrapped before its date ("We will deliver SCIM
    provisioning\nby the end of Q2 2027.")."""
    k = low.index(" ", k) + 1
    if low.startswith("the ", k):
        k += 4
    return _date_at(low, k, min(len(low), k + 40)) is not None


# An account name's legal form and filler, left out of the name a note uses ("Acme Corp" is
# "Acme" in the notes).
_ACCOUNT_FILLER = frozenset(
    [
        "inc",
        "inc.",
        "corp",
        "corp.",
        "corporation",
        "co",
        "co.",
        "company",
        "llc",
        "ltd",
        "ltd.",
        "limited",
        "gmbh",
        "ag",
        "sa",
        "s.a.",
        "plc",
        "bv",
        "b.v.",
        "nv",
        "oy",
        "ab",
        "as",
        "kg",
        "pty",
        "pvt",
        "group",
        "holdings",
        "holding",
        "the",
    ]
)
_NOT_AFTER_OUR_WORD = "".join(
    f"(?<!{w} )"
    for w in (
        "promised", "promise", "committed", "commit", "to", "for", "with", "told", "tell",
        "gave", "give", "assured", "guaranteed", "owe", "offered", "at", "by",
    )
)  # fmt: skip
# The customer's own steps with a feature (`_THEIR_OWN_ACTION`'s verbs, and "have ... configured").
_ACCOUNT_STEP_TAIL = (
    r"(?:['\u2019]s(?: [a-z-]+){0,2})?(?:['\u2019]ll| will| shall| to| plans? to| is going to"
    r"| are going to| intends? to| expects? to)(?: (?:then|also|likely|probably|first))?"
    r" (?:enable|roll out|turn on|switch on|activate|start using|use|evaluate|deploy|adopt"
    r"|implement|configure|set up|test|pilot|trial|migrate to|integrate|build|develop|create"
    r"|have(?= (?:[a-z0-9-]+ ){1,4}(?:configured|set up|enabled|deployed|rolled out|turned on"
    r"|integrated|implemented|installed|tested|piloted|documented)(?![a-z0-9])))(?![a-z0-9])"
)


@lru_cache(maxsize=1024)
def _account_forms(account_name: str | None) -> tuple[str, ...]:
    """The account's name as notes write it, lower case: without its legal form ("Acme Corp":
    "acme corp", "acme"); a first word of three letters or fewer alone is not used ("IBM
    Global" still is, "The Acme Co" is "acme"). Longest first."""
    if not account_name:
        return ()
    words = [w for w in account_name.lower().replace(",", " ").split() if w not in _ACCOUNT_FILLER]
    if not words:
        return ()
    forms = {" ".join(words)}
    if len(words[0]) > 3 or len(words) == 1:
        forms.add(words[0])
    return tuple(sorted(forms, key=len, reverse=True))


@lru_cache(maxsize=1024)
def _account_step(account_name: str | None) -> re.Pattern[str] | None:
    """The customer's own step by their account's name (`DealSnapshot.account_name`): "Acme
    will roll out SCIM by March", "Acme's IT will have SCIM configured by Jan 15" are their
    plans, not our promise (as with "they")."""
    forms = _account_forms(account_name)
    if not forms:
        return None
    names = "|".join(re.escape(f) for f in forms)
    # (the subject, not our promise's object: "We promised Acme to build SCIM by Q2",
    # "Committed to Acme to have SCIM enabled by Q1")
    return re.compile(rf"(?<![a-z0-9]){_NOT_AFTER_OUR_WORD}(?:{names}){_ACCOUNT_STEP_TAIL}")


_DEEPER_QUOTE = re.compile(r">[ \t]*>")
_OUTLOOK_FIELD = re.compile(r"(?:sent|date|to|cc|bcc|subject|importance):")
# Their e-mail recording our word: "Per your note, you committed to SCIM by Q2", "You promised
# us SCIM by Q1" (still ours, in their e-mail: `_their_mail`)
_YOUR_WORD = re.compile(
    r"(?<![a-z0-9])(?:(?:you|your (?:team|company|rep|ae|side|email|e-mail|note))"
    r"(?:['\u2019]ve| have| had| already)? (?:promised|committed|guaranteed|agreed|confirmed"
    r"|told us|said)|(?:per|as per|as in|according to) your (?:note|e-?mail|message|call|proposal"
    r"|quote|reply|letter|slides?|deck)|as you (?:said|promised|committed|confirmed|told us))"
    r"(?![a-z0-9])"
)


# An internal tag as the sentence after a promise (`_sentence_references`).
_TAG_HEADS = (". (", ".(", "! (", " (")
_INTERNAL_TAG = re.compile(
    r"[.!]? ?\((?:internal|not for (?:the )?customers?|do not share|don['\u2019]t share)"
    r"[^)\n]{0,40}\)[ \t.]*(?:\n|$)"  # (ending its line: else it opens the next sentence)
)


@lru_cache(maxsize=1024)
def _account_domain(account_name: str | None) -> re.Pattern[str] | None:
    """An address at the account's domain ("@acme.com", "@eu.acme.de" for "Acme Corp")."""
    forms = _account_forms(account_name)
    if not forms:
        return None
    names = "|".join(re.escape(f.replace(" ", "")) for f in forms)
    return re.compile(rf"@(?:[a-z0-9-]+\.)*(?:{names})\.[a-z]")


# An e-mail's header pasted into a note: Gmail's "On <date>, <name> <address> wrote:" (its
# quoted lines follow with "> "), Outlook's "From: <name> <address>" (the message follows).
_MAIL_HEADER = re.compile(
    r"(?m)^[ \t>]*(?:(?P<wrote>on [^\n]{0,160}?(?:\n[^\n]{0,80}?)?wrote:)|from:[^\n]{0,200})[ \t]*$"
)


def _their_mail(low: str, account_name: str | None) -> tuple[tuple[int, int], ...]:
    """The spans of a note that are the customer's own e-mail: the quoted lines under "On ...
    <name> <address> wrote:" (those quoted once: "> > " lines are an earlier message, often
    ours), or Outlook's "From: <name> <address>" header block and the paragraph after it, when
    the header's address is at the deal's account's domain ("maria@acme.com" for "Acme Corp";
    not a name elsewhere in the line: "On Monday, ..." for an account "Monday", our own
    "acme-deal-room@ourco.com"). Their "we" is theirs there: "> We will launch the portal in
    March and need the AI Assistant GA by then" was our promise by March. An account whose
    domain is not its name ("Square", squareup.com) is not recognised."""
    if "@" not in low or ("wrote:" not in low and "from:" not in low):
        return ()
    domain = _account_domain(account_name)
    if domain is None:
        return ()
    spans = []
    for m in _MAIL_HEADER.finditer(low):
        if domain.search(m.group()) is None:
            continue
        k = m.end()
        if m.group("wrote") is not None:
            end = k
            while k < len(low):
                nl = low.find("\n", k + 1)
                line_end = len(low) if nl < 0 else nl
                line = low[k + 1 : line_end].strip()
                if line and (not line.startswith(">") or _DEEPER_QUOTE.match(line)):
                    break  # their message ends; or an earlier one, quoted in it, begins
                end = k = line_end
            spans.append((m.end(), end))
            continue
        # Outlook: its header lines (Sent:, To:, Cc:, Subject:), then their message's first
        # paragraph, up to a blank line (the rep's own notes may follow it)
        started = False
        end = k
        while k < len(low):
            nl = low.find("\n", k + 1)
            line_end = len(low) if nl < 0 else nl
            line = low[k + 1 : line_end].strip()
            if not started and (not line or _OUTLOOK_FIELD.match(line)):
                end = k = line_end
                continue
            if not line:
                break
            started = True
            end = k = line_end
        if started:
            spans.append((m.end(), end))
    return tuple(spans)


def find_references(
    snapshot: DealSnapshot, catalog: Catalog, *, today: date
) -> list[FeatureReference]:
    """Every feature the deal depends on: line items first, then notes in order; one reference
    per (feature, line item or note), keeping the strongest evidence."""
    found: dict[tuple[str | None, str | None, str], tuple[int, FeatureReference]] = {}
    order = 0

    def keep(ref: FeatureReference) -> None:
        nonlocal order
        key = (ref.feature_key, ref.source_id, ref.feature_name if ref.feature_key is None else "")
        current = found.get(key)
        if current is None:
            found[key] = (order, ref)
            order += 1
        elif _strength(ref) > _strength(current[1]):
            found[key] = (current[0], ref)

    for item in snapshot.line_items:
        if item.quantity is not None and item.quantity <= 0:
            continue  # none sold (a placeholder at 0, a credit below it): no dependency
        keys, _how = catalog.features_for_line_item(item)
        for key in keys:
            feature = catalog.get(key)
            keep(
                _reference(
                    _LINE_ITEM_FIELDS,
                    feature_key=key,
                    feature_name=feature.name if feature else key,
                    source="line_item",
                    source_id=item.id,
                    evidence=item.name or item.sku or item.product_id or item.id,
                    matched_text=item.sku if _how == "sku" else item.name or None,
                )
            )
    fallback = _anchor_date(snapshot, today, catalog)
    texts = [_read_part(plain_note_text(note.body), note) for note in snapshot.notes]
    lows = [lower_same_length(text) for text in texts]
    lows = [
        _unwrapped(text, low) if "\n" in text else low
        for text, low in zip(texts, lows, strict=True)
    ]
    joined = "\n".join(lows)
    words = set(joined.split())
    if not words.isdisjoint(_PROMISE_TYPO_TOKENS):
        lows = [_mend_promise_typos(low) for low in lows]
    # One look for misspelt names over all the notes: words repeat across a deal's notes.
    typos = catalog.typo_candidates(joined, words) if lows else {}
    spans = catalog.name_spans(lows)
    for note, text, low, note_spans in zip(snapshot.notes, texts, lows, spans, strict=True):
        for ref in note_references(
            note,
            catalog,
            anchor=fallback,
            text=text,
            low=low,
            typos=typos,
            spans=note_spans,
            close=snapshot.close_date,
            account=snapshot.account_name,
        ):
            keep(ref)
    return [ref for _, ref in sorted(found.values(), key=lambda pair: pair[0])]


def _strength(ref: FeatureReference) -> tuple:
    return (
        ref.is_commitment,
        not ref.hedged,  # the firmest word given: "We will have SCIM by Q2" over "might"
        ref.custom_build,
        ref.promised_date is not None,
        # of two promises as firm, the later date: "We promised SSO by March. We promised SSO
        # by June." promises June too, which an approval of March does not cover
        ref.promised_date,
        not ref.optional,  # "They need offline mode" over "Offline mode would be nice to have"
        ref.needed_by is not None,
        not ref.is_question,
        ref.score,
    )


def _anchor_date(snapshot: DealSnapshot, today: date, catalog: Catalog) -> date:
    """What relative dates in a note without its own timestamp are resolved against: the day
    the deal was last changed on, where the sales team works."""
    if snapshot.updated_at is not None:
        return catalog.local_date(snapshot.updated_at)
    if snapshot.created_at is not None:
        return catalog.local_date(snapshot.created_at)
    return today


def note_references(
    note: Note,
    catalog: Catalog,
    *,
    anchor: date,
    text: str | None = None,
    low: str | None = None,
    typos: dict[str, tuple[str, ...]] | None = None,
    spans: list[tuple[int, int, int]] | None = None,
    close: date | None = None,
    account: str | None = None,
) -> list[FeatureReference]:
    """References in one note, in sentence order (not yet deduplicated). `close` is the deal's
    close date: "within 90 days of signature" counts from it. `text` is the note's
    `plain_note_text` when already made; `low` (`text` lower-cased), `typos` and `spans` share
    work done for all of a deal's notes (see `Catalog.scan`). `account` is the deal's account
    name: the customer's own steps by it and their e-mails pasted in are theirs."""
    if text is None:
        text = _read_part(plain_note_text(note.body), note)
        if text is not note.body:  # `low` and `spans` were made from the body as it was
            low = spans = None
    if not text or not text.strip():
        return []
    if low is None:
        low = lower_same_length(text)
        if "\n" in text:
            low = _unwrapped(text, low)
        if not _PROMISE_TYPO_TOKENS.isdisjoint(low.split()):
            low = _mend_promise_typos(low)
    scan = catalog.scan(text, low=low, typos=typos, spans=spans)
    if not scan.mentions and not scan.markers:
        return []
    # The day it was written where the sales team works: at 7 pm on 31 March in Los Angeles,
    # "next quarter" is Q2 (it is 1 April in UTC).
    ref_date = catalog.local_date(note.created_at) if note.created_at is not None else anchor
    b4 = (
        frozenset(m.start() for m in _B4.finditer(text))
        if "b4" in text or "B4" in text
        else frozenset()
    )
    when = _When(
        ref_date,
        catalog.fiscal_year_start,
        close,
        b4,
        _account_step(account),
        _their_mail(low, account),
    )

    # Group mentions by sentence; only sentences with a hit are ever delimited. A name inside
    # a web or mail address ("https://docs.acme.com/sso-setup", "scim-team@acme.com") is none:
    # looked at only when the characters around the name are not plain text's.
    backwards = low[::-1]
    sentences: dict[tuple[int, int], list[Mention]] = {}
    span = (-1, -1)
    for m in scan.mentions:
        s, e = m.start, m.end
        if not (
            (s == 0 or low[s - 1] in _PLAIN_BEFORE)
            and (low[e : e + 1] in _PLAIN_AFTER or low[e : e + 2] in _PLAIN_DOT)
        ) and _in_address(low, s, e):
            continue
        if not span[0] <= s < span[1]:
            span = _sentence_span(text, low, s, e, backwards)
        sentences.setdefault(span, []).append(m)
    # Sentences naming nothing matter only if they promise a product-like thing or custom work
    # ("we'll build them a custom connector"): the scan marked the words that suggest it.
    checked = list(sentences)
    for pos in scan.markers:
        if any(a <= pos < b for a, b in checked):
            continue
        if not (pos == 0 or low[pos - 1] in " \t\n") and _in_address(low, pos, pos + 1):
            continue
        span = _sentence_span(text, low, pos, pos + 1, backwards)
        checked.append(span)
        if next(_PROMISE_AT.finditer(low, span[0], span[1]), None) is not None:
            sentences[span] = []
    if not sentences:
        return []

    refs: list[FeatureReference] = []
    spans = sorted(sentences)
    carried_end = -1  # the end of a sentence whose "it" is the feature of the one before
    # Lists under a heading ("Customer requirements:\n- SCIM by Q1"): looked for only in a
    # note with a line ending in a colon.
    headings = _list_headings(low) if _HEADING_END.search(low) is not None else None
    for span in spans:
        mentions = sentences[span]
        got = _sentence_references(
            text,
            low,
            span,
            mentions,
            note,
            when,
            catalog,
            span[0] < carried_end,
            _heading_at(headings, span[0]) if headings else None,
        )
        back = None
        if got:
            # One look for both kinds, only when the next sentence is short enough to be one
            # (they are under 80 characters; two `find`s cost less than a failed match).
            end = span[1]
            if (
                low.find(".", end + 1, end + 80) >= 0 or low.find("\n", end, end + 80) >= 0
            ) and low[end : end + 24].lstrip(".!; \t\n").split(" ", 1)[0] in _TAKEN_BACK_FIRST:
                back = _TAKEN_BACK_NEXT.match(low, end)
        if back is None:
            pass
        elif back.start("unneeded") >= 0:
            if len({r.feature_key for r in got}) == 1 and not any(r.is_commitment for r in got):
                continue  # "Offline mode came up. They don't need it."
        elif any(r.is_commitment for r in got):
            # the next sentence takes it back: "We will have SCIM by Q3. No promises." (an
            # off-roadmap thing is a reference only as a promise: it goes)
            got = [
                _withdrawn(r) if r.is_commitment else r
                for r in got
                if r.feature_key is not None or not r.is_commitment
            ]
        refs.extend(got)
        ref: FeatureReference | None = None
        if mentions:
            if not got:
                continue
            # One feature named, and not yet promised with a date: the next sentence may
            # promise "it" ("We can't deliver SCIM by Q1. However, we will have it by Q2.").
            ref = got[0]
            if len(got) > 1 or len(mentions) > 1:
                key = ref.feature_key
                if any(r.feature_key != key for r in got) or any(
                    m.feature_key != key for m in mentions
                ):
                    continue
                ref = max(got, key=_strength)
            if ref.is_commitment and ref.promised_date is not None:
                continue
        elif got:
            # An off-roadmap promise of its own (one a sentence): only one without a date
            # may be dated by the next ("We promised a Slack integration. We'll have it by Q2.")
            ref = got[0]
            if ref.promised_date is not None or ref.feature_key is not None:
                continue
        # (else an off-roadmap thing whose promise was denied: "We can't build a Slack
        # integration by Q1. We'll have it by Q2.", `_carried_promise`)
        if (
            ref is not None
            and (ref.is_question or (ref.needed_by is not None and not ref.is_commitment))
            and ref.feature_key is not None
        ):
            # their question or dated need answered by our word in the next sentence: "Will
            # SCIM be ready by Q1? Told them Q2.", "They need SCIM by Q2. We agreed."
            # (`_answered_next`)
            answered = _answered_next(text, low, span, ref, sentences, when)
            if answered is not None:
                refs.append(answered)
                carried_end = span[0] + len(answered.evidence)
                continue
        if (
            ref is not None
            and ref.is_commitment
            and ref.promised_date is None
            and ref.feature_key is not None
            and low[span[1] : span[1] + 12].lstrip(" \t\n.").startswith(_DATE_LABEL_HEADS)
        ):
            # the promise's date as the next sentence's label: "Promised: SCIM. When: Q2."
            dated = _dated_next(text, low, span, ref, sentences, when)
            if dated is not None:
                refs.append(dated)
                carried_end = span[0] + len(dated.evidence)
                continue
        # Most sentences are followed by no "it", "this" or "that" near the next one's start:
        # four `in` tests on a slice (a regex or `str.find`s cost more) turn them away before
        # it is delimited ("\nit": "it" opening a line after our "Not yet.", `_NOT_YET`).
        near = low[span[1] : span[1] + _PRONOUN_REACH]
        if not (" it" in near or " this" in near or " that" in near or "\nit" in near) and (
            (near[:1] == " " and near[1:2] > " ")  # a word after one space: in the tests
            or not near.lstrip().startswith(_PRONOUN_FIRST)
        ):
            continue
        carried = _carried_promise(
            text, low, span, ref, mentions, sentences, when, catalog, note.id
        )
        if carried is None and ref is not None:
            carried = _carried_need(text, low, span, ref, sentences, when)
        if carried is not None:
            refs.append(carried)
            carried_end = span[0] + len(carried.evidence)
    return refs


# A sentence that does nothing but take back the promise of the one before it: "Can't
# guarantee it though.", "Not a commitment.", "No promises." (matched from the end of the
# sentence before; a sentence naming anything else is no disclaimer).
_DISCLAIMER = (
    r"(?:but |however,? |though,? |that said,? )?(?:"
    r"(?:we |i )?(?:can(?:no|['\u2019])?t|cannot|could(?:n['\u2019]?t| not)|won['\u2019]?t"
    r"|will not|did(?:n['\u2019]?t| not)|do(?:n['\u2019]?t| not)) (?:guarantee|promise|commit(?: to)?)"
    r"(?: (?:it|that|this|the date|the timing|a date|anything))?"
    r"|(?:(?:this|that|it) (?:is|was) |that['\u2019]s |it['\u2019]s )?not (?:a |an )?(?:firm )?"
    r"(?:commitment|promise|guarantee)|no (?:firm )?(?:promises?|commitments?|guarantees?)"
    r"|not (?:committed|guaranteed|promised)"
    # "We walked it back.", "We have since retracted it."
    r"|(?:we |i )?(?:have |had )?(?:since )?(?:walked|took|pulled) (?:it|that|this) back"
    r"|(?:we |i )?(?:have |had )?(?:since )?(?:retracted|rescinded|withdrew) (?:it|that|this)"
    # their ask for it refused: "Customer's redline: SCIM by Q2 in the MSA. We rejected it."
    r"|(?:we |i )?(?:rejected|declined|refused|struck|struck out|pushed back on)"
    r" (?:it|that|this|the (?:redline|change|request|ask)))"
    r"(?: (?:though|yet|at this point|for now|either|since))?\s*(?:[.!)]|\n|$)"
)  # in `_TAKEN_BACK_NEXT`


# "It" is not needed: "they don't need it", "they can live without it", "it's not a blocker".
# After the clause naming the one feature of a sentence ("Offline mode came up, but they don't
# need it"), or as the whole next sentence ("Offline mode came up. They don't need it."), the
# feature is no dependency.
_IT_NOT_NEEDED_SOURCE = (
    r"(?:(?:do|does|did)(?:n['\u2019]?t| not)|no longer|won['\u2019]?t|will not)"
    r"(?: really| actually| even)? (?:need|require|want|care about|use) (?:it|that|this)"
    # (not "they can't live without it", "would not be fine without it")
    r"|(?<!n't )(?<!n\u2019t )(?<!not )(?<!cannot )(?<!n't be )(?<!n\u2019t be )(?<!not be )"
    r"(?:fine|ok|okay|happy|good|live|do|manage|cope) without (?:it|that|this)"
    r"|(?:it|that|this)(?:['\u2019]s| is| was)(?: not|n['\u2019]t) (?:a |an )?(?:real |hard )?"
    r"(?:blocker|dealbreaker|deal[- ]breaker|must[- ]have|requirement|priority|need)"
)
_IT_NOT_NEEDED = re.compile(
    _first_char_class(_IT_NOT_NEEDED_SOURCE)
    + rf"(?<![a-z0-9])(?:{_IT_NOT_NEEDED_SOURCE})(?![a-z0-9])"
)
# The first words a `_TAKEN_BACK_NEXT` sentence can start with (its first word, as
# `str.split(" ")` leaves it): a set test before the match.
_TAKEN_BACK_FIRST_TEXT = """but however however, though though, that that's that’s said we i can can't
    can’t cant cannot could couldn't couldn’t won't won’t wont will did didn't didn’t do
    don't don’t does doesn't doesn’t this it it's it’s not no they they're they’re the
    customer client he she fine ok okay happy good live manage cope nope rejected declined
    refused struck pushed"""
_TAKEN_BACK_FIRST = frozenset(_TAKEN_BACK_FIRST_TEXT.split())
# The next sentence, from the end of this one: a disclaimer (`_DISCLAIMER`) or "it" not needed
# (`unneeded`), and nothing else. One match a sentence for both.
_TAKEN_BACK_NEXT = re.compile(
    rf"[.!;]?\s+(?:(?P<disclaimer>{_DISCLAIMER})|(?P<unneeded>(?:(?:but |however,? )?"
    r"(?:they|the customer|customer|client|the client|he|she)?"
    rf"(?:['\u2019]re| are| is| can| could)? ?(?:{_IT_NOT_NEEDED_SOURCE})"
    # the whole next sentence: "Offline mode came up. Not needed."
    r"|not (?:needed|required|necessary|req['\u2019]?d|a (?:blocker|requirement|priority"
    r"|must[- ]have)))"
    r"(?: (?:anymore|any more|now|for now|after all|either))?\s*(?:[.!)]|\n|$)))"
)


def _mentions_it(low: str, a: int, b: int) -> bool:
    """Whether low[a:b] holds "it", "that" or "this", which every `_IT_NOT_NEEDED` holds."""
    return low.find(" it", a, b) >= 0 or low.find("that", a, b) >= 0 or low.find("this", a, b) >= 0


def _it_not_needed(low: str, mentions: list[Mention], after: int, b: int) -> bool:
    """Whether low[after:b], after what names the sentence's only feature (`mentions`), says
    "it" is not needed ("..., but they can live without it"). Not with two features named:
    which one "it" is, is not guessed."""
    if not _mentions_it(low, after, b):  # three `find`s before the regex
        return False
    key = mentions[0].feature_key
    if any(m.feature_key != key for m in mentions):
        return False
    return _IT_NOT_NEEDED.search(low, after, b) is not None


def _withdrawn(ref: FeatureReference) -> FeatureReference:
    """`ref` as a dependency only: its promise was taken back."""
    return ref.model_copy(
        update={
            "is_commitment": False,
            "promised_date": None,
            "custom_build": False,
            "hedged": False,
        }
    )


_PRONOUN_FIRST = ("it", "this", "that")
# How far into the next sentence its "it" may be: at the start of the promise ("However, we
# will have it by Q2", "We promised it by Q3 though", "It will be ready by Q2").
_PRONOUN_REACH = 80


# A date as a label's value, the whole of the sentence after an undated promise: "When: Q2.",
# "ETA: Q2", "Date: 15 July", "Timeline - Q2", "Target: Q2".
_DATE_LABEL_HEADS = ("when", "eta", "date", "timeline", "timing", "target", "due", "by")
_DATE_LABEL = re.compile(
    r"(?:when|eta|date|timeline|timing|target(?: date)?|due(?: date)?|by)\s*[:\-\u2013]\s*"
)


def _dated_next(
    text: str,
    low: str,
    span: tuple[int, int],
    ref: FeatureReference,
    sentences: dict[tuple[int, int], list[Mention]],
    when: _When,
) -> FeatureReference | None:
    """`ref`, an undated promise of the one feature the sentence `span` names, with the date
    the next sentence gives as a label's value and nothing more ("Promised: SCIM. When: Q2.");
    the evidence quotes both sentences."""
    a1, a = span
    size = len(low)
    while a < size and (low[a].isspace() or low[a] == "."):
        a += 1
    m = _DATE_LABEL.match(low, a)
    if m is None:
        return None
    b = _sentence_end(text, low, a)
    if _names_a_feature(sentences, a, b):
        return None
    end = b
    while end > m.end() and low[end - 1] in ' .!"\u201d\n':
        end -= 1
    d = _date_at(low, m.end(), end)
    if d is None or d.end() != end:
        return None  # a date and nothing more ("When: TBD", "When: Q2 if they sign": none)
    dates = _promised_dates(low, d.start(), d.end(), when)
    if len(dates) != 1:
        return None
    values = dict(ref.__dict__)
    values.update(evidence=text[a1:b], promised_date=dates[0][1])
    return trusted_model(FeatureReference, _NOTE_FIELDS, values)


# Their need of "it" with a date, opening the next sentence: "Customer needs it by March",
# "They'd need it before Q2", "The client wants this in Q3".
_IT_NEEDED = re.compile(
    r"(?:so |and |but )?(?:they|the customer|customer|the client|client|he|she|their team)"
    r"(?:['\u2019]d| would| will| really| still| absolutely| definitely)? "
    r"(?:need|needs|require|requires|want|wants|must have|expect|expects) (?:it|this|that)"
    r"(?: (?:live|ready|available|in place|delivered|enabled|on))?"
    r" (?:by|before|in|for|no later than|at the latest by) "
)


def _names_a_feature(sentences: dict[tuple[int, int], list[Mention]], a: int, b: int) -> bool:
    """Whether the sentence low[a:b] (the one after the sentence read) names a feature of
    its own: then its "it", its yes or its date is not the earlier feature's."""
    return any(a <= start < b and named for (start, _), named in sentences.items())


def _carried_need(
    text: str,
    low: str,
    span: tuple[int, int],
    ref: FeatureReference,
    sentences: dict[tuple[int, int], list[Mention]],
    when: _When,
) -> FeatureReference | None:
    """`ref` (of the one feature the sentence `span` names, with no date of their need) with
    the date the next sentence says they need "it" by (`_IT_NEEDED`: "Discussed SCIM.
    Customer needs it by March."), when that sentence names no feature and states one date.
    The evidence quotes both sentences."""
    if ref.feature_key is None or ref.needed_by is not None:
        return None
    a1, a = span
    size = len(low)
    while a < size and low[a].isspace():
        a += 1
    m = _IT_NEEDED.match(low, a)
    if m is None:
        return None
    b = _sentence_end(text, low, a)
    if _names_a_feature(sentences, a, b):
        return None  # it names a feature of its own
    dates = _promised_dates(low, m.end() - 1, b, when)
    if len(dates) != 1 or dates[0][0] > m.end() + 1:
        return None  # the date right after the need, and only one
    values = dict(ref.__dict__)
    values.update(evidence=text[a1:b], needed_by=dates[0][1], is_question=False)
    return trusted_model(FeatureReference, _NOTE_FIELDS, values)


# A sentence of our "not yet" alone, before the one promising "it" (`_carried_promise`).
_NOT_YET_HEADS = ("no", "not")
_NOT_YET = re.compile(r"(?:no|nope|not yet|not today|not now|not currently)[.!]+\s+(?=\S)")


def _carried_promise(
    text: str,
    low: str,
    span: tuple[int, int],
    ref: FeatureReference | None,
    mentions: list[Mention],
    sentences: dict[tuple[int, int], list[Mention]],
    when: _When,
    catalog: Catalog,
    source_id: str,
) -> FeatureReference | None:
    """`ref` (of the one feature the sentence `span` names) as a commitment, when
    the sentence right after it promises "it", "this" or "that" (`_pronoun_promised`) and
    names no feature itself: "We can't deliver SCIM by Q1. However, we will have it by Q2.",
    "SCIM won't be ready for launch. We promised it by Q3 though." The evidence quotes both
    sentences: the rep reads what "it" is and what was promised. A sentence naming two
    features gives none (`note_references`): "it" is not guessed.

    With `ref` None (the sentence names no feature and gave no reference): the one
    off-roadmap thing its denial names, as an unknown reference ("We can't build a Slack
    integration by Q1. We'll have it by Q2."; "...We'll build it for them by Q3." a custom
    Slack integration); none when it names two such things or none, or has no denial, or the
    next sentence names a thing of its own ("We'll have a Teams connector by Q2").

    With `ref` an off-roadmap promise without a date (feature_key None): the same, with the
    promise's name and the next sentence's date ("We promised a Slack integration. We'll have
    it by Q2."; "...We'll build it for them by Q3." the Slack integration as a custom build),
    under the same limits; `find_references` keeps it over the undated one (same name)."""
    a1, a = span
    unknown = ref is None or ref.feature_key is None
    if unknown:  # exactly one thing named: two cheap searches before any delimiting
        first = _OBJECT_WORD.search(low, a1, a)
        if first is None or _OBJECT_WORD.search(low, first.end(), a) is not None:
            return None
    size = len(low)
    while a < size and low[a].isspace():
        a += 1
    if a >= size or low[a] in "<>":
        return None
    if low.startswith(_NOT_YET_HEADS, a) and (no := _NOT_YET.match(low, a)) is not None:
        a = no.end()  # our "not yet" between: "Is SCIM available? Not yet. It ships in Q2."
    b = _sentence_end(text, low, a)
    if _names_a_feature(sentences, a, b):
        return None  # it names a feature of its own
    if unknown and _OBJECT_WORD.search(low, a, b) is not None:
        return None  # it names a thing of its own
    if next(_PROMISE_AT.finditer(low, a, b), None) is None:
        return None
    cues = list(_CUES.finditer(low, a, b))
    clauses = _clauses(low, a, b, cues, mentions, when)
    said = next(
        (
            c
            for c in clauses
            if c.promise
            and not (c.question or c.denied or (c.custom and not unknown))
            and _pronoun_promised(low, c, cues, span[1] + _PRONOUN_REACH)
        ),
        None,
    )
    if said is None:
        return None
    skip = [(lo, hi) for c in clauses if c is not said for lo, hi, _, _ in c.needed]
    skip += [(c.start, c.end) for c in clauses if c.denied]  # "..., but not by Q2"
    promised = _promised_in(low, said, a, b, when, {}, skip=skip or None)
    if ref is None:
        # Last, as the dearest: the denial ("We can't build a Slack integration by Q1").
        cues = list(_CUES.finditer(low, a1, span[1]))
        if not any(c.denied for c in _clauses(low, a1, span[1], cues, [], when)):
            return None
        name = _unknown_name(text, low, a1, span[1], said.custom)
        if name is None:
            return None
        return _reference(
            _UNKNOWN_FIELDS,
            feature_key=None,
            feature_name=name,
            source="note",
            source_id=source_id,
            evidence=text[a1:b],
            score=100.0,
            is_commitment=True,
            custom_build=said.custom,
            promised_date=promised,
            hedged=_hedged(low, said, said),
        )
    if promised is None and not unknown and not any(c.denied for c in clauses):
        # no date of its own: the one their question or dated need stated ("Can you commit to
        # SCIM by end of Q2? Yes, we can commit to that.", as "... Told them yes." is)
        if ref.needed_by is not None and not ref.is_commitment:
            promised = ref.needed_by
        elif ref.is_question:
            dates = _promised_dates(low, a1, span[1], when)
            promised = dates[0][1] if len(dates) == 1 else None
    values = dict(ref.__dict__)
    values.update(
        evidence=text[a1:b],
        is_commitment=True,
        is_question=False,
        promised_date=promised,
        hedged=_hedged(low, said, said),
        optional=False,
    )
    if not unknown:
        return trusted_model(FeatureReference, _NOTE_FIELDS, values)
    if said.custom:
        values["custom_build"] = True  # "We'll build it for them by Q3"
    return trusted_model(FeatureReference, _UNKNOWN_FIELDS, values)


# Our yes in words of any strength: "said yes", "said absolutely", "told them of course".
_YES = r"(?:yes|yep|yeah|absolutely|definitely|of course|sure(?: thing)?|ok|okay)"
# Our word opening the sentence after their question, and what it gives: a date alone or a
# yes ("Told them Q2.", "We told them by Q2.", "Told them yes.").
_ANSWER_HEADS = tuple(
    f"{who}{verb}{tail}"
    for who in (
        "",
        "we ",
        "i ",
        "rep ",
        "the rep ",
        "our rep ",
        "ae ",
        "the ae ",
        "our ae ",
        "se ",
        "the se ",
        "our se ",
    )  # fmt: skip
    for verb in (
        "told",
        "said",
        "replied",
        "answered",
        "responded",
        "wrote back",
        "committed to",
        "promised",
        "guaranteed",
        "committed",
        "agreed to",
        "agreed on",
        "settled on",
        "countered",
    )
    for tail in (" ", ":")
    if who or verb != "said"  # ("said ..." alone is no answer of ours)
) + ("we're committing to ", "we\u2019re committing to ", "we are committing to ")
# ... or our aim, a hedged promise: "When do you expect SCIM? We're targeting Q2." (`_AIM`)
_AIM_HEADS = tuple(
    f"{who}{verb} "
    for who in ("", "we're ", "we\u2019re ", "we are ", "i'm ", "i\u2019m ", "i am ")
    for verb in ("targeting", "aiming for", "shooting for", "planning for")
)
_AIM = re.compile(r"(?<![a-z0-9])(?:targeting|aiming for|shooting for|planning for) ")
# ... or our agreement alone (`_AGREED_ANSWER`): "They need SCIM by Q2. We agreed.", "Will SCIM
# be ready by Q2? We said yes."
_AGREED_HEADS = (
    "we ", "i ", "so we ", "so i ", "and we ", "and i ", "we've ", "we\u2019ve ", "i've ",
    "i\u2019ve ", "that works", "this works", "no problem", "not a problem", "doable", "can do",
    "you'll have", "you\u2019ll have", "you will have", "consider it done", "we're on it",
    "we\u2019re on it", "understood", "we'll make", "we\u2019ll make", "we will make", "told them",
    "committed", "ae ", "the ae ", "our ae ", "rep ", "the rep ", "our rep ",
)  # fmt: skip
# Our side's role labelling a transcript's answer line: "Tom (AE):", "Rep:", "AE -", "Sarah
# (our SE):", "[00:12:10] Tom (AE):", "Seller:" (a name alone is nobody's side: "Tom: Q2").
_OUR_ROLE_LABEL_SOURCE = (
    r"(?:\[[0-9:]{4,8}\]\s*)?(?:(?:[a-z0-9][a-z0-9.'-]*(?: [a-z0-9][a-z0-9.'-]*)? )?\((?:our "
    # ... or our company's name before the role: "Speaker 2 (Acme AE):"
    r"|[a-z0-9][a-z0-9&.'-]* )?(?:ae|se"
    r"|rep|sales|us|account executive|account manager|solutions? engineer|sales engineer|csm"
    r"|sdr|bdr|seller)\)|(?:our |the )?(?:rep|ae|se|sales|sales rep|account executive"
    # ... or the role, then the name: "AE (Bob):"
    r"|sales engineer|seller)(?: \([a-z][a-z .'-]{0,30}\))?)"
    r"\s?[:\-\u2013]\s*[\"\u201c]?"
)
_OUR_ROLE_LABEL = re.compile(_OUR_ROLE_LABEL_SOURCE)
_TOLD_ANSWER = re.compile(
    rf"(?:{_OUR_ROLE_LABEL_SOURCE}"
    r"|(?:(?:we |i )?told (?:them|him|her|the customer|the client):? "
    # (our side by its role: "Rep said yes.", "Our SE answered: yes, Q1 at the latest.")
    r"|(?:we|i|(?:the |our )?(?:rep|ae|se)) said:? "
    # an e-mail's answer: "Replied yes.", "We answered: Q2."
    r"|(?:(?:we|i|(?:the |our )?(?:rep|ae|se)) )?(?:replied|answered|responded|wrote back)"
    r"(?: (?:with|to them|them))?:? "
    # a promise of a date alone: "When will SCIM ship? We committed to Q2.", "... Rep
    # committed to Q2 delivery."
    r"|(?:(?:we|i|(?:the |our )?(?:rep|ae)) )?(?:committed(?: to)?|promised(?: them)?"
    r"|guaranteed(?: them)?):? "
    # "When can we expect SCIM? We're committing to end of Q1."
    r"|(?:we['\u2019]re|we are|i['\u2019]m|i am) committing to "
    # a negotiated date: "They pushed for SCIM in Q1. We agreed to Q2.", "...; we countered
    # w/ Q3", "Settled on Q3."
    r"|(?:(?:we|i) )?(?:agreed (?:to|on)|settled on|countered(?: with| w/)?):? "
    # ... our aim (a hedged promise): "When do you expect SCIM? We're targeting Q2."
    r"|(?:(?:we|i)['\u2019](?:re|m) |we are |i am )?(?:targeting|aiming for|shooting for"
    r"|planning for) "
    # a transcript's answer line: 'Customer: "Do you have SCIM?" Me: "Yes, by Q2."',
    # "Q: When will SCIM ship? A: Q2." (`_ANSWER_LABELS`)
    r"|(?:me|we|us|our answer|our response|our reply|our position|reality|a|answer)\s?[:\-\u2013]"
    r"\s*[\"\u201c]?))"
    # (our aim after a label: "Tom (AE): We're targeting Q2.")
    r"(?:(?:(?:we|i)['\u2019](?:re|m) |we are |i am )?(?:targeting|aiming for|shooting for"
    r"|planning for) )?"
    # (our word after a label: "Our answer: committed Q2.", "Answer: yes, committed.")
    rf"(?:(?P<yes>{_YES}|committed|confirmed|agreed)(?:[,;]?\s+(?:[-\u2013]\s+)?(?=[a-z0-9])"
    r"|(?=[\s.!\"\u201d]*$))"
    r"|(?:no|nope)[,;]?\s+(?:[-\u2013]\s+)?(?:but |only )?(?=[a-z0-9])"
    r")?(?:by |in |for )?"
)
# A bare yes opening the sentence after their question (`_answered_next`), maybe with "it
# will" / "we can" and a date: "Yes, it will.", "Yes - by Q2.", "Absolutely, we will."
_YES_HEADS = ("yes", "yep", "yeah", "absolutely", "definitely", "of course", "sure", "ok")
_BARE_YES = re.compile(
    # (the longer forms first: "it will be ready" is not "it will" and more)
    rf"{_YES}(?![a-z0-9])(?:[,;:!]?\s*(?:[-\u2013]\s*)?(?:it(?: will|['\u2019]ll) be(?: ready"
    r"| there| available)?|it will|it is|it['\u2019]ll|we will have it|we will|we['\u2019]ll"
    r"|we can|we do|(?:we )?(?:committed|confirmed|guaranteed|promised)"
    # "Yes, you'll have it by March."
    r"|you(?: will|['\u2019]ll) (?:have|get) it"
    # "Absolutely, told them."
    r"|(?:(?:we|i) )?told (?:them|him|her|the customer|the client)))?"
    # ... made firm after it: "Yes we can, committed.", "Yes it will, confirmed."
    r"(?:[,;]?\s*(?:-\s*)?(?:committed|confirmed|promised|guaranteed)(?![a-z0-9]))?"
    r"(?:[,;:!]?\s*(?:[-\u2013]\s*)?(?:by |in |for |before )?)?"
)
# The labels of a transcript's answer line that are ours: "Me:", "We:", "Our answer:". "A:"
# ("Answer:") is ours only after "Q:" asking about our product, not about their need ("Q: Do
# you need SSO? A: Yes, by Q2" is discovery: their need, their answer).
_ANSWER_LABELS = (
    "me:", "me -", "me \u2013", "we:", "us:", "our answer", "our response", "our position",
    "our reply", "reality:",
)  # fmt: skip
_QA_LABELS = ("a:", "a :", "answer:")
_QA_QUESTION = ("q:", "q :", "question:")
_THEIR_NEED_ASKED = re.compile(
    r"(?<![a-z0-9])(?:need|needs|needed|require[sd]?|requirement|must|want|wants|use|using"
    r"|looking for)(?![a-z0-9])"
)


# Our word made firm after the date it gives: "A: Q1, committed.", "Told them Q2, firm."
_FIRM_AFTER = re.compile(
    r"(?: (?:delivery|availability|ga|release|launch))?"  # "Rep committed to Q2 delivery."
    r"(?:,?\s*(?:-\s*)?(?:committed|confirmed|firm|guaranteed|promised|locked))?"
)


def _after_label(low: str, a: int, end: int) -> int:
    """Where the words after our label at low[a] ("Tom (AE):", "Me:") start; `a` without one."""
    role = _OUR_ROLE_LABEL.match(low, a, end)
    if role is not None:
        return role.end()
    if low.startswith(_ANSWER_LABELS, a):
        k = low.find(":", a, end)
        k = a + 2 if k < 0 else k + 1  # ("me -": the dash)
        while k < end and low[k] in ' -\u2013"\u201c':
            k += 1
        return k
    return a


def _told_dates(
    low: str,
    a: int,
    a1: int,
    end: int,
    span: tuple[int, int],
    ref: FeatureReference,
    heads: bool,
    when: _When,
) -> list[tuple[int, date]] | None:
    """The dates our word low[a:end] (`_answered_next`) gives the question or need of the
    sentence `span`: a date alone after it ("Told them Q2.", "A: Yes, by Q2."), or, after a
    yes or our agreement, the date they need it by or asked about; None when it is neither."""
    told = _TOLD_ANSWER.match(low, a, end) if heads else None
    after = a  # where our agreement may start
    if told is not None and told.end() != end:
        d = _date_at(low, told.end(), end)
        if d is not None and d.end() != end and _FIRM_AFTER.fullmatch(low, d.end(), end):
            end = d.end()  # "A: Q1, committed.", "Told them Q2, firm."
        if d is None or d.end() != end:
            # no date alone after it: maybe our agreement ("I said no problem"), also after
            # our label ("Me: we can do that")
            after = _after_label(low, a, end)
            told = None
    if (
        told is None
        and not _AGREED_ANSWER.fullmatch(low, a, end)
        and (after == a or not _AGREED_ANSWER.fullmatch(low, after, end))
    ):
        return None
    if told is not None and told.end() != end:
        # a date alone, maybe after a yes or a no ("Told them Q2.", "A: Yes, by Q2.", "Me: No,
        # Q2.")
        return _promised_dates(low, told.end(), end, when)
    if told is None or told.group("yes"):
        if ref.needed_by is not None and not ref.is_question:
            return [(a1, ref.needed_by)]  # the date they need it by, agreed to
        return _promised_dates(low, a1, span[1], when)  # the date they asked about
    return None


# Our side's bare yes (`_answered_next`): "Rep said yes.", "AE replied yes", "We said yes."
_SAID_YES_ONLY = re.compile(
    r"(?:(?:we|i|(?:the |our )?(?:rep|ae|se)) )?(?:said|replied|answered|responded|wrote back)"
    rf":? {_YES}[\s.!]*(?:$|\n)"
)


def _answered_next(
    text: str,
    low: str,
    span: tuple[int, int],
    ref: FeatureReference,
    sentences: dict[tuple[int, int], list[Mention]],
    when: _When,
) -> FeatureReference | None:
    """`ref`, the question of the one feature the sentence `span` names, as our commitment
    when the sentence right after it is our word with a date alone ("Will SCIM be ready by
    Q1? Told them Q2.": by Q2; "When will SCIM ship? Told them Q2.") or a yes to a question
    stating one ("Will SCIM be ready by Q1? Told them yes.": by Q1), naming nothing else.
    The evidence quotes both sentences. One `startswith` first."""
    a1, a = span
    size = len(low)
    while a < size and (low[a].isspace() or low[a] in ".?!"):
        a += 1
    role = _OUR_ROLE_LABEL.match(low, a)  # "Tom (AE): Yes, it will."
    heads = (
        role is not None
        or low.startswith(_ANSWER_HEADS, a)
        or low.startswith(_ANSWER_LABELS, a)
        or low.startswith(_AIM_HEADS, a)
    )
    y = role.end() if role is not None else a  # where a bare yes would start
    # a bare yes, the whole next sentence (after our side's label), to their question of our
    # product ("Will SCIM be ready by Q2? Yes, it will.", "... Yes - by Q2."), not to a
    # question of their need ("Do they need SSO? Yes.": discovery); after our label also to
    # their dated need ("Jane: we need SCIM by Q2 / Tom (AE): yes, we can")
    bare = (
        (role is not None or not heads)
        and low.startswith(_YES_HEADS, y)
        and (
            (ref.is_question and _THEIR_NEED_ASKED.search(low, a1, span[1]) is None)
            or (role is not None and not ref.is_question and ref.needed_by is not None)
        )
    )
    if not (heads or bare) and low.startswith(_QA_LABELS, a):
        # "Q: When will SCIM ship? A: Q2.": ours when the question is of our product
        heads = (
            low.startswith(_QA_QUESTION, a1) and _THEIR_NEED_ASKED.search(low, a1, span[1]) is None
        )
        if not heads:
            return None
    if not (heads or bare or low.startswith(_AGREED_HEADS, a)):
        return None
    if (
        ref.is_question
        and not bare
        and _THEIR_NEED_ASKED.search(low, a1, span[1]) is not None
        and _SAID_YES_ONLY.match(low, a) is not None
    ):
        return None  # a yes to a question of their need: "Do they need SCIM by Q1? AE said yes."
    b = _sentence_end(text, low, a)
    end = b
    while end > a and low[end - 1] in '.!"\u201d':
        end -= 1
    if end > a and (low[end - 1] > "\u2000" or low[end - 1] == ":"):
        # a chat's emoji or :shortcode: after the answer: "Yes 👍", "Mark: :white_check_mark:"
        m = _CHAT_MARKS.search(low, a, end)
        if m is not None:
            end = m.start()
    if _names_a_feature(sentences, a, b):
        return None  # it names a feature of its own
    if bare:
        yes = _BARE_YES.match(low, y, end)
        if yes is None:
            return None
        if yes.end() == end and not ref.is_question:
            dates = [(a1, ref.needed_by)]  # the date they need it by, agreed to
        elif yes.end() == end:
            dates = _promised_dates(low, a1, span[1], when)  # the date they asked about
        else:
            d = _date_at(low, yes.end(), end)
            if d is None or d.end() != end:
                return None  # more than a date after it: "Yes, if they sign"
            dates = _promised_dates(low, d.start(), d.end(), when)
    else:
        dates = _told_dates(low, a, a1, end, span, ref, heads, when)
        if dates is None:
            return None
    if len(dates) != 1:
        return None
    values = dict(ref.__dict__)
    values.update(
        evidence=text[a1:b],
        is_commitment=True,
        is_question=False,
        promised_date=dates[0][1],
        optional=False,
    )
    if not bare and _AIM.search(low, a, end) is not None:
        values["hedged"] = True  # "We're targeting Q2": our aim, not a firm word
    return trusted_model(FeatureReference, _NOTE_FIELDS, values)


# A web or mail address: "https://docs.acme.com/sso-setup", "www.acme.com/scim", "scim-team@
# acme.com".
_ADDRESS = re.compile(
    r"(?:[a-z][a-z0-9+.-]*://|www\.)[^\s<>\"'()\[\]]+"
    r"|[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+"
)


_PLAIN_BEFORE = " \t\n(\"'[\u201c\u2018"
_PLAIN_AFTER = " \t\n,;:!?)\"'\u201d\u2019]"  # and "" (the end of the text)
_PLAIN_DOT = (". ", ".\n", ".")
_NOT_SPACE = re.compile(r"\S*")


def _in_address(low: str, s: int, e: int) -> bool:
    """Whether low[s:e] is inside a web or mail address: only the text between the spaces
    around it is read.

    The text is found looking at most `_NEAR` characters each way, else from the note's index
    of spaces (`_note_index`), and the addresses of a long text are found once (`_addresses`):
    a note of one long word naming a feature again and again ("SSO/SSO/...", in a hostile
    note) would have each name read the whole word."""
    w = s - _NEAR if s > _NEAR else 0
    i = max(low.rfind(" ", w, s), low.rfind("\n", w, s), low.rfind("\t", w, s)) + 1
    if not i and w:
        at = _note_index(low, "blank", _BLANK)
        k = bisect_left(at, s) - 1
        i = at[k] + 1 if k >= 0 else 0
    j = _NOT_SPACE.match(low, e, e + _NEAR).end()
    if j == e + _NEAR and j < len(low):
        at = _note_index(low, "space", _SPACE)
        k = bisect_left(at, j)
        j = at[k] if k < len(at) else len(low)
    if j - i > _NEAR:
        starts, ends = _addresses(low, i, j)
        k = bisect_right(starts, s - i) - 1
        return k >= 0 and e - i <= ends[k]
    word = low[i:j]
    if "@" not in word and "://" not in word and "www." not in word:
        return False
    return any(m.start() <= s - i and e - i <= m.end() for m in _ADDRESS.finditer(word))


_NEAR = 256
_BLANK = re.compile(r"[ \n\t]")
_SPACE = re.compile(r"\s")
_address_memo: tuple[str, int, int, list[int], list[int]] = ("", 0, 0, [], [])


def _addresses(low: str, i: int, j: int) -> tuple[list[int], list[int]]:
    """The starts and ends of the addresses in low[i:j] (offsets into it), once a text."""
    global _address_memo
    memo = _address_memo
    if memo[0] is not low or memo[1] != i or memo[2] != j:
        word = low[i:j]
        found = (
            []
            if "@" not in word and "://" not in word and "www." not in word
            else [m.span() for m in _ADDRESS.finditer(word)]
        )
        memo = _address_memo = (low, i, j, [a for a, _ in found], [b for _, b in found])
    return memo[3], memo[4]


_index_memo: tuple[str, dict[str, list[int]]] = ("", {})


def _note_index(low: str, name: str, pattern: re.Pattern[str]) -> list[int]:
    """The offsets of every match of `pattern` (named `name`) in the note, found once a note:
    for the readers that would otherwise scan a long clause or word once for each name in it
    (a hostile note), not for ordinary ones."""
    global _index_memo
    memo = _index_memo
    if memo[0] is not low:
        memo = _index_memo = (low, {})
    at = memo[1].get(name)
    if at is None:
        at = memo[1][name] = [m.start() for m in pattern.finditer(low)]
    return at


def _cut(m: re.Match[str]) -> int:
    return m.start() if m.group() in "\n<" else m.end()


def _sentence_end(text: str, low: str, a: int) -> int:
    """The end of the sentence that starts at `a`, its trailing whitespace left out."""
    m = _BOUNDARY.search(low, a)
    b = _cut(m) if m else len(low)
    while b > a and text[b - 1].isspace():
        b -= 1
    return b


def _sentence_span(
    text: str, low: str, start: int, end: int, backwards: str | None = None
) -> tuple[int, int]:
    """The sentence holding text[start:end], without surrounding whitespace. Looks only near
    the hit: back from it for the last sentence end (in `backwards`, `low` reversed: each
    candidate character confirmed by the regex), forward for the next one."""
    if backwards is None:
        backwards = low[::-1]
    size = len(low)
    a = 0
    pos = start
    while pos > 0:
        found = _BOUNDARY_CHAR.search(backwards, size - pos)  # the last one before pos
        if found is None:
            break
        pos = size - 1 - found.start()
        m = _BOUNDARY.match(low, pos, start)  # same end as a forward search up to the hit
        if m is not None:
            a = _cut(m)
            break
    m = _BOUNDARY.search(low, end)
    b = _cut(m) if m else len(text)
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b


# A promise cue ("promised", "committed", "going to ship") right after one of these is taken
# back: "we haven't promised", "SCIM isn't committed", "wasn't guaranteed", "isn't going to".
_TAKEN_BACK = ("promis", "commit", "guarant", "going to", "agree")
# A promise's qualifier that it is outside the contract (`_clauses`): "..., not in the contract"
_NOT_CONTRACT_ONLY = (", not ", ", but not ", " - not ", " (not ", ", though not ", ", just not ")
# ... or not made yet: still to be made, or only weighed (`_TAKEN_BACK` after these).
_NOT_MADE_YET = (
    "need to ", "needs to ", "needed to ", "should ", "ought to ", "have to ", "thinking about ",
    "thinking of ", "considering ", "contemplating ", "debating ", "whether to ", "weighing ",
    "mulling ", "mulling over ",
)  # fmt: skip
_NEG_TAILS = tuple(
    f"{neg}{adverb}"
    for neg in ("n't ", "n\u2019t ", " havent ", " hasnt ", " hadnt ", " isnt ", " arent ",
                " wasnt ", " werent ")
    for adverb in ("", "yet ", "ever ", "really ", "actually ", "been ")
)  # fmt: skip


# Date cues that "not" just before denies: "not by Q1", "not before Q3", "not next quarter",
# "not in time for launch", "not shipping in Q1".
_NOT_DATE_CUES = ("by ", "before ", "next ", "in time ", "shipping ")
# ... and "isn't", "aren't" (also "wasn't", "weren't") before "shipping": "SCIM isn't shipping
# in Q2", "They aren't shipping in Q2 and need SCIM", as "is not shipping" is.
_NOT_SHIPPING_NOW = tuple(
    f" {verb}{neg} " for verb in ("isn", "aren", "wasn", "weren") for neg in ("'t", "\u2019t", "t")
)
# ... also opening the sentence, with the feature after it: "Isn't shipping in Q2: SCIM".
_NOT_SHIPPING_FIRST = frozenset(form[1:] for form in _NOT_SHIPPING_NOW)
# ... and "don't" / "doesn't" / "didn't" (also "do not"...) before the plain present's "ship in"
# / "ships in": "They don't ship in Q2 and need SCIM", "SCIM doesn't ship in Q2", as "They are
# not shipping in Q2" is (`_shipping_denied`).
_NOT_SHIP_NOW = tuple(
    f" {verb}{neg} " for verb in ("don", "doesn", "didn") for neg in ("'t", "\u2019t", "t")
) + (" do not ", " does not ", " did not ")
_NOT_SHIP_FIRST = frozenset(form[1:] for form in _NOT_SHIP_NOW)
# What may stand between the negation and the verb ("not already shipping", "don't yet ship"),
# as `str.split` leaves it.
_NOT_SHIP_ADVERBS = frozenset(("already", "currently", "still", "now", "also", "yet"))


_NO_AT = re.compile(r"(?=no )")


def _find_no(low: str, a: int, b: int) -> int:
    """`low.find("no ", a, b)`: in a long span from the note's index of "no "."""
    if b - a < _NEAR:
        return low.find("no ", a, b)
    return _first_after(_note_index(low, "no", _NO_AT), a, b, 3)


def _no_name_before(low: str, start: int, a: int, names: list[Mention]) -> Mention | None:
    """The feature name standing right after "no" and right before the date cue at low[start]
    (within the sentence from `a`), "support" between allowed: "No SSO by Q1", "SCIM by Q1; no
    SSO before Q3", "No SSO next quarter", "No SSO support by Q1"; not "No extra cost for SSO by
    Q1" nor "No SSO and SCIM by Q1"."""
    for n in names:
        if (
            (n.end + 1 == start or (n.end + 9 == start and low.startswith(" support ", n.end)))
            and n.start - 3 >= a
            and low.startswith("no ", n.start - 3)
            and (n.start == 3 or not low[n.start - 4].isalnum())
        ):
            return n
    return None


# What may follow a feature that "no" right after our word denies ("We will have no SSO in
# Q1", "We will have no SSO support"), as `str.split` leaves the word: a date, a joint, or
# nothing ("We will have no SSO"); not "We will have no SSO downtime" (a promise of SSO).
_NO_NAME_NEXT = frozenset(
    ("in", "until", "till", "by", "before", "this", "next", "support", "and", "or", "nor", "for")
)


def _no_name_after(low: str, k: int, b: int, names: list[Mention]) -> Mention | None:
    """The feature named right after our promise cue ending at low[k] and "no" ("We will have
    no SSO", "We promised no SSO in Q1"), with nothing after it in its clause (ending at `b`)
    but a date, a joint or the end (`_NO_NAME_NEXT`)."""
    if not low.startswith(" no ", k):
        return None
    for n in names:
        if n.start == k + 4:
            # as `rest = low[n.end : b].lstrip(" ,;.!")` and its first word, without a copy
            # of the rest of the clause
            p, stop = n.end, min(b, len(low))
            while p < stop and low[p] in " ,;.!":
                p += 1
            if p >= stop:
                return n
            word = _WORD_RUN.search(low, p, b)
            first = word[0] if word else low[p:b].split(None, 1)[0]
            if first in _NO_NAME_NEXT or low[n.end] in ",;.!":
                return n
            return None
    return None


def _split_no_dated(low: str, clauses: list[_Clause], names: list[Mention]) -> None:
    """Cut a clause opening with "no" right before a feature and a date ("No SSO in Q1, SCIM by
    Q2", "No SSO until Q3 and SCIM by Q2", "...; no SSO in Q1, offline mode in Q2") at the
    first ", " or " and " after the date when a feature is named after it, or with no date at
    the first ", " when a feature is named right after it ("No SSO, SCIM by Q2"): the rest is a
    clause of its own, so a promise there is not the denied feature's (as after "No SSO in Q1;
    ...")."""
    for n in names:
        s = n.start
        if not (s >= 3 and low.startswith("no ", s - 3) and (s == 3 or not low[s - 4].isalnum())):
            continue
        i = next((i for i, c in enumerate(clauses) if c.start <= s - 3 < c.end), -1)
        if i < 0:
            continue
        c = clauses[i]
        if low[c.start : s - 3].strip(" \t-*\u2022") or low.startswith(_NOT_DATE_CUES, n.end + 1):
            continue  # not opening the clause; "No SSO by Q1, ...": the date cue's own (`_clauses`)
        k = min(
            (x for x in (low.find(j, n.end, c.end) for j in _PART_JOINTS) if x >= 0), default=-1
        )
        if k >= 0 and (
            (
                next(_DATE.finditer(low, n.end, k), None) is not None
                and any(k < x.start < c.end for x in names)
            )
            # "No SSO, SCIM by Q2": no date, a feature right after the comma (not a list of
            # what "no" denies: "No SSO, SCIM or offline mode by Q2")
            or (
                low.startswith(", ", k)
                and any(x.start == k + 2 for x in names)
                and _NEEDED_AFTER.match(low, n.end, k) is None  # "No SSO needed, ...": theirs
                and low.find(" or ", k, c.end) < 0
                and low.find(" nor ", k, c.end) < 0
            )
        ):
            # ... at the last joint before the feature after it: "No SSO in Q1, maybe Q2, SCIM
            # by Q3" (the "maybe" is not SCIM's, as in `_split_part`)
            nxt = min(x.start for x in names if k < x.start < c.end)
            k = max(low.rfind(j, k, nxt) for j in _PART_JOINTS)
            clauses.insert(i + 1, _Clause(k + (2 if low.startswith(", ", k) else 5), c.end))
            c.end = k


# "not" and a date right after a feature's name that no cue reads ("by", "before": `_clauses`):
# "SSO not in Q1", "SSO not until Q3", "SSO not till Q3".
_NOT_DATED = ("not in ", "not until ", "not till ")


def _split_not_dated(low: str, clauses: list[_Clause], names: list[Mention]) -> None:
    """Cut a clause opening with a feature, "not" and a date ("SSO not in Q1, SCIM by Q2",
    "SSO not until Q3 and SCIM by Q2") at the first ", " or " and " after the date when a
    feature is named after it, as `_split_no_dated` does after "no" and `_clauses` after "not
    by": the rest is a clause of its own, so a promise there is not the denied feature's."""
    for n in names:
        e = n.end + (8 if low.startswith(" support ", n.end) else 0)  # "SSO support not in Q1"
        e += 3 if low.startswith(" is ", e) else 0  # "SSO is not in Q1"
        if not low.startswith(_NOT_DATED, e + 1) or low[e] != " ":
            continue
        e += 1
        i = next((i for i, c in enumerate(clauses) if c.start <= n.start < c.end), -1)
        if i < 0:
            continue
        c = clauses[i]
        p = low.index(" ", e + 4) + 1
        p += 4 if low.startswith("the ", p) else 0  # "SSO not in the Q1 release"
        d = _date_at(low, p, c.end)
        if d is not None:
            _split_part(low, clauses, i, d.end(), names)
        elif (r := _RELEASE.match(low, p, c.end)) is not None:
            _split_part(low, clauses, i, r.end(), names)  # "SSO not in the release, SCIM by Q2"


# "not in (the)" right before a "next release" cue: the release denied.
_NOT_IN_BEFORE = re.compile(r"(?:(?<![a-z0-9])not|n['\u2019]t) in (?:the )?$")
# A release named without a date after "not in (the)": "SSO not in the release", "... not in
# the next release", "... not in v2", "... not in this version".
_RELEASE = re.compile(
    r"(?:(?:this|that|next|upcoming|first|initial|current|coming|v?\d+(?:\.\d+)*) )?"
    r"(?:release|version|launch|rollout|phase|update|build|sprint|v\d+(?:\.\d+)*)(?![a-z0-9])"
)


def _shipping_denied(low: str, start: int, end: int, a: int, b: int) -> bool:
    """Whether the "ship" cue low[start:end] (sentence low[a:b]) with a date right after it is
    denied by the word before it, past one of "already", "currently", "still", "now", "also",
    "yet" (`_NOT_SHIP_ADVERBS`): "not" or "isn't" before "shipping" ("They are not already
    shipping in Q2", "SCIM isn't currently shipping in Q2"; without the word `_clauses` reads
    these itself), "don't" before "ship" or "ships" ("They don't ship in Q2", "SCIM doesn't ship
    in Q2", "They don't currently ship in Q2"). Not without a date: "We don't ship on-prem, SCIM
    is promised by Q3" promises."""
    k = start
    space = low.rfind(" ", max(a, start - 11), start - 1)
    if space >= 0 and low[space + 1 : start - 1] in _NOT_SHIP_ADVERBS:
        k = space + 1  # "not already shipping", "don't currently ship", "not yet shipping"
    if low.startswith("shipping ", start):
        if k == start:
            return False  # read in `_clauses`
        denied = (
            (
                k - 4 >= a
                and low.startswith("not ", k - 4)
                and (k - 4 == a or not low[k - 5].isalnum())
            )
            or low.endswith(_NOT_SHIPPING_NOW, max(a, k - 9), k)
            or low[a:k] in _NOT_SHIPPING_FIRST
        )
    else:
        denied = low.startswith(("ship ", "ships "), start) and (
            low.endswith(_NOT_SHIP_NOW, max(a, k - 10), k) or low[a:k] in _NOT_SHIP_FIRST
        )
    # the date after the cue ("ship in Q2", "ship by March"), or opened by its "in" ("ship in
    # 90 days")
    return denied and (
        _date_at(low, end + 1, b) is not None or _date_at(low, end - 2, b) is not None
    )


# What may follow a question's "?": 'asked "do we have SCIM?"', "(SCIM by Q1?)", "by Q1?!".
_AFTER_QUESTION = " \t\n!\"')]\u201d\u2019"


# What may stand beside a sale item as the subject of a denial ("but the discount is not").
_DENIED_SUBJECT_FILLER_TEXT = """but and though although while the our their its this that these is
    are was were has have had been still yet also not isnt isn't isn\u2019t arent aren't aren\u2019t
    wasnt wasn't wasn\u2019t"""
_DENIED_SUBJECT_FILLER = frozenset(_DENIED_SUBJECT_FILLER_TEXT.split())


# The customer's signing as what a condition decides: "They'll sign if SCIM ships in Q2",
# "If SCIM ships in Q2, they will sign", "Deal closes as long as SCIM is live by March".
_SIGNING_ON = re.compile(
    r"(?<![a-z0-9])(?:(?:they|the customer|customer|the client|client|he|she)"
    r"(?:['\u2019]ll|['\u2019]d| will| would| can| could| are ready to| is ready to)? "
    r"(?:sign|buy|close|renew|go ahead|move forward|proceed)"
    r"|(?:the )?deal (?:closes|will close|would close|goes ahead|will go ahead|signs))"
    r"(?![a-z0-9])"
)


_CONDITION_WORD = re.compile(r"(?:if|unless|assuming|provided|as long as) ")


def _signing_on(low: str, a0: int, b: int, k: int) -> bool:
    """Whether the condition starting at low[k] ("if", "as long as", "provided") decides the
    customer's signing: said right before it ("They'll sign if ...") or after it in the
    sentence ("If SCIM ships in Q2, they'll sign", "If we had SCIM by Q1 they would sign").
    Then its date is when they need the feature."""
    head = _SIGNING_ON.search(low, max(a0, k - 40), k)
    if head is not None and not low[head.end() : k].strip(" ,"):
        return True
    # after the condition's own first words: not its subject ("SCIM in Q1 if they sign by
    # March": their signing is the condition, our date the promise's)
    k = _CONDITION_WORD.match(low, k).end()
    after = _SIGNING_ON.search(low, k, b)
    return after is not None and after.start() > k


def _sale_item_denied(low: str, start: int, a: int, a0: int, names: list[Mention]) -> bool:
    """Whether the denial at low[start] is said of a sale item in a part of its own after a
    joint ("We will have SCIM by Q2, pricing not committed", "... but the discount is not a
    promise"): that part's, and the feature's promise before it stands. Not "We will have
    SCIM by Q2, but not committed" (no subject: the promise's) nor a feature's part. `a` is
    the start of the denial's clause, `a0` of its sentence: a clause of its own is a part."""
    k = max(low.rfind(", ", a, start), low.rfind(" but ", a, start), low.rfind("; ", a, start))
    if k < 0 and a > a0:
        k = a
    if k < 0 or any(k < n.start < start for n in names):
        return False
    words = [w for w in low[k:start].replace(",", " ").replace(";", " ").split()]
    words = [w for w in words if w not in _DENIED_SUBJECT_FILLER]
    return bool(words) and all(w.strip(_STRIP) in _SALE_OBJECTS for w in words)


def _split_part(low: str, clauses: list[_Clause], i: int, frm: int, names: list[Mention]) -> None:
    """Cut clause `i` at the first part joint (`_PART_JOINTS`) after `frm` when a feature is
    named after it: the part after it is a clause of its own, which a denial before it does
    not reach ("No SSO by Q1, SCIM by Q2", "SSO not by Q1 and SCIM by Q2")."""
    c = clauses[i]
    k = min(
        (x for x in (low.find(j, frm, c.end) for j in _PART_JOINTS) if x >= 0),
        default=-1,
    )
    if k >= 0 and (nxt := min((n.start for n in names if k < n.start < c.end), default=-1)) >= 0:
        # ... at the last joint before that feature: the words between are the denied part's
        # ("SSO not by Q1, maybe Q2, SCIM by Q3": the "maybe" is not SCIM's)
        k = max(low.rfind(j, k, nxt) for j in _PART_JOINTS)
        clauses.insert(i + 1, _Clause(k + (2 if low.startswith(", ", k) else 5), c.end))
        c.end = k


_DENIED_TAIL = re.compile(
    r" (?:(?:is|are|was|were) (?:not|no longer)|(?:is|are|was|were)n['\u2019]?t|tbd"
    r"|to be determined|undecided)[ \t.!]*$"
)


_DENIED_TAIL_ENDS = (" not", " no longer", "n't", "n\u2019t", " tbd", " determined", " undecided")


def _split_denied_tail(low: str, clauses: list[_Clause], names: list[Mention]) -> None:
    """Cut a clause ending in a short "is not" or "TBD" ("SCIM committed Q2, audit log and
    multi-region are not", "We promised SSO by Q1, SCIM TBD") at the last comma before the features that "is not" is said of, when a feature
    is named before that comma too: the part after it is a clause of its own, denied, and the
    part before keeps its word."""
    for i, c in enumerate(clauses):
        if not low[max(c.start, c.end - 24) : c.end].rstrip(" \t.!").endswith(_DENIED_TAIL_ENDS):
            continue  # (one `endswith` a clause before the search)
        tail = _DENIED_TAIL.search(low, c.start, c.end)
        if tail is None:
            continue
        k = low.rfind(", ", c.start, tail.start())
        if (
            k > c.start
            and any(c.start <= n.start < k for n in names)
            and any(k < n.start < tail.start() for n in names)
        ):
            clauses.insert(i + 1, _Clause(k + 2, c.end))
            c.end = k
            return


def _split_labelled(low: str, clauses: list[_Clause], names: list[Mention]) -> None:
    """After a feature's label and its colon or dash ("SSO: planned for Q3, SCIM by Q2", "SSO -
    planned for Q3, SCIM by Q2"), cut the clause the colon opens at the joint before the next feature named in it, when it names none
    before and states a date: the label's value is the part up to there (SSO planned for Q3), and the rest a
    clause of its own (SCIM by Q2), as after a semicolon. Without it the value went to SCIM
    alone and SSO, the label, was read plain."""
    i = 0
    while i + 1 < len(clauses):
        c, nxt = clauses[i], clauses[i + 1]
        i += 1
        if c.end >= nxt.start or low[c.end : nxt.start].strip(" \t") not in _LABEL_JOINTS:
            continue
        if not any(
            c.start <= n.start < c.end
            and not low[c.start : n.start].strip(_LABEL_PUNCT)
            and low[n.end : c.end].strip() in ("", "support")
            for n in names
        ):
            continue  # no feature's label: "Demo: scheduled for Monday, SSO by Q2"
        first = min((n.start for n in names if nxt.start <= n.start < nxt.end), default=-1)
        if first < 0:
            continue
        joint = min(
            (x for x in (low.find(j, nxt.start, first) for j in _PART_JOINTS) if x >= 0),
            default=-1,
        )
        if joint < 0:
            continue  # "SSO: SCIM by Q2": no value of its own before the next feature
        if next(_DATE.finditer(low, nxt.start, joint), None) is None:
            continue  # an undated value may be the list's: "Offline mode: optional, SSO, SCIM"
        _split_part(low, clauses, i, nxt.start, names)


def _split_bracketed(
    low: str, clauses: list[_Clause], cues: list[re.Match[str]], names: list[Mention]
) -> None:
    """A promise in brackets right after a feature is that feature's: "Product: SSO, SCIM (Q2
    commit)" promises SCIM, not SSO. Cut the clause at the joint (", ", " and ") before such a
    feature when the part before it names another feature and holds no promise cue of its own
    ("We promised SSO, SCIM (Q2)" stays whole: the promise is both's), and at the joint after
    its brackets when a feature follows ("SCIM (Q2 commit), SSO").

    Offsets are found by bisection in sorted lists (names, cues, closing brackets) and the
    note's index of joints (`_joints`): a hostile sentence of thousands of "SSO (committed), "
    costs each name a few lookups, not a scan of the sentence."""
    starts = [n.start for n in names]
    cue_at = sorted(m.start(m.lastgroup) for m in cues if m.lastgroup in ("promise", "custom"))
    if not cue_at:
        return
    hi = clauses[-1].end
    closes = [m.start() for m in _CLOSE_BRACKET.finditer(low, clauses[0].start, hi)]
    commas, ands = _joints(low)

    def cue_in(lo: int, up: int) -> bool:
        j = bisect_left(cue_at, lo)
        return j < len(cue_at) and cue_at[j] < up

    def named_in(lo: int, up: int) -> bool:
        j = bisect_left(starts, lo)
        return j < len(starts) and starts[j] < up

    def cut(i: int, c: _Clause, joint: int) -> None:
        nxt = joint + (2 if low.startswith(", ", joint) else 5)
        clauses[i : i + 1] = [_Clause(c.start, joint), _Clause(nxt, c.end)]

    i = 0
    for n in names:
        k = n.end
        while k < hi and low[k] == " ":
            k += 1
        if not low.startswith("(", k):
            continue
        j = bisect_left(closes, k)
        if j == len(closes) or not cue_in(k + 1, closes[j]):
            continue
        close = closes[j]
        while i + 1 < len(clauses) and clauses[i].end <= n.start:
            i += 1
        c = clauses[i]
        if not c.start <= n.start < c.end:
            continue
        joint = max(
            _last_before(commas, c.start, n.start, 2), _last_before(ands, c.start, n.start, 5)
        )
        if joint >= 0 and named_in(c.start, joint):
            if cue_in(c.start, joint):
                continue  # "We promised SSO, SCIM (Q2)": the promise is both's
            cut(i, c, joint)
            i += 1
            c = clauses[i]
        # ... and the features listed after it: "SCIM (Q2 commit), SSO", "SSO, SCIM (promised
        # by Q2), offline mode (nice to have)"
        if cue_in(c.start, k):
            continue  # "We promised SCIM (by Q2) and SSO": the promise before is both's
        after = [
            x
            for x in (_first_after(commas, close, c.end, 2), _first_after(ands, close, c.end, 5))
            if x >= 0
        ]
        if after and named_in(min(after) + 1, c.end):
            cut(i, c, min(after))


_CLOSE_BRACKET = re.compile(r"\)")


def _inside_promise(cues: list[re.Match[str]]) -> Callable[[int], bool]:
    """Whether an offset is inside the promise group of one of the `cues` (a test, for each
    "in <date>" of a sentence, not a look at every cue each time)."""
    spans = sorted((m.start("promise"), m.end("promise")) for m in cues if m.lastgroup == "promise")
    starts = [st for st, _ in spans]
    reach = list(accumulate((en for _, en in spans), max))  # the furthest end so far

    def inside(pos: int) -> bool:
        k = bisect_right(starts, pos) - 1
        return k >= 0 and pos < reach[k]

    return inside


# Emoji and :shortcodes: ending a chat's answer (`_answered_next`).
_CHAT_MARKS = re.compile(
    r"[\s.!]*(?:(?::[a-z0-9_+-]+:|[\u2600-\u27bf\ufe0f\u200d]|[\U0001f000-\U0001faff])\s*)+$"
)
_TOLD_LABEL = re.compile(
    r"[\s>*\u2022-]*(?:(?:we|i) )?told (?:them|him|her|the customer|the client|cust)"
)
_OTHER_THAN = re.compile(
    r"(?<![a-z0-9])(?:other than|except|besides|apart from|aside from)(?![a-z])"
)


def _clauses(
    low: str,
    a: int,
    b: int,
    cues: list[re.Match[str]],
    names: list[Mention],
    when: _When,
) -> list[_Clause]:
    """The sentence low[a:b] cut into clauses, each marked with the `cues` found in it."""
    clauses: list[_Clause] = []
    start = a
    for m in _CLAUSE.finditer(low, a, b):
        joint = m.group()
        if joint == ":":
            if (
                _deadline_colon(low, start, m.end(), b)
                # "Told them: SCIM in Q2": the told cue's own clause (a feature right after
                # the colon; not "Told them: we'll revisit SCIM in Q1")
                or (
                    _TOLD_LABEL.fullmatch(low, start, m.start()) is not None
                    and any(n.start == m.end() + 1 for n in names)
                )
                or _need_label(low, start, m.start(), names)
                or _names_needed(low, start, m.start(), m.end(), names)
                or _names_needed(low, start, m.start(), m.end(), names, _LABEL_WISHED)
            ):
                continue  # "Hard deadline for SCIM: March 1", "Needs: SCIM by Q2": one clause
        elif joint in _LABEL_DASHES and (
            _need_label(low, start, m.start(), names)
            or _names_needed(low, start, m.start(), m.end(), names)
            or _names_needed(low, start, m.start(), m.end(), names, _LABEL_WISHED)
        ):
            continue  # "Dealbreaker - no SCIM by Q1", "SCIM and audit log - both needed"
        if names and (joint == ":" or joint in _LABEL_DASHES):
            if (
                low.startswith(("dropped by ", " dropped by "), m.end())
                and any(n.end == m.start() for n in names)
                and _dropped_by_them_on(low, m.start(), b)
            ):
                continue  # "Offline mode: dropped by the customer by Q1": one clause, no cue
            k = _label_after_comma(low, start, m.start(), m.end(), names)
            if k >= 0:  # "Offline mode: optional, SSO: required": cut at the comma instead
                clauses.append(_Clause(start, k))
                start = k + 2
                continue
        end = m.end() if m.group().startswith("?") else m.start()
        clauses.append(_Clause(start, end))
        start = m.end()
    clauses.append(_Clause(start, b))
    if len(names) > 1 and (low.find(", ", a, b) >= 0 or low.find(" and ", a, b) >= 0):
        for k, nxt in _comma_clauses(low, clauses, names):
            i = next(i for i, c in enumerate(clauses) if c.start < k < c.end)
            c = clauses[i]
            clauses[i : i + 1] = [_Clause(c.start, k), _Clause(nxt, c.end)]
    if len(names) > 1 and low.find("no ", a, b) >= 0:
        _split_no_dated(low, clauses, names)
    if len(names) > 1 and low.find(" not ", a, b) >= 0:
        _split_not_dated(low, clauses, names)
    if len(names) > 1 and low.find(", ", a, b) >= 0:
        _split_denied_tail(low, clauses, names)
    if len(names) > 1 and len(clauses) > 1:
        _split_labelled(low, clauses, names)
    if len(names) > 1 and low.find("(", a, b) >= 0:
        _split_bracketed(low, clauses, cues, names)
    i = 0
    settle = False  # a delivery already made, or a promise that needs a date: read at the end
    for m in cues:
        kind = m.lastgroup
        start = m.start(kind)
        while start >= clauses[i].end and i + 1 < len(clauses):
            i += 1
        c = clauses[i]
        if kind == "denied":
            if not _sale_item_denied(low, start, c.start, a, names) and not (
                low.startswith(("nothing", "none"), start) and _OTHER_THAN.search(low, a, b)
            ):  # (not "Other than SCIM, nothing was promised", "Nothing committed except
                # SCIM Q2": of the rest)
                c.denied = True
        elif kind == "custom":
            if _ours(low, start, m.end(kind), c, True, names, a, b):
                c.promise = True
                # "If they need SCIM by Q1, we will build it": the feature named, not custom work
                c.custom = not (names and _refers_back(low, start, m.end(kind)))
        elif kind == "promise":
            if (
                low.startswith("to ", start)
                and not low.startswith("to the ", start)
                and _ADDED_TO.search(low, max(c.start, start - 80), start) is None
            ):
                continue  # "Moved to contract with SCIM": the deal's stage, no promise
            if low.startswith("dropped ", start - 8) and _dropped_by_date(low, start, names):
                continue  # "Offline mode dropped by Q1": given up or released, no promise
            if low.endswith(_DROPPED_AGENT_ENDS, max(a, start - 10), start) and any(
                (d := _DROPPED_BY_THEM.match(low, n.end, b)) is not None and d.end() == start
                for n in names
            ):
                continue  # "Offline mode dropped by the customer by Q1": when they gave it up
            if low.startswith(_TAKEN_BACK, start) and (
                low.endswith(_NEG_TAILS, max(a, start - 16), start)
                # a promise still to be made, or only weighed: "Need to promise SCIM by Q1 to
                # win this", "We should commit", "Considering committing to SCIM by Q1"
                or low.endswith(_NOT_MADE_YET, max(a, start - 24), start)
            ):
                if not _sale_item_denied(low, start, c.start, a, names):
                    c.denied = True  # "we haven't promised SCIM", "SCIM isn't committed"
            elif _is_contract_cue(low[start : m.end(kind)]) and (
                _CONTRACT_DENIED.search(low, max(c.start, start - 48), start) is not None
            ):
                if not (c.promise and low.endswith(_NOT_CONTRACT_ONLY, c.start, start)):
                    # (not a promise said to be outside the contract: "We promised SCIM by
                    # Q2, not in the contract" is still our word)
                    c.denied = True  # "SCIM is not in the contract", "refused to put it in the MSA"
            elif (
                _is_contract_cue(low[start : m.end(kind)])
                and _EXCLUDED_AFTER.search(low, m.end(kind), c.end) is not None
            ):
                c.denied = True  # "Per the MSA, SCIM is not included", "In the SOW, SCIM excluded"
            elif (
                not c.promise
                and start - 4 >= a
                and low.startswith("not ", start - 4)
                and (start - 4 == a or not low[start - 5].isalnum())
                and low.startswith(_NOT_DATE_CUES, start)
            ):
                # A date denied: "- SCIM: not by Q1", "SCIM: not before Q3" (not after a
                # promise in the clause: "We promised SCIM by Q1, not by Q3").
                c.denied = True
                # ... its part only, as after "no" (below): "SSO not by Q1, SCIM by Q2"
                if len(names) > 1:
                    _split_part(low, clauses, i, m.end(kind), names)
            elif (
                not c.promise
                and low.startswith("next ", start)
                and _NOT_IN_BEFORE.search(low, max(a, start - 16), start) is not None
            ):
                c.denied = True  # "SSO is not in the next release", "SSO isn't in the next sprint"
                if len(names) > 1:  # ... its part only: "SSO not in the next release, SCIM by Q2"
                    _split_part(low, clauses, i, m.end(kind), names)
            elif (
                not c.promise
                and low.startswith("shipping ", start)
                and (
                    low.endswith(_NOT_SHIPPING_NOW, max(a, start - 9), start)
                    or low[a:start] in _NOT_SHIPPING_FIRST
                )
            ):
                # "SCIM isn't shipping in Q2", as "SCIM is not shipping in Q2"; "Isn't shipping
                # in Q2: SCIM"
                c.denied = True
            elif (
                not c.promise
                and low.startswith("ship", start)
                and _shipping_denied(low, start, m.end(kind), a, b)
            ):
                # "They don't ship in Q2 and need SCIM", "They are not already shipping in Q2"
                c.denied = True
            else:
                ours = _ours(low, start, m.end(kind), c, False, names, a, b)
                if ours and _their_report(
                    low,
                    start,
                    c,
                    names,
                    a,
                    b,
                    # any cue after their hope: "Customer hopes we'll have SCIM by Q2"
                    wish_only=not (ours is _DATED or low.startswith(_REPORTED_CUES, start)),
                ):
                    ours = False  # "They told us SCIM releases in Q2": theirs, as a rep's
                if (
                    ours is True
                    and low.startswith(_NOT_DATE_CUES, start)
                    and (not c.promise or _find_no(low, c.start, start) >= 0)
                    and (no := _no_name_before(low, start, a, names)) is not None
                    and (
                        not c.promise
                        # "We will have no SSO by Q1", "We promised no SSO by Q1": our word
                        # before it is about no other feature, and "no" denies what it says
                        or not any(c.start <= n.start < no.start for n in names)
                    )
                ):
                    # "No SSO by Q1", "SCIM by Q1; no SSO before Q3": the date denied, as in
                    # "SSO: not by Q1" (the feature kept, as in "No SSO in Q1": `_no_before`)
                    c.denied = c.no_date = True
                    c.promise = False
                    # ... its part only: a feature named after it opens a clause of its own
                    # ("No SSO by Q1, SCIM by Q2", "No SSO by Q1 and SCIM by Q2")
                    _split_part(low, clauses, i, m.end(kind), names)
                elif ours is _DATED:
                    c.dated = settle = True
                elif ours and (no := _no_name_after(low, m.end(kind), c.end, names)) is not None:
                    # "We will have no SSO", "We will have no SSO in Q1": "no" denies what our
                    # word says of the feature, as "We will not have SSO" does
                    c.denied = True
                    # ... its part only: a feature named after it opens a clause of its own
                    # ("We will have no SSO in Q1, SCIM by Q2")
                    _split_part(low, clauses, i, no.end, names)
                elif ours:
                    c.promise = True
        elif kind == "past":
            c.past = settle = True
        elif kind == "question":
            c.question = True
            j = i
            while m.end(kind) > clauses[j].end and j + 1 < len(clauses):
                j += 1  # "Customer asked - will SCIM be ready by Q1": the clause after too
                clauses[j].question = True
        elif kind == "neg_before":
            if not (
                low.startswith(_GIVEN_UP, start)
                and _NOT_REMOVED.search(low, max(c.start, start - 24), start) is not None
            ):  # not "They never dropped the multi-region requirement"
                c.neg_before += (m.end(kind),)
        elif m.start("unav") >= 0:
            c.unavailable += (start,)
        elif m.start("removed") >= 0:
            span = _removed_span(low, c, start)
            if span is not None:
                c.removed += (span,)
        elif (
            m.start("untalked") < 0
            or _NEEDED_WORDS.isdisjoint(low[a:b].split())
            or not _said_of(low, clauses, c, names, _NEEDED_WORDS)
        ):
            # (not "Offline mode required, pricing not discussed"; but "Offline mode not
            # discussed, SSO required": the need is SSO's)
            c.neg_after += (start,)
    if names and _IN_DATE.search(low, a, b) is not None:
        # "They need SCIM in Q3", "Go-live in Q2, SCIM required": "in <date>" is no promise
        # cue, but the customer's date when a requirement of theirs is about it (`_ours`).
        inside = _inside_promise(cues)
        for s, e in _in_dates(low, a, b):
            if not inside(s):  # not inside a cue: "SCIM ships in January"
                _ours(low, s, e, _clause_at(clauses, s), False, names, a, b, True)
    if names and low.find("deadline", a, b) >= 0:
        # "Their deadline for SCIM is Q3", "SCIM deadline is March 1": no cue either, read as
        # "in <date>" is (the need word "deadline" is about the feature: `_tied`).
        for s, e in _deadline_dates(low, a, b):
            _ours(low, s, e, _clause_at(clauses, s), False, names, a, b, True)
    if settle:
        for i, c in enumerate(clauses):
            if c.past:  # "we already delivered SCIM by Q3", "shipped last quarter as promised"
                # still one with a promise in the future: "we shipped SSO and will have SCIM"
                future = next(
                    (
                        m.start(m.lastgroup)
                        for m in cues
                        if m.lastgroup in ("promise", "custom")
                        and c.start <= m.start(m.lastgroup) < c.end
                        and low.startswith(_FUTURE_CUES, m.start(m.lastgroup))
                    ),
                    -1,
                )
                c.promise = c.promise and future >= 0
                if c.promise:
                    _split_past(low, clauses, i, cues, future)
            elif c.dated and not c.promise:  # "ETA for SCIM is Jan 2027": with its date
                end = c.end
                if low.startswith(":", end) and i + 1 < len(clauses):
                    end = clauses[i + 1].end  # "SCIM ETA: Q1"
                c.promise = bool(_promised_dates(low, c.start, end, when))
                if not c.promise and i and _cue_after_terse(low, clauses[i - 1], c, names):
                    clauses[i - 1].promise = True  # "SCIM Q2 - agreed", "SCIM - Q2 - told cust"
    if low.find("?", a, b) >= 0:  # most sentences have no question mark to look for
        for c in clauses:
            if low[c.start : c.end].rstrip(_AFTER_QUESTION).endswith("?"):
                c.question = True
        if low[a:b].rstrip(_AFTER_QUESTION).endswith("?"):
            clauses[-1].question = True
        for i in range(1, len(clauses)):
            # "SCIM by Q2 - possible?", "SCIM by Q2 - can we?": a short question after a dash
            # asks about the clause before it (was our promise by Q2)
            k, prev = clauses[i], clauses[i - 1]
            if (
                k.question
                and low[prev.end : k.start].strip(" \t") in _LABEL_JOINTS
                and len(low[k.start : k.end].split()) <= 4
                and not any(k.start <= n.start < k.end for n in names)
                and _terse_dated(low, prev.start, prev.end, names)
                and not (i > 1 and clauses[i - 2].promise)  # "Promised: SCIM Q2 - ok?"
            ):  # (not "We committed SCIM by Q2 - realistic?": our word given)
                prev.question = True
    if len(clauses) > 1 and low.find("told", a, b) >= 0:
        _told_after_date(low, clauses, cues, names)
    if names and any(c.promise for c in clauses) and _maybe_optional(low, a, b):
        _wished_by_date(low, clauses, cues, names)
    if len(clauses) > 1 and any(c.needed for c in clauses):  # rare: "by Q3, they need SCIM"
        _place_needed(clauses)
    if any(c.promise for c in clauses):
        _kept_or_withdrawn(low, clauses, names, a, b)
    if len(clauses) > 1 and any(c.denied for c in clauses[1:]):
        _disclaim(low, clauses, names, when)
    return clauses


def _told_after_date(
    low: str, clauses: list[_Clause], cues: list[re.Match[str]], names: list[Mention]
) -> None:
    """A feature by a date alone, then our word with a date in a clause of its own ("SCIM by
    Q1 - told them Q2", "SCIM by Q1 (told them Q2)"): the first date is the customer's, the
    promise the second clause's. Not when the first clause promises in words of its own ("We
    will have SCIM by Q1 - told them Q2")."""
    for i in range(1, len(clauses)):
        c, prev = clauses[i], clauses[i - 1]
        k = c.start
        while k < c.end and low[k] in _CLAUSE_LEAD:
            k += 1
        if not (
            c.promise
            and low.startswith("told ", k)
            and prev.promise
            and not (prev.needed or prev.question or prev.denied or prev.past or prev.sale)
            and not any(c.start <= n.start < c.end for n in names)
            and any(prev.start <= n.start < prev.end for n in names)
            and not _own_promise(low, prev, cues, "need", names)
        ):
            continue
        dates = [
            (d.start(d.lastgroup), d.end(d.lastgroup))
            for d in _DATE.finditer(low, prev.start, prev.end)
        ]
        if dates:
            prev.promise = prev.dated = False
            prev.needed += tuple((s, e, -1, -1) for s, e in dates)


def _said_of(
    low: str, clauses: list[_Clause], c: _Clause, names: list[Mention], words: frozenset[str]
) -> bool:
    """Whether one of `words` (as `str.split` leaves them) is in the clause `c` or in a clause
    naming no feature, which may speak of c's ("Offline mode not discussed in detail, but they
    need it"); not in a clause naming a feature of its own ("Offline mode not discussed, SSO
    required": the need is SSO's)."""
    for k in clauses:
        if (k is c or not any(k.start <= n.start < k.end for n in names)) and not words.isdisjoint(
            low[k.start : k.end].split()
        ):
            return True
    return False


def _wanted_in(low: str, clauses: list[_Clause], c: _Clause, names: list[Mention]) -> bool:
    """Whether a promise, a question or a need word is in the clause `c` or in a clause naming
    no feature ("Competitor X has offline mode; do we?", "...; we will have it by Q1"); not in
    a clause naming a feature of its own ("Competitor X has SSO; we will have SCIM by Q1")."""
    for k in clauses:
        if (k.promise or k.question) and (
            k is c or not any(k.start <= n.start < k.end for n in names)
        ):
            return True
    return _said_of(low, clauses, c, names, _NEEDED_WORDS)


def _unwanted_others(low: str, a: int, b: int, names: list[Mention], when: _When) -> list[Mention]:
    """`names` without another party's product (`_other_product`) in a clause of its own
    with no need word, in a sentence with no cue: "Competitor X has SSO; they need SCIM" (SCIM
    alone). A need word in the name's clause or in a clause naming no feature counts
    (`_said_of`): "Their current vendor's offline mode crashes, they need ours" keeps it."""
    clauses = _clauses(low, a, b, [], names, when)
    kept = []
    for m in names:
        c = _clause_at(clauses, m.start)
        if _said_of(low, clauses, c, names, _NEEDED_WORDS) or not _other_product(
            low, c.start, b, m
        ):
            kept.append(m)
    return kept


def _wished_by_date(
    low: str, clauses: list[_Clause], cues: list[re.Match[str]], names: list[Mention]
) -> None:
    """A feature by a date alone in a clause calling it nice to have ("Offline mode would be
    nice to have by Q1", "Nice to have offline mode by Q1"): the customer's wish and date, no
    promise. Not when the clause promises in words of its own ("We will have offline mode by
    Q1, nice to have for them"). Nor, after a wish label of its own ("Nice to have: offline
    mode by Q1", "Optional: SCIM by Q1"), the clause the colon opens (`_wish_label`), nor the
    clause a wish of its own follows after a dash or colon ("SCIM by Q1 - nice to have")."""
    for i, c in enumerate(clauses):
        if not (
            c.promise
            and not (c.needed or c.question or c.denied or c.past or c.sale or c.custom)
            and any(c.start <= n.start < c.end for n in names)
            and (
                _OPTIONAL.search(low, c.start, c.end) is not None
                or (i and _wish_label(low, clauses[i - 1], names))
                or (i + 1 < len(clauses) and _wish_after(low, c, clauses[i + 1], names))
            )
            and not _own_promise(low, c, cues, "need", names)
        ):
            continue
        dates = [
            (d.start(d.lastgroup), d.end(d.lastgroup)) for d in _DATE.finditer(low, c.start, c.end)
        ]
        if dates:
            c.promise = c.dated = False
            c.needed += tuple((s, e, -1, -1) for s, e in dates)


# What may stand after a wish label in place of its colon: a dash joint of `_CLAUSE` ("Nice
# to have - offline mode by Q1", "Nice to have – ...", "Nice to have — ...").
_WISH_LABEL_ENDS = (":", " - ", " \u2013 ", " \u2014", "\u2014")


def _wish_label(low: str, k: _Clause, names: list[Mention]) -> bool:
    """Whether the clause `k` is a wish label before a colon or a dash, naming nothing and
    saying no more ("Nice to have: ...", "Nice to have - ...", "Optional: ...", "Wish list:
    ..."; not "Promised: ...")."""
    if not low.startswith(_WISH_LABEL_ENDS, k.end) or k.promise or k.question or k.needed:
        return False  # cheap first
    return _wish_only(low, k, names)


def _wish_after(low: str, c: _Clause, k: _Clause, names: list[Mention]) -> bool:
    """Whether the clause `k`, right after `c` and its dash or colon, is a wish naming nothing
    and saying no more ("SCIM by Q1 - nice to have", "SCIM by Q1: optional")."""
    if not low.startswith(_WISH_LABEL_ENDS, c.end) or k.promise or k.question or k.needed:
        return False  # cheap first
    return _wish_only(low, k, names)


def _wish_only(low: str, k: _Clause, names: list[Mention]) -> bool:
    """Whether the clause `k` names nothing and says nothing but a wish (`_OPTIONAL`, fillers
    aside: "nice to have", "optional for them")."""
    if any(k.start <= n.start < k.end for n in names):
        return False
    hit = _OPTIONAL.search(low, k.start, k.end)
    return hit is not None and _OPTIONAL_FILLER.issuperset(
        w.strip(_STRIP)
        for w in (low[k.start : hit.start()] + " " + low[hit.end() : k.end]).split()
        if w.strip(_STRIP)
    )


# A promise kept, said after it: "Promised SCIM in March, delivered on time", "Promised SCIM by
# Q1 - already shipped" (after a joint, at the sentence's end, naming no feature of its own).
_KEPT_TAIL = re.compile(
    r"(?:[,;]|\s[-\u2013\u2014])\s*(?:and |but |which |it |this |that )?"
    r"(?:(?:was|has|had|is|got)(?: been)? )?(?:(?:now|already|since|then|just|finally) )?"
    rf"(?:{_PAST_DELIVERY}|live|done|kept)"
    r"(?: (?:on time|early|already|as promised|since|now|last (?:week|month|quarter|year)"
    r"|in (?:[a-z]+|q[1-4])|ahead of schedule))*[\s.!)]*$"
)
# A promise taken back, said after it: "We had promised SCIM by Q1 but that's been walked
# back", "The SCIM promise was retracted" (not "it hasn't been retracted").
# Their words, factored (a plain alternation costs twice as much): a delivery or a withdrawal.
_KEPT_OR_WITHDRAWN_WORDS = re.compile(
    r"d(?:eliver|eployed|one)|shipped|released|l(?:aunched|ive)|rolled|went|kept"
    r"|re(?:tract|scind|voked|versed)|w(?:alked back|ithdr)|t(?:aken|ook) back|pulled back"
)
_WITHDRAWN = re.compile(
    r"(?<![a-z0-9])(?:promise|commitment|that|it|this|which)(?:['\u2019]s| is| was| has| had"
    r"| have)?(?: (?:since|now|then|already|just|officially))?(?: been| got| gotten)? "
    r"(?:walked back|retracted|rescinded|withdrawn|taken back|revoked|reversed|pulled back)"
    r"|(?<![a-z0-9])(?:walked back|retracted|rescinded|withdrew|took back|revoked|reversed"
    r"|pulled back) (?:(?:the|our|my|that|this|a) )?(?:[a-z]+ )?(?:promise|commitment)"
)


def _kept_or_withdrawn(
    low: str, clauses: list[_Clause], names: list[Mention], a: int, b: int
) -> None:
    """No promise in a clause whose promise the sentence says was kept ("..., delivered on
    time") or taken back ("... but that's been walked back"). One look for their words first
    (`_KEPT_OR_WITHDRAWN_WORDS`, ~1 us a promise sentence)."""
    hint = _KEPT_OR_WITHDRAWN_WORDS.search(low, a, b)
    if hint is None:
        return
    m = _KEPT_TAIL.search(low, max(a, b - 64), b)
    if m is not None and not any(m.start() <= n.start < b for n in names):
        for c in clauses:
            if c.start <= m.start():
                c.promise = c.dated = False
        return
    m = _WITHDRAWN.search(low, a, b)
    if m is not None:
        for c in clauses:
            if c.start <= m.end():
                c.promise = c.dated = False


# After ", " and a feature's name: what makes it a clause of its own ("SCIM promised for Q1,
# offline mode requested too", "They don't need SSO, SCIM is required"); not a plural verb
# ("SSO, SCIM are required" lists them).
_OWN_VERBS_TEXT = """is was isn't wasn't isnt wasnt came comes got gets has had will won't wont
    would should must may might can can't cannot could needs needed required requested wanted
    discussed mentioned raised asked not no never still also remains stays ships shipped
    available live ready already today ga"""
_OWN_VERBS = frozenset(_OWN_VERBS_TEXT.split())
_COMMA_LEADS = ("", "and", "but", "the", "and the", "but the", "while", "while the", "also")
# ... after " and ": what cannot continue the promise ("SCIM promised for Q1 and offline mode
# requested too"; not "We promised SSO and SCIM will follow").
_AND_VERBS_TEXT = """is was isn't wasn't isnt wasnt came comes needed required requested wanted
    discussed mentioned raised asked not no never"""
_AND_VERBS = frozenset(_AND_VERBS_TEXT.split())


def _comma_clauses(low: str, clauses: list[_Clause], names: list[Mention]) -> list[tuple[int, int]]:
    """Where a clause is cut at ", " (or " and ") before a feature's name opening a clause of
    its own: a verb after the name (`_OWN_VERBS`, `_AND_VERBS`), and words of a clause before
    the joint, not only names ("SSO, SCIM needed by Q1" is a list). The joints' offsets and
    where the clause after each starts."""
    cuts = []
    for n in names[1:]:
        after = low[n.end : n.end + 16].split()[:1]
        if not after or after[0].strip(_STRIP) not in _OWN_VERBS:
            continue  # first, the one cheap look: most names are followed by no verb
        c = next((c for c in clauses if c.start <= n.start < c.end), None)
        if c is None:
            continue
        k = low.rfind(", ", c.start, n.start)
        j = low.rfind(" and ", c.start, n.start)
        verbs = _OWN_VERBS
        if j > k:
            k, nxt, verbs = j, j + 5, _AND_VERBS
        else:
            nxt = k + 2
        if k < 0 or low[nxt : n.start].strip() not in _COMMA_LEADS:
            continue
        if verbs is _AND_VERBS and after[0].strip(_STRIP) not in verbs:
            continue
        if _LABEL_NEEDED.match(low, n.end) is not None:
            # the requirement of a list of names: cut where the list opens ("Offline mode:
            # optional, SSO, SCIM required", "..., SSO and SCIM required": SSO's too)
            opened = _list_opened(low, c.start, k, names)
            if opened != k:
                k, nxt = opened, opened + 2
        words = low[c.start : k]
        for m in names:
            if c.start <= m.start and m.end <= k:
                words = words.replace(low[m.start : m.end], " ")
        if _LISTING.issuperset(words.split()):
            continue  # "SSO, SCIM needed": only names before the comma
        cuts.append((k, nxt))
    return cuts


def _list_opened(low: str, lo: int, k: int, names: list[Mention]) -> int:
    """The ", " at which the list of names ending at the ", " at `k` opens, within low[lo:k]
    ("optional, SSO, SCIM required": the comma before SSO; `k` when the part before `k` is
    no name alone)."""
    while True:
        p = low.rfind(", ", lo, k)
        if p < 0:
            return k
        words = low[p + 2 : k]
        named = False
        for m in names:
            if p + 2 <= m.start and m.end <= k:
                words = words.replace(low[m.start : m.end], " ")
                named = True
        if not named or not _LISTING.issuperset(words.split()):
            return k
        k = p


_LISTING = frozenset(
    ("-", "*", "\u2022", "and", "or", ",", "&", "the", "+", "/", "both", "all", "either", "plus")
)


def _removed_span(low: str, c: _Clause, cue: int) -> tuple[int, int] | None:
    """What the removal verb before the cue "from the contract" at `cue` in the clause `c`
    takes out: its object ("removed SCIM from the order form"), or with none the clause's words
    before the verb ("SCIM struck from the SOW"). None without a verb at most six words before
    the cue, or when the removal is refused or not done ("They refused to remove SCIM from
    the contract", "we can't drop SCIM from the SOW")."""
    verbs = list(_REMOVAL_VERB.finditer(low, max(c.start, cue - 80), cue))
    verb = verbs[-1] if verbs else None
    if verb is None or low.count(" ", verb.end(), cue) > 7:
        return None
    if _NOT_REMOVED.search(low, max(c.start, verb.start() - 24), verb.start()) is not None:
        return None
    if verb.end() + 1 < cue:
        return verb.end(), cue
    return c.start, verb.start()


_OTHER_THAN_IT = re.compile(r"(?<![a-z0-9])(?:other|else|additional|further|more)(?![a-z0-9])")


def _disclaim(low: str, clauses: list[_Clause], names: list[Mention], when: _When) -> None:
    """A denial after a promise that names nothing of its own takes the promise back: "We
    will have SCIM by Q3 but can't guarantee it", "SCIM lands in Q3, but we can't promise
    that", "Told them SCIM by Q3, though not guaranteed". Not one naming a feature, a thing
    or a date of its own ("..., but we can't promise the audit log", "... but can't do it
    by Q1"): that is a denial of something else."""
    for i in range(1, len(clauses)):
        c = clauses[i]
        if not c.denied or c.promise or any(c.start <= m.start < c.end for m in names):
            continue
        if _OBJECT_WORD.search(low, c.start, c.end) or _promised_dates(low, c.start, c.end, when):
            continue
        if _OTHER_THAN_IT.search(low, c.start, c.end) is not None:
            continue  # "We promised SCIM by Q1; no other commitments": of the rest, not of it
        prev = clauses[i - 1]
        if (
            not prev.promise
            and low[prev.end : c.start].strip(" \t") in _LABEL_JOINTS
            and any(prev.start <= m.start < prev.end for m in names)
        ):
            continue  # "SCIM - committed Q2; audit log - not committed": the audit log's value
        named = next(
            (
                cl
                for cl in reversed(clauses[:i])
                if any(cl.start <= m.start < cl.end for m in names)
            ),
            None,
        )
        if named is not None and not named.promise:
            # of the feature named last, not a promise: "Promised SCIM by Q2; the audit log was
            # discussed but not promised" (took the SCIM promise back too); denied, so no
            # promise naming nothing ("Promised the CSV importer by Q1; ...") speaks for it
            named.denied = True
            continue
        for before in clauses[:i]:
            if before.promise:
                before.promise = False
                before.denied = True


_BACK_REFERENCE = re.compile(r"(?: to| them| for| on)? (it|this|that)(?![a-z0-9])")
# After "this" or "that" as a pronoun ("we'll have that ready by Q2"), besides `_OBJECT_STOP`.
_PRONOUN_STATES = frozenset(
    ("ready", "done", "live", "available", "delivered", "shipped", "built", "finished")
)


def _refers_back(low: str, s: int, e: int) -> bool:
    """Whether the promise or custom-build cue low[s:e] is about "it", "this" or "that": a
    thing named before it ("we will build it", "build this for them", "committed to it", "ETA
    for it", "have that ready"; not "build that custom connector")."""
    cue = low[s:e]
    if cue.endswith((" it", " this", " that")):
        word, at = cue.rsplit(" ", 1)[1], e
    else:
        m = _BACK_REFERENCE.match(low, e)
        if m is None:
            return False
        word, at = m.group(1), m.end()
    if word == "it":
        return True
    after = low[at : at + 24].split()[:1]  # "this"/"that" as pronouns, not determiners
    if not after or not after[0][0].isalnum():
        return True
    word = after[0].strip(_STRIP)
    return word in _OBJECT_STOP or word in _PRONOUN_STATES


# A clause opening with "it", "this" or "that" as its subject: "It will be ready by Q2",
# "However, that is promised for Q3", "It's committed for Q3".
_PRONOUN_SUBJECT = re.compile(
    r"(?:(?:however|but|though|still|and|so|yet|anyway|instead|now|actually|also|then)"
    r"[,;:]?\s+)*(?:it|this|that)(?:['\u2019](?:s|ll)| (?:is|will|would|should|shall|was|has"
    r"|can|could|must|goes|ships|lands|gets))(?![a-z0-9])"
)
_CLAUSE_LEAD = " \t\n\"'(\u201c\u2018*-\u2022"


# Telling before the subject of a promise clause: "Told them it will be ready in Q1", "We
# assured the customer that it ships by Q2" (`_pronoun_promised`).
_TOLD_LEAD = re.compile(
    r"(?:(?:we|i) )?(?:(?:told|assured|informed|promised|let) (?:them|him|her|the customer"
    r"|the client|(?:their|the) [a-z-]+)(?: know)?|said|mentioned|explained|confirmed)"
    r"(?: that)? "
)


def _pronoun_promised(
    low: str, c: _Clause, cues: list[re.Match[str]], limit: int | None = None
) -> bool:
    """Whether the promise clause `c` promises "it", "this" or "that", a thing named before
    it: the object of a promise cue ("we will have it by Q2", "committed to it", "we'll build
    it") or the clause's subject ("It will be ready by Q2", "That is promised for Q3"); with
    `limit`, only a pronoun before that offset."""
    end = c.end if limit is None else min(c.end, limit)
    k = c.start
    while k < end and low[k] in _CLAUSE_LEAD:
        k += 1
    if k < end and _PRONOUN_SUBJECT.match(low, k, c.end):
        return True
    told = _TOLD_LEAD.match(low, k, end) if k < end and low[k] in "tiwsacl" else None
    if told is not None and _PRONOUN_SUBJECT.match(low, told.end(), c.end):
        return True  # "Told them it will be ready in Q1"
    for m in cues:
        kind = m.lastgroup
        if (
            kind in ("promise", "custom")
            and c.start <= m.start(kind) < end
            and m.end(kind) <= end
            and _refers_back(low, m.start(kind), m.end(kind))
        ):
            return True
    return False


def _referred_name(text: str, low: str, clauses: list[_Clause], i: int, custom: bool) -> str | None:
    """The off-roadmap thing that a promise of "it" in clauses[i] speaks of: the one the
    nearest clause before it names ("We can't deliver the Slack integration by Q1 but we will
    have it by Q2"); None when that clause names two ("the Slack integration or the Teams
    connector": not guessed) or is about the sale."""
    for prev in reversed(clauses[:i]):
        first = _OBJECT_WORD.search(low, prev.start, prev.end)
        if first is None:
            continue
        if prev.sale or _OBJECT_WORD.search(low, first.end(), prev.end):
            return None
        return _unknown_name(text, low, prev.start, prev.end, custom)
    return None


def _clause_at(clauses: list[_Clause], pos: int) -> _Clause:
    return next((c for c in clauses if pos < c.end), clauses[-1])


def _place_needed(clauses: list[_Clause]) -> None:
    """Each customer's date to the clause of its need word ("By Q3, they need SCIM"), unless
    the date's own clause is a promise of ours ("we'll have it by Q3, they need SCIM"). A date
    tied to no need word stays in its clause ("Nice to have: offline mode by Q1")."""
    entries = [entry for c in clauses for entry in c.needed]
    for c in clauses:
        c.needed = ()
    for entry in entries:
        origin = _clause_at(clauses, entry[0])
        home = origin if entry[3] < 0 else _clause_at(clauses, entry[2])
        if home is not origin and origin.promise:
            continue
        home.needed += (entry,)


def _split_past(
    low: str, clauses: list[_Clause], i: int, cues: list[re.Match[str]], future: int
) -> None:
    """A clause with a delivery already made and a promise still to come, cut at the " and " or
    comma between the two: "We shipped SSO last year and will have SCIM by Q1", "SSO shipped
    last year and SCIM will be ready by Q1" (SSO delivered, SCIM promised)."""
    c = clauses[i]
    past = next(
        m.start("past")
        for m in cues
        if m.lastgroup == "past" and c.start <= m.start("past") < c.end
    )
    lo, hi = (past, future) if past < future else (future, past)
    if past < future:  # the last joint before the promise
        cut = max(low.rfind(" and ", lo, hi), low.rfind(", ", lo, hi))
    else:  # the first one after it
        found = [k for k in (low.find(" and ", lo, hi), low.find(", ", lo, hi)) if k >= 0]
        cut = min(found) if found else -1
    if cut < 0:
        return
    joint = 5 if low.startswith(" and ", cut) else 2
    first, second = replace(c, end=cut), replace(c, start=cut + joint)
    done, promised = (first, second) if past < future else (second, first)
    done.promise = False
    promised.past = False
    clauses[i : i + 1] = [first, second]


# Promise cues that speak of the future: a delivery already made in their clause does not
# take them back ("we shipped SSO and will have SCIM by Q1").
_FUTURE_CUES = ("will", "shall", "going", "we", "deliver", "shipping", "adding", "building", "get")
# Cues that are a promise only with a date in their clause, and only when ours: "ETA for SCIM
# is Jan 2027", "SCIM goes GA in Q1", "SCIM lands in Q1", "SCIM is slated for Q2", "SCIM is
# scheduled for Q2", "we have SSO planned for March". `_ours` answers `_DATED` for them.
_DATED_CUES = (
    "eta", "land", "slated", "goes ", "going ga", "going live", "go ", "scheduled", "planned",
    "coming", "releas", "launch", "targeted", "track", "pencil", "confirmed", "on the roadmap",
    "on our roadmap", "told", "informed", "let ", "aim", "said", "plan", "targeting", "shooting",
    "locked", "done deal", "gave", "shared", "expect", "come", "follow", "can ",
)  # fmt: skip
# Cues that start like a dated one and promise without a date: "confirmed with the customer",
# "on the roadmap for them".
_UNDATED_FORMS = ("confirmed ", "on the roadmap for ", "on our roadmap for ", "locked in ", "gave ")
_DATED = "dated"
_DATED_HEADS = frozenset(cue[:2] for cue in _DATED_CUES)
# Service boilerplate, not a product ("committed to your success", "guarantee your
# satisfaction", "a dedicated CSM", "a long-term partnership"): no promise of a feature.
_SERVICE_WORDS_TEXT = """success satisfaction excellence partnership partnerships relationship
    relationships csm csms tam tams privacy safety"""
_SERVICE_WORDS = frozenset(_SERVICE_WORDS_TEXT.split())


# Who or what a promise cue is about, read only around the cue (a few per deal): the sale
# itself ("we'll build a business case", "plan to sign by Q1", "committed to closing this"),
# a condition ("if we had SCIM by Q1 they would sign"), or someone else's work or word
# ("their team will build", "the competitor promised them") is no promise of ours.
_SALE_EVENTS_TEXT = """sign signs signed signing signature close closes closed closing decision
    decisions decide decides deciding contract contracts po pos purchase purchasing procurement
    budget approval approvals approve approved renewal renew renews legal redlines paperwork
    go-live golive kickoff kick-off review reviews poc pilot trial questionnaire rfp"""
_SALE_EVENTS = frozenset(_SALE_EVENTS_TEXT.split())
# The sale's own schedule before a date cue: "we'll revisit next quarter", "follow-up meeting
# next month about SCIM", "let's reconnect by Q1 on SSO", "check in next quarter".
_SCHEDULE_WORDS_TEXT = """revisit revisiting reconnect reconnecting follow follow-up follow-ups
    followup followups meeting meetings meet meets call calls check check-in check-ins checkin
    catch-up catchup sync syncs regroup touch touch-base touchpoint circle discuss discussing
    discussion talk talks chat demo demos workshop session sessions qbr"""
_SCHEDULE_WORDS = frozenset(_SCHEDULE_WORDS_TEXT.split())
# Its words as `str.split` leaves them, with the punctuation that may follow ("Next quarter:
# SCIM call.").
_SCHEDULE_AFTER = frozenset(
    word + tail for word in _SCHEDULE_WORDS for tail in ("", ".", ",", ";", ":", ")", "!", "?")
)
_SALE_TIMES = _SALE_EVENTS | _SCHEDULE_WORDS
# The words after "decision" that make it no event of the sale (`_ours`).
_DECISION_NOT_SALE = frozenset(("criteria", "criterion", "maker", "makers"))
# Objects of "build", "have", "provide", "committed to" that are part of selling, not product.
_SALE_OBJECTS_TEXT = """plan plans case cases roi model models workspace workspaces environment
    environments sandbox walkthrough walkthroughs walk-through presentation presentations
    training trainings onboarding kickoff board exec execs executive executives leadership
    business plan roadmap-review rollout migration timeline proposal deck slides"""
_SALE_ITEMS_TEXT = """contract contracts call calls meeting meetings quote quotes proposal
    proposals pricing price prices discount discounts decision demo demos follow-up followup
    email emails deck answer answers eta etas update updates response responses reply timeline reference
    references sow msa invoice redlines paperwork questionnaire trial credit credits refund
    signature deadline intro introduction callback slot visit dinner lunch workshop session
    sessions review reviews feedback summary recap notes agenda draft budget approval renewal
    term terms seat seats license licenses licence licences deal deals nda loi poc pilot program
    programs programme"""
_SALE_OBJECTS = (
    frozenset(_SALE_OBJECTS_TEXT.split())
    | _SALE_EVENTS
    | frozenset(_SALE_ITEMS_TEXT.split())
    | _SERVICE_WORDS
)
# "the best service", "excellent customer support": service praised, not a thing delivered.
_SERVICE_NOUNS = frozenset(("service", "services", "support", "experience", "care"))
_PRAISE_TEXT = """best great excellent outstanding exceptional superior first-class
    world-class top-notch high-quality quality white-glove possible customer priority premium
    dedicated named enterprise standard vip 24/7"""
_PRAISE = frozenset(_PRAISE_TEXT.split())
# "your data is safe", "it stays secure": a state guaranteed, not a thing delivered.
_STATES = frozenset(("safe", "secure", "protected", "private", "confidential"))
_STATE_VERBS = frozenset(("is", "are", "be", "stays", "stay", "remains", "remain", "kept"))
# Standard terms named in a promise clause ("uptime per our standard SLA"): no new promise.
_STANDARD_TERMS = re.compile(
    r"(?<![a-z0-9])per (?:our|the) (?:(?:standard|usual|normal|regular|default|existing) )?"
    r"(?:slas?|service level agreement|support (?:policy|terms|plan)|terms of service|"
    r"terms and conditions)(?![a-z0-9])"
)
# Leading words skipped before the object: "build them a custom ...", "committed to weekly ...".
_OBJECT_LEAD_TEXT = """a an the their our its your some them him her us you me to weekly daily
    monthly regular quick short full new custom proper detailed joint dedicated formal written"""
_OBJECT_LEAD = frozenset(_OBJECT_LEAD_TEXT.split())
_REPORTS_TEXT = "report reports summary summaries update updates readout"
_REPORTS = frozenset(_REPORTS_TEXT.split())
_BOARD = re.compile(r"(?<![a-z0-9])(?:board|exec(?:utive)?s?|leadership|c-?suite|cfo|ceo|cio)\b")
_THEIR_SUBJECT = re.compile(
    r"(?<![a-z0-9])(?:they|their|customer|client|partners?|integrators?|si|he|she|vendor)"
    r"(?![a-z0-9])"
)
# Words for what the customer needs or asks for, around a date cue (`_ours`); "we need to
# ship it by Q1" (`_OUR_SUBJECT` before "<word> to") is our word, not theirs.
_NEEDED_BY_SOURCE = (
    r"(?<![a-z0-9])(?:needs?|needed|requires?|required|requirements?|wants?|wanted|"
    # (not what we told them to expect: "Told them to expect SCIM in Q1", "they can expect")
    # (nor our own forecast: "We expect SCIM in Q2", a hedged promise, `_PROMISE`)
    r"(?<!to )(?<!can )(?<!we )(?<!i )(?:expects?|expected|expecting)|expectations?|requests?"
    r"|requested|requesting|demands?|"
    r"demanded|must[- ]haves?|deadline|hoping|hopes?|ideally(?! (?:we|i|sooner|earlier)(?![a-z0-9]))|reqs?|blockers?|wish ?list|criteria|criterion"
    # their wish after the feature and its date: "SCIM by Q2 preferred", "... if possible",
    # "... would be ideal for them"
    r"|(?<!we )(?<!i )preferred|pref(?:'d|\u2019d)?|would be ideal"
    # ... or labelled: "Their ask: SCIM by Q2", "P0: SCIM by Q2" (their top requirement)
    r"|asks?(?=:)|p[01](?=:)"
    # their threat or condition: "They will churn without SCIM by Q2", "Deal contingent on
    # SCIM by Q1", "SCIM by Q1 is a condition of signing"
    r"|(?:churn|walk(?: away)?|leave|cancel) without|contingent on|conditional on"
    r"|condition (?:of|for) (?:signing|signature|the deal|closing|close|purchase|renewal)"
    r"|(?:(?<!we )would |(?<!we')(?<!we\u2019)(?<=['\u2019])d )love(?: to have)?"
    r"|(?<!we )(?<!i )must be (?:ready|available|live|delivered|in place|done|shipped)"
    # what they care about: "They care about SCIM by January", "they only care about SSO"
    r"|(?<!we )(?<!i )(?:cares?|caring) (?:(?:most|mostly|only|really|a lot) )?about"
    # pressed for by them: "Customer is pushing for SCIM by Q1", "Their CISO insists on SCIM"
    r"|push(?:es|ed|ing)? (?:hard |us )?for|insist(?:s|ed|ing)? on"
    # their ask after its date: "Pushed back on the SCIM by Q2 ask"
    r"|(?<=[0-9] )asks?(?= |[.,;:!?)]|$)"
    # ... or relied on: "They are counting on SCIM for Q2" (not ours: "We're counting on SCIM")
    r"|(?<!we )(?<!we're )(?<!we\u2019re )(?<!we are )(?<!i'm )(?<!i\u2019m )(?<!i am )(?<!you can )"
    r"(?:count(?:s|ed|ing)?|rel(?:y|ies|ied|ying)) on"
    # "SCIM is a must for them by Q1", "Dealbreaker: no SCIM by Q1", "SCIM by Q1 is
    # non-negotiable" (not "must-have" again, nor "we must")
    r"|(?:(?<=a )|(?<=an absolute )|(?<=absolute )|(?<=hard ))must|must(?=:)"
    # ... as a bracketed mark after the feature: "SCIM (must, by Q2)", "SCIM (must by Q2)"
    r"|(?<=\()must(?=[,;)]| by | before )"
    r"|deal[- ]?breakers?|show[- ]?stoppers?|non[- ]?negotiables?|mandatory|no-go"
    r"|critical(?= for (?:them|him|her|the customer|the client|their))"
    # said of the feature and its date: "SCIM by Q1 is critical" (not "the critical SCIM fix")
    r"|(?:(?<=is )|(?<=are ))(?:critical|crucial|essential|vital))"
    r"(?![a-z0-9])(?P<to> to)?"
)
_NEEDED_BY = re.compile(_first_char_class(_NEEDED_BY_SOURCE) + _NEEDED_BY_SOURCE)
# Its words as `str.split` leaves them (with the punctuation that may follow), for a quick
# look before the search.
_NEEDED_WORDS_TEXT = """need needs needed require requires required requirement requirements
    want wants wanted expect expects expected expecting expectation expectations request requests
    requested requesting demand demands demanded must must-have must-haves deadline hoping hope
    hopes ideally love req reqs blocker blockers wishlist list push pushes pushed pushing insist
    preferred pref pref'd pref’d ideal ask: asks: p0: p1: churn walk leave cancel contingent
    conditional condition
    insists insisted insisting ask asks count counts counted counting rely relies relied relying dealbreaker dealbreakers deal-breaker deal-breakers breaker breakers
    showstopper showstoppers show-stopper show-stoppers stopper stoppers non-negotiable
    non-negotiables nonnegotiable mandatory no-go critical crucial essential vital criteria
    criterion care cares caring"""
_NEEDED_WORDS = frozenset(
    head + word + tail
    for word in _NEEDED_WORDS_TEXT.split()
    for head in ("", "(")  # "SCIM (must, by Q2)"
    for tail in ("", ".", ",", ";", ":", ")", "!", "?", '"')
)
# A feature listed after a sale item as a second object of the promise ("We promised them a
# discount and SCIM by Q3", "committed to 200 seats plus SCIM"): the joint before it, and
# the words after it that show a clause of its own instead ("..., and SCIM came up").
_LIST_JOINT = re.compile(r"(?:,| and| plus| as well as| &)(?: also| the| a| an| full| working)* $")
_OWN_CLAUSE_TEXT = """is was are were came comes come got gets has had have will would wo
    needs need needed discussed mentioned raised asked question questions requested"""
_OWN_CLAUSE = frozenset(_OWN_CLAUSE_TEXT.split())
_ABOUT_NOUNS_TEXT = "docs documentation overview info details roadmap faq guide"
_ABOUT_NOUNS = frozenset(_ABOUT_NOUNS_TEXT.split())


def _listed_with(low: str, e: int, end: int, names: list[Mention]) -> bool:
    """Whether a feature is the next object of the promise whose object, after low[e], is a
    sale item: listed after it with a joint, the sale item's words no more than a few and
    none that starts something else ("a follow-up call to discuss pricing and SCIM")."""
    n = next((n for n in names if e < n.start < end), None)
    if n is None or n.start - e > 60:
        return False
    joint = _LIST_JOINT.search(low, e, n.start)
    if joint is None:
        return False
    words = low[e : joint.start()].split()
    while words and words[0] in _OBJECT_LEAD:  # "committed to", "promised them"
        del words[0]
    if len(words) > 6 or any(w.strip(_STRIP) in _OBJECT_STOP for w in words):
        return False
    after = low[n.end : min(end, n.end + 24)].split()
    if not after:
        return True
    word = after[0].strip(_STRIP).split("'")[0]
    # not a clause of its own, nor a sale item about the feature ("a demo and SCIM overview")
    return word not in _OWN_CLAUSE and word not in _SALE_OBJECTS and word not in _ABOUT_NOUNS


# The customer as the subject of "promised", "committed", "guaranteed" (active; "they were
# promised SCIM" is ours): their promise, to their board or to us, is none of ours.
_THEIR_PROMISER = re.compile(
    r"(?<![a-z0-9])(?:they|(?:their|the customer['\u2019]s|the client['\u2019]s) [a-z-]+"
    r"|(?:the )?(?:customer|client|prospect)(?:['\u2019]s [a-z-]+)?)(?:['\u2019]ve)? "
    r"(?:(?:have|has|had|also|already|just|then|now|publicly|internally|verbally|formally) )*$"
)
# The contract's own terms: what a contract cue is about when its clause names no feature
# ("Roadmap disclaimer added to the MSA", "Liability cap is in the contract").
_CONTRACT_TERMS_TEXT = """disclaimer disclaimers clause clauses language terms indemnity
    indemnification liability payment pricing price discount renewal termination sla slas
    uptime warranty warranties nda dpa exhibit addendum redline redlines cap caps"""
_CONTRACT_TERMS = frozenset(_CONTRACT_TERMS_TEXT.split())
# Verbs of bending the roadmap for a deal, as a promise cue ends with them (`_ours`).
_STEERING = (
    "ensure", "prioritize", "prioritise", "fast-track", "fast track", "fasttrack", "expedite",
    "accelerate",
)  # fmt: skip
# How the cues ending in `_STEERING` or "be included" begin: "will", "we'll", "shall", "going".
_WILL_HEADS = frozenset(("wi", "we", "sh", "go"))
_STEERING_FILLER_TEXT = "the a an up them our that work on building delivering shipping getting"
_STEERING_FILLER = frozenset(_STEERING_FILLER_TEXT.split())
_THEIR_VERB_HEADS = frozenset(("co", "pr", "gu", "ag", "si"))
# The customer asking for our word: "They want us to commit", "the customer needs a
# commitment", "their CIO asked for a guarantee", "They tried to get us to commit", "They
# pushed us for a commitment".
_THEIR_REQUEST = re.compile(
    r"(?<![a-z0-9])(?:they|(?:their|the customer['\u2019]s|the client['\u2019]s) [a-z-]+"
    r"|(?:the )?(?:customer|client|prospect))(?:['\u2019](?:re|ve))? (?:are |is |have |has )?"
    r"(?:still |really |also )?(?:want(?:s|ed|ing)?|need(?:s|ed|ing)?|ask(?:s|ed|ing)?"
    r"|expect(?:s|ed|ing)?|requir(?:e|es|ed|ing)|request(?:s|ed|ing)?|push(?:es|ed|ing)?"
    r"|insist(?:s|ed|ing)?|press(?:es|ed|ing)?|tr(?:y|ies|ied|ying) to get)"
    r"(?: (?:us|you))?(?: (?:for|on))?(?: to)?(?: (?:a|an|some|our|your|firm|"
    r"written|formal))* $"
)
# The customer's own step with a feature (`_ours`): its date is their plan, no promise of ours.
_THEIR_OWN_ACTION = re.compile(
    r"(?<![a-z0-9])(?:they|(?:the )?(?:customer|client|prospect)|their [a-z-]+(?: team)?"
    # "Customer's own team will build SCIM support by Q2", "the client's IT team will ..."
    r"|(?:the )?(?:customer|client|prospect)['\u2019]s (?:own )?(?:[a-z-]+ )?team"
    # a plan's item: "Customer to enable audit log by Q1", "Cust to configure SSO by EOM"
    r"|cust)"
    # ("shall": a contract's clause pasted in: "Customer shall configure the audit log by Q1")
    r"(?:['\u2019]ll| will| shall| plan to| are planning to| are going to| intend to| expect to"
    r"| hope to| to)(?: (?:then|also|likely|probably|first))? (?:enable|roll out|turn on|switch on"
    r"|activate|start using|use|evaluate|deploy|adopt|implement|configure|set up|test|pilot"
    r"|trial|migrate to|integrate|build|develop|create|write|code|provide|send|share|supply"
    r"|prepare)(?![a-z0-9])"
)
# Work done on the customer's side (`_our_word`).
_THEIR_SIDE = re.compile(
    r"(?<![a-z0-9])(?:on (?:their|the customer['\u2019]s|the client['\u2019]s) (?:own )?(?:end|side)"
    r"|in-house|in house)(?![a-z0-9])"
)
# What they will have done with the feature after "will have": "will have SSO configured".
_THEIR_SETUP_AFTER = re.compile(
    r"(?: [a-z0-9-]+){1,4} (?:configured|set up|enabled|deployed|rolled out|turned on"
    r"|integrated|implemented|installed|tested|piloted)(?![a-z0-9])"
)
# Our yes to their request for our word, later in the sentence: "They asked us to commit to
# SCIM by Q2 and we did", "They want a guarantee on SCIM; we gave it".
_GRANTED = re.compile(
    rf"(?:,? (?:and|so|which)|;|,) (?:we|i)(?: have)? (?:did|agreed(?: to it)?|said {_YES}"
    r"|confirmed(?: it)?|gave (?:it|one|them one|our word)|committed(?: to it)?)(?![a-z0-9])"
    r"(?! not| never)"
)
# A word of `_THEIR_PROMISER` and `_THEIR_REQUEST` as `str.split` leaves it (only these can
# start one).
_THEIR_WORDS_TEXT = """they they've their customer customer's customer’s client client's
    client’s prospect prospect's cust"""
_THEIR_WORDS = frozenset(_THEIR_WORDS_TEXT.split())
# Our own team asked to commit or deliver ("get product to commit to SCIM", "asked
# engineering to deliver SCIM by Q2"): before the cue, in its clause. Its team words, as
# `str.split` leaves them, are looked for first.
_INTERNAL_ASK_WORDS_TEXT = """product pm pms manager managers engineering eng r&d dev devs
    developers leadership management cto cpo"""
_INTERNAL_ASK_WORDS = frozenset(_INTERNAL_ASK_WORDS_TEXT.split())
_INTERNAL_ASK = re.compile(
    r"(?<![a-z0-9])(?:get|getting|got|ask|asked|asking|need|needs|want|wants|push|pushing"
    r"|pushed|chase|chasing|escalate[ds]?|escalating|waiting for|waiting on)"
    r"(?: the)? (?:product|pm|pms|product managers?|engineering|eng|r&d|dev|devs|developers"
    r"|leadership|management|our cto|the cto|cto|cpo|vp product)(?: team| org)?"
    r" to "
)
# An approval of our own still to come, before the promise or after it: "Awaiting approval to
# commit to SCIM by Q2", "Need approval before promising SCIM", "Pending: product approval for
# SCIM by Q2 commitment", "SCIM commitment pending product sign-off". The promise is not made
# yet: no commitment, and its date is the sale's (`_ours`).
_APPROVAL_WORDS = (
    "approv",
    "sign-off",
    "signoff",
    "sign off",
    "go-ahead",
    "go ahead",
    "permission",
)
_PENDING_APPROVAL = re.compile(
    r"(?<![a-z0-9])(?:need(?:s|ed)?|pending|awaiting|await(?:s|ing)?|waiting (?:on|for)"
    r"|request(?:s|ed|ing)?|ask(?:s|ed|ing)? for|seek(?:s|ing)?|sought):?"
    r"(?: (?:a|an|the|our|product|exec|executive|deal desk|vp|legal|internal|formal|final"
    r"|[a-z]+['\u2019]s))* (?:approval|sign[- ]?off|go[- ]?ahead|permission)"
    r"(?: from (?:[a-z&-]+ ){0,2}[a-z&-]+)?(?:(?::| -| \u2013| (?:to|for|before|on))"
    r"(?: [^\s.;:!?]+){0,5})? $"
    # a request to approve it: "Deal desk request: approve SCIM commitment by Q2", "Asking
    # deal desk to approve SCIM Q2 promise", "Approval request: 15% discount + SCIM commitment"
    r"|(?<![a-z0-9])approve(?: [^\s.;:!?]+){0,5} $"
    r"|(?<![a-z0-9])(?<!customer )(?<!their )(?<!client )(?<!customer's )"
    r"(?:approval|sign[- ]?off) (?:req(?:uest)?|needed|pending)s?:?"
    r"(?: [^\s.;:!?]+){0,6} $"
)
_PENDING_AFTER = re.compile(
    r"s?(?: is| are)?(?: still)? (?:pending|awaiting|waiting (?:on|for)|needs (?:approval"
    r"|sign-?off))(?![a-z0-9])"
)
# After a date: "or they walk", "or no deal", "otherwise they won't sign", "else we lose it".
_ULTIMATUM_LEADS = frozenset((",", "or", "otherwise", "otherwise,", "else", "or,"))
_ULTIMATUM = re.compile(
    r",? (?:or|otherwise|else),? (?:they|the customer|the client|we lose|we'll lose|no deal"
    r"|it'?s a no|the deal)(?![a-z0-9])"
)
# Their ultimatum before a feature: "They can't sign without SCIM by Q1", "won't renew without".
_CANT_WITHOUT = re.compile(
    r"(?<![a-z0-9])(?:can(?:no|['\u2019])?t|cannot|won['\u2019]?t|will not"
    r"|would(?:n['\u2019]?t| not)|unable to|no deal)(?: [a-z-]+){0,3} without "
)
_OUR_SUBJECT = re.compile(r"(?<![a-z0-9])(?:we|i)(?:['\u2019](?:re|ve|m)| are| am| have)? ")
# Someone else's word or work: a competitor's, a partner's, another company's rep ("Okta rep
# promised them SCIM by Q1"; not ours: "our rep", "the rep", "the sales rep", "the previous
# rep").
_THIRD_PARTY = re.compile(
    r"(?<![a-z0-9])(?:competitors?|competition|incumbents?|rivals?|vendors?|partners?"
    r"|resellers?|(?:systems? )?integrators?|consultants?|consultancy|msps?"
    r"|(?!(?:our|my|the|a|an|sales|account|field|inside|regional|their|his|her"
    # ours before us: "The previous rep promised SSO by Q3", "the former rep committed"
    r"|previous|prior|former|old|original|outgoing|last|new) )"
    r"[a-z0-9][a-z0-9-]* reps?)(?![a-z0-9])"
)
# A word of it in the words before a cue, for a look before the search (one search: ten `in`
# tests in a generator cost twice as much).
_THIRD_PARTY_HINT = re.compile(
    r"compet|vendor|incumb|rival|partner|resell|integrat|consult|msp| rep"
)


# Vendors a customer's notes name as third parties (identity providers, platforms, systems
# integrators), as the subject of a word of theirs (`_our_word`).
_VENDORS = (
    "okta|microsoft|azure|entra|google|workday|onelogin|ping identity|pingidentity|jumpcloud"
    "|sailpoint|servicenow|snowflake|databricks|aws|amazon|deloitte|accenture|kpmg|pwc"
    "|capgemini|atlassian|zendesk"
)
_VENDOR_HINT = re.compile(_VENDORS)
_VENDOR_SUBJECT = re.compile(
    rf"(?<![a-z0-9])(?:{_VENDORS})(?:['\u2019]s(?: [a-z-]+){{0,2}})?(?: \([^)\n]{{0,40}}\))?"
    r" (?:(?:also|already|now|just) )?(?:will|['\u2019]ll|shall|is going to|are going to"
    r"|promised|committed|confirmed|told|said|says|plans? to|is planning to|expects? to"
    r"|announced|ships|releases|launches)(?![a-z0-9])"
)


# The customer reporting what they heard of our roadmap ("They told us SCIM releases in Q2",
# "Customer said SCIM ships in Q2", "Their CTO thinks SCIM is slated for Q2"): their word, not
# ours, as another company's rep's is (`_THIRD_PARTY`). Its subject's words are
# `_THEIR_WORDS`, looked for first (not "he", "she": our own rep may be meant), or "according"
# and "per" ("According to them, SCIM ships in Q2").
_THEIR_REPORT = re.compile(
    r"(?<![a-z0-9])(?:(?:they|(?:their|the customer['\u2019]s|the client['\u2019]s) [a-z-]+"
    r"|(?:the )?(?:customer|client|prospect)(?:['\u2019]s [a-z-]+)?)(?:['\u2019]ve)?"
    r"(?: (?:have|has|had|also|just|then|already|apparently|originally|initially|is|are|was"
    r"|were|still))*"
    r" (?:told (?:us|me)|said|says|mentioned|heard|hear|read|think|thinks|thought"
    r"|believe[sd]?|claim(?:s|ed)?|understand|understands|understood"
    # their hope or assumption, even of our word: "Customer hopes we'll have SCIM by Q2",
    # "They assumed SCIM would be ready by Q2" (`wish`: our subject after it is still theirs)
    r"|(?P<wish>hop(?:e|es|ed|ing)|wish(?:es|ed|ing)?|assum(?:e|es|ed|ing)))"
    # "Corrected their assumption that SCIM ships in Q2"
    r"|(?:their|the customer['\u2019]s|the client['\u2019]s) (?P<wish_noun>assumption|impression"
    r"|understanding|belief|hope|wish)"
    # "According to the customer, SCIM ships in Q2", "Per their CTO, ..."
    r"|(?:according to|per) (?:them|their [a-z-]+|(?:the )?(?:customer|client|prospect)"
    r"(?:['\u2019]s [a-z-]+)?))(?![a-z0-9])"
)
# The cues such a report repeats: a feature's date said of it ("SCIM ships in Q2", "SCIM
# will be ready by Q2", "SCIM by Q2"), not a promise word ("They said we promised SCIM",
# "Customer said they were promised SCIM by Q2": a promise of ours, alleged) nor ours told.
_REPORTED_CUES = ("will ", "shall ", "going to ", "ship", "by ", "before ", "next ", "no later")
# What may end a report that is a clause of its own ("They told us: SCIM releases in Q2").
_REPORT_JOINTS_TEXT = " :-\u2013\u2014"
_REPORT_JOINTS = frozenset((":", "-", "\u2013", "\u2014"))


# How a future "be ready" cue ends ("will be live", "will be ready"): the customer's when they
# are its subject (`_CUSTOMER_BEFORE`): "They will be live in Q2 and need SCIM".
_BE_READY = ("be ready", "be live", "be ga", "be generally available", "be available", "be done")
_CUSTOMER_BEFORE = re.compile(
    r"(?:^|[^a-z0-9'\u2019])(?:they|he|she|(?:the |their )?(?:customer|client|prospect)s?"
    r"|their(?: [a-z-]+){1,2})(?: (?:already|also|still|probably|likely|definitely))? $"
)
# How a future launch or release cue ends ("will launch", "going to be released"): said by
# us or of a feature only (`_launch_ours`), as the customer's launch is theirs.
_LAUNCHES = ("launch", "release", "launched", "released")


def _launch_ours(low: str, s: int, a: int, cue: str, names: list[Mention]) -> bool:
    """Whether the future launch or release cue `cue` at low[s] (clause start `a`) is said
    of a feature named right before it ("SCIM will launch in Q2", "SCIM is going to be
    released in Q2") or by us ("We will launch SCIM in Q2", "I will release it"), not of
    another subject ("They will launch in Q2", "Their app will launch in Q2", "The SCIM
    rollout will launch in Q2")."""
    words = low[max(a, s - 40) : s].split()
    if not words:
        return False
    if words[-1] in ("we", "i"):
        return True
    k = len(low[:s].rstrip())
    if cue.startswith("going") and words[-1] in ("is", "are"):
        k = len(low[: k - len(words[-1])].rstrip())
    elif cue.startswith("going") and words[-1].endswith(("'s", "\u2019s")):
        return any(m.end in (k, k - 2) for m in names)  # a name may hold its "'s"
    return any(m.end == k for m in names)


# The customer's own subject before "will ship" (`_their_ship`), as `str.split` leaves it.
_THEIR_SHIPPERS = frozenset(("customer", "client", "prospect"))
_THEY = frozenset(("they", "they're", "they\u2019re"))
# What may stand between the subject and the verb ("They are already shipping in Q2", "They
# already will ship their app in Q2", "They will still be shipping"), as `str.split` leaves it.
_NOW_ADVERBS = frozenset(("already", "currently", "still", "now", "also"))
# The subject left out after "and" (`_their_ship`): the customer's, before a need word that
# opens the clause ("They need SCIM and will ship their app in Q2").
_LEFT_OUT_SUBJECT = re.compile(
    r"[^a-z0-9]*(?P<subject>they|(?:the )?(?:customer|client|prospect)|their [a-z-]+)"
    r"(?: (?:already|currently|still|now|also|really))? "
)
# What stands right before "shipping" in the customer's shipping now ("They are shipping in
# Q2", "They're shipping", "The customer is shipping", "They are already shipping"; "will be
# shipping": "be ", also "will be already shipping").
_SHIPPING_NOW = tuple(
    f"{verb}{adverb}"
    for verb in (" is ", " are ", "'re ", "\u2019re ", " be ")
    for adverb in ("", *(f"{w} " for w in sorted(_NOW_ADVERBS)))
)


# The joints of `_CLAUSE` after which a clause opening with its verb leaves out the subject of
# the clause before ("They need SCIM but will ship their app in Q2", "... though go live in Q2",
# "... whereas will ship their app in Q2").
_LEFT_OUT_JOINTS = (" but ", " though ", " although ", " whereas ")


def _left_out_lead(low: str, a0: int, a: int) -> int:
    """Where the clause before opens (within the sentence from `a0`) when the clause at low[a]
    follows one of `_LEFT_OUT_JOINTS`, whose subject a clause opening with its verb leaves out;
    -1 otherwise."""
    joint = next((j for j in _LEFT_OUT_JOINTS if low.endswith(j, a0, a)), None)
    if joint is None:
        return -1
    lead_at = a0
    for m in _CLAUSE.finditer(low, a0, a - len(joint)):
        lead_at = m.end()
    return lead_at


def _their_ship(
    low: str, s: int, e: int, a: int, names: list[Mention], a0: int, b: int, c: _Clause
) -> bool:
    """Whether the "ship" cue low[s:e] ("will ship", "will be shipping in", "are shipping in",
    "ship in"; clause start `a`, sentence low[a0:b]) is the customer's shipping of their own
    product: their subject right before it ("The customer will ship their app in Q2", "Their
    app will ship in Q2", "They won't be shipping in Q2", "They are shipping in Q2", "They ship
    in Q2", "The customer ships in Q2"; "they" only with a need of theirs in the sentence:
    "They will ship in Q2 and need SCIM", as "they" may be our own team: "Talked to product,
    they will ship in Q2"), and no feature named as what is shipped ("They will ship SCIM in
    Q2" stays ours). After "and" the subject left out is the one of the need word opening the
    clause ("They need SCIM and will ship their app in Q2"), and the first "in" or "by" date
    after the cue its date (added to `c.needed`, however far from the need word)."""
    words = low[max(a, s - 40) : s].split()
    adverb = bool(words) and words[-1] in _NOW_ADVERBS
    if adverb:
        words = words[:-1]  # "They are already shipping", "They already will ship"
    if words[-1:] in (["is"], ["are"]) and low.startswith("going", s):
        words = words[:-1]  # "They are going to ship ..."
    elif low.startswith("shipping", s):
        # "They will be shipping in Q2", "They'll be shipping", "They're going to be shipping",
        # "They won't be shipping"; "They are shipping in Q2", "They're shipping" (whose
        # "they're" is read as "they")
        if words[-1:] in (["is"], ["are"]):
            words = words[:-1]
        elif words and words[-1].endswith(("'re", "\u2019re")):
            pass
        elif words[-1:] != ["be"]:
            return False
        else:
            words = words[:-1]
            if words and words[-1] in _NOW_ADVERBS:
                words = words[:-1]  # "They will already be shipping"
                adverb = True
            if words[-1:] in (["will"], ["shall"], ["won't"], ["won\u2019t"], ["wont"]):
                words = words[:-1]
            elif words[-2:] in (["will", "not"], ["shall", "not"]):
                words = words[:-2]
            elif words[-2:] == ["going", "to"]:
                words = words[:-3] if words[-3:-2] in (["is"], ["are"]) else words[:-2]
            elif words and words[-1].endswith(("'ll", "\u2019ll")):
                words[-1] = words[-1][:-3]
            else:
                return False
    elif adverb and words[-1:] in (["will"], ["shall"]) and low.startswith("ship", s):
        words = words[:-1]  # "They will already ship in Q2" (a "ship in" cue: not "will ship")
    lead_at = a  # where the clause opens whose need gives a subject left out
    if words:
        last = words[-1]
    elif (lead_at := _left_out_lead(low, a0, a)) >= 0:
        # The clause after "but" or "though" opening with the verb ("They need SCIM but will
        # ship their app in Q2"): its subject left out, as after "and", is that of the clause
        # before.
        last = "but"
    else:
        return False
    k = len(low[:s].rstrip())
    if adverb or low.startswith("shipping", s):
        k = low.rfind(last, a, s) + len(last)  # the subject's end, before "will be"
    if last == "and" or last == "but":
        # The subject left out after "and" is the one of the need it follows: "They need SCIM
        # and will ship their app in Q2" as "They will ship their app in Q2 and need SCIM";
        # not "it", the feature named before: "They need SCIM and will ship it in Q2" is ours.
        lead = _LEFT_OUT_SUBJECT.match(low, lead_at, s)
        need = None if lead is None else _NEEDED_BY.match(low, lead.end(), s)
        if need is None or low[e : e + 6].split()[:1] in (["it"], ["it."], ["it,"], ["them"]):
            return False
        words = lead["subject"].split()
        last = words[-1]
        k = lead.end("subject")
    else:
        need = None
    if last in _THEY:
        their = False
    elif last in _THEIR_SHIPPERS or (len(words) > 1 and words[-2] == "their"):
        their = not any(m.end == k for m in names)  # not "their SCIM will ship"
    else:
        return False
    if any(
        e <= m.start <= e + 32 and _OBJECT_LEAD.issuperset(low[e : m.start].split()) for m in names
    ):
        return False  # "They will ship SCIM in Q2", "They will ship the SCIM connector"
    if need is not None:
        # the first "in <date>" or "by <date>" after the cue: "... will ship their app in Q2"
        dates = [at for at, _ in _in_dates(low, s, min(b, e + 40))[:1]]
        by = low.find(" by ", s, min(b, e + 40))
        if by >= 0 and _date_at(low, by + 4, b) is not None:
            dates.append(by + 1)
        if dates:
            c.needed += ((min(dates), c.end, need.start(), need.end()),)
    if their:
        return True
    m = _NEEDED_BY.search(low, a0, b)
    while m is not None:  # a need of theirs (not "we need to ...")
        if not _in_name(m.start(), names) and not (
            m.group("to") and _OUR_SUBJECT.search(low, max(a0, m.start() - 12), m.start())
        ):
            return True
        m = _NEEDED_BY.search(low, m.end(), b)
    return False


# How far back in its clause a need word still governs a date cue, when it is not within the
# cue's 32 characters: "They need 90 days of audit log history by Q2", "They need the audit log
# (critical) and SCIM by Q2" (both were our promise by Q2: false blocks).
_NEED_REACH = 96
# Between the far need word and the cue: our own subject or word makes the date ours ("They
# need SCIM and the audit log, which we'll have by Q2").
_OWN_WORD_BETWEEN = re.compile(
    r"(?<![a-z0-9])(?:we|i|our|us|promis\w*|commit\w*|guarant\w*|will|shall|told|said)"
    r"(?![a-z0-9])|['\u2019]ll(?![a-z0-9])"
)


def _far_need(low: str, a: int, s: int, names: list[Mention]) -> bool:
    """Whether a need word of theirs opens the clause low[a:s] before a date cue at `s`, more
    than 32 characters back (`_NEED_REACH`), with no word of ours after it."""
    lo = max(a, s - _NEED_REACH)
    if _NEEDED_WORDS.isdisjoint(low[lo:s].split()):
        return False
    last = None
    for m in _NEEDED_BY.finditer(low, lo, s):
        if not _in_name(m.start(), names) and not m.group("to"):
            last = m
    return last is not None and _OWN_WORD_BETWEEN.search(low, last.end(), s) is None


_STRIP = ".,;:!?()[]\"'\u2018\u2019\u201c\u201d"
_JOINTS = ",;:-\u2013\u2014"  # what stands between two clauses


# A feature's delay as a contract's condition (`_PROMISE`'s last cues), and the remedies that
# make it one: the customer is owed something if the date is missed.
_SLIP_HEADS = ("slip", "is", "are", "get", "run", "miss", "not")
_SLIP_CUE = re.compile(
    r"slip(?:s|ped)? |(?:is|are|gets?) delayed |(?:is|runs?) late|miss(?:es|ed)? "
    rf"|{_NOT_THERE_BY}"
)
_REMEDY = re.compile(
    r"(?<![a-z0-9])(?:discount(?:s|ed)?|(?:service |sla )?credits?|penalt(?:y|ies)|refund(?:s|ed)?"
    r"|rebates?|free (?:months?|quarters?|year)|money back|liquidated damages"
    r"|terminat(?:e|ion)(?: rights?)?|right to (?:terminate|cancel|exit)|(?:out|exit|escape) clause"
    r"|walk away|cancel (?:the )?(?:contract|deal|subscription)|opt out)(?![a-z0-9])"
)

# Before a remedy: denied ("No penalty if SCIM slips", "without any credits").
_REMEDY_DENIED = re.compile(r"(?<![a-z0-9])(?:no|not|without|zero|never)(?: [a-z0-9%-]+){0,2} $")


# The customer's own custom work, right before "custom": "their (own) custom connector", "They
# have a custom integration", "the customer's custom app", "an in-house custom script".
_THEIR_CUSTOM = re.compile(
    r"(?:(?<![a-z0-9])their|(?<![a-z0-9])(?:they|customer|client|the customer|the client)"
    r"(?:['\u2019]ve| have| has| had| use| uses| used| built| run| runs| maintain| maintains"
    r"| wrote| developed)(?: (?:built|got|written|developed))?(?: an?| their| some)?"
    r"|['\u2019]s|in-house(?: an?)?|homegrown|home-grown)(?: own)? $"
)
# Someone's word to us ("Product told us", "PM told me", "We were told", "I've been told").
_TOLD_TO_US = re.compile(
    r"(?<![a-z0-9])(?:(?:told|informed|assured) (?:us|me)|(?:we|i)(?: were| was| have been"
    r"|['\u2019]ve been| had been) (?:told|informed|assured))(?![a-z0-9])"
)
# Right before a word of telling: the customer told, in the passive ("The customer was told
# SCIM would ship in Q2"), by us; not "we were told" (by someone else).
_PASSIVE_TOLD = re.compile(
    r"(?<![a-z0-9])(?<!we )(?<!i )(?<!we've )(?<!we have )(?<!i've )(?<!i have )"
    r"(?:was|were|been) $"
)


def _remedy_agreed(low: str, a: int, b: int) -> bool:
    """Whether the sentence low[a:b] holds a remedy for a delay that is agreed: not denied
    right before it ("No penalty if ..."), not their ask ("They want an exit clause if ...")."""
    for m in _REMEDY.finditer(low, a, b):
        if _REMEDY_DENIED.search(low, max(a, m.start() - 24), m.start()) is not None:
            continue
        if _CONTRACT_ASKED.search(low, a, m.start()) is not None:
            continue
        return True
    return False


# Opening its sentence (`_ours`): "As promised, ...", "As we promised on the call, ..."
_AS_PROMISED = re.compile(r"[\s>*\u2022-]*as (?:(?:we|i) )?(?:previously |earlier )?$")


# Before "vendor" as a plan's or contract's subject: nothing, or a label ("SOW: ", "- ").
_VENDOR_LEAD = re.compile(r"[\s>*\u2022-]*(?:[a-z0-9 ]{1,30}:\s*)?")


def _ours(
    low: str,
    s: int,
    e: int,
    c: _Clause,
    custom: bool,
    names: list[Mention],
    a0: int,
    b: int,
    date_cue: bool = False,
) -> bool | str:
    """`_our_word`, unless the cue repeats someone's word to us (`_told_to_us`)."""
    if low.startswith("confirmed ", s) and _NEEDED_BY.search(low, e, b) is not None:
        # what they need, confirmed with them: "Confirmed w/ cust: they need SCIM by Q2",
        # "Confirmed with the customer: SSO needed day one"
        return False
    if low.startswith("promised", s) and _AS_PROMISED.match(low, a0, s):
        # "As promised, I've attached the SCIM spec": an email's opener for what it delivers
        # (a promise cue of its own still counts: "As promised, SCIM will ship in Q1")
        return False
    got = _our_word(low, s, e, c, custom, names, a0, b, date_cue)
    if got and _told_to_us(low, s, c.start, b):
        return False
    if got and not date_cue and _their_line(low, s):
        return False  # "Customer: we'll have the audit log turned on by Q1": their "we"
    if (
        got
        and low.startswith(("promised", "committed", "guaranteed"), s)
        and _PASSIVE_TOLD.search(low, max(a0, s - 16), s) is not None
        and _TOLD_BY_OTHERS.search(low, e, c.end) is not None
    ):
        return False  # "SCIM was promised by a competitor for Q1": not by us
    return got


# The customer's side labelling a transcript's line: "Customer:", "Them:", "Sarah (customer):",
# "Jane (Acme CTO):", "[00:12:10] Prospect -" (our side's labels: `_OUR_ROLE_LABEL`).
_THEIR_LABEL = re.compile(
    r"[ \t*>\u2022-]*(?:\[[0-9:]{4,8}\]\s*)?(?:from )?(?:(?:the )?(?:customer|client|prospect|buyer"
    # ... their e-mail pasted: "Customer email:", "Customer wrote:", "Email from the customer:"
    r"|cust)(?:['\u2019]s)?(?: (?:e-?mail|reply|wrote|message|note|quote|said))?|them|they"
    r"|(?:e-?mail|reply|message) from (?:the )?(?:customer|client|prospect|buyer|cust)"
    # ... their role's words: "Their CTO wrote:", "Their CISO said:", "Their IT lead:"
    r"|their (?:[a-z0-9&.'-]+ )?(?:cto|cio|ciso|cfo|ceo|coo|vp(?: [a-z]+){0,2}|it admin|it lead"
    r"|admin|champion|procurement|legal|security|director(?: [a-z]+){0,2}|head of [a-z]+"
    r"|architect|it team|security team|team)(?: (?:wrote|said|says|e-?mail(?:ed)?|replied|reply"
    r"|quote|message))?"
    # ... a name and their side: "Raj (cust):", "Speaker 2 (Dana, Acme CTO):"
    r"|[a-z][a-z.'-]*(?: [a-z0-9][a-z0-9.'-]*)? \((?:[a-z][a-z.'-]*, )?(?:the )?(?:customer|client"
    r"|prospect|buyer|cust"
    r"|(?:[a-z0-9&.'-]+ )?(?:cto|cio|ciso|cfo|ceo|coo|vp(?: [a-z]+){0,2}|it admin|it lead|admin"
    r"|champion|procurement|legal|security|director(?: [a-z]+){0,2}|head of [a-z]+|architect)))"
    r"\)?\s?[:\-\u2013]"
)


_SENTENCE_BREAK = re.compile(r"[.!?][\"'\u201d)]*\s")


def _their_line(low: str, s: int) -> bool:
    """Whether the cue at low[s] is on a line the customer's side speaks (`_THEIR_LABEL`):
    its "we" and its plans are theirs. One `rfind` and a colon or dash test first."""
    line = low.rfind("\n", 0, s) + 1
    head = low[line : min(s, line + 48)]
    if ":" not in head and "-" not in head and "\u2013" not in head:
        return False
    label = _THEIR_LABEL.match(low, line, s)
    # (up to the end of their first sentence: "Customer email: need SCIM by Q2. Our response -
    # we will have it." is ours after it)
    return label is not None and _SENTENCE_BREAK.search(low, label.end(), s) is None


def _told_to_us(low: str, s: int, a: int, b: int) -> bool:
    """Whether the cue at low[s] (clause from `a`, sentence to `b`) repeats someone's word to
    us, not ours to the customer: "Product told us SCIM ships in Q2", "We were told SCIM would
    ship in Q2", "PM told me SCIM will be ready by Q2". Not with our own word after it ("PM
    told me we will have SCIM by Q2", "The customer told us we promised SCIM": alleged, ours)
    nor with our yes after the cue ("... told us SCIM releases in Q2 and we confirmed it")."""
    lo = max(a, s - 48)
    if (
        low.find(" told ", lo, s) < 0
        and low.find(" been ", lo, s) < 0
        and (low.find(" was ", lo, s) < 0 and low.find(" were ", lo, s) < 0)
    ):
        return False
    told = [m.end() for m in _TOLD_TO_US.finditer(low, lo, s)]
    return (
        bool(told)
        and _OUR_SUBJECT.search(low, told[-1], s) is None
        and _GRANTED.search(low, s, b) is None
    )


# Their ask for our word, before the cue (`_our_word`).
_ASSURANCE_ASKED = re.compile(
    r"(?<![a-z0-9])(?:needs?|needed|wants?|wanted|requires?|required|requests?|requested"
    r"|requesting|(?:asked|asking|asks|looking|waiting) for|would like|expects?|expecting)"
    r"(?: (?:a|an|some|written|formal|official|our|your|firm|contractual|legal|explicit))*"
    r" (?:confirmation|assurances?|commitment|guarantee|proof|sign-?off|letter|statement)"
    r"(?: (?:from us|in writing))? that "
)


_PRONOUN_OBJECTS = frozenset(("it", "this", "that", "them", "anything", "something", "everything"))
# The subject of a passive promise word right after it: "budget is committed", "the price
# was guaranteed" (`_our_word`: a sale item's subject is the sale's).
_PASSIVE_SUBJECT = re.compile(
    r"(?:^|[^a-z0-9-])([a-z-]+) (?:is|are|was|were|has been|have been|had been|gets|got)"
    r"(?: (?:now|already|fully|all|also))? $"
)


def _our_word(
    low: str,
    s: int,
    e: int,
    c: _Clause,
    custom: bool,
    names: list[Mention],
    a0: int,
    b: int,
    date_cue: bool = False,
) -> bool | str:
    """Whether the promise (or custom-build) cue low[s:e] in the clause `c` of the sentence
    low[a0:b] is a promise we made about the product (see the comment above); `_DATED` for
    a cue that promises only with a date in its clause (`_DATED_CUES`). Words inside a feature
    name (`names`: "access reviews", "approvals") are never the sale's. Marks `c.sale` when the
    cue's object is a sale item: a date in the same clause then belongs to it ("a rollout plan
    by Q1"); adds to `c.needed` a date that is the customer's ("they need SCIM by Q3", "their
    go-live is scheduled for Q2, SCIM required"). `date_cue`: low[s:e] is "in <date>", read
    only for the customer's date ("They need SCIM in Q3": tied to the features the need word
    is about, and not a need in the past: "They needed SSO in March")."""
    if (
        low[s : s + 2] in _TOLD_HEADS
        and low.startswith(_TOLD_CUES, s)
        and not _told_dated(low, s, e, c, names)
    ):
        return False  # "I told them SCIM is in the contract": that cue's, not this one's
    if (
        low.startswith(("informed", "notified"), s)
        and low.endswith(_TOLD_WHO, c.start, s)
        and (low.startswith("i", s) or _told_dated(low, s, e, c, names))
    ):
        return _DATED  # "SCIM Q2, customer informed" (`_told_dated`: the line before it)
    if low.startswith(_SLIP_HEADS, s) and _SLIP_CUE.match(low, s, e) is not None:
        # A delay with a remedy agreed for it is a contracted date ("20% discount if SCIM
        # slips past Q2", "Termination right if SCIM misses Q2"); without one a risk ("If
        # SCIM slips past Q2 we lose the deal"). Said of the feature: "if" is its condition.
        return _remedy_agreed(low, a0, b)
    a = c.start
    before = low[max(a, s - 48) : s]
    if "if " in before or "unless " in before:
        k = max(before.rfind("if "), before.rfind("unless "))
        if (k == 0 or not before[k - 1].isalnum()) and "," not in before[k:]:
            # the cue inside a condition: "if we had SCIM by Q1 they would sign"; after their
            # need word, the date is theirs: "Dealbreaker if no SCIM by Q1"
            if before.startswith(("if no ", "if not "), k) and _NEEDED_BY.search(before, 0, k):
                c.needed += ((s, c.end, -1, -1),)
            elif _signing_on(low, a0, b, s - len(before) + k):
                c.needed += ((s, c.end, -1, -1),)  # "They'll sign if SCIM ships in Q2"
            return False
    if " that " in before and _ASSURANCE_ASKED.search(before) is not None:
        # their ask for our word: "Procurement needs written confirmation that SCIM will be
        # available by March", "They want assurance that SCIM ships in Q2": their need
        c.needed += ((s, c.end, -1, -1),)
        return False
    if "assuming " in before or "provided " in before or "as long as " in before:
        k = max(before.rfind("assuming "), before.rfind("provided "), before.rfind("as long as "))
        if (k == 0 or not before[k - 1].isalnum()) and "," not in before[k:]:
            if _signing_on(low, a0, b, s - len(before) + k):
                c.needed += ((s, c.end, -1, -1),)  # "They'll sign as long as SCIM ships in Q2"
            return False  # a condition too: "Assuming SCIM ships in Q2, they'll roll out"
    # (the clause's subject may stand further back than the cue's 48 characters: "Okta (their
    # IdP vendor) committed to ship a SCIM connector for us by Q1")
    wide = before if s - a <= 48 else low[max(a, s - 120) : s]
    if _THIRD_PARTY_HINT.search(wide) is not None:
        # the last: our word after it is ours ("With the partner, we committed ...")
        ends = [m.end() for m in _THIRD_PARTY.finditer(wide)]
        if (
            ends
            and _OUR_SUBJECT.search(wide, ends[-1]) is None
            # a contract's clause pasted in names us the vendor: "SOW: Vendor shall deliver
            # SCIM provisioning by March 31, 2027"; a plan's item: "Vendor to deliver SCIM by Q2"
            and not (
                wide.endswith("vendor", 0, ends[-1])
                and (
                    wide.startswith(" shall ", ends[-1])
                    # (the line's own subject, not "Their current vendor will ...")
                    or (
                        wide.startswith((" to ", " will "), ends[-1])
                        and _VENDOR_LEAD.fullmatch(wide, 0, ends[-1] - 6) is not None
                    )
                )
            )
        ):
            # "Competitor (Okta) promised them SCIM by Q1", "The partner committed to SCIM by
            # Q1", "Okta rep promised them SCIM support by Q1"
            return False
    if _VENDOR_HINT.search(wide) is not None:
        # a well-known vendor as the subject of the word: "Okta will ship SCIM by Q1",
        # "Microsoft promised them SSO by Q1 via Entra", "Deloitte will have the data residency
        # assessment done by Q1" (not in a feature's name: "the Okta integration will ship")
        for v in _VENDOR_SUBJECT.finditer(low, s - len(wide), e):
            if v.start() < s and not _in_name(v.start(), names):
                return False
    if (
        (
            low.find(" their ", a, c.end) >= 0  # "on their end": a find or two before the search
            or low.find("house", a, c.end) >= 0
            or low.find("s end", a, c.end) >= 0
            or low.find("s side", a, c.end) >= 0
        )
        and _THEIR_SIDE.search(low, a, c.end) is not None
        and _OUR_SUBJECT.search(low, a, s) is None
        and not low.startswith(_TOLD_CUES, s)
    ):
        # done on their side, by them: "SSO rollout planned for Q2 on their end", "They'll
        # build SCIM support in-house by Q2" (not "We will enable SCIM on their end by Q2")
        c.sale = True
        return False
    if not _THEIR_WORDS.isdisjoint(before.split()):
        own = None
        for found in _THEIR_OWN_ACTION.finditer(low, a, e):
            own = found  # the last: what comes after it is checked for our word
        if own is not None and _OUR_SUBJECT.search(low, own.end(), s) is None:
            # Their own step, with its date: "They will enable SCIM next quarter", "Their IT
            # team will roll out SSO by Q1" (not "They will use SCIM once we ship it by Q1")
            c.sale = True
            return False
        if (
            low.endswith(" have", s, e)
            and _THEIR_SUBJECT.search(before) is not None
            and _OUR_SUBJECT.search(before) is None
            and _THEIR_SETUP_AFTER.match(low, e, c.end) is not None
        ):
            # ... said as what they will have done: "Their admin will have SSO configured by
            # Q1", "The customer will have SCIM set up by Q2"
            c.sale = True
            return False
    cue = low[s:e]
    head = cue[:2]
    if cue in _AGREED_CUES and not _agreed_on(low, e, c, names):
        return False  # "We agreed on pricing for Q2", "Aligned internally: SCIM target Q2"
    if head in ("by", "be") and cue.startswith(("by ", "before ")):
        k = s + cue.index(" ") + 1
        if k < e and low[k].isdigit() and _date_at(low, k, b) is None:
            return False  # a number, not a date: "SSO by 10 users", "up by 5 percent"
    if head == "by" and _SALE_STEP_BEFORE.search(low, max(a, s - 80), s) is not None:
        # A date for a step of the sale about the feature: "We will send the offline mode
        # roadmap by Q2", "Will confirm offline mode timing by end of month"
        c.sale = True
        return False
    if head in _WILL_HEADS and cue.endswith(_STEERING):
        # Bending the roadmap for the deal: ours, of the feature named right after ("We'll
        # prioritize SCIM for them"), not theirs ("They will prioritize SCIM internally") nor
        # of anything else ("We'll prioritize their support tickets").
        if _THEIR_SUBJECT.search(before) is not None:
            return False
        if not any(
            e <= m.start <= e + 32 and _STEERING_FILLER.issuperset(low[e : m.start].split())
            for m in names
        ):
            return False
    elif (
        head in _WILL_HEADS
        and cue.endswith(_LAUNCHES)
        and not cue.startswith("we")
        and not _launch_ours(low, s, a, cue, names)
    ):
        return False  # "They will launch in Q2 and need SCIM", "Their app will launch in Q2"
    elif (
        head in _WILL_HEADS
        and cue.endswith(_BE_READY)
        and _CUSTOMER_BEFORE.search(low, max(a, s - 40), s) is not None
    ):
        return False  # "They will be live in Q2 and need SCIM", "Their team will be ready by Q2"
    elif (
        head in _WILL_HEADS
        and cue.endswith("ship")
        and not cue.startswith("we")
        and _their_ship(low, s, e, a, names, a0, b, c)
    ):
        return False  # "They will ship their app in Q2 and need SCIM": their own product
    elif (
        head == "sh"
        and (
            cue.startswith(("ship ", "ships "))
            or (
                cue.startswith("shipping")
                and (
                    low.startswith("be ", s - 3)
                    # (from the space before the clause: "They need SCIM but are shipping")
                    or low.endswith(_SHIPPING_NOW, max(a0, a - 1), s)
                )
            )
        )
        and _their_ship(low, s, e, a, names, a0, b, c)
    ):
        # "They will be shipping in Q2 and need SCIM", "They are shipping in Q2 and need
        # SCIM", "They are already shipping ...", "They ship in Q2 and need SCIM", "The
        # customer ships in Q2 and needs SCIM": as "They will ship", and its "in Q2"
        # (inside the cue, so not read alone) is the customer's date as "in <date>" is
        for at, end in _in_dates(low, e - 2, min(b, e + 40))[:1]:
            if at == e - 2:
                _ours(low, at, end, c, False, names, a0, b, True)
        return False
    elif (
        head in _WILL_HEADS
        and cue.endswith(("included", "supported"))
        and not any(a <= m.start < s for m in names)
    ):
        return False  # "SCIM will be included", not "Training will be included, SCIM discussed"
    if (
        " be " in cue
        and not any(a <= m.start < s for m in names)
        and not _SALE_OBJECTS.isdisjoint(w.strip(_STRIP) for w in low[a:s].split())
    ):
        # What "will be ready" is said of is its subject: a sale item's readiness ("The
        # proposal will be ready by Friday, they need SCIM", "Training will be ready by Q1,
        # SCIM discussed") promises no feature, and its date is the sale's.
        c.sale = True
        return False
    if low.startswith(":", e) and cue in _DOC_LABELS:
        return _doc_label(low, s, e, names)
    if not custom and _is_contract_cue(cue):
        # In the contract: ours, unless the customer asks for it to be ("They want SCIM in
        # the contract"; not "They asked for it, so we added SCIM to the contract").
        if not any(c.start <= m.start < c.end for m in names) and not _CONTRACT_TERMS.isdisjoint(
            w.strip(_STRIP) for w in low[c.start : c.end].split()
        ):
            c.sale = True  # "Roadmap disclaimer added to the MSA; SCIM mentioned": its terms
            return False
        asked = [m.end() for m in _CONTRACT_ASKED.finditer(low, max(a, s - 60), s)]
        return not asked or _OUR_SUBJECT.search(low, asked[-1], s) is not None
    # ... or under its label: "Pending: product approval for SCIM by Q2 commitment", "Pending
    # VP approval: SCIM Q2 commit", "Pending approval - SCIM commitment Q2" (the colon or dash
    # opened this clause)
    labelled = a > a0 and (low[a - 1] == ":" or low[a - 3 : a] in (" - ", " \u2013 "))
    if (
        (
            any(w in before for w in _APPROVAL_WORDS)
            # (searched in `low`, not the slice: its look-behinds see the words before)
            and _PENDING_APPROVAL.search(low, max(a, s - 48), s) is not None
        )
        or (
            labelled
            and any(w in low[max(a0, s - 48) : s] for w in _APPROVAL_WORDS)
            and _PENDING_APPROVAL.search(low, max(a0, s - 48), s) is not None
        )
        or (head in ("co", "pr", "gu") and _PENDING_AFTER.match(low, e, c.end) is not None)
    ):
        c.sale = True  # "Awaiting approval to commit to SCIM by Q2": not promised yet
        return False
    # Three rare readings, looked for only when one of their words is among the words before
    # the cue: a set test first, the regex after (`_INTERNAL_ASK_WORDS`, `_THEIR_WORDS`).
    verb = head in _THEIR_VERB_HEADS and cue != "confirmed"  # theirs: `_dated_ours`
    words = set(before.split()) if verb or " to " in before else None
    if (
        words is not None
        and " to " in before
        and not _INTERNAL_ASK_WORDS.isdisjoint(words)
        and _INTERNAL_ASK.search(before) is not None
    ):
        # an ask of our own team, not a word to the customer: "Action item: get product to
        # commit to SCIM by Q2", "asked engineering to deliver SCIM by Q2" (the date is theirs)
        c.sale = True
        return False
    if verb and words is not None and not _THEIR_WORDS.isdisjoint(words):
        if not cue.startswith("commitment") and _THEIR_PROMISER.search(before) is not None:
            # "Their CIO promised SCIM to his board", "They committed to a 3-year term"; a
            # date in the clause is their promise's ("... by Q3"), so the date they need it
            # by, unless they promise a step of the sale ("They promised to sign by Q3 if we
            # have SCIM")
            following = low[e : e + 24].split()[:2]
            if not (following[:1] == ["to"] and following[1:] and following[1] in _SALE_EVENTS):
                c.needed += ((s, c.end, -1, -1),)
            c.sale = True
            return False
        if _THEIR_REQUEST.search(before) is not None:
            if _GRANTED.search(low, e, b) is not None:
                return True  # "They asked us to commit to SCIM by Q2 and we did"
            # "They want us to commit to SCIM by Q2", "They need a commitment on SCIM": asked
            # of us, not given; a date in the clause is the date they want it by
            c.needed += ((s, c.end, -1, -1),)
            c.sale = True  # (the date is no promise of ours either)
            return False
    if head in ("co", "gu") and cue.startswith(("commit", "guarant")):
        # A commitment asked for, as `_THEIR_REQUEST` reads it, with the feature or another
        # asker in between: "Legal wants a commitment on SCIM", "They want SCIM committed in
        # the contract", "They want SCIM guaranteed by Q2" (not "We want to commit to SCIM",
        # nor "They asked, and we committed to SCIM")
        asked = list(_CONTRACT_ASKED.finditer(low, max(a, s - 60), s))
        if (
            asked
            and _OUR_SUBJECT.search(low, asked[-1].end(), s) is None
            and _OUR_SUBJECT.search(low, max(a, asked[-1].start() - 12), asked[-1].start()) is None
        ):
            if _GRANTED.search(low, e, b) is not None:
                return True
            c.needed += ((s, c.end, -1, -1),)
            c.sale = True
            return False
    if head == "of" and _THEIR_SUBJECT.search(before) is not None:
        return False  # "They offered to pilot SCIM", "Okta's vendor offered them SCIM"
    if head == "lo" and not _SALE_WORDS.isdisjoint(w.strip(_STRIP) for w in before[-32:].split()):
        c.sale = True  # "Pricing is locked in for Q2": the sale's terms, and their date
        return False
    if head in ("co", "gu") and (subject := _PASSIVE_SUBJECT.search(before)) is not None:
        w, at = subject.group(1), s - len(before) + subject.start(1)
        if (
            w in _SALE_WORDS
            and w not in _PRONOUN_OBJECTS
            and not _in_name(at, names)
            and not any(n.end + 1 == at for n in names)  # the feature's: "SCIM timeline is ..."
        ):
            c.sale = True  # "Budget is committed for Q2", "Pricing is guaranteed through Q2"
            return False
    if head in ("wo", "d "):  # reported: ours only after our word of telling
        told = [m.start() for m in _TOLD.finditer(low, max(a, s - 60), s)]
        if not told:
            return False  # "SCIM would help them", "it would have been easier"
        if not _PASSIVE_TOLD.search(low, max(a, told[-1] - 16), told[-1]) and (
            _THEIR_SUBJECT.search(low, max(a, told[-1] - 20), told[-1]) is not None
        ):
            return False  # "They said SCIM would be available from their other vendor"
    dated = (
        head in _DATED_HEADS and cue.startswith(_DATED_CUES) and not cue.startswith(_UNDATED_FORMS)
    ) or cue in _AGREED_CUES  # ("agreed to deliver" promises without a date)
    if (
        date_cue
        or dated
        or (head in ("by", "be", "no", "ne", "in") and not cue.startswith(("in the", "into")))
    ):
        if c.sale:  # a date: the sale's own date does not count
            return False
        if c.needed and not date_cue and any(d == s for d, _, _, _ in c.needed):
            return False  # the customer's date already (`_their_ship`: "They need SCIM and ...")
        if c.needed and any(d < s < end and k < 0 for d, end, k, _ in c.needed):
            return False  # inside their condition or ask ("... confirmation that SCIM will be
            # available by March": the date is theirs)
        near = before[-32:].split()
        # The customer's go-live, launch or rollout with a requirement in the sentence: their
        # date ("Their go-live is scheduled for Q2, SCIM required"). Two set looks first.
        if (
            not _MILESTONE_NEAR.isdisjoint(near) or (dated and cue.startswith(_GO_LIVE_OR_LAUNCH))
        ) and _their_milestone(low, s, c, names, near, a0, b):
            return False
        if (
            c.end < b
            and not low[e : c.end].strip()
            and not any(c.start <= n.start < c.end for n in names)
        ):
            # A clause that is a date and nothing more: the words after it are in the next
            # one ("Next quarter: call about SCIM", "By Q3, they need SCIM").
            hi = min(b, e + 24)
            after = [w for w in low[e:hi].split() if w.strip(_JOINTS)]
        else:
            hi = min(c.end, e + 24)
            after = low[e:hi].split()
        # The customer's ultimatum: their date, not ours ("SCIM by Q2 or they walk", "They
        # can't sign without SCIM by Q1").
        if (after and after[0] in _ULTIMATUM_LEADS and _ULTIMATUM.match(low, e, c.end)) or (
            " without " in before
            and (w := _CANT_WITHOUT.search(before)) is not None
            and any(s - len(before) + w.end() <= n.start < s for n in names)
            and _OUR_SUBJECT.search(before, 0, w.start()) is None  # not "We can't ship ..."
        ):
            c.needed += ((s, c.end, -1, -1),)
            return False
        # The sale's own date or schedule, before the cue or just after it ("next month we
        # reconnect"): "plan to sign by Q1", "we'll revisit next quarter".
        if (
            not _SALE_TIMES.isdisjoint(near)
            and not all(
                _in_name(low.rfind(w, a, s), names)
                or (w == "follow" and near[near.index(w) + 1 : near.index(w) + 2] != ["up"])
                # "Decision criteria: SCIM by Q2", "The decision maker needs SCIM by Q1": people
                # and needs, not the sale's date
                or (
                    w == "decision"
                    and _DECISION_NOT_SALE.intersection(
                        x.strip(_STRIP) for x in near[near.index(w) + 1 : near.index(w) + 2]
                    )
                )
                or _setting(near, w)
                for w in _SALE_TIMES.intersection(near)
            )
        ):
            return False  # (not "SCIM will follow by Q3": a follow-up is the sale's)
        if not _SCHEDULE_AFTER.isdisjoint(after):  # rare: then only the next two words count
            soon = after[:1] if after[0][-1] in _STRIP else after[:2]
            if names and _SCHEDULE_AFTER.isdisjoint(soon):
                # or the word after a name they open with: "Next quarter: audit trail call.",
                # also after a comma: "Next quarter: SCIM, call scheduled."
                n = next((n for n in names if e <= n.start < hi), None)
                if n is not None and not low[e : n.start].strip(_JOINTS + " \t"):
                    soon = low[n.end : hi].split()[:2]
                    soon = soon[1:] if soon[:1] == [","] else soon[:1]
            if not _SCHEDULE_AFTER.isdisjoint(soon) and not all(
                _in_name(low.find(w, e, hi), names) for w in _SCHEDULE_AFTER.intersection(soon)
            ):
                return False
        if dated and not _dated_ours(low, s, e, c, names, before):
            return False
        if dated and cue == "confirmed" and not _confirmed_feature(low, s, e, names):
            return False
        if (
            dated
            and head == "ca"
            and not low.startswith((" it ", " them ", " that ", " this "), e)
            and not any(
                e < n.start <= e + 32 and _OBJECT_LEAD.issuperset(low[e : n.start].split())
                for n in names
            )
        ):
            return False  # "We can deliver SCIM in Q2", not "We can deliver the proposal in Q2"
        # The customer's own date: "wants SCIM by Q1", "SCIM required by March", "by Q3 they
        # need SCIM". The date the deal needs it by, not one we gave. (The words split
        # already, and the few after the cue, are looked at before any search.)
        lo = max(a, s - 32)
        if _NEEDED_WORDS.isdisjoint(near) and _NEEDED_WORDS.isdisjoint(after):
            if s - a <= 32 or not _far_need(low, a, s, names):
                return _DATED if dated else True
            lo = max(a, s - _NEED_REACH)
        elif s - a > 32 and _NEEDED_BY.search(low, lo, hi) is None and _far_need(low, a, s, names):
            lo = max(a, s - _NEED_REACH)  # "They need the audit log (critical) and SCIM by Q2"
        m = _NEEDED_BY.search(low, lo, hi)
        theirs = False
        while m is not None:
            if (
                not _in_name(m.start(), names)
                and not (
                    m.group("to") and _OUR_SUBJECT.search(low, max(a, m.start() - 12), m.start())
                )  # not "we need to ship SCIM by Q1", "we are expected to deliver it"
                and not (date_cue and _past_need(low, a, m))
                and not (m.start() > e and _no_need(low, a, hi, m, names))
            ):
                # each need word, for the features it is about (`_tied`): not SCIM's date in
                # "They need training by Q3, SCIM discussed"
                c.needed += ((s, c.end, m.start(), m.end()),)
                if not date_cue:
                    return False
                theirs = True
            m = _NEEDED_BY.search(low, m.end(), hi)
        return False if theirs else _DATED if dated else True
    if custom and head == "cu":
        # "custom connector": the object is named by the cue itself; not theirs ("Their
        # custom connector for SCIM breaks often", "They have a custom integration with Okta")
        return _THEIR_CUSTOM.search(low, max(a, s - 40), s) is None
    if custom and head in ("wi", "go") and _THEIR_SUBJECT.search(low, max(a, s - 32), s):
        return False  # "their team will build a connector to our API"
    if head not in (
        "wi", "sh", "go", "we", "i", "i'", "i\u2019", "co", "pr", "gu", "as", "bu", "ge", "de", "ad",
        "wo", "d ", "ag", "th", "si", "of", "ow",
    ):  # fmt: skip
        return True  # "in the contract", "written into"
    # The object after the verb: up to five words, to a stop word or punctuation.
    n = 0
    report = False
    prev = ""
    for raw in low[e : min(c.end, e + 80)].split():
        w = raw.strip(_STRIP)
        if n == 0 and (w in _OBJECT_LEAD or w in _DELIVERY_VERBS):
            continue
        if n == 0 and w in _SALE_STEPS:
            # "promised to send the SOC2 report by Friday": paperwork; "We will get back to
            # them on SCIM by Friday", "Promised to escalate SCIM to product": a step of the
            # sale about the feature, not the feature (its date is the step's)
            c.sale = True
            return False
        if not w or w in _OBJECT_STOP:
            break
        if (
            (w in _SALE_OBJECTS and not _in_name(low.find(w, e), names))
            or (w in _STATES and prev in _STATE_VERBS)
            or (w in _SERVICE_NOUNS and prev in _PRAISE)
        ):
            if names and _listed_with(low, e, c.end, names):
                return True  # "We promised them a discount and SCIM by Q3": SCIM too
            c.sale = True
            return False
        report = report or w in _REPORTS
        prev = w
        n += 1
        if n == 5 or len(w) != len(raw):
            break
    if report and _BOARD.search(low, e, c.end):  # "a report ready for their board"
        c.sale = True
    return not c.sale


# The customer's own milestones: "their go-live", "launch", "rollout" (also "go live" spelt
# apart), as `str.split` leaves them; and the words that may stand between one and the date cue
# ("Their go-live is currently scheduled for Q2").
_MILESTONE_WORDS_TEXT = "go-live golive live launch rollout roll-out cutover"
_MILESTONE_WORDS = frozenset(_MILESTONE_WORDS_TEXT.split())
_MILESTONE_NEAR = frozenset(w + tail for w in _MILESTONE_WORDS for tail in ("", ",", ":"))
_MILESTONE_LINKS_TEXT = "is are was were will be has have had been currently now still date dates"
_MILESTONE_LINKS = frozenset(_MILESTONE_LINKS_TEXT.split())
_GO_LIVE = ("go live", "goes live", "going live")  # the dated cue: "Customer goes live in Q1"
# ... and the verbs of a launch, theirs with their subject: "The customer launches in Q2"
_GO_LIVE_OR_LAUNCH = (*_GO_LIVE, "launches ", "launching ")
_OURS_BEFORE = re.compile(r"(?<![a-z0-9])(?:we|our|i|us)(?![a-z0-9])")
# Before a milestone word used as a verb ("will launch", "they'll roll out"): its subject
# decides.
_MODALS = frozenset(("will", "shall", "would", "can", "could", "should", "may", "might", "to"))
_WILL = ("'ll", "\u2019ll")


def _their_milestone(
    low: str,
    s: int,
    c: _Clause,
    names: list[Mention],
    near: list[str],
    a0: int,
    b: int,
) -> bool:
    """Whether the date cue at low[s] in the clause `c` of the sentence low[a0:b] dates the
    customer's go-live, launch or rollout (the milestone word just before the cue, only such
    words as "is", "currently" in between: "Their go-live is scheduled for Q2", "Go-live
    planned for March", "Launch by Q3"; or their subject's "go live": "Customer goes live in
    Q1"), and the sentence states a requirement ("SCIM required", "they need SSO for it"):
    the date is then when they need it, added to `c.needed` for the features each need word
    is about (`_tied`: not SCIM's in "Go-live planned for March with SCIM, training
    required"). Not a milestone after one of our
    words or a feature's name ("we'll launch by Q2", "the SCIM rollout is scheduled for Q2",
    "SCIM will launch by Q2": ours), nor a requirement of ours ("we need to ship it")."""
    k, verb = s, True  # where the milestone starts; "they go live", "they'll launch"
    if not low.startswith(_GO_LIVE_OR_LAUNCH, s):
        k = -1
        for i in range(len(near) - 1, -1, -1):
            w = near[i].strip(_STRIP)
            if w in _MILESTONE_WORDS:
                if w == "live":  # "go live" as a noun
                    if i == 0 or near[i - 1] != "go":
                        return False
                    w, i = "go live", i - 1
                k = low.rfind(w, max(c.start, s - 48), s)
                verb = i > 0 and (near[i - 1] in _MODALS or near[i - 1].endswith(_WILL))
                break
            if w not in _MILESTONE_LINKS:
                return False
        if k < 0:
            return False
    lo = max(c.start, k - 48)
    if verb:  # their subject, no feature named after it: "Customer goes live in Q1"
        theirs = list(_THEIR_SUBJECT.finditer(low, lo, k))
        at = theirs[-1].end() if theirs else k
        if not theirs and all(
            w in _MODALS or w in _MILESTONE_LINKS or w in _NOW_ADVERBS or w == "only"
            for w in low[c.start : k].split()
        ):
            # The clause after "but" or "though" opening with the verb: the subject left out
            # is that of their need before it ("They need SCIM but go live in Q2", "... but
            # will launch in Q2", "... but are already going live in Q2", "... but will only
            # go live in Q2"), as for their shipping (`_their_ship`)
            lead_at = _left_out_lead(low, a0, c.start)
            lead = _LEFT_OUT_SUBJECT.match(low, lead_at, c.start) if lead_at >= 0 else None
            if lead is not None and _NEEDED_BY.match(low, lead.end(), c.start) is not None:
                theirs, at = [lead], k
        if not theirs or any(at <= m.start < k for m in names) or _OURS_BEFORE.search(low, at, k):
            return False  # "SCIM will launch by Q2", "We'll launch by Q2"
    elif any(c.start <= m.start < k for m in names) or _OURS_BEFORE.search(low, lo, k):
        return False  # "the SCIM rollout is scheduled for Q2", "our rollout"
    m = _NEEDED_BY.search(low, a0, b)
    theirs = False
    while m is not None:
        if not _in_name(m.start(), names) and not (
            m.group("to") and _OUR_SUBJECT.search(low, max(a0, m.start() - 12), m.start())
        ):  # each need word, for the features it is about (`_tied`)
            c.needed += ((s, c.end, m.start(), m.end()),)
            theirs = True
        m = _NEEDED_BY.search(low, m.end(), b)
    return theirs


# A need in the past: "They needed SSO in March", "the customer wanted SCIM in 2025".
_PAST_NEEDS = frozenset(("needed", "required", "wanted", "requested", "expected", "demanded"))
_NEED_SUBJECTS_TEXT = "they he she we i it customer client team company who"
_NEED_SUBJECTS = frozenset(_NEED_SUBJECTS_TEXT.split())


def _past_need(low: str, a: int, m: re.Match[str]) -> bool:
    """Whether the need word `m` is a verb in the past: after a subject ("They needed SSO",
    "the customer had wanted"), not a participle ("SCIM needed", "SCIM is required")."""
    word = low[m.start() : m.start("to")] if m.group("to") else m.group()
    if word not in _PAST_NEEDS:
        return False
    return not _NEED_SUBJECTS.isdisjoint(low[max(a, m.start() - 24) : m.start()].split()[-2:])


# "no ETA", "don't have an ETA", "without a firm ETA": no date given.
_NO_ETA = re.compile(
    r"(?:(?<![a-z0-9])(?:no|not|without)|n['\u2019]?t (?:have|give|share|know))"
    r"(?: (?:an?|any|the|firm|real|official|committed))* $"
)


# Negated just before a dated cue: "SCIM is not scheduled for Q2", "doesn't land in Q1".
_NOT_BEFORE = re.compile(
    r"(?:(?<![a-z0-9])(?:not|never|no longer)|n['\u2019]t"
    r"|(?<![a-z0-9])(?:is|are|was|were|does|do|did|has|have)nt)"
    r"(?: (?:yet|currently|officially|really|actually|even|been|being))? $"
)
# The customer's own projects: "Rollout is scheduled for Q2 with SCIM" (but "the SCIM rollout
# is scheduled for Q2" is the feature's).
_PROJECT_WORDS_TEXT = """rollout roll-out onboarding implementation migration deployment pilot
    poc training cutover project projects"""
_PROJECT_WORDS = frozenset(_PROJECT_WORDS_TEXT.split())
_HAVE = (" have ", " has ", " had ", "'ve ", "\u2019ve ")
# Between "their" and a dated cue: told, not owned ("their CTO was told SCIM is slated ...").
_TOLD_THAT = re.compile(
    r"(?<![a-z0-9])(?:that|told|said|says|confirmed|informed|knows?)(?![a-z0-9])"
)


# How the cues of our word with a date begin ("told them", "informed", "let them know",
# "aiming for").
_TOLD_HEADS = frozenset(("to", "in", "le", "ai", "sa", "pl", "ta", "sh"))
_TOLD_CUES = (
    "told", "informed", "let ", "aim", "said", "plan ", "plans ", "planning ", "targeting",
    "shooting",
)  # fmt: skip
# Our word giving their question a date alone, a clause of its own with its subject: "They
# asked about SCIM; we said Q2", "... and I told them Q2", "...; we committed to Q3" (not
# "...; we promised a follow-up": more than a date). "said" needs "we" or "I" ("Customer asked
# for an ETA; said Q2" may be theirs).
_DATE_GIVEN = re.compile(
    r"[ \t\n\"'(\u201c\u2018*\u2022-]*(?:(?:so|and|but) )?(?:(?:(?:we|i) )?(?:told (?:them|him|her"
    r"|the customer|the client)|committed(?: to)?|promised(?: them| him| her| the customer"
    r"| the client)?"
    r"|guaranteed(?: them)?|confirmed|agreed (?:to|on)|settled on|countered(?: with| w/)?)"
    r"|(?:we|i) said)(?: that)?:? (?:by |in |for |before )?"
)


def _date_given(low: str, start: int, end: int) -> bool:
    """Whether the clause low[start:end] is our word with a date alone (`_DATE_GIVEN`)."""
    m = _DATE_GIVEN.match(low, start, end)
    if m is None:
        return False
    while end > m.end() and low[end - 1] in ' \t\n.!"\u201d':
        end -= 1
    d = _date_at(low, m.end(), end)
    return d is not None and d.end() == end


# After "told them": the date denied or doubted ("Told them SCIM won't be in Q1", "Told them
# SCIM in Q1 is unrealistic").
_TOLD_NOT = re.compile(
    r"(?<![a-z0-9])(?:not|no|never|cannot|unlikely|unrealistic|impossible|doubtful|if|unless"
    r"|wont|cant|dont|doesnt|isnt|wouldnt|couldnt|exploring|considering|evaluating|beta"
    r"|early access|looking into"
    r"|earliest|no earlier|pending|depends|depending|discussed|come up|comes up|must-have)"
    r"(?![a-z0-9])|n['\u2019]t(?![a-z0-9])"
)


_TOLD_WHO = ("customer ", "cust ", "client ")


_TOLD_DATE_LEADS = ("by the end of ", "by end of ", "the end of ", "end of ")
_TOLD_DATE_TAILS = frozenset(
    ("", "to be safe", "to be conservative", "as a buffer", "just in case", "at the latest")
)
_TOLD_ALONE = frozenset((*_TOLD_WHO, "the customer ", "the client "))


def _told_dated(low: str, s: int, e: int, c: _Clause, names: list[Mention]) -> bool:
    """Whether our word low[s:e] ("told them", "let them know", "aiming for") gives a feature a
    date: a feature named right after it ("Told them SCIM in Q1", "We're aiming for SCIM in
    Q1"; "Aiming for Q1 for SCIM") and a date after it in the clause, neither denied nor
    doubted. Not "Told them about SCIM in Q1", "Told them SCIM won't be in Q1", "We're aiming
    to sign by Q1, SCIM discussed". A clause that is nothing but our word and a date ("SCIM
    by Q1 - told them Q2") dates the feature of the clause before, as a promise of its own."""
    if not any(e < n.start <= e + 20 for n in names):
        if not low[e : c.end].strip(" \t.!)"):
            # "SCIM Q2, told them"; "SCIM Q2 - told cust": the line before the dash
            start = c.start
            if low[max(0, start - 3) : start] in (" - ", " \u2013 ") or low[start:s] in _TOLD_ALONE:
                # ... "SCIM Q2, customer informed": the clause of the subject before its verb
                dot = low.rfind(". ", 0, s)
                start = max(low.rfind("\n", 0, s) + 1, dot + 2 if dot >= 0 else 0)
            return _terse_dated(low, start, s, names)
        k = e + 1
        # "told them end of March", "... by the end of Q2": the month or quarter after it
        lead = next((w for w in _TOLD_DATE_LEADS if low.startswith(w, k)), "")
        d = _date_at(low, k + len(lead), c.end) if low.startswith(" ", e) else None
        # (a margin said after it: "we told their CIO end of March to be safe")
        return d is not None and low[d.end() : c.end].strip(" .!)") in _TOLD_DATE_TAILS
    if low.startswith(" about", e) or low.startswith(" of ", e):
        return False
    if next(_DATE.finditer(low, e, c.end), None) is None:
        return False
    return _TOLD_NOT.search(low, e, c.end) is None


def _cue_after_terse(low: str, prev: _Clause, c: _Clause, names: list[Mention]) -> bool:
    """Whether the dated cue's clause `c`, a few words naming nothing after a dash, follows a
    terse line of a feature and its date (`_terse_dated`): the date is the one it gives."""
    if (
        low[prev.end : c.start].strip(" \t") not in _LABEL_JOINTS
        or len(low[c.start : c.end].split()) > 3
        or any(c.start <= n.start < c.end for n in names)
        or prev.question
        or prev.denied
        or prev.needed
    ):
        return False
    start = prev.start
    while start > 0 and low[start - 1] in " \t-\u2013":
        start -= 1  # "SCIM - Q2 - told cust": the feature's clause before the date's
    return _terse_dated(low, low.rfind("\n", 0, start) + 1, prev.end, names)


# What may stand beside a feature and its date in a terse line (`_terse_dated`).
# ... with its re-dating ("SCIM was Q1, now Q2 - customer informed", "SCIM pushed to Q3, told
# them": the new date told) and the told customer as the subject ("customer informed").
_TERSE_WORDS_TEXT = """by in for is eta target date ga now was to delayed pushed slipped moved
    shifted revised updated changed customer cust client"""
_TERSE_WORDS = frozenset(_TERSE_WORDS_TEXT.split())


def _terse_dated(low: str, a: int, s: int, names: list[Mention]) -> bool:
    """Whether low[a:s] is a terse line of a feature and its date alone, our telling after it
    ending the line ("SCIM Q2, told them", "SCIM Q2 (told cust)", "SCIM: Q2 - told them"): the
    date we told them. Not their need or any other words ("They need SCIM by Q1, told them":
    what we told them is not said)."""
    named = [n for n in names if a <= n.start and n.end <= s]
    dates = list(_DATE.finditer(low, a, s))
    if not named or not dates:
        return False
    left = list(low[a:s])
    for k0, k1 in [(n.start, n.end) for n in named] + [(d.start(), d.end()) for d in dates]:
        left[k0 - a : k1 - a] = " " * (k1 - k0)
    words = ["".join(ch for ch in w if ch.isalnum()) for w in "".join(left).split()]
    return all(not w or w in _TERSE_WORDS for w in words)


# A contract document's name as a label (`_doc_label`).
_DOC_LABELS = frozenset(
    ("order form", "sow", "msa", "contract", "statement of work", "addendum", "amendment")
)


# What the line after the label says the document does not hold, or not yet: "Order form:
# SCIM excluded", "Contract: SCIM not included", "MSA: SCIM?", "SOW: SCIM TBD".
_DOC_LABEL_NOT = re.compile(
    r"(?<![a-z0-9])(?:not|no|never|excluded|out of scope|removed|dropped|struck|tbd|pending"
    r"|maybe|optional)(?![a-z0-9])|n['\u2019]t(?![a-z0-9])|\?"
)


def _doc_label(low: str, s: int, e: int, names: list[Mention]) -> bool:
    """Whether the document's name low[s:e], before its colon, labels what the document holds:
    at the start of a line (after a list mark) with a feature named right after the colon
    ("Order form: SCIM provisioning (Q2 2027)", "- SOW: audit log by March"); not the sale's
    news of the document ("Contract: sent for signature, SCIM discussed") nor a line saying it
    is not held (`_DOC_LABEL_NOT`)."""
    if low[low.rfind("\n", 0, s) + 1 : s].strip(" \t*-+#>\u2022"):
        return False
    k = e + 1
    while k < len(low) and low[k] in " \t":
        k += 1
    end = low.find("\n", k)
    return any(n.start == k for n in names) and (
        _DOC_LABEL_NOT.search(low, k, len(low) if end < 0 else end) is None
    )


# "agreed" or "aligned" alone, a promise only of what is named right after it (`_agreed_on`).
_AGREED_CUES = frozenset(("agreed", "aligned"))
# What may stand between it and the feature or date agreed on: with whom, a word of timing,
# "on", "to", a colon ("Timeline agreed with customer: SCIM in Q2", "SCIM (agreed: Q2)").
_AGREED_LEAD = re.compile(
    r"(?: (?:timeline|timing|date|dates|eta|target|delivery date))?"
    r"(?: (?:with|w/) (?:the |their |our )?(?:customer|client|prospect|buyer|them|him|her"
    r"|cto|cio|ciso|champion|it team|security team|team|[a-z]+['\u2019]s [a-z]+))?"
    r"(?: (?:on|to|upon|for))?(?: the)?"
)


def _agreed_on(low: str, e: int, c: _Clause, names: list[Mention]) -> bool:
    """Whether "agreed" or "aligned" ending at low[e] agrees on a feature or a date named right
    after it, or (nothing more in its clause) labels the clause after it ("We agreed on Q2
    for SCIM", "Agreed SCIM for Q2 with the customer", "Aligned with their CTO on SCIM
    delivery in Q2"); not on a sale item or a step of the sale ("We agreed on pricing for
    Q2", "We agreed to revisit SCIM in Q2") nor our own alignment ("Aligned internally")."""
    k = _AGREED_LEAD.match(low, e, c.end).end()
    if not low[k : c.end].strip(' :)"\u201d'):
        return True  # a label: "Timeline agreed with customer: SCIM in Q2"
    if low.startswith((" ", ": "), k):
        k += 1 + (low[k] == ":")
    if any(n.start == k for n in names):
        return True
    return _date_at(low, k, c.end) is not None


_CONFIRMED_LINK = frozenset(("", "is", "was", "-", "\u2013", "has been", "now", "is now"))
_CONFIRMED_DATE_WORDS = frozenset(("for", "by", "in", "before", "on"))
# The feature's coming, between it and the date: "Confirmed SCIM availability in Q2".
_CONFIRMED_OF = frozenset(("availability", "ga", "delivery", "release", "launch", "go-live"))


def _confirmed_feature(low: str, s: int, e: int, names: list[Mention]) -> bool:
    """Whether "confirmed" at low[s:e] confirms a feature's date: the feature right before it
    ("SCIM confirmed for Q2", "SCIM is confirmed for Q2", "SCIM - confirmed for Q2") or right
    after it ("Confirmed SCIM for Q2 with the customer"), a date word next. Not what else was
    confirmed ("Confirmed pricing for Q1, SCIM included", "Confirmed that SCIM is not planned
    for Q2") nor a past fact ("We confirmed SCIM shipped in March")."""
    line = low.rfind("\n", 0, s) + 1
    if _CONFIRMED_INTERNALLY.search(low, line, s) is not None:
        return False  # "PM confirmed SCIM Q2", "Internally confirmed SCIM Q2 with PM"
    for m in names:
        if m.end <= s and " ".join(low[m.end : s].replace(":", " ").split()) in _CONFIRMED_LINK:
            following = low[e : e + 8].split()
            return (
                not following
                or following[0] in _CONFIRMED_DATE_WORDS
                or _date_right_after(low, e)  # "SCIM confirmed Q2 w/ cust"
            )
        if e < m.start and not low[e : m.start].strip(" \t") and m.start - e <= 2:
            after = low[m.end : m.end + 24].split()[:2]
            k = m.end
            if after and after[0] in _CONFIRMED_OF:
                after = after[1:]  # "Confirmed SCIM availability in Q2"
                k = low.find(" ", k + 1)
            # "Confirmed SCIM Q2 with the customer", terse, as "... for Q2"
            return bool(after) and (
                after[0].strip(",") in _CONFIRMED_DATE_WORDS or _date_right_after(low, k)
            )
    return False


def _date_right_after(low: str, k: int) -> bool:
    """Whether a date starts at the first word after low[k] (spaces between) and nothing
    follows it but with whom or when it was confirmed ("Confirmed SCIM Q2 with customer", "SCIM
    confirmed Q2 w/ cust", "... on call today"; not "Confirmed SCIM Q2 is their target", "...
    timeline w/ PM internally")."""
    if k < 0:
        return False
    n = len(low) - len(low[k:].lstrip(" \t"))
    d = _date_at(low, n, len(low)) if n > k else None
    return d is not None and _CONFIRMED_TAIL.match(low, d.end()) is not None


_CONFIRMED_TAIL = re.compile(
    r"[ \t]*(?:[-,][ \t]*)?(?:(?:with|w/|to) (?:the )?(?:customer|cust|client|them)"
    r"|on (?:the |a )?call(?: today)?|today)?[ \t]*(?:[.;!\n)]|$)"
)
# Our own team confirming it to us, not to the customer: "PM confirmed SCIM Q2", "Internally
# confirmed SCIM Q2 with PM" (`_confirmed_feature`).
_CONFIRMED_INTERNALLY = re.compile(
    r"(?<![a-z0-9])(?:pm|pms|eng|engineering|product|internally|internal|r&d|cto)(?![a-z0-9])"
)


# The words `_their_report` looks for before a cue ("they", "customer", "according", "per"),
# as `str.split` leaves them; in a long clause, where the first of them ends (once a clause),
# not a split of the clause for each cue in it.
_REPORT_WORDS = _THEIR_WORDS | {"according", "per"}
_REPORT_WORD_LEN = max(map(len, _REPORT_WORDS))
_REPORT_WORD_INDEX_FROM = 512
_WORD_RUN = re.compile(r"\S+")
_report_word_memo: tuple[str, int, int, int] = ("", 0, 0, 0)


def _report_word_before(low: str, lo: int, hi: int, s: int) -> bool:
    """Whether `low[lo:s].split()` holds one of `_REPORT_WORDS` (`lo` and `hi` the clause)."""
    global _report_word_memo
    if hi - lo < _REPORT_WORD_INDEX_FROM or not lo <= s <= hi:
        words = low[lo:s].split()
        return not _THEIR_WORDS.isdisjoint(words) or "according" in words or "per" in words
    memo = _report_word_memo
    if memo[0] is not low or memo[1] != lo or memo[2] != hi:
        first = next(
            (m.end() for m in _WORD_RUN.finditer(low, lo, hi) if m[0] in _REPORT_WORDS), -1
        )
        memo = _report_word_memo = (low, lo, hi, first)
    if 0 <= memo[3] <= s:
        return True  # a whole word before the cue
    if s in (lo, hi) or low[s - 1].isspace() or low[s].isspace():
        return False
    # the word the cue cuts: its part before s, as `split` leaves it
    k = s - 1
    while k > lo and not low[k - 1].isspace():
        k -= 1
        if s - k > _REPORT_WORD_LEN:
            return False
    return low[k:s] in _REPORT_WORDS


def _their_report(
    low: str,
    s: int,
    c: _Clause,
    names: list[Mention],
    a: int,
    b: int,
    wish_only: bool = False,
) -> bool:
    """Whether the promise cue at low[s] in the clause `c` (of a sentence ending at `b`)
    repeats what the customer told us of our roadmap: their word of saying (`_THEIR_REPORT`)
    before a feature named before the cue ("They told us SCIM releases in Q2", "Customer said
    SCIM ships in Q2"), no word of ours in between ("They said we will have SCIM by Q2") and
    no yes of ours after (`_GRANTED`: "..., and we confirmed it"). Not our word told them
    ("They said the AE told them SCIM lands in Q1": the cue before the feature). The report
    may be the whole clause before the cue's, up to a colon or dash ("They told us: SCIM
    releases in Q2"; the sentence starts at `a`). Their hope or assumption (`wish`) is theirs
    even of our word, the feature named before the cue or after it ("Customer hopes we'll
    have SCIM by Q2"); `wish_only`: only such a hope is looked for."""
    if low.startswith(_TOLD_CUES, s):
        return False
    found = (
        list(_THEIR_REPORT.finditer(low, c.start, s))
        if _report_word_before(low, c.start, c.end, s)
        else None
    )
    wish = False
    if found:
        last = found[-1]
        k = last.end()  # the last: our word after it is ours
        wish = last.start("wish") >= 0 or last.start("wish_noun") >= 0
        if wish_only and not wish:
            return False
    elif wish_only:
        return False
    elif c.start > a and low[max(a, c.start - 2) : c.start].rstrip()[-1:] in _REPORT_JOINTS:
        # the report a clause of its own before a colon or dash: "They told us: SCIM
        # releases in Q2", "They said - SCIM ships in Q2"
        k = c.start  # as `len(low[: c.start].rstrip(_REPORT_JOINTS_TEXT))`, without a copy
        while k and low[k - 1] in _REPORT_JOINTS_TEXT:
            k -= 1
        told = [m.end() for m in _THEIR_REPORT.finditer(low, max(a, k - 64), k)]
        if not told or told[-1] != k:
            return False
        k = c.start
    else:
        return False
    return (
        # (a hope of our word may name the feature after our cue: "hopes we'll have SCIM")
        any(k <= m.start < (c.end if wish else s) for m in names)
        and (wish or _OUR_SUBJECT.search(low, k, s) is None)
        and _GRANTED.search(low, s, b) is None
    )


# What "gave them" / "shared" gives (`_dated_ours`): the words before the date noun, and the
# thing it is "for" after it ("the Q2 date for the contract").
_GIVEN_DATE = re.compile(
    r" (?:them |him |her |the customer |the client )?(?:the|a|an|our) "
    r"(?P<what>(?:[a-z0-9-]+ ){0,3})(?:date|timeline|eta|target)(?![a-z0-9])"
    r"(?: (?:for|of|on) (?P<of>(?:[a-z0-9-]+ ?){1,3}))?"
)


# Who told the customer, when not us: "... by their partner", "... by the reseller", "... by
# the Okta rep" (`_THIRD_PARTY`'s people).
_TOLD_BY_OTHERS = re.compile(
    r" by (?:the |a |an |their |another )?(?:" + _THIRD_PARTY.pattern + r")"
)


_SETTING_PREPOSITIONS = frozenset(("on", "in", "at", "during", "after", "from"))
_SETTING_DETERMINERS = frozenset(("the", "our", "last", "this", "that", "today's"))


def _setting(near: list[str], w: str) -> bool:
    """Whether the sale's word `w` in `near` (the words before a cue) is where our word was
    given, not a date of the sale: "On the call we told them SCIM in Q1", "At the last QBR we
    said SCIM in Q1" (a preposition and a determiner before it, our subject right after)."""
    i = near.index(w)
    return (
        i >= 2
        and near[i - 1] in _SETTING_DETERMINERS
        and (near[i - 2] in _SETTING_PREPOSITIONS or (i >= 3 and near[i - 3] in ("at", "on")))
        and near[i + 1 : i + 2] in (["we"], ["i"])
    )


def _dated_ours(low: str, s: int, e: int, c: _Clause, names: list[Mention], before: str) -> bool:
    """For a cue promising only with a date ("ETA", "goes GA", "lands in", "slated for",
    "scheduled for", "planned for"): not when its subject is theirs ("they go live in Q1",
    "their go-live lands in Q1", "they planned for SCIM in Q2"; a feature named in between
    makes it ours: "told the customer SCIM goes GA in Q1", not when owned: "their SCIM rollout
    is scheduled for Q2"), nor a project of theirs ("rollout is scheduled for Q2"), nor
    negated ("SCIM is not scheduled for Q2"), nor "no ETA", nor the ETA of a sale item ("ETA
    on the contract")."""
    theirs = list(_THEIR_SUBJECT.finditer(before))
    if theirs and low.startswith("told", s) and _PASSIVE_TOLD.search(before) is not None:
        if _TOLD_BY_OTHERS.search(low, e, c.end) is not None:
            return False  # "Customer was told SCIM in Q1 by their partner": not by us
        theirs = []  # told in the passive: "Customer was told SCIM in Q2" (by us)
    if theirs:
        last = theirs[-1]
        at = s - len(before) + last.end()
        if not any(at <= m.start < s for m in names):
            return False
        owned = last.group() == "their" or before.startswith(_HAVE, last.end())
        if owned and not _TOLD_THAT.search(before, last.end()):
            return False  # "their SCIM rollout is scheduled for Q2", "they have SSO planned"
    if _NOT_BEFORE.search(before):
        return False
    near = before[-32:].split()
    if not _PROJECT_WORDS.isdisjoint(near):
        for w in _PROJECT_WORDS.intersection(near):
            k = low.rfind(w, max(c.start, s - 32), s)
            if not any(m.end in (k - 1, k) for m in names):
                return False
    if low.startswith("expect", s):
        # our forecast of the feature itself, named right after ("We expect SCIM in Q2", "We
        # expect to ship the SCIM connector"), not of the sale ("We expect the contract by Q2",
        # "We expect them to sign by Q2")
        k = e + 1
        if low.startswith("the ", k):
            k += 4
        if not any(n.start == k for n in names):
            return False
    if low.startswith(("gave", "shared"), s) and e - s in (4, 6):
        # the date given: of the feature, not of a sale item ("Gave them the Q2 date for the
        # contract", "Shared the signing date with them")
        d = _GIVEN_DATE.match(low, e, c.end)
        if d is None:
            return False
        words = low[d.start("what") : d.end("what")].split()
        if d.group("of"):
            words += [w for w in d.group("of").split() if w not in _OBJECT_LEAD][:1]
        for w in words:
            w = w.strip(_STRIP)
            if w in _SALE_OBJECTS and not _in_name(low.find(w, e), names):
                c.sale = True
                return False
    if low.startswith("eta", s):
        if _NO_ETA.search(before):
            c.denied = True  # "no ETA for SCIM yet", "we don't have an ETA for SCIM by Q1"
            return False
        n = 0
        for raw in low[e : min(c.end, e + 48)].split():
            w = raw.strip(_STRIP)
            if w in ("for", "on", "of") or w in _OBJECT_LEAD:
                continue
            if w in _SALE_OBJECTS and not _in_name(low.find(w, e), names):
                c.sale = True
                return False
            n += 1
            if n == 3 or len(w) != len(raw):
                break
    return True


def _unavailable(low: str, c: _Clause, m: Mention) -> bool:
    """Whether a statement that the feature does not come (`_UNAVAILABLE`) after the mention
    `m` in the clause `c` makes it no dependency: not when a need word stands in the clause
    before that statement ("They need offline mode, which is not on the roadmap", "Offline
    mode is a must-have for them, which will never be built")."""
    after = [p for p in c.unavailable if p >= m.end]
    return bool(after) and _NEEDED_WORDS.isdisjoint(low[c.start : after[-1]].split())


def _in_name(pos: int, names: list[Mention]) -> bool:
    return any(m.start <= pos < m.end for m in names)


# That we do not know, which is no no: "No idea", "No clue", "No ETA yet" (`_NO_ANSWER`,
# `_NEG_ANSWER`).
_DONT_KNOW = r"no (?:idea|clue|eta|date|timeline)(?![a-z0-9])"
# The answer after a bare "Offline mode?" line: a negation that names nothing itself (not
# "Offline mode? No idea": still a question).
_NEG_ANSWER = re.compile(
    r"\s*(?:not (?:needed|required|necessary|a (?:blocker|priority|requirement|must-have))"
    rf"|nope|(?!{_DONT_KNOW})no|n/a|none)(?![a-z0-9])"
)
_LABEL_PUNCT = " \t\u2022*-\u2013\u2014:?.#>"


_DO_WITHOUT = tuple(
    f"{w} {without} "
    for w in ("fine", "live", "ok", "okay", "happy", "do", "manage", "cope")
    for without in ("without", "w/o")
)
# Before `_DO_WITHOUT`: it is denied, and the feature a need ("They can't live without SCIM",
# "won't go live without it", "would not be fine without SCIM").
_NOT_DO_WITHOUT = re.compile(r"(?:n['\u2019]?t|not|cannot|never)(?: be| go| even)? $")


# Just before a name: the customer or we took it out of the deal ("They dropped multi-region",
# "We descoped offline mode", "Removed SCIM from the opp"), unless denied before the verb
# ("They never dropped SCIM", "haven't removed SCIM").
_DROPPED_BEFORE = tuple(
    f"{verb} {article}"
    for verb in ("dropped", "descoped", "removed")
    for article in ("", "the ", "their ")
)
_NOT_DROPPED = re.compile(r"(?:n['\u2019]?t|not|never)(?: yet| been| really| actually)? $")
# Just after a name, ending its clause: the customer dropped it ("Offline mode dropped",
# "Offline mode: dropped", "SSO dropped, SCIM still needed", "Offline mode dropped by the
# customer"), as "Offline mode was dropped"; not release slang with more after it ("SCIM
# dropped last week", "SCIM dropped in Q2").
# The clause's end after "dropped" and what it says (`_DROPPED_AFTER`, `_dropped_by_them_on`).
_DROPPED_TAIL = r"[ .!]*(?=$|[,;\n]| [-\u2013\u2014] | but )"
_DROPPED_AFTER = re.compile(
    r"(?::| [-\u2013\u2014])? dropped(?: by (?:them|(?:the )?(?:customer|client|prospect)))?"
    r"(?: (?:for now|entirely|completely|altogether|too|as well))?" + _DROPPED_TAIL
)


# The date cues after "dropped" (`_dropped_by_date`).
_DROPPED_DATES = ("by ", "before ", "next ", "no later than")
# "Dropped by" the customer, then a date ("Offline mode dropped by the customer by Q1"):
# when they gave it up (`_dropped_by_them_on`).
_DROPPED_BY_THEM = re.compile(
    r"(?::| [-\u2013\u2014])? dropped by (?:them|(?:the )?(?:customer|client|prospect)) "
    r"(?=by |before |in |next |no later than )"
)
_DROPPED_DATE_CUES = ("by ", "before ", "in ", "no later than ")
_DROPPED_AGENT_ENDS = (" them ", "customer ", "client ", "prospect ")
_DROPPED_END = re.compile(_DROPPED_TAIL)


def _dropped_by_them_on(low: str, k: int, b: int) -> bool:
    """Whether "dropped by" the customer (them, the client, the prospect) and a date follow
    the name ending at low[k] and end its clause ("Offline mode dropped by the customer by
    Q1", "... before Q1", "... in Q1", "... next quarter"): the customer's need given up by
    then, as "Offline mode dropped by the customer" is; neither our promise nor their need."""
    m = _DROPPED_BY_THEM.match(low, k, b)
    if m is None:
        return False
    p = m.end()
    cue = next((c for c in _DROPPED_DATE_CUES if low.startswith(c, p)), "")
    d = (_date_at(low, p + len(cue), b) if cue else None) or _date_at(low, p, b)
    return d is not None and _DROPPED_END.match(low, d.end(), b) is not None


def _dropped_by_date(low: str, s: int, names: list[Mention]) -> bool:
    """Whether the promise cue at low[s], just after "dropped ", dates a feature named right
    before it ("Offline mode dropped by Q1", "Offline mode: dropped by Q1", "SSO - dropped
    before Q2"): the customer's need given up by then, or release slang ("dropped" as
    "SCIM dropped in Q2"), and neither our promise. Not "They dropped offline mode by Q1"
    (no name before it) nor "Offline mode requirement dropped by Q1"."""
    if not low.startswith(_DROPPED_DATES, s):
        return False
    k = s - 8
    return any(m.end <= k and not low[m.end : k].strip(" :-\u2013\u2014") for m in names)


def _answered_no(low: str, a: int, b: int, m: Mention) -> bool:
    """A "label: no" line of its own: "Offline mode: no.", "- Offline mode - none"."""
    k = m.end
    if k >= b or low[k] not in " :-\u2013\u2014" or low[a : m.start].strip(_LABEL_PUNCT):
        return False
    while k < b and low[k] in " \t:-\u2013\u2014":
        k += 1
    if ":" not in low[m.end : k] and "-" not in low[m.end : k] and "\u2013" not in low[m.end : k]:
        return False  # "Offline mode no ..." is no label
    answer = _NEG_ANSWER.match(low, k, b)
    return answer is not None and not low[answer.end() : b].strip(" .!;\n")


# What joins a feature to the one before it that "no" denies ("no SSO or offline mode").
_NO_OR = (" or ", " nor ")
# The joints of `_CLAUSE` after which "no" before a name denies it when no date follows ("SCIM
# - Q1; no SSO", "SCIM - Q1 - no SSO"; not "SCIM by Q1; no SSO in Q1": a date denied).
_NO_JOINTS = ("; ", " - ", " \u2013 ", " \u2014 ")


def _no_before(low: str, a: int, b: int, m: Mention) -> bool:
    """Whether "no" just before the name `m` (within low[a:b]) denies it: with "needed",
    required or necessary just after it ("No offline mode needed"), or after a comma, an
    opening parenthesis or " and " ("SCIM by Q1, no SSO", "SCIM (no SSO)", "SCIM by Q1 and no
    SSO"), as ", not SSO" and "(not SSO)" are (`_NEG_BEFORE`), or after a semicolon or a dash
    with no date after the name in its part ("SCIM - Q1; no SSO", "SCIM - Q1 - no SSO", "SCIM by
    Q1 - no SSO, offline mode by Q2")."""
    s = m.start
    if not (s - 3 >= a and low.startswith("no ", s - 3) and (s == 3 or not low[s - 4].isalnum())):
        return False
    return (
        _NEEDED_AFTER.match(low, m.end, b) is not None
        or (s >= 5 and low.startswith(", ", s - 5))
        or (s >= 4 and low[s - 4] == "(")
        or (s >= 8 and low.startswith(" and ", s - 8))
        or (
            (
                (s >= 5 and low.startswith("; ", s - 5))
                or (s >= 7 and low.startswith(_NO_JOINTS, s - 6) and not low[s - 7].isspace())
            )
            and next(_DATE.finditer(low, m.end, _part_end(low, m.end, b)), None) is None
        )
    )


def _no_need(low: str, a: int, b: int, m: re.Match[str], names: list[Mention]) -> bool:
    """Whether the need word `m` (within low[a:b], after a date cue) is denied, no need of the
    customer's: after "no" and a feature ("SCIM by Q1, no SSO needed", "..., no SSO support
    required": `_NEEDED_AFTER`, as `_no_before` reads it, so the feature is no dependency
    either), as the need in "SCIM by Q1, SSO not needed" is none."""
    k = m.start()
    for n in names:
        if (
            n.end < k <= n.end + 24
            and n.start - 3 >= a
            and low.startswith("no ", n.start - 3)
            and (n.start == 3 or not low[n.start - 4].isalnum())
        ):
            x = _NEEDED_AFTER.match(low, n.end, b)
            if x is not None and k < x.end():
                return True
    return False


def _no_x_needed(low: str, a: int, b: int, m: Mention, prev: Mention | None = None) -> bool:
    """ "No offline mode needed" ("no" just before the name: `_no_before`; also of the name
    before it and "or": "SCIM by Q1, no SSO or offline mode", `prev` being the mention before
    `m`) and "they are fine without offline mode" ("fine/live/do ... without" just before it),
    within low[a:b] (the clause, or the sentence). Checked at each mention rather than as cues:
    cues starting with "no", "live", "manage" made every "now", "note", "management" run the
    whole cue alternation."""
    s = m.start
    if s - 3 >= a and low.startswith("no ", s - 3) and (s == 3 or not low[s - 4].isalnum()):
        return _no_before(low, a, b, m)
    if (
        prev is not None
        and low[prev.end : s] in _NO_OR
        and prev.start >= a
        and _no_before(low, a, b, prev)
    ):
        return True
    if _answered_no(low, a, b, m):
        return True
    if low.endswith(_DROPPED_BEFORE, max(a, s - 16), s):
        verb = low.rfind(" ", max(a, s - 16), low.rfind("d ", max(a, s - 16), s)) + 1
        return _NOT_DROPPED.search(low, max(a, verb - 16), verb) is None
    if low.find("dropped", m.end, m.end + 10) >= 0 and (
        _DROPPED_AFTER.match(low, m.end, b) or _dropped_by_them_on(low, m.end, b)
    ):
        return True  # "Offline mode dropped", "Offline mode: dropped", "... by them by Q1"
    if not low.endswith(_DO_WITHOUT, max(a, s - 16), s):
        return False
    verb = low.rfind(" ", max(a, s - 16), low.rfind(" w", max(a, s - 16), s - 1)) + 1
    return _NOT_DO_WITHOUT.search(low, max(a, verb - 16), verb) is None


# What may stand around a need denied in a clause of its own ("but it's not needed", "though
# not required for now"), as `str.split` leaves the words.
_DENIAL_LEAD_TEXT = "but though although however, - \u2013 it's it\u2019s it is its"
_DENIAL_LEAD = frozenset(_DENIAL_LEAD_TEXT.split())
_DENIAL_TAIL_TEXT = "now yet anymore for them right today at this point initially really either"
_DENIAL_TAIL = frozenset(_DENIAL_TAIL_TEXT.split())


def _need_denied_next(low: str, after: _Clause, mentions: list[Mention]) -> bool:
    """Whether `after`, the clause after a feature's, is nothing but a need denied
    ("Multi-region would be nice but not needed", "SCIM came up, though not required for
    now"): it names nothing, so it speaks of that clause's features. Not "SSO is needed but
    not required by Q1" (a date follows)."""
    if not after.neg_after or any(after.start <= n.start < after.end for n in mentions):
        return False
    s = after.neg_after[0]
    if not _DENIAL_LEAD.issuperset(low[after.start : s].split()):
        return False
    m = _NEG_AFTER.match(low, s)
    if m is None:
        return False
    tail = (w.strip(_STRIP) for w in low[m.end() : after.end].split())
    return _DENIAL_TAIL.issuperset(w for w in tail if w)


# -- a heading over a list ----------------------------------------------------------------
# HubSpot notes are often a heading and a list: "Customer requirements:\n- SCIM by Q1\n- Audit
# log", "What we promised:\n1. SCIM - Q1\n2. Audit log". A line ending in ":" (after HTML is
# read as text, "<p><b>Requirements:</b></p>" is one) whose words are a heading of the
# customer's needs, of our promises, of their questions or of what is not needed sets the
# reading of the list items after it ("- ", "* ", "+ ", "• ", "– ", "1. ", "1) ", "a) "), up
# to a blank line or a line that is no item (blank lines right after the heading are skipped).
# Under needs, wishes, promises or questions, short lines with no mark right after the
# heading are items too ("Requirements:\nSCIM by Q1\nSSO", `_bare_item`). An item's own words
# still win where they say more (`_heading_reading`).
_HEADING_END = re.compile(r":[*_ \t\r]*(?=\n)")
_LIST_ITEM = re.compile(
    r"[ \t]*(?:[-*+\u2022\u2013\u2014\u25aa\u25e6\u00b7>]|\d{1,2}[.)]|[a-z][)])[ \t]"
)
_THEIR = (
    r"(?:(?:the )?(?:customer|client|prospect|buyer)(?:['\u2019]s)?|their|they|he|she"
    r"|[a-z]+['\u2019]s)"
)
_HEADING_KINDS = re.compile(
    # a date before it: "Q1 commitments:", "H1 requirements:"
    r"(?:(?:q[1-4]|h[12]|fy ?'?\d{2,4}|20\d\d|eoy)\s+)?"
    # nothing to depend on: "Not needed:", "Out of scope:", "They don't need:", "Descoped:"
    r"(?:(?P<neg>(?:(?:they|the customer|customer|client|the client)\s+)?"
    r"(?:do(?:es)?n['\u2019]?t|do(?:es)? not|no longer|won['\u2019]?t)\s+(?:need|require|want)"
    r"(?:\s+the following)?"
    r"|(?:not|no longer)\s+(?:needed|required|wanted|in scope|interested|a (?:requirement|priority|blocker)"
    r"|requirements|blockers|needed (?:now|yet|anymore))"
    r"|(?:(?:now|also)\s+)?(?:out[- ]of[- ]scope|descoped|dropped|removed(?: from (?:scope|the deal))?"
    r"|deprioriti[sz]ed|non[- ]?requirements|excluded|exclusions)|no need|no interest)"
    # their questions: "Open questions:", "Questions from the call:", "They asked:", "Asked:"
    rf"|(?P<question>(?:(?:open|outstanding|remaining|pending|unanswered|follow[- ]?up|other"
    rf"|key|technical|tech|security|product|{_THEIR})\s+)*questions?"
    r"(?:\s+(?:from (?:them|the customer|the client|the call|the meeting|the demo|customer"
    r"|client)|asked|raised|they asked|to answer|for us|for product))?"
    rf"|(?:{_THEIR}\s+)?(?:also\s+)?(?:asked|asks|wants? to know|wanted to know|wondered)"
    r"(?:\s+the following)?)"
    # our word: "What we promised:", "Commitments:", "We committed to:", "Promised:"
    r"|(?P<promise>(?:what\s+)?(?:we|i)\s+(?:(?:have|already)\s+)?(?:promised|committed(?:\s+to)?"
    r"|guaranteed|agreed to(?: deliver)?|signed up for)"
    r"(?:\s+(?:them|to them|the customer|to the customer|the client|to the client))?"
    r"(?:\s+the following)?"
    r"|(?:(?:our|roadmap|product|firm|customer|verbal|written)\s+)*(?:commitments?|promises)"
    r"(?:\s+(?:made|given))?(?:\s+to\s+(?:them|the customer|customer|the client|client))?"
    r"|(?:promised|committed)(?:\s+to(?:\s+(?:them|the customer|customer|the client|client))?)?)"
    # what we told them: a promise of the items with a date ("What we told them:\n- SCIM in Q1")
    r"|(?P<told>(?:what\s+)?(?:(?:we|i)\s+)?(?:told|assured|informed)\s+(?:them|the customer"
    r"|the client|their [a-z]+)"
    # ... an AE's handoff to CS: "What they were told:", "Expectations set:", "Expectations we
    # set with the customer:", "Roadmap items sold:", "Future functionality sold:"
    r"|what\s+(?:they|the customer|the client)\s+(?:were|was|have been|has been)\s+told"
    r"|expectations\s+(?:(?:we|i)\s+)?set(?:\s+with\s+(?:them|the customer|the client))?"
    r"|(?:roadmap|future)\s+(?:items?|features?|functionality)\s+sold"
    # ... the plan agreed with the customer: "Mutual action plan:\n2. SCIM delivered - Q2"
    r"|(?:(?:the|our|agreed)\s+)?(?:(?:mutual|joint)\s+(?:action|close|closing|success"
    r"|execution)|close|closing|success)\s+plan|map)"
    # what they would like, not require: "Nice to have:", "Nice-to-haves:", "Wish list:",
    # "Optional:" (still wanted: a need, its date theirs, each item `optional`)
    rf"|(?P<optional>(?:(?:the|{_THEIR}|other|some)\s+)*(?:wish[- ]?lists?|nice[- ]to[- ]haves?"
    r"|optional)(?:\s+(?:items|features|asks|requests))?)"
    # their needs: "Customer requirements:", "Needs:", "Must-haves:", "They need:", "What they
    # asked for:"
    rf"|(?P<need>(?:(?:the|{_THEIR}|key|main|core|top|hard|technical|tech|security|business"
    r"|functional|product|feature|critical|open|must|initial|phase \d|day[- ]one|other"
    r"|decision|success|evaluation|buying|selection|acceptance|purchase|purchasing)\s+)*"
    r"(?:requirements?|reqs?|needs|must[- ]?haves?|asks|wants|blockers?|deal[- ]?breakers?"
    r"|criteria|criterion"
    r"|show[- ]?stoppers?|deadlines?|requests"
    r"|requested|needed|required|priorities|needs and deadlines)"
    r"|(?:what\s+)?(?:they|the customer|customer|client|the client)\s+(?:also\s+)?(?:need|needs"
    r"|want|wants|require|requires|asked for|requested|expect|expects)(?:\s+the following)?))"
    # ... and what they are of: "Requirements from the call:", "Not needed for phase 1:", or
    # their date: "Promised for Q2:", "Needed by Q1:" (`_list_headings`)
    r"(?:\s+(?:from|for|of|per|on|in|at|during|after|by|before|until)"
    r"(?:\s+[a-z0-9'\u2019&/-]+){1,3})?"
)
_HEADING_STRIP = " \t*_#>-\u2022\u2013\u2014"
_PARENTHESES = re.compile(r"\s*\([^()]*\)")


def _heading_kind(low: str, start: int, colon: int) -> str | None:
    """What the heading low[start:colon] (a line before its colon) says of the list after it:
    "need", "promise", "told" (a promise with a date), "question", "neg", or None."""
    words = low[start:colon].strip(_HEADING_STRIP)
    if len(words) > 60:
        return None
    if "(" in words:
        words = _PARENTHESES.sub("", words)  # "Requirements (from the call)"
    m = _HEADING_KINDS.fullmatch(" ".join(words.split()))
    return m.lastgroup if m is not None else None


_Heading = tuple[int, int, str, int, int]


# "No" before these after a question is our yes ("No problem, by Q1", "No blockers"); before
# anything else ("No SSO", "No date for SSO", "No we can't") it answers no yes, so the lines
# before it stay questions, as after our no (`_NO_ANSWER`).
_NO_AS_YES = ("problem", "worries", "blocker", "issue", "concern")


def _list_headings(low: str) -> list[_Heading]:
    """Each list under a heading in the note (`_HEADING_KINDS`): the start of its first item,
    the end of its last, the heading's kind, and the span of a date in the heading ("Promised
    for Q2:", "Needed by Q1:"; -1, -1 without one). Only called for a note with a line ending
    in a colon."""
    found = []
    size = len(low)
    for m in _HEADING_END.finditer(low):
        line = low.rfind("\n", 0, m.start()) + 1
        kind = _heading_kind(low, line, m.start())
        if kind is None:
            continue
        d = next(_DATE.finditer(low, line, m.start()), None) if kind != "neg" else None
        ds, de = (d.start(d.lastgroup), d.end(d.lastgroup)) if d is not None else (-1, -1)
        pos = m.end() + 1
        first = -1
        end = pos
        # lines with no mark right under a heading of needs, wishes, promises, what we told
        # them or questions ("Requirements:\nSCIM by Q1\nSSO", "What we promised:\nSCIM - Q1",
        # "What we told them:\nSCIM in Q1", "Open questions:\nSCIM by Q1"): its items too, up
        # to a line that is no such item (`_bare_item`)
        bare = kind in _BARE_KINDS
        while pos < size:
            k = low.find("\n", pos)
            line_end = size if k < 0 else k
            if not low[pos:line_end].strip():
                if first >= 0:
                    break  # a blank line ends the list
                bare = False  # "Requirements:\n\nSCIM by Q1": a paragraph, no item
            elif _LIST_ITEM.match(low, pos, line_end) is not None:
                if first < 0:
                    first = pos
                    bare = False  # a marked list: a line with no mark ends it
                end = line_end
            elif bare and _bare_item(low, pos, line_end, kind):
                if first < 0:
                    first = pos
                end = line_end
            else:
                if (
                    kind == "question"
                    and bare
                    and first >= 0
                    and (head := low[pos:line_end].strip().split(" ", 1))[0] in _ANSWER_FIRST
                    and _NO_ANSWER.match(low, pos, line_end) is None
                    and (head[0] != "no" or head[-1].startswith(_NO_AS_YES))
                ):
                    # "They asked:\nSCIM by Q1\nTold them yes, by Q1": a question and our
                    # answer, not a list of questions: read as written (not when the answer
                    # is no: "Open questions:\nSCIM by Q1\nNo" stays the heading's question,
                    # nor "no" of something: "...\nNo SSO", "...\nNo we can't")
                    first = -1
                break  # a line that is no item
            pos = line_end + 1
        if first >= 0:
            found.append((first, end, kind, ds, de))
    return found


# A line with no list mark under a heading of needs (wishes, promises, what we told them,
# questions) is one of its items when it is short, one sentence, no heading and not our own
# word said as a sentence of its own ("We will deliver SSO by Q2", "I promised SSO by Q2",
# "Told them SSO by Q2": our promise, and the heading's items end there). Not under what is
# not needed (not decided). Under promises and what we told them not a line that denies ("SSO
# not yet", "SSO - not promised", "SSO not in Q1": read as written); under questions not an
# answer ("Yes, by Q1", "A: yes"), and lines followed right away by an answer or our word are
# no items at all (a question and its answer: "They asked:\nSCIM by Q1\nTold them yes, by
# Q1"), unless the answer is our no (`_NO_ANSWER`: "Open questions:\nSCIM by Q1\nNo" stays a
# question).
_BARE_KINDS = frozenset(("need", "optional", "promise", "told", "question"))
# "No" opening the item or ending it ("No SSO", "- SSO - no"), or before what would be the
# promise ("- SSO - no commitment", "no ETA"); not of something else: "- SCIM - no blockers",
# "- SCIM (no extra cost)" under a heading of promises are promises.
_BARE_DENIAL = re.compile(
    r"(?<![a-z0-9])(?:not|never|nothing|none|no (?:commit|commitment|commitments|promise"
    r"|promises|guarantee|date|dates|eta|timeline|plan|plans))(?![a-z0-9])|n['\u2019]t "
    r"|^[^a-z0-9\n]*no(?![a-z0-9])|(?<![a-z0-9])no[^a-z0-9\n]*$",
    re.MULTILINE,
)
_BARE_ITEM_LONGEST = 100
_OURS_FIRST = frozenset(
    f"{w}{t}"
    for w in ("we", "i", "our", "us", "let's", "let\u2019s", "told", "promised", "committed",
              "guaranteed", "assured")
    for t in ("", ",")
) | frozenset(
    f"{w}{a}{t}"
    for w in ("we", "i")
    for a in ("'", "\u2019")
    for t in ("ll", "re", "ve", "d", "m")
)  # fmt: skip
# ... and, under questions, the first word of our answer ("Yes, by Q1", "A: yes", "Told them
# Q2").
_ANSWER_FIRST = (
    _OURS_FIRST
    | frozenset(
        f"{w}{t}" for w in ("yes", "yeah", "yep", "no", "nope") for t in ("", ",", ".", "!", ":")
    )
    | frozenset(("a:", "answer:", "answered", "answered:", "answer", "reply:", "replied"))
)


# ... of which our no, which promises nothing ("No", "No, Q2 at the earliest", "Told them no",
# "A: no"), also that we do not know ("No idea", "No clue", "No ETA yet": as "Not sure",
# "Unknown", "TBD", which are no answer words); not "no" of a feature: "No SSO".
_NO_ANSWER = re.compile(
    r"[ \t]*(?:(?:a|answer|answered|reply|replied):[ \t]*|(?:(?:we|i) )?(?:told (?:them|him|her"
    r"|the customer|the client)|said|answered|replied)(?::| that)? )?"
    rf"(?:no|nope|{_DONT_KNOW}(?: yet)?)(?![a-z0-9])(?![ \t]+[a-z0-9])"
)


def _bare_item(low: str, pos: int, line_end: int, kind: str) -> bool:
    """Whether the line low[pos:line_end], with no list mark, right under a heading of needs,
    wishes, promises, what we told them or questions (`kind`; or its items) is one of its items
    (`_list_headings`)."""
    line = low[pos:line_end].strip()
    if len(line) > _BARE_ITEM_LONGEST or line.rstrip("*_ \t\r").endswith(":"):
        return False  # a paragraph, another heading
    k = line.find(". ")
    if k >= 0 and line[k + 2 :].strip():
        return False  # sentences of their own: "SSO is live. We will have SCIM by Q1."
    first = line.split(" ", 1)[0]
    if kind == "promise" or kind == "told":
        return first not in _OURS_FIRST and _BARE_DENIAL.search(line) is None  # "SSO not yet"
    if kind == "question":
        return first not in _ANSWER_FIRST  # "Yes, by Q1"
    return first not in _OURS_FIRST  # "We will deliver SSO by Q2"


def _heading_at(headings: list[_Heading], pos: int) -> _Heading | None:
    return next((h for h in headings if h[0] <= pos < h[1]), None)


# The customer's own need in an item under a heading of things not needed: the item's word.
_THEY_NEED = re.compile(
    r"(?<![a-z0-9])(?:they|the customer|customer|the client|client|he|she)"
    r"(?:['\u2019]re| are| is| still| really| do| does| will| would)* (?:needs?|requires?|wants?"
    r"|must have|insists? on|expects?)(?![a-z0-9])"
)
# Date cues that say no more than a date ("- SCIM by Q1"): under a heading of needs or
# questions the heading says whose date it is. Other promise language is the item's own word
# ("- we promised SCIM by Q2", "- SCIM ships in Q2").
_DATE_ONLY_CUES = ("by ", "before ", "no later than", "next ", "in time for")
# The first word of an item that asks ("- Will SCIM be ready by Q1", "- Can we have SSO").
_ASKING_FIRST_TEXT = "will would can could do does did is are when what how whether if any has have"
_ASKING_FIRST = frozenset(_ASKING_FIRST_TEXT.split())


def _own_promise(
    low: str, c: _Clause, cues: list[re.Match[str]], heading: str, names: list[Mention]
) -> bool:
    """Whether the clause `c` of a list item under a heading of needs, questions or things not
    needed promises in words of its own, more than a date: "- we promised SCIM by Q2", "- We
    might have SCIM by Q2", "- SCIM is scheduled for Q2" do, "- SCIM by Q1" does not (nor,
    under questions, "- Will SCIM be ready by Q1", "- SCIM ETA for Q2")."""
    if not c.promise or c.denied or c.question:
        return False
    if heading == "question":
        k = c.start
        while k < c.end and low[k] in _CLAUSE_LEAD:
            k += 1
        line = low.rfind("\n", 0, k) + 1
        mark = _LIST_ITEM.match(low, line, k)
        if (
            low[k : k + 12].split(" ", 1)[0] in _ASKING_FIRST
            and not low[mark.end() if mark else line : k].strip()  # the item's first word
        ):
            return False
    for m in cues:
        kind = m.lastgroup
        if kind not in ("promise", "custom") or not c.start <= m.start(kind) < c.end:
            continue
        cue = low[m.start(kind) : m.end(kind)]
        if cue.startswith(_DATE_ONLY_CUES):
            if _WE.search(low, c.start, m.start(kind)):
                return True  # "- We might have SCIM by Q2", "- We need to ship SCIM by Q1"
            continue
        if heading == "question" and cue == "eta":
            continue  # "Open questions:\n- SCIM ETA for Q2"
        if (
            cue.endswith(_LAUNCHES)
            and cue[:2] in _WILL_HEADS
            and not cue.startswith("we")
            and not _launch_ours(low, m.start(kind), c.start, cue, names)
        ):
            continue  # "- SCIM by Q1, will launch by Q2": whose launch is not said
        return True
    return False


# Our subject, also with a contraction ("we'd", "we'll", "I'm").
_WE = re.compile(r"(?<![a-z0-9])(?:we|i)(?:['\u2019](?:d|ll|re|ve|m))? ")
# In a list item with no cue, what makes it more than a label with a date ("- SCIM - Q1",
# "- SCIM (Q1)"): a subject, or a verb in the past ("- We discussed SCIM in Q3 planning").
_NOT_A_LABEL = re.compile(
    r"(?<![a-z0-9])(?:we|i|they|he|she|you|it|our|us|let['\u2019]s|is|are|was|were|came|would"
    r"|could|should|might|may|[a-z]{2,}ed)(?![a-z0-9])"
)


def _denies_promise(low: str, a: int, b: int) -> bool:
    """Whether the list item's sentence low[a:b] under a heading of promises (or a group of
    its clauses under one of what we told them: "- SSO not in Q1") denies (`_BARE_DENIAL`:
    "- SSO - not promised", "- SSO not yet"), other than a date denied ("- SCIM: not by Q1":
    still promised, with no date)."""
    for m in _BARE_DENIAL.finditer(low, a, b):
        if m.group() != "not" or not low.startswith(_NOT_DATE_CUES, m.end() + 1):
            return True
    return False


def _heading_reading(
    low: str,
    clauses: list[_Clause],
    cues: list[re.Match[str]],
    head: _Heading,
    names: list[Mention],
    when: _When,
) -> dict[int, _Clause]:
    """The heading's reading put on the clauses of one of its list items, where the item says
    no more itself (`_own_promise`): under needs, a date is the customer's (`needed`, for the
    features of its clause, or of the clause before a date that names none: "- SCIM: Q1") and
    a date alone no promise; under questions, each clause is a question; under a promise
    heading, the answer maps each clause to the promise it is part of (the clause and the
    date-only clauses after it: "1. SCIM - Q1"); under things not needed, the clauses that
    promise nothing are marked with a negation before them (no dependency). An item without a
    date of its own takes the heading's ("Promised for Q2:\n- SCIM", "Needed by Q1:\n- SCIM")."""
    heading, ds, de = head[2], head[3], head[4]
    said: dict[int, _Clause] = {}
    if heading == "promise" and _denies_promise(low, clauses[0].start, clauses[-1].end):
        # an item that denies ("- SSO - not promised", "- SSO not yet", "- SSO - no
        # commitment"): read as written, as a line with no mark that denies is (`_bare_item`;
        # here the sentence: "- SCIM - Q1. SSO not yet." keeps SCIM by Q1)
        return said
    groups: list[list[_Clause]] = []
    for c in clauses:
        named = any(c.start <= n.start < c.end for n in names)
        if named or not groups:
            groups.append([c])
        else:
            groups[-1].append(c)
    if len(groups) > 1 and not any(
        groups[0][0].start <= n.start < groups[0][-1].end for n in names
    ):
        lead = groups.pop(0)
        groups[0][:0] = lead  # a date before the name: "Next quarter: SCIM"
    for group in groups:
        first = group[0]
        lo, hi = first.start, group[-1].end
        if heading == "promise" or heading == "told":
            if heading == "told" and _denies_promise(low, lo, hi):
                # what we told them, denied ("- SSO not in Q1", "- No SSO in Q1"): read as
                # written, as under promises above; per group, as each needs its own date:
                # "- SCIM in Q1, SSO not yet" keeps SCIM by Q1
                continue
            if any(c.needed for c in group):
                continue  # the customer's own date: "- they need SCIM by Q1"
            # the clause naming the feature
            nc = next((c for c in group if any(c.start <= n.start < c.end for n in names)), first)
            fs, fe = nc.start, nc.end
            k = fs
            while k < fe and low[k] in _CLAUSE_LEAD:
                k += 1
            if (
                low.startswith("no ", k)
                and any(n.start == k + 3 for n in names)
                and not any(fs <= n.start < fe and n.start != k + 3 for n in names)
            ):
                # the clause opens with "no" before the one feature it names ("- SCIM - Q1; no
                # SSO in Q1", "- SCIM - Q1 - no SSO in Q1"): read as written, as the item "- No
                # SSO in Q1" is (its date denied: `_no_before` keeps the feature)
                continue
            if not nc.promise and (
                any(fs <= m.start(m.lastgroup) < fe and m.lastgroup != "denied" for m in cues)
                or _NOT_A_LABEL.search(low, fs, fe) is not None
                or not _SALE_TIMES.isdisjoint(
                    words := [w.strip(_STRIP) for w in low[fs:fe].split()]
                )
                or not _NEEDED_WORDS.isdisjoint(words)
            ):
                continue  # its own words: "- Customer confirmed SCIM for Q2", "- SCIM discussed"
            whole = _Clause(first.start, group[-1].end, promise=True)
            if ds >= 0 and not _promised_dates(low, whole.start, whole.end, when):
                whole = _Clause(ds, de, promise=True)  # "Promised for Q2:\n- SCIM"
            elif heading == "told" and not _promised_dates(low, whole.start, whole.end, when):
                continue  # "What we told them:\n- SCIM": no date, no promise (as "told them")
            for c in group:
                said[id(c)] = whole
            continue
        if heading == "neg" and _THEY_NEED.search(low, first.start, group[-1].end) is not None:
            continue  # "Out of scope:\n- SCIM, they still need it by Q3"
        if heading != "need" and heading != "optional":
            if any(_own_promise(low, c, cues, heading, names) for c in group):
                continue  # "- SCIM: promised by Q2", "- SCIM can't ship in Q1, though we'll..."
            for c in group:
                if heading == "question":
                    c.question = True
                else:  # not needed
                    c.neg_before += (c.start,)
            continue
        # Needs: the date of a promise by a date alone ("- SCIM by Q1"), or of an item that is
        # a label and a date ("- SCIM - Q1", "- SCIM (Q1)"), is theirs; not when the item
        # promises in words of its own, asks, denies, or tells of something else ("- We
        # already delivered SCIM by Q3", "- We'll check in next quarter about SCIM").
        for c in group:
            if c.no_date:  # "Requirements:\n- No SSO by Q1": as "- No SSO in Q1", their date
                c.denied, c.promise = False, True
        if any(c.question or c.denied or c.past for c in group):
            continue
        if len(group) == 1 and first.promise:
            k = _date_then_own(low, first, cues, heading, names)
            if first.needed and any(ns < 0 or ne > k for _, _, ns, ne in first.needed):
                k = -1  # a need word after the cut: "- SCIM by Q1, will ship by Q2, needed by Q3"
            if k >= 0:  # "- SCIM by Q1, will ship by Q2": their date, then our word
                # (the need word's dates before the cut stay theirs, those after it are our
                # word's: "- SCIM needed by Q1, will ship by Q2")
                theirs = tuple((d, k, ns, ne) for d, _, ns, ne in first.needed if d < k)
                cut = [
                    _Clause(lo, k, promise=True, needed=theirs),
                    _Clause(k + 2, hi, promise=True, custom=first.custom, dated=first.dated),
                ]
                i = clauses.index(first)
                clauses[i : i + 1] = cut
                group = cut
                lo, hi = group[0].start, group[-1].end
        own = [
            c
            for c in group
            if _own_promise(low, c, cues, heading, names) or _launched_by_name(low, c, names)
        ]
        # (a date alone beside our own word is its date: "By Q3, we will have SCIM")
        weak = [
            c
            for c in group
            if c.promise
            and c not in own
            and (not own or any(c.start <= n.start < c.end for n in names))
        ]
        if not weak and (
            own
            or any(lo <= m.start(m.lastgroup) < hi for m in cues)
            or any(c.sale for c in group)
            or _NOT_A_LABEL.search(low, lo, hi) is not None
            or not _SALE_TIMES.isdisjoint(w.strip(_STRIP) for w in low[lo:hi].split())
        ):
            continue
        for c in weak:
            c.promise = False
        rest = [c for c in group if c not in own]  # "- SCIM by Q1 - told them Q2": not Q2
        dates = [
            (d.start(d.lastgroup), d.end(d.lastgroup))
            for c in rest
            for d in _DATE.finditer(low, c.start, c.end)
        ]
        if not dates and ds >= 0:
            dates = [(ds, de)]  # "Needed by Q1:\n- SCIM"
        if dates:
            entries = tuple((s, e, -1, -1) for s, e in dates)
            for c in rest:
                c.needed += entries
    return said


def _date_then_own(
    low: str, c: _Clause, cues: list[re.Match[str]], heading: str, names: list[Mention]
) -> int:
    """Where the promise clause `c` of a list item under a heading of needs cuts in two, at
    ", ": a feature by a date alone first, then our own word naming nothing ("- SCIM by Q1,
    will ship by Q2": Q1 is the customer's date, as in "- SCIM by Q1; will ship by Q2");
    -1 when it does not ("- SCIM by Q1, will launch by Q2": whose launch is not said)."""
    first = next(
        (
            m
            for m in cues
            if m.lastgroup in ("promise", "custom") and c.start <= m.start(m.lastgroup) < c.end
        ),
        None,
    )
    if first is None or first.lastgroup != "promise":
        return -1
    s, e = first.start("promise"), first.end("promise")
    if not low.startswith(_DATE_ONLY_CUES, s) or not any(c.start <= n.end <= s for n in names):
        return -1  # not "- SCIM by Q1, ..."
    k = low.find(", ", e, c.end)
    if (
        k < 0
        or any(k < n.start < c.end for n in names)
        or next(_DATE.finditer(low, k, c.end), None) is None
    ):
        return -1  # (not "- SCIM by Q1, will ship": no date of ours to give it)
    return k if _own_promise(low, _Clause(k + 2, c.end, promise=True), cues, heading, names) else -1


# A feature's release in the future, said of it right after its name ("SCIM will launch by
# Q2"): our word on our roadmap, as "will ship", "will be ready", "will go live" are.
_WILL_LAUNCH = re.compile(
    r" will (?:launch|release|roll out|go ga|be (?:launched|released|rolled out|out|ga))"
    r"(?![a-z0-9])"
)


def _launched_by_name(low: str, c: _Clause, names: list[Mention]) -> bool:
    """Whether the promise clause `c` (of a list item under a heading of needs) says of a
    feature it names that it will launch ("- SCIM will launch by Q2"): its own word, more
    than a date (`_own_promise`). Not another subject's launch ("- Their rollout will launch
    by Q2, SCIM needed"), nor a need of it ("- SCIM must launch by Q2")."""
    if not c.promise or c.denied or low.find(" will ", c.start, c.end) < 0:  # cheap first
        return False
    return any(
        c.start <= n.start < c.end and _WILL_LAUNCH.match(low, n.end) is not None for n in names
    )


def _label_only(low: str, c: _Clause, m: Mention) -> bool:
    """Whether the clause is nothing but the mentioned name (a "label: value" line)."""
    return low[c.start : c.end].strip(_LABEL_PUNCT) == low[m.start : m.end]


def _own_value(
    low: str, clauses: list[_Clause], c: _Clause, orphan: _Clause, names: list[Mention]
) -> bool:
    """Whether the clause `c` is a feature's label whose value is a clause of its own after
    its dash or colon, naming nothing, while the promise clause `orphan` is another label's ("SCIM -
    committed Q2; audit log - TBD": the audit log's value is "TBD", SCIM's the promise). A
    promise naming nothing spoke for every feature of the sentence: the audit log was
    promised for Q2 (a false block)."""
    # the feature named last before the promise is whose it is ("SCIM: talked to product, they
    # are shipping in Q2": SCIM's; "offline mode - no | SCIM - committed Q2": SCIM's alone)
    owner = None
    for k in clauses:
        if k.start >= orphan.start:
            break
        if any(k.start <= n.start < k.end for n in names):
            owner = k
    if owner is None or owner is c:
        return False
    i = clauses.index(c)
    if i + 1 >= len(clauses) or low[c.end : clauses[i + 1].start].strip(" \t") not in _LABEL_JOINTS:
        return False
    value = clauses[i + 1]
    return value is not orphan and not any(value.start <= n.start < value.end for n in names)


_LIST_JOINERS = frozenset(("and", "or", "&", "/", "+", "nor"))
# How a heading of things not needed may begin (`_HEADING_KINDS`' group `neg`, a date before
# it): its first three letters, looked at before the heading's pattern.
_NEG_HEADING_HEADS_TEXT = """not no out descoped dropped removed deprioritized deprioritised non
    excluded exclusions now also they the customer client do does won q1 q2 q3 q4 h1 h2 fy fy2
    fy' 202 eoy"""
_NEG_HEADING_HEADS = frozenset(w[:3] for w in _NEG_HEADING_HEADS_TEXT.split())
_LIST_MARK = re.compile(r"[,;|/(.!?\n\u2014]| - ")


def _sentence_references(
    text: str,
    low: str,
    span: tuple[int, int],
    mentions: list[Mention],
    note: Note,
    when: _When,
    catalog: Catalog,
    referred: bool = False,
    heading: _Heading | None = None,
) -> list[FeatureReference]:
    """The references of the sentence low[a:b] (`span`) naming `mentions`. `referred`: its
    "it" is the feature of the sentence before (`_carried_promise`), no off-roadmap thing.
    `heading`: the kind of the heading over the list item it is in (`_list_headings`)."""
    a, b = span
    for m in mentions:  # the first two letters of the word after a name: one set test
        if low[m.end + 1 : m.end + 3] in _ORG_HEADS:
            # "They are a multi-region company": the customer described, not the feature
            mentions = [m for m in mentions if not _describes_org(low, a, m)]
            if not mentions:
                return []
            break
    colon = low.find(":", a, min(b, a + 64)) if mentions else -1
    if (
        colon > 0
        and low[a:colon].lstrip(_HEADING_STRIP)[:3].rstrip() in _NEG_HEADING_HEADS
        and _heading_kind(low, a, colon) == "neg"
    ):
        # "Not needed: offline mode, multi-region", "Out of scope: ...": as the same list
        # under its own line (`_list_headings`), nothing the deal depends on: the names
        # listed right after the colon, up to anything else ("Out of scope: multi-region, but
        # we committed SCIM by Q2" keeps SCIM)
        listed = set()
        k = colon + 1
        after = [m for m in mentions if m.start > colon]
        for i, m in enumerate(after):
            if m.start < k or not _LIST_JOINERS.issuperset(
                low[k : m.start].replace(",", " ").split()
            ):
                break
            # ... and nothing of its own after it up to the next name or mark ("Not needed:
            # offline mode, SCIM needed by Q2": SCIM is not listed)
            nxt = after[i + 1].start if i + 1 < len(after) else b
            mark = _LIST_MARK.search(low, m.end, nxt)
            tail = low[m.end : mark.start() if mark is not None else nxt].split()
            if not _LIST_JOINERS.issuperset(tail):
                break
            listed.add(id(m))
            k = m.end
        mentions = [m for m in mentions if id(m) not in listed]
        if not mentions:
            return []
    cues = list(_CUES.finditer(low, a, b))  # one pass over the sentence for every kind of cue
    if not cues and low.find("?", a, b) < 0:
        # Most sentences: no promise, question or negation, so clauses cannot matter and every
        # mention is a plain dependency (what the general path below gives them).
        if not mentions:
            return []
        # ... unless the customer's date is stated with "in" ("They need SCIM in Q3", rare:
        # a date after " in " and a need word, three cheap looks, then the general path), as
        # their deadline ("Their deadline for SCIM is Q3") or as their milestone's ("SCIM
        # required at go-live (Feb 1)", `_milestone_need`).
        if not (
            (
                _IN_DATE.search(low, a, b) is not None
                and _in_dates(low, a, b)
                and _NEEDED_BY.search(low, a, b)
            )
            or low.find("deadline", a, b) >= 0
            or (_has_milestone(low, a, b) and not _NEED_WORD_FORMS.isdisjoint(low[a:b].split()))
        ):
            if (
                low.find("no", a, b) >= 0  # "no offline mode needed", "Offline mode: no"
                or low.find(" without ", a, b) >= 0
                or low.find(" w/o ", a, b) >= 0
                or low.find("ed ", a, b) >= 0  # `_DROPPED_BEFORE`
                or low.find("dropped", a, b) >= 0  # `_DROPPED_AFTER`: "Offline mode dropped"
            ):  # rare
                mentions = [
                    m
                    for i, m in enumerate(mentions)
                    if not _no_x_needed(low, a, b, m, mentions[i - 1] if i else None)
                ]
                if mentions and _it_not_needed(low, mentions, mentions[-1].end, b):
                    return []  # "Offline mode came up, but they can live without it"
            if _has_before(low, a, mentions):
                if _NEEDED_WORDS.isdisjoint(low[a:b].split()):
                    mentions = [m for m in mentions if not _other_product(low, a, b, m)]
                else:  # rare: the need word is its clause's ("Competitor X has SSO; they
                    # need SCIM": SCIM's; "..., they need ours": a clause naming nothing)
                    mentions = _unwanted_others(low, a, b, mentions, when)
                if not mentions:
                    return []
            if not mentions or (heading is None and not _maybe_optional(low, a, b)):
                return _plain_references(text[a:b], mentions, note.id, catalog)
            # a list item under a heading: read with it below ("Requirements:\n- SCIM - Q1")
    evidence = text[a:b]
    clauses = _clauses(low, a, b, cues, mentions, when)
    # (under a heading, a clause may be cut in two: "- SCIM by Q1, will ship by Q2")
    headed = _heading_reading(low, clauses, cues, heading, mentions, when) if heading else None
    last = clauses[-1]

    kept: list[tuple[Mention, _Clause]] = []
    claimed: set[int] = set()  # ids of the clauses naming a kept feature
    others: bool | None = None  # whether another party's product may be named (`_other_product`)
    soft: set[int] = set()  # ids of mentions needed but "not a blocker": nice to have
    ends = [c.end for c in clauses] if len(clauses) > 1 else None
    for i, m in enumerate(mentions):
        c, j = last, len(clauses) - 1
        if ends is not None:  # the clause the mention starts in (the first ending after it)
            j = bisect_right(ends, m.start)
            c = clauses[j] if j < len(clauses) else last
        if c.neg_after and any(p >= m.end for p in c.neg_after):
            if not _needed_not_blocking(low, c, m):
                continue  # "SCIM is not required", "SCIM is not a blocker"
            soft.add(id(m))  # "They need SCIM eventually, not a blocker"
        if (
            (c.neg_before and any(p <= m.start for p in c.neg_before))
            or (c.removed and any(lo <= m.start and m.end <= hi for lo, hi in c.removed))
            or (c.unavailable and _unavailable(low, c, m))
            or _no_x_needed(low, c.start, c.end, m, mentions[i - 1] if i else None)
        ):
            continue  # "they don't need SSO", "SCIM is not required"
        if others is None:
            others = _has_before(low, a, mentions)
        if (
            others
            and not _wanted_in(low, clauses, c, mentions)
            and _other_product(low, c.start, b, m)
        ):
            continue  # "Competitor X has offline mode" (also "...; we will have SCIM by Q1")
        if c is not last and not c.promise and _need_denied_next(low, clauses[j + 1], mentions):
            continue  # "Multi-region would be nice but not needed"
        if (c is not last or c.question) and _label_only(low, c, m):
            # "Offline mode: not needed", "- Offline mode - nope", "Offline mode? Not needed."
            if c is not last:
                after = clauses[j + 1]
                # (a negation of a feature named after it is that one's: "SCIM - Q1, not SSO",
                # "SCIM - Q1 (not SSO)" keep SCIM)
                if (
                    after.neg_after
                    or after.unavailable
                    or (
                        after.neg_before
                        and not any(
                            p <= n.start < after.end for p in after.neg_before for n in mentions
                        )
                    )
                ):
                    continue
            elif _NEG_ANSWER.match(low, b):
                continue
        kept.append((m, c))
        claimed.add(id(c))
    if (
        kept
        and len(clauses) > 1
        and not any(c.promise for c in clauses)
        and _it_not_needed(low, [m for m, _ in kept], max(c.end for _, c in kept), b)
    ):
        return []  # "Offline mode came up, but they don't need it"
    # The date stated in a promise's clause, else anywhere in the sentence: each span is read
    # only when a promise needs it, and once.
    dates: dict[tuple[int, int], list[tuple[int, date]]] = {}
    # A promise clause naming nothing ("...; we promised it by Q3") speaks about the sentence's
    # features, unless it is custom-build language, which is an off-roadmap promise of its own.
    # Its date comes first for them; after a denial it is a promise made again: "We can't
    # deliver SCIM by Q1 but we will have it by Q2".
    orphan = next(
        (
            c
            for c in clauses
            if c.promise
            and not (c.question or c.custom or c.denied)
            and id(c) not in claimed
            and _OFFERS_ANOTHER.search(low, c.start, c.end) is None
        ),
        None,
    )

    refs: list[FeatureReference] = []
    source_id = note.id
    # The customer's dates ("they need SCIM by Q3, we promised SSO") are no promised date of
    # another clause's feature, nor is a date denied ("We'll have SCIM, but not by Q1", "We
    # can't deliver SCIM by Q1 but we will build it") any clause's (`None`: skipped for all).
    theirs = (
        [(cl, entry[0], entry[1]) for cl in clauses for entry in cl.needed]
        + [(None, cl.start, cl.end) for cl in clauses if cl.denied]
        if len(clauses) > 1
        else None
    )
    # A hedge word anywhere in the sentence (one set test): only then is each promise's
    # clause looked at (`_hedged`).
    hedgy = not _HEDGE_STARTS.isdisjoint(low[a:b].split()) if kept else False
    # Nice to have (`_optional`): looked at only under such a heading or with one of its words
    # in the sentence (four `find`s).
    wishful = bool(kept) and (
        (heading is not None and heading[2] == "optional") or _maybe_optional(low, a, b)
    )
    # The date of their go-live, launch or renewal that the sentence needs the features for
    # (`_milestone_need`): None until looked at, False when there is none.
    milestone: date | bool | None = None
    for m, c in kept:
        question = c.question
        # the clause promising it; not a promise inside their question ("Customer asking when
        # SCIM will be ready, told them Q1": the answer after it, when there is one, below)
        said = c if c.promise and not (c.denied or c.question) else orphan
        if said is orphan and orphan is not None and _own_value(low, clauses, c, orphan, mentions):
            said = None  # "SCIM - committed Q2; audit log - TBD": the audit log's value is TBD
        if said is None and headed:
            said = headed.get(id(c))  # "What we promised:\n1. SCIM - Q1"
        if question and said is None and c is not last and _yes_to(low, clauses, c, mentions, when):
            # our yes to their dated question: "Customer asked whether SCIM will be ready by
            # Q1, told them yes" is our promise by Q1
            question, said = False, c
        elif (
            said is None
            and not question
            and c.needed
            and c is not last
            and _agreed_to(low, clauses, c, mentions)
        ):
            # our agreement to their dated need: "They need SCIM by Q2, we agreed" is our
            # promise by Q2, as a yes to their dated question is
            said = c
        if question and said is orphan and said is not None and said.start >= c.end:
            # a question answered with a promise of it is a promise: "They asked about SCIM,
            # so we promised it by Q3" (not "..., we promised a follow-up": no "it"), or with
            # our word and a date alone: "Customer asked when SCIM ships, told them Q1"
            question = not (
                _pronoun_promised(low, said, cues)
                or low.startswith(_TOLD_CUES, said.start + (low[said.start] in _CLAUSE_LEAD))
                or _date_given(low, said.start, said.end)
                # our agreement to their dated ask: "They asked for SCIM by Q1; we committed"
                or (
                    _AGREED_ANSWER.fullmatch(
                        low, said.start + (low[said.start] in _CLAUSE_LEAD), said.end
                    )
                    is not None
                    and bool(_promised_dates(low, c.start, c.end, when))
                )
            )
        commitment = not question and said is not None and (not c.denied or said.start >= c.end)
        if (
            commitment
            and when.account is not None
            and (step := when.account.search(low, min(said.start, c.start), max(said.end, c.end)))
            is not None
            and step.start() < m.start
            and _OWN_WORD_BETWEEN.search(low, step.end(), max(said.end, c.end)) is None
        ):
            commitment = False  # "Maria said Acme will roll out SCIM by March": their step
        if (
            commitment
            and when.theirs
            and any(lo <= a < hi for lo, hi in when.theirs)
            and _YOUR_WORD.search(low, a, b) is None
        ):
            commitment = False  # in the customer's own e-mail: their "we" (`_their_mail`)
        if commitment and low.startswith(_TAG_HEADS, b) and _INTERNAL_TAG.match(low, b):
            # tagged after its end: "We'll ship SCIM behind a flag end of Jan. (internal, not for
            # customers)"
            commitment = False
        promised = (
            _promised_in(
                low,
                said,
                a,
                b,
                when,
                dates,
                m.start,
                m.end,
                [(lo, hi) for cl, lo, hi in theirs if cl is not c] if theirs else None,
            )
            if commitment and said is not None
            else None
        )
        needed = _needed_in(low, c, a, b, when, m, mentions) if c.needed else None
        if needed is None and theirs and c is not last:  # rare: "...; they need it by Q1"
            needed = _needed_of_it(low, clauses, c, when, mentions)
        if needed is None and not (commitment or question) and milestone is not False:
            if milestone is None:  # once a sentence, and only with a milestone word in it
                milestone = _has_milestone(low, a, b) and _milestone_need(low, a, b, when, mentions)
            if milestone and any(
                _tied(low, w.start(), w.end(), m, mentions)
                for w in _NEED_WORD_AT.finditer(low, a, b)
            ):  # what the need is about: not SCIM's in "Go-live in Q2 with SCIM, they need
                # training"
                needed = milestone
        feature = catalog.get(m.feature_key)
        refs.append(  # every field, in declaration order
            trusted_model(
                FeatureReference,
                _NOTE_FIELDS,
                {
                    "feature_key": m.feature_key,
                    "feature_name": feature.name if feature else m.feature_key,
                    "source": "note",
                    "source_id": source_id,
                    "evidence": evidence,
                    "score": m.score,
                    "is_commitment": commitment,
                    "is_question": question,
                    "custom_build": commitment and c.custom,
                    "promised_date": promised,
                    "needed_by": needed,
                    "matched_text": m.matched_text,
                    "hedged": commitment and hedgy and _hedged(low, said, c, mentions),
                    "optional": not commitment
                    and not question
                    and (
                        id(m) in soft
                        or (wishful and _optional(low, clauses, c, m, mentions, heading))
                    ),
                },
            )
        )
    for i, c in enumerate(clauses):
        if not c.promise or c.question or c.denied or id(c) in claimed:
            continue
        if kept and not c.custom:
            continue  # attributed to the named features above
        if c.neg_before and any(p <= c.end for p in c.neg_before):
            continue
        name = None
        if (
            (i or referred)
            and _unknown_object(low, c.start, c.end) is None
            and _pronoun_promised(low, c, cues)
        ):
            # "it" names what a clause before did: "We can't deliver the Slack integration by
            # Q1 but we will have it by Q2"; or the sentence before: "Multi-region is not in
            # Q1. We'll build it for them by Q3." (no custom build of something else)
            if i:
                name = _referred_name(text, low, clauses, i, c.custom)
            if name is None and referred:
                continue
        if name is None:
            name = _unknown_name(text, low, c.start, c.end, c.custom)
        if name is None:
            continue  # "we'll have the contract ready by Friday" promises no product
        refs.append(
            _reference(
                _UNKNOWN_FIELDS,
                feature_key=None,
                feature_name=name,
                source="note",
                source_id=source_id,
                evidence=evidence,
                score=100.0,
                is_commitment=True,
                custom_build=c.custom,
                promised_date=_promised_in(
                    low,
                    c,
                    a,
                    b,
                    when,
                    dates,
                    skip=[(lo, hi) for cl, lo, hi in theirs if cl is None] if theirs else None,
                ),
                hedged=not _HEDGE_STARTS.isdisjoint(low[c.start : c.end].split())
                and _hedged(low, c, c),
            )
        )
        break  # one off-roadmap promise per sentence
    return refs


# Our yes to the customer's question, a clause of its own after it: "..., told them yes",
# "...; we said yes" (nothing more after it).
_YES_ANSWER = re.compile(
    r"(?:so |and )?(?:(?:we|i) )?(?:told (?:them|him|her|the customer|the client)|said|answered)"
    rf"(?: that)?:? {_YES}[\s.!]*"
)


_YES_AT = re.compile(rf"(?<![a-z0-9]){_YES}(?![a-z0-9])")


def _yes_to(
    low: str, clauses: list[_Clause], c: _Clause, names: list[Mention], when: _When
) -> bool:
    """Whether the question clause `c` is answered yes by the last clause, right after it,
    naming no feature (`_YES_ANSWER`), and `c` states a date: the date we said yes to. A
    search for a yes word first."""
    k = clauses[-1]
    if clauses[-2] is not c or c.denied or any(k.start <= n.start < k.end for n in names):
        return False
    start = k.start
    while start < k.end and low[start] in _CLAUSE_LEAD:
        start += 1
    if (
        _YES_AT.search(low, k.start, k.end) is None
        or _YES_ANSWER.fullmatch(low, start, k.end) is None
    ) and _AGREED_ANSWER.fullmatch(low, start, k.end) is None:
        return False  # (our agreement too: "They asked for SCIM by Q1; we committed")
    return bool(_promised_dates(low, c.start, c.end, when))


# Our agreement, a clause of its own after the customer's dated need: "They need SCIM by Q2,
# we agreed", "... and we agreed to it", "...; we confirmed", "..., I said no problem".
_AGREED_ANSWER = re.compile(
    r"(?:(?:so |and |but )?(?:we|i|(?:the |our )?(?:rep|ae|se))(?:['\u2019]ve)?"
    r"(?: (?:have|had|already|both|then))? "
    r"(?:agreed(?: to (?:it|that|this|them|the date|the timeline|the deadline))?"
    r"|confirmed(?: (?:it|that|this|the date|the timeline))?|committed(?: to (?:it|that|this))?"
    r"|(?:promised|guaranteed)(?: (?:it|that|this|them|the customer|the client))?"
    r"|accepted(?: (?:it|that|this|the date))?"
    rf"|said (?:{_YES}|ok|okay|fine|no problem|that works|that'?s fine|we can"
    # "I said it will be."
    r"|it will(?: be)?(?: ready| there)?|it['\u2019]ll be(?: ready| there)?)"
    # "We can do that.", "We can make that work."
    r"|can (?:do|make) (?:that|it|this)(?: work| happen)?)"
    # our yes with no subject: "That works for us.", "No problem.", "Doable.", "Committed."
    r"|(?:that|this) works(?: for us)?|no problem|not a problem|doable|can do"
    r"|committed(?: to (?:it|that|this))?"
    # ... a recorder's yes: "You'll have it.", "Consider it done.", "100%.", "Understood,
    # we'll make that happen.", "We're on it."
    r"|you(?:['\u2019]ll| will) have it|consider it done|we['\u2019]re on it"
    r"|(?:understood,? )?(?:we['\u2019]ll|we will) make (?:that|it) happen"
    r"|told (?:them|him|her) (?:they|he|she)(?:['\u2019]ll| will) have it"
    # ... told them so: "Told them that's fine.", "Told them no problem."
    r"|told (?:them|him|her|the customer|the client) (?:that(?:['\u2019]s| is) (?:fine|ok|okay)"
    r"|no problem|it['\u2019]s fine|we can do (?:that|it)))"
    r"[\s.!]*"
)


def _agreed_to(low: str, clauses: list[_Clause], c: _Clause, names: list[Mention]) -> bool:
    """Whether the clause `c`, the customer's dated need, is agreed to by the last clause,
    right after it and naming no feature (`_AGREED_ANSWER`)."""
    k = clauses[-1]
    if clauses[-2] is not c or c.denied or any(k.start <= n.start < k.end for n in names):
        return False
    start = k.start
    while start < k.end and low[start] in _CLAUSE_LEAD:
        start += 1
    return _AGREED_ANSWER.fullmatch(low, start, k.end) is not None


# Hedges on a promise: it was still said, but not as a firm word. "may" is no hedge after a
# date word ("by May", "in May") nor before a day ("May 15").
_HEDGE_SOURCE = (
    r"(?<![a-z0-9])(?:might|maybe|possibly|perhaps|hopefully|potentially|tentative(?:ly)?"
    r"|probably|likely|(?=may)(?<!by )(?<!in )(?<!of )(?<!until )(?<!before )(?<!early )"
    r"(?<!mid )(?<!late )(?<!end of )may(?! \d)(?!-)|should|could|aim(?:s|ed|ing)? (?:to|for)"
    r"|hop(?:e|es|ed|ing) to|best case|if all goes well|fingers crossed|subject to change"
    r"|tr(?:y|ies|ied|ying) to|(?:do|doing|did) (?:our|my) best|best[- ]effort"
    r"|target(?:s|ed|ing)?|pencil(?:l)?ed in|ballpark|rough(?:ly)?|estimated?"
    # "Soft commit on SCIM for Q2", "a soft yes"
    r"|soft (?:commit(?:ment)?|yes|promise|target|date)|informal(?:ly)?"
    # "SCIM by Q2 is a stretch", "a stretch goal"
    r"|(?<=a )stretch"
    # our opinion, not our word: "I think SCIM will be ready by Q2", "We believe ..."
    r"|(?:(?<=i )|(?<=we ))(?:think|believe|guess|reckon)"
    # the roadmap relayed: "Per the roadmap, SCIM ships in Q2", "They saw SCIM on our roadmap
    # for Q2" (not "on the roadmap for them": a promise)
    r"|(?:per|according to|based on) (?:the |our )?(?:current |public |product |latest )?roadmap"
    rf"|on (?:the|our) (?:public |product )?roadmap (?:for|in)(?= (?:q[1-4]|h[12]|\d|next|{_MONTH_RE}))"
    # our forecast: "We expect SCIM in Q2"
    r"|(?:(?<=we )|(?<=i ))expect"
    # a date given roughly: "around Q2", "approximately end of March", "Q2, give or take"
    rf"|around(?= (?:q[1-4]|h[12]|\d|mid|early|late|end|the end|{_MONTH_RE})(?![a-z]))"
    r"|approx(?:imately|\.)?|circa|give or take|more or less)(?![a-z0-9])"
)
_HEDGE = re.compile(_first_char_class(_HEDGE_SOURCE) + _HEDGE_SOURCE)


# The words `_HEDGE` can start with, as `str.split` leaves them: looked for first, as a set.
_HEDGE_STARTS_TEXT = """might maybe possibly perhaps hopefully potentially tentative tentatively
    probably likely may should could aim aims aimed aiming hope hopes hoped hoping best if
    fingers subject target targets targeted targeting pencilled penciled ballpark rough roughly
    estimate estimated try tries tried trying best-effort planned scheduled roadmap soft
    informal informally around approximately approx approx. circa give more per according
    based on expect stretch think believe guess reckon"""
_HEDGE_STARTS = frozenset(
    head + w + tail
    for w in _HEDGE_STARTS_TEXT.split()
    for head in ("", "(", "[")  # "SCIM by Q2 (tentative)"
    for tail in ("", ",", ".", ";", ":", ")", "]", "!", ").", "),", "].")
)


# The customer calling a feature nice to have: wanted, not required ("Offline mode would be
# nice to have", "Nice to have: offline mode", "optional for them", "would be a bonus", "on
# their wish list"). Not denied ("not optional", "not a nice-to-have", "not just a nice to
# have"); "not required", "not a must-have" already make no reference (`_NEG_AFTER`).
_OPTIONAL = re.compile(
    r"(?<![a-z0-9])(?<!not )(?<!n't )(?<!n\u2019t )(?<!not a )(?<!not just a )(?<!not only a )"
    r"(?<!not just )(?<!more than a )(?<!non-)(?<!non )"
    r"(?:nice[- ]to[- ]haves?|(?:would|'d|\u2019d|could|will|might) be (?:(?:really|very|pretty"
    r"|a) )?(?:nice|a bonus|a plus)|(?:a |an )?(?:nice|added|extra) (?:bonus|plus|extra|addition)"
    r"|optional|wish[- ]?lists?)(?![a-z0-9])"
)
_OPTIONAL_WORDS = ("nice", "optional", "bonus", "wish", "plus")
# A word of a firm need: where it speaks of the feature, "nice to have" elsewhere in the
# sentence does not ("They need offline mode and SSO would be nice": offline mode is needed).
_FIRM_TEXT = """need needs needed require requires required requirement requirements must
    must-have must-haves mandatory critical crucial essential vital blocker blockers dealbreaker
    dealbreakers deal-breaker non-negotiable showstopper show-stopper"""
_FIRM = frozenset(w.strip(_STRIP) for w in _FIRM_TEXT.split())
# Around the phrase in a clause of its own naming nothing ("Offline mode: optional", "Offline
# mode came up, but it's a nice-to-have for them"), as `str.split` leaves the words.
_OPTIONAL_FILLER_TEXT = """but though although however it's it\u2019s it is its just only a an
    really for them the customer client at this point now more of to - \u2013"""
_OPTIONAL_FILLER = frozenset(_OPTIONAL_FILLER_TEXT.split())
_PART_END = re.compile(r",|;| and | but ")


def _maybe_optional(low: str, a: int, b: int) -> bool:
    """Whether low[a:b] may call something nice to have (`_OPTIONAL`): a cheap look first."""
    return any(low.find(w, a, b) >= 0 for w in _OPTIONAL_WORDS)


def _firm_in(low: str, lo: int, hi: int) -> bool:
    return not _FIRM.isdisjoint(w.strip(_STRIP) for w in low[lo:hi].split())


def _optional(
    low: str,
    clauses: list[_Clause],
    c: _Clause,
    m: Mention,
    names: list[Mention],
    heading: _Heading | None,
) -> bool:
    """Whether the customer called the feature `m` names (in clause `c`) nice to have: in its
    clause ("Offline mode would be nice to have"), in a clause of the sentence naming nothing
    and saying no more ("Nice to have: offline mode", "Offline mode: optional"), or under a
    heading of such wishes ("Nice to have:\n- Offline mode"). Not where a firm need word
    speaks of it: in its own part of the clause (up to a comma, "and", "but") or in a clause
    naming nothing ("Nice to have: offline mode; they need it by Q1")."""
    lo = c.start
    for p in _PART_END.finditer(low, c.start, m.start):
        lo = p.end()
    after = _PART_END.search(low, m.end, c.end)
    hi = after.start() if after is not None else c.end
    if _firm_in(low, lo, hi):
        return False
    nameless = [
        k for k in clauses if k is not c and not any(k.start <= n.start < k.end for n in names)
    ]
    if any(_firm_in(low, k.start, k.end) for k in nameless):
        return False
    hit = _OPTIONAL.search(low, c.start, c.end)
    if hit is not None:
        # with a firm need elsewhere in the clause, only the phrase in its own part counts
        return not _firm_in(low, c.start, c.end) or lo <= hit.start() < hi
    if heading is not None and heading[2] == "optional":
        return True
    i = clauses.index(c)
    for k in (clauses[i - 1] if i else None, clauses[i + 1] if i + 1 < len(clauses) else None):
        if k is None or k not in nameless:
            continue
        hit = _OPTIONAL.search(low, k.start, k.end)
        if hit is not None and _OPTIONAL_FILLER.issuperset(
            w.strip(_STRIP)
            for w in (low[k.start : hit.start()] + " " + low[hit.end() : k.end]).split()
            if w.strip(_STRIP)
        ):
            # not the name of a list required after another feature's wish: "Offline mode:
            # optional, SSO, SCIM: required" (SSO too; a wish label before it, "Nice to have:
            # SSO, SCIM required", still heads it)
            return not (
                k.start < c.start
                and _PART_END.match(low, m.end) is not None
                and _listed_needed(low, c, m, names)
                and not _wish_label(low, k, names)
            )
    if i + 1 < len(clauses) and low.startswith(_WISH_LABEL_ENDS, c.end) and _label_only(low, c, m):
        # a label whose value, the wish, is followed by more names: "Offline mode: optional,
        # SSO, SCIM" (whether the wish reaches SSO and SCIM is left as it was)
        k = clauses[i + 1]
        comma = low.find(", ", k.start, k.end)
        return comma >= 0 and _wish_only(low, _Clause(k.start, comma), names)
    return False


def _listed_needed(low: str, c: _Clause, m: Mention, names: list[Mention]) -> bool:
    """Whether the name `m` opens a list of names in its clause `c` (list words between them
    only) whose requirement follows the last, after a colon or dash or none ("SSO, SCIM:
    required", "SSO and SCIM - required", "SSO, SCIM required")."""
    end = m.end
    for n in names:
        if n.start < end or n.start >= c.end:
            continue
        if not _LISTING.issuperset(low[end : n.start].split()):
            return False
        end = n.end
        k = end + (low.startswith(":", end))
        for dash in _LABEL_DASHES:
            if low.startswith(dash, k):
                k += len(dash)
                break
        if _LABEL_NEEDED.match(low, k) is not None:
            return True
    return False


# The roadmap's plan relayed, a hedge as "is targeted for" is (`_HEDGE`): "SSO is planned for
# Q3", "SSO's scheduled for Q3", "SSO is on the roadmap for Q3". Only of a feature named right
# before it (`_hedged`): not "the demo is scheduled for Monday", nor our "We have SSO planned
# for Q3" or "SSO is scheduled to ship in Q2".
_PLANNED = re.compile(
    r"(?:(?<![a-z0-9])(?:is|are|was|were) |'s |\u2019s )(?:(?:planned|scheduled) for"
    r"|on (?:the|our) roadmap for)(?![a-z0-9])"
)


def _hedged(low: str, said: _Clause | None, c: _Clause, names: list[Mention] | None = None) -> bool:
    """Whether the promise of the clause `said` (the feature named in `c`) was hedged: a
    hedge word in either clause ("We might have SCIM by Q2", "SCIM by Q2, hopefully"), or the
    roadmap's plan of a feature of `names` in it ("We told them SSO is planned for Q3")."""
    if said is None:
        return False
    if _HEDGE.search(low, said.start, said.end) is not None:
        return True
    if c is not said and _HEDGE.search(low, c.start, c.end) is not None:
        return True
    if names:
        for k in (said,) if c is said else (said, c):
            for hit in _PLANNED.finditer(low, k.start, k.end):
                at = hit.start()
                for n in names:
                    end = n.end  # a name's span takes in its "'s": "SSO's planned for Q3"
                    if low.startswith(("'s", "\u2019s"), end - 2):
                        end -= 2
                    if k.start <= end <= at and low[end:at].strip() in ("", "support"):
                        return True
        # ... of the label of a clause before a colon or dash: "SSO: planned for Q3", "SSO -
        # planned for Q3" (the feature the label, its plan the clause said after it)
        if (
            c.end < said.start
            and low[c.end : said.start].strip(" \t") in _LABEL_JOINTS
            and _PLANNED_AFTER.match(low, said.start, said.end) is not None
            and any(
                c.start <= n.start and low[n.end : c.end].strip() in ("", "support") for n in names
            )
        ):
            return True
    return False


# What may end a feature's label before its plan: "SSO: planned for Q3", "SSO - planned for Q3".
_LABEL_JOINTS = (":", "-", "\u2013", "\u2014")
# The roadmap's plan opening the clause after a feature's label and colon: "SSO: planned for Q3".
_PLANNED_AFTER = re.compile(
    r"[ \t]*(?:(?:planned|scheduled) for|on (?:the|our) roadmap for)(?![a-z0-9])"
)


# Another company's product: "Competitor X has offline mode", "Their current vendor's offline
# mode keeps crashing", "They're evaluating Acme because it has offline mode", "Acme offers
# offline mode; we don't". The word right before the name (after these fillers) is a verb of
# having (`_HAS_VERBS`) or a possessive; who has it, the words before, is another party
# (`_OTHER_PARTY`), what they are evaluating (`_EVALUATED`), or any name but ours or the
# customer's when the sentence says we lack it (`_WE_LACK`). Only in a sentence with no need
# word ("They need offline mode like Acme has", "Competitor X has offline mode and they want
# it": a dependency), no promise and no question (`_sentence_references`).
_HAS_VERBS_TEXT = """has have had offers offer offered offering supports support supported
    provides provide provided includes include included ships with"""
_HAS_VERBS = frozenset(_HAS_VERBS_TEXT.split())
_HAS_FILLER_TEXT = """a an the its their native built-in full proper decent working solid great
    better good robust basic real true first-class"""
_HAS_FILLER = frozenset(_HAS_FILLER_TEXT.split())
_OTHER_PARTY = re.compile(
    r"(?<![a-z0-9])(?:competitors?|competition|competing|rivals?|incumbents?"
    r"|(?:their|current|existing|other|old|legacy|previous|present|another|incumbent)"
    r" (?:[a-z-]+ )?(?:vendors?|tools?|providers?|solutions?|platforms?|systems?|products?"
    r"|suppliers?|software|apps?))(?![a-z0-9])"
)
_EVALUATED = re.compile(
    r"(?<![a-z0-9])(?:evaluat|consider|looking at|compar|trial|pilot|leaning to|going with"
    r"|went with|chose|picked|prefer|switch|moving to|talking to)[a-z]*"
    r"(?: (?!us |our )[a-z0-9&.'-]+){1,3} (?:because|since|as|cause|bc) (?:it|they)$"
)
_WE_LACK = re.compile(
    r"(?<![a-z0-9])(?:we (?:don['\u2019]?t|do not|lack|can['\u2019]?t|cannot|won['\u2019]?t)"
    r"|unlike us|not us)(?![a-z0-9])"
)
_NOT_OTHER_TEXT = "we our us i they their them he she customer customer's client client's prospect"
_NOT_OTHER = frozenset(_NOT_OTHER_TEXT.split())


def _has_before(low: str, a: int, mentions: list[Mention]) -> bool:
    """Whether a word of having or a possessive stands right before some name, maybe after
    fillers ("has a native"): the cheap first look of `_other_product` (the word before each
    name, one `rfind` and a set test; one more a filler)."""
    for m in mentions:
        end = m.start - 1
        lo = max(a, end - 48)
        while end > lo and low[end] == " ":
            k = low.rfind(" ", lo, end) + 1 or lo
            w = low[k:end]
            if w in _HAS_VERBS or w.endswith(("'s", "\u2019s")):
                return True
            if w not in _HAS_FILLER:
                break
            end = k - 1
    return False


def _other_product(low: str, lo: int, b: int, m: Mention) -> bool:
    """Whether the name `m` is another party's product (see `_HAS_VERBS`): `lo` is the start
    of its clause, `b` the sentence's end."""
    words = low[max(lo, m.start - 64) : m.start].split()
    k = len(words)
    while k and words[k - 1] in _HAS_FILLER:
        k -= 1
    if not k:
        return False
    last = words[k - 1]
    if last in _HAS_VERBS:
        if last == "with" and (k < 2 or words[k - 2] not in ("comes", "come", "came", "ships")):
            return False
        k -= 1 + (last == "with")
    elif last.endswith(("'s", "\u2019s")):
        words[k - 1] = last[:-2]
    else:
        return False
    subject = " ".join(words[:k])
    if not subject:
        return False
    if _OTHER_PARTY.search(subject) is not None or _EVALUATED.search(subject) is not None:
        return True
    return _NOT_OTHER.isdisjoint(subject.split()) and _WE_LACK.search(low, m.end, b) is not None


# A name used as an adjective before a kind of organization describes the customer, not
# the feature: "They are a multi-region company", "a multi-region enterprise", "an AI
# company"; not after our word ("our multi-region team" may build it). "Customer" only after
# a hyphenated name (`_CLIENT_NOUNS`): a product's name before it says what they use ("They
# are a Salesforce customer").
_ORG_NOUNS_TEXT = """company companies enterprise enterprises organization organizations
    organisation organisations org orgs team teams business businesses firm firms retailer
    retailers bank banks"""
_ORG_NOUNS = frozenset(_ORG_NOUNS_TEXT.split())
# "customer" and "client" only after a name written as a hyphenated adjective ("They are a
# multi-region customer"; "a Salesforce customer", "an SSO customer" say what they use), and
# as the phrase's last noun: at its end or before a word of these ("a multi-region customer
# with offices in EMEA"; not "multi-region customer deployment needed", the feature's).
_CLIENT_NOUNS = frozenset(("customer", "customers", "client", "clients"))
_CLIENT_NEXT_TEXT = """with in who that which and but so since because across based operating
    headquartered like for of at on is are was were they their"""
_CLIENT_NEXT = frozenset(_CLIENT_NEXT_TEXT.split())
_ORG_HEADS = frozenset(w[:2] for w in _ORG_NOUNS | _CLIENT_NOUNS)
_ORG_OWNERS = frozenset(("our", "we", "my", "your"))


def _describes_org(low: str, a: int, m: Mention) -> bool:
    """Whether the name `m` (in the sentence starting at `a`) is an adjective before an
    organization noun (`_ORG_NOUNS`): "a multi-region company" (not "company-wide")."""
    e = m.end
    if low[e : e + 1] != " ":
        return False
    words = low[e + 1 : e + 18].split(None, 1)
    if not words:
        return False
    noun = words[0].rstrip(".,;:!?)\"'")
    if noun not in _ORG_NOUNS:
        if noun not in _CLIENT_NOUNS or low.find("-", m.start, e) < 0:
            return False
        if noun == words[0]:  # no punctuation after it: the next word says whose noun it is
            k = e + 1 + len(noun)
            after = low[k : k + 16].split(None, 1)
            if after and after[0].rstrip(".,;:!?)\"'") not in _CLIENT_NEXT:
                return False
    before = low[max(a, m.start - 8) : m.start].split()
    return not before or before[-1] not in _ORG_OWNERS


def _plain_references(
    evidence: str, mentions: list[Mention], source_id: str, catalog: Catalog
) -> list[FeatureReference]:
    """Plain dependencies (no promise, question or negation) on the features `mentions` name."""
    refs = []
    get = catalog.get
    for m in mentions:
        key = m.feature_key
        feature = get(key)
        refs.append(  # every field, in declaration order
            trusted_model(
                FeatureReference,
                _NOTE_FIELDS,
                {
                    "feature_key": key,
                    "feature_name": feature.name if feature else key,
                    "source": "note",
                    "source_id": source_id,
                    "evidence": evidence,
                    "score": m.score,
                    "is_commitment": False,
                    "is_question": False,
                    "custom_build": False,
                    "promised_date": None,
                    "needed_by": None,
                    "matched_text": m.matched_text,
                    "hedged": False,
                    "optional": False,
                },
            )
        )
    return refs


def _promised_in(
    low: str,
    c: _Clause,
    a: int,
    b: int,
    when: _When,
    dates: dict[tuple[int, int], list[tuple[int, date]]],
    s: int = -1,
    e: int = -1,
    skip: list[tuple[int, int]] | None = None,
) -> date | None:
    """The date stated in the clause, else anywhere in the sentence low[a:b] (memo: `dates`)
    outside the `skip` spans (another clause's customer dates); with several, the one for the
    feature's name at low[s:e] (`_date_for`)."""
    for span in ((c.start, c.end), (a, b)):
        found = dates.get(span)
        if found is None:
            found = dates[span] = _promised_dates(low, span[0], span[1], when)
        if skip and span == (a, b):
            found = [(p, d) for p, d in found if not any(lo <= p < hi for lo, hi in skip)]
        denied = False
        if found and any(low.find(w, *span) >= 0 for w in _DENIED_DATE_WORDS):
            kept = _not_denied(low, found, span[0])  # "We promised SSO, not in Q1"
            denied, found = len(kept) < len(found), kept
        if found:
            if (
                span[1] < b
                and span[0] == c.start
                and _REDATE_WORD.search(low, found[-1][0], min(b, span[1] + 64)) is not None
            ):
                # re-dated in the clause after it: "We promised SCIM for Q1 but it's now Q2"
                sentence = dates.get((a, b))
                if sentence is None:
                    sentence = dates[(a, b)] = _promised_dates(low, a, b, when)
                redone = dict(sentence)
                found = [(p, redone.get(p, d)) for p, d in found]
            if len(found) > 1:
                return _date_for(low, found, span[0], span[1], s, e)
            return found[0][1]
        if denied and span == (c.start, c.end):
            # "We promised SSO not in Q1 but by Q2": the date right after, correcting it;
            # "We promised SSO not in Q1, SCIM by Q2": no date, not SCIM's
            sentence = dates.get((a, b))
            if sentence is None:
                sentence = dates[(a, b)] = _promised_dates(low, a, b, when)
            after = next(((p, d) for p, d in sentence if p >= c.end), None)
            if after is not None and _CORRECTED_DATE.fullmatch(low, c.end, after[0]):
                return after[1]
            return None
    return None


# Between a clause that denies a date and the date that corrects it: "not in Q1 but by Q2",
# "not in Q1, only in Q2", "not by Q1; rather Q2".
_CORRECTED_DATE = re.compile(
    r"[\s,;-]*(?:but|only|rather|instead|just)?[\s,]*(?:(?:by|in|for|until|till|before|around"
    r"|during|from)(?: the)? )?"
)


# A promise clause offering something else in the feature's place ("They'd like offline mode;
# we'll offer the cached reports by Q2", "Offline mode is a no-go; we're offering sync by Q2
# instead"): not about the sentence's features, as a clause naming nothing usually is.
_OFFERS_ANOTHER = re.compile(
    r"(?<![a-z0-9])(?:instead(?! of)|(?:offer|propos|suggest|recommend|position)[a-z]*"
    r"(?: (?:them|him|her|the customer|the client))? (?:the |a |an |our )"
    r"(?!(?:feature|capability|functionality|same)(?![a-z0-9])))"
)


# What a need says it is not, after the feature: "They need SCIM eventually, not a blocker".
_NOT_BLOCKING = re.compile(
    r"not (?:a |an )?(?:blocker|dealbreaker|deal[- ]breaker|showstopper|must[- ]have"
    r"|hard requirement|blocking)|non-?blocking"
)
# A need word before the feature, in its clause: "they need", "they want", "would like".
_NEED_BEFORE = re.compile(
    r"(?<![a-z0-9])(?:needs?|wants?|would like|'d like|\u2019d like|requires?|asked for"
    r"|asking for)(?![a-z0-9])"
)


def _needed_not_blocking(low: str, c: _Clause, m: Mention) -> bool:
    """Whether every negation after the mention `m` in its clause only says the need is no
    blocker ("They need SCIM eventually, not a blocker", "They want SCIM, not a must-have")
    while a need word before it says it is wanted: a dependency the customer called nice to
    have, not "no dependency" as "SCIM is not a blocker" alone or "not required" is."""
    if _NEED_BEFORE.search(low, c.start, m.start) is None:
        return False
    return all(_NOT_BLOCKING.match(low, p) is not None for p in c.neg_after if p >= m.end)


def _needed_in(
    low: str,
    c: _Clause,
    a: int,
    b: int,
    when: _When,
    m: Mention,
    names: list[Mention],
) -> date | None:
    """The customer's own date for the mention `m` in the clause `c` ("they need SCIM by Q3",
    "SCIM required by March", "By Q3, they need SCIM"): the first date from each of the
    clause's `needed` cues (of those tied to a need word, only where it is about `m`:
    `_tied`), resolved as promised dates are."""
    found: dict[int, date] = {}
    for cue, end, need_start, need_end in c.needed:
        if need_end >= 0 and not _tied(low, need_start, need_end, m, names):
            continue  # "Go-live planned for March with SCIM, training required"
        first = _promised_dates(low, cue, end, when)[:1]
        found.update(first)
    if not found:
        return None
    if len(found) == 1:
        return next(iter(found.values()))
    return _date_for(low, sorted(found.items()), a, b, m.start, m.end)


# The customer's milestones a need may be for, with the date next to them (`_milestone_need`):
# "at go-live (Feb 1)", "for go-live, which is Feb 1", "before their renewal on 3/31", "by
# go-live in Q2", "for their Feb 1 launch", "by their Q2 go-live"; or as the sentence's label
# ("Go-live Feb 1; SCIM required", "Go-live: Feb 1, SCIM needed").
_MILESTONE_NOUNS = (
    "go-live", "go live", "golive", "launch", "rollout", "roll-out", "renewal", "cutover",
    "cut-over", "kickoff", "kick-off",
)  # fmt: skip
_MILESTONE_SOURCE = "|".join(re.escape(n) for n in _MILESTONE_NOUNS)
_MILESTONE_LEAD = (
    r"(?:by|before|for|at|ahead of|in time for|prior to|until)(?: (?:their|the|its|our))?"
)
_MILESTONE_NEED = re.compile(
    # the date after the milestone
    rf"(?<![a-z0-9])(?:{_MILESTONE_LEAD} (?:{_MILESTONE_SOURCE})(?: date)?"
    r"(?: is| of)?(?: \(| on | in | scheduled for | planned for |, which is |: | - | = )"
    r"(?P<after>)"
    # ... or before it
    rf"|{_MILESTONE_LEAD} (?P<before>)[^,;()]{{2,20}}? (?:{_MILESTONE_SOURCE})(?![a-z0-9])"
    r")"
)
_MILESTONE_LABEL = re.compile(
    rf"(?:{_MILESTONE_SOURCE})(?: date)?(?: is)?(?::| -| on| in| =)? (?P<after>)"
)
# Their need, as `str.split` leaves its word: one set test before any search.
_NEED_WORD_TEXT = """need needs needed require requires required requirement must must-have
    mandatory blocker critical essential"""
_NEED_WORD_FORMS = frozenset(
    word + tail for word in _NEED_WORD_TEXT.split() for tail in ("", ".", ",", ";", ":", ")", "!")
)
_NEED_WORD_AT = re.compile(
    r"(?<![a-z0-9])(?:"
    + "|".join(sorted(_NEED_WORD_TEXT.split(), key=len, reverse=True))
    + r")(?![a-z0-9])"
)


_MILESTONE_HINT = re.compile(r"go[- ]?live|launch|roll-?out|renewal|cut-?over|kick-?off")


def _has_milestone(low: str, a: int, b: int) -> bool:
    """Whether low[a:b] has a milestone word: one search, before `_milestone_need`."""
    return _MILESTONE_HINT.search(low, a, b) is not None


def _milestone_need(low: str, a: int, b: int, when: _When, names: list[Mention]) -> date | bool:
    """The date of the customer's milestone the sentence low[a:b] needs its features for
    ("Customer requires SCIM at go-live (Feb 1)", "SCIM required for their Feb 1 launch",
    "SCIM needed before renewal (Mar 31)", "Go-live Feb 1; SCIM required"): a need word of
    theirs in the sentence (not ours: "we need"), one milestone with a date right next to it.
    False when there is none. Not "after go-live" (no need by then)."""
    words = low[a:b].split()
    if _NEED_WORD_FORMS.isdisjoint(words):
        return False
    k = next(i for i, w in enumerate(words) if w in _NEED_WORD_FORMS)
    if k > 0 and words[k - 1] in ("we", "i", "we'll", "we\u2019ll", "to"):
        return False  # our need: "we need to ship SCIM before their renewal on 3/31"
    found: list[date] = []
    label = _MILESTONE_LABEL.match(low, a + (low[a] in "-*\u2022 "))
    hits = [label] if label is not None else []
    hits += list(_MILESTONE_NEED.finditer(low, a, b))
    for m in hits:
        if _in_name(m.start(), names):
            continue
        got = []
        if m.group("after") is not None:
            p = m.end("after")
            d = _date_at(low, p, b)
            if d is not None:
                got = _promised_dates(low, d.start(), d.end(), when)
        else:
            # "for their Feb 1 launch": the words between are one date and nothing more
            p = m.end("before")
            end = m.end() - next(len(n) for n in _MILESTONE_NOUNS if low.endswith(n, 0, m.end()))
            d = _date_at(low, p, b)
            if d is not None and d.end() + 1 == end:
                got = _promised_dates(low, d.start(), d.end(), when)
        if len(got) == 1:
            found.append(got[0][1])
        elif len(hits) > 1:
            return False  # "... for the Feb 1 launch and SSO for the March rollout": whose?
    return found[0] if len(set(found)) == 1 else False


# A need word's object that is a feature named before it: "they need it", "they need to
# have it", "they require them".
_NEED_IT = re.compile(r"(?: to)?(?: have| get)? (it|them)(?![a-z0-9])")


def _needed_of_it(
    low: str, clauses: list[_Clause], c: _Clause, when: _When, names: list[Mention]
) -> date | None:
    """The customer's date for the feature named in the clause `c` from a later clause naming
    no feature whose need is about "it" ("Nice to have: offline mode; they need it by Q1",
    "Offline mode came up, they need it by Q1"; "it" only when the sentence names one
    feature) or "them" ("SSO and SCIM came up; they need them by Q1")."""
    for k in clauses:
        if (
            k.start < c.end
            or not k.needed
            or k.promise
            or k.question
            or k.denied
            or k.neg_before
            or k.neg_after
            or any(k.start <= n.start < k.end for n in names)
        ):
            continue
        for cue, end, _, need_end in k.needed:
            p = _NEED_IT.match(low, need_end) if need_end >= 0 else None
            if p is None or (p.group(1) == "it" and len({n.feature_key for n in names}) > 1):
                continue
            first = _promised_dates(low, cue, end, when)[:1]
            if first:
                return first[0][1]
    return None


# What may stand between a need word and the feature it is about, after it ("they need the
# audit trail", "they need to have SSO") or before it ("SCIM is absolutely a must-have"); and
# what joins several ("they need SSO and SCIM", "SSO, SCIM required").
_TIE_AFTER_TEXT = "to have get use see the a an their full working both also :"
_TIE_AFTER = frozenset(_TIE_AFTER_TEXT.split())
_TIE_BEFORE_TEXT = """is are was were be will would also still a an absolutely definitely really
    strictly hard firm key real clear top their absolute both all each the it's it’s that's
    : ("""
_TIE_BEFORE = frozenset(_TIE_BEFORE_TEXT.split())
_TIE_JOINS = frozenset(("and", "or", "&", "plus", ",", "as", "well"))  # "as well as"
# After a need word that is a noun, or "hoping": "a hard requirement for SCIM", "the must-have
# is SCIM", "hoping for SCIM".
_NEED_NOUNS = ("requirement", "must", "deadline", "expectation", "demand", "hop")
_NEED_NOUN_LINKS = frozenset(("for", "of", "is", "are", ":"))
_TIE_TOKEN = re.compile(r"[a-z0-9][\w'\u2019&/-]*|[,&:(]")
# How far apart a need word and its feature may be.
_TIE_REACH = 60
_DATE_WORDS = frozenset(("in", "by", "before", "until"))
# Need words naming what the deal cannot go on without ("Dealbreaker: no SCIM").
_LACKING_NEEDS = ("deal", "show", "blocker")  # "SCIM in Q3 is a must-have"


# A quantity of the feature after a need word ("needs 12 months of audit trail retention", "90
# days of audit log history", "a year of retention policy coverage"): read past, as "the".
_QUANTITY_HEADS = ("a ", "an ", "one ", "two ", "three ", "six ", "twelve ", "several ", "full ")
_QUANTITY_OF = re.compile(
    r" (?:\d[\d,.]*\+?|a|an|one|two|three|six|twelve|several|full)[ -](?:full |whole )?"
    r"(?:days?|weeks?|months?|years?|yrs?|quarters?|hours?|gb|tb|users?|seats?|records?)"
    r"(?:['\u2019]s?)?(?: worth)? of (?:the |their |our )?"
)


def _tied(low: str, ns: int, ne: int, m: Mention, names: list[Mention]) -> bool:
    """Whether the need word low[ns:ne] is about the mention `m`: what it needs ("they need
    SSO for it", "they need training and SCIM": a list) or what is required ("SCIM
    required", "SCIM is a must-have", "SSO and SCIM are required"), with only such words as
    `_TIE_AFTER`, `_TIE_BEFORE`, other names and a date between ("SCIM in Q3 is a
    must-have"); not "they need training" for SCIM named elsewhere, nor "with SCIM, training
    required"."""
    if m.start >= ne:
        lo, hi, after = ne, m.start, True
    elif m.end <= ns:
        lo, hi, after = m.end, ns, False
    else:
        return False
    if after and (low[lo + 1 : lo + 2].isdigit() or low.startswith(_QUANTITY_HEADS, lo + 1)):
        q = _QUANTITY_OF.match(low, lo, hi)
        if q is not None:  # how much of it: "they need 12 months of audit trail retention"
            lo = q.end()
    if hi - lo > _TIE_REACH:
        return False
    links = _TIE_AFTER if after else _TIE_BEFORE
    noun = after and low.startswith(_NEED_NOUNS, ns)
    listed = False  # a word of a list after the need word ("training and"): a join must follow
    dated = lo  # the end of a date read in between
    for t in _TIE_TOKEN.finditer(low, lo, hi):
        w = t.group()
        if t.start() < dated:
            continue
        if w in _DATE_WORDS and (d := _date_at(low, t.end() + 1, hi)) is not None:
            if listed:
                return False  # "they need training in Q3, SCIM discussed"
            dated = d.end()
        elif (
            noun
            and w in _NEED_NOUN_LINKS
            and (
                _date_at(low, t.end() + 1 + 6 * low.startswith("still ", t.end() + 1), hi)
                is not None
            )
        ):
            return False  # the noun's own date ends it: "Deadline for X is Q2, SCIM discussed"
        elif w in _TIE_JOINS or _in_name(t.start(), names):
            listed = False
        elif w in links or (noun and w in _NEED_NOUN_LINKS):
            continue
        elif w in ("no", "without") and after and low.startswith(_LACKING_NEEDS, ns):
            continue  # what they cannot do without: "Dealbreaker: no SCIM by Q1"
        elif after and w not in _OBJECT_STOP and w not in _NOT_A_THING:
            listed = True
        else:
            return False
    return not listed


# The word "in" before what may be a date: "in Q3", "in January", "in 2027", "in two weeks",
# "in the first half of 2027" (not "in the contract", "in place", "in production"). It starts
# with a literal, so `re` finds candidates in C; `_in_dates` reads the date.
# "in <date>", or "within <date>" (the literal "in " first, so `re` finds candidates fast; then
# "in" is a word of its own, or the end of the word "within").
_IN_DATE = re.compile(
    r"in (?:(?<![a-z0-9]in )|(?<=within )(?<![a-z0-9]within ))(?=[0-9qhfsemlbcnyjaod]|t(?!he )"
    r"|the (?:first|second|1st|2nd|quarter|next)(?![a-z0-9]))"
)


def _in_dates(low: str, a: int, b: int) -> list[tuple[int, int]]:
    """Each "in <date>" in the sentence low[a:b], as the offsets of "in" and the date's end:
    "in Q3", "in January", "in two weeks", "in the first half of 2027"."""
    found = []
    for m in _IN_DATE.finditer(low, a, b):
        at = m.start()
        if at >= 4 and low.startswith("with", at - 4):
            at -= 4  # "within 30 days": the date starts at "within"
        d = (
            _date_at(low, at + 3, b)
            or (low.startswith("the ", at + 3) and _date_at(low, at + 7, b))
            or _date_at(low, at, b)  # "in two weeks": the date starts with "in"
        )
        if d:
            found.append((at, d.end()))
    return found


_DEADLINE_IS = re.compile(
    r"deadline[^.;:!?]{0,40}?(?P<verb> (?:is|was|remains) (?:still )?|: ?)"
    r"(?:the )?(?:end of (?!(?:the |this )?(?:month|quarter|year|fiscal|fy)))?"
)


# A label naming what the customer needs, before a colon: "Needs: SCIM by Q2", "Key
# requirements: SCIM by Q3". What follows is their need, and its date theirs.
_NEED_LABELS_TEXT = """needs need requirements requirement required must-haves must-have asks wants
    ask want expectation expectations pref preference preferences p0 p1
    deadline deadlines haves reqs req blockers blocker wishlist dealbreaker dealbreakers
    deal-breaker deal-breakers breaker breakers showstopper showstoppers show-stopper
    show-stoppers non-negotiable non-negotiables must musts needed mandatory criteria criterion
    requests request"""
_NEED_LABELS = frozenset(_NEED_LABELS_TEXT.split())


# The dash joints of `_CLAUSE` (as `m.group()` gives them), read as a label's colon.
_LABEL_DASHES = frozenset((" - ", " \u2013 ", " \u2014", " \u2014 ", "\u2014", "\u2014 "))


def _need_label(low: str, start: int, colon: int, names: list[Mention]) -> bool:
    """Whether low[start:colon], before a colon, is a label of at most three words ending in
    a need word and naming no feature ("Needs", "- Their requirements"; not "SCIM is
    required", a statement of its own), or a need word with its date ("Required by EOY",
    "Needed by Q2")."""
    words = low[start:colon].split()
    if not words or len(words) > 5 or any(start <= n.start < colon for n in names):
        return False
    if low[colon + 1 : colon + 8].lstrip().startswith(("we ", "i ", "our ")):
        return False  # our word under it: "Expectations: we deliver SCIM by Q2"
    if len(words) <= 3 and words[-1] in _NEED_LABELS:
        return True
    m = _DATED_NEED_LABEL.match(low, start, colon)
    if m is None:
        return False
    d = _date_at(low, m.end(), colon)
    return d is not None and not low[d.end() : colon].strip()


# A need word with its date before a colon: "Required by EOY: SCIM and audit log".
_DATED_NEED_LABEL = re.compile(
    r"[\s\-*\u2022]*(?:needed|required|must[- ]haves?|must[- ]have|mandatory|due|wanted)"
    r" (?:by|before|in|for) (?:the )?"
)
# After the colon or dash of a line naming only features: their requirement ("SCIM & audit
# log: required by Q2", "SCIM and audit log - both needed by Q2").
_LABEL_NEEDED = re.compile(
    r"\s*(?:(?:both|all|each|are|is|also|absolutely|hard|still)\s+)*(?:a |an )?"
    r"(?:needed|required|must[- ]haves?|mandatory|requirements?|needs)(?![a-z0-9])"
)


# ... or the customer's wish with its date ("Offline mode: nice to have by Q1"): one clause,
# read as "Offline mode would be nice to have by Q1" is (`_wished_by_date`).
_LABEL_WISHED = re.compile(
    r"\s*(?:would be )?(?:(?:just|only|really|a|an) )*(?:nice[- ]to[- ]haves?|optional"
    r"|a bonus|a plus|wish[- ]?list(?: items?)?)(?: for them)? (?:by|before) "
)


def _names_needed(
    low: str,
    start: int,
    joint: int,
    joint_end: int,
    names: list[Mention],
    label: re.Pattern[str] = _LABEL_NEEDED,
) -> bool:
    """Whether low[start:joint] names features and nothing else (list words and marks aside)
    and the joint is followed by their requirement (`_LABEL_NEEDED`, or `label`)."""
    if label.match(low, joint_end) is None:
        return False
    inside = [n for n in names if start <= n.start < joint]
    if not inside:
        return False
    words = low[start:joint]
    for n in inside:
        words = words.replace(low[n.start : n.end], " ")
    return _LISTING.issuperset(words.split())


def _label_after_comma(
    low: str, start: int, joint: int, joint_end: int, names: list[Mention]
) -> int:
    """Where in low[start:joint], before a colon or dash followed by a requirement
    (`_LABEL_NEEDED`), a ", " opens a label of features of its own (`_names_needed`): "Offline
    mode: optional, SSO: required", "We will have offline mode by Q1, SSO: required" (the
    comma's offset, else -1). The clause before the comma then says nothing of them."""
    if _LABEL_NEEDED.match(low, joint_end) is None:  # cheap first
        return -1
    k = low.find(", ", start, joint)
    while k >= 0:
        if _names_needed(low, k + 2, joint, joint_end, names):
            return k
        k = low.find(", ", k + 2, joint)
    return -1


def _deadline_colon(low: str, start: int, colon_end: int, b: int) -> bool:
    """Whether the colon ending at `colon_end` states a deadline's date ("Hard deadline for
    SCIM: March 1"): "deadline" in its clause (from `start`) and a date just after it."""
    k = low.rfind("deadline", start, colon_end)
    if k < 0:
        return False
    m = _DEADLINE_IS.match(low, k, b)
    return (
        m is not None and m.start("verb") == colon_end - 1 and _date_at(low, m.end(), b) is not None
    )


def _deadline_dates(low: str, a: int, b: int) -> list[tuple[int, int]]:
    """Each date stated as a deadline in the sentence low[a:b] ("Their deadline for SCIM is
    Q3", "the SCIM deadline is the end of March", "Hard deadline for SCIM: March 1"), as the
    offsets of the verb (or colon) before it and of the date's end. "the end of" before a
    month is the month's end, as in "by the end of March"; before a period ("the end of the
    quarter") it is part of the date."""
    found = []
    for m in _DEADLINE_IS.finditer(low, a, b):
        at = m.end()
        d = _date_at(low, at, b)
        if d:
            verb = m.start("verb")
            found.append((verb + (low[verb] == " "), d.end()))
    return found


def _date_at(low: str, pos: int, b: int) -> re.Match[str] | None:
    """A date starting at low[pos] (before `b`); the character before it turns most positions
    away first (`_WordStartPattern`)."""
    return _DATE.led.match(low, pos - 1, b) if pos else _DATE.plain.match(low, 0, b)


# Where a clause's parts end: "SSO by Q1 and SCIM by Q3", "By Q1 SSO, by Q3 SCIM".
_PART_JOINTS = (", ", " and ")
# What may stand before a date that opens its part: "by Q3 SCIM", "in Q3 SCIM".
_DATE_OPENERS = frozenset(("", "by", "by the", "in", "before", "until", "till", "for", "from"))
_DATE_OPENER_LEN = max(map(len, _DATE_OPENERS))
_offset = itemgetter(0)  # a date's offset in `_date_for`'s (offset, date) pairs


def _part_end(low: str, pos: int, hi: int) -> int:
    k = low.find(", ", pos, hi)
    return hi if k < 0 else k


def _part_start(low: str, lo: int, pos: int) -> int:
    k = max(low.rfind(", ", lo, pos), low.rfind(" and ", lo, pos))
    return lo if k < 0 else k + (2 if low.startswith(", ", k) else 5)


# Where `_date_for` looks for the joints of a name's part with an index of the note, not
# `str.find`: a clause with many names and dates and no joint ("SSO by March April May June
# SSO by March ...", in a hostile note) would scan the whole clause for each name.
_JOINT_INDEX_FROM = 512
_COMMA_AT = re.compile(", ")
_AND_AT = re.compile(r"(?= and )")


def _joints(low: str) -> tuple[list[int], list[int]]:
    """The offsets of every ", " and of every " and " in the note (overlapping ones too, as
    `str.rfind` may find either)."""
    return _note_index(low, "comma", _COMMA_AT), _note_index(low, "and", _AND_AT)


def _last_before(at: list[int], lo: int, pos: int, width: int) -> int:
    """`low.rfind(joint, lo, pos)` from the joint's offsets `at` (`width` its length)."""
    i = bisect_right(at, pos - width) - 1
    return at[i] if i >= 0 and at[i] >= lo else -1


def _first_after(at: list[int], pos: int, hi: int, width: int) -> int:
    """`low.find(joint, pos, hi)` from the joint's offsets `at` (`width` its length)."""
    i = bisect_left(at, pos)
    return at[i] if i < len(at) and at[i] + width <= hi else -1


def _indexed_part_start(low: str, lo: int, pos: int) -> int:
    """`_part_start`, from the note's index of joints."""
    commas, ands = _joints(low)
    k = max(_last_before(commas, lo, pos, 2), _last_before(ands, lo, pos, 5))
    return lo if k < 0 else k + (2 if low.startswith(", ", k) else 5)


def _opens_part(low: str, a: int, pos: int) -> bool:
    """Whether `low[a:pos].strip(" \t:-") in _DATE_OPENERS`, without a copy of a long part."""
    while a < pos and low[a] in " \t:-":
        a += 1
    while pos > a and low[pos - 1] in " \t:-":
        pos -= 1
    return pos - a <= _DATE_OPENER_LEN and low[a:pos] in _DATE_OPENERS


def _date_for(low: str, found: list[tuple[int, date]], lo: int, hi: int, s: int, e: int) -> date:
    """Of several dates in low[lo:hi] (offset, date), the one for the name at low[s:e]: one in
    the name's own part of the clause (parts cut at ", " and " and "), the first after the name
    else the last before it ("SSO by Q1 and SCIM by Q3", "By Q1 we'll have SSO, by Q3 SCIM");
    else that of the nearest part before it opening with its date ("By Q1 we'll have SSO and
    SCIM, by Q3 the audit trail"); else the first after the name, else the last before it.

    `found` is in order of offset (`_promised_dates`), so the dates are found by bisection,
    and in a long span the parts' joints from an index of the note (`_joints`): a name's
    work does not grow with the clause."""
    if s >= 0:
        if hi - lo < _JOINT_INDEX_FROM and lo <= s and e <= hi:
            start = _part_start(low, lo, s)
            ends = [k for k in (low.find(j, e, hi) for j in _PART_JOINTS) if k >= 0]
            part_start = _part_start
        else:
            start = _indexed_part_start(low, lo, s)
            commas, ands = _joints(low)
            ends = [
                k for k in (_first_after(commas, e, hi, 2), _first_after(ands, e, hi, 5)) if k >= 0
            ]
            part_start = _indexed_part_start
        end = min(ends) if ends else hi
        first = bisect_left(found, start, key=_offset)
        stop = bisect_left(found, end, lo=first, key=_offset) if end > start else first
        if stop > first:
            after = bisect_left(found, e, lo=first, hi=stop, key=_offset)
            return found[after][1] if after < stop else found[stop - 1][1]
        before = bisect_left(found, s, key=_offset)
        if before:
            pos, day = found[before - 1]
            if _opens_part(low, part_start(low, lo, pos), pos):
                return day
    after = bisect_left(found, e, key=_offset)
    return found[after][1] if after < len(found) else found[-1][1]


def _unknown_object(low: str, a: int, b: int) -> re.Match[str] | None:
    """`_UNKNOWN_OBJECT.search(low, a, b)`, without `re` trying its optional leading words at
    every character of the clause (~13 us a clause).

    A match starts at most two words (`[a-z0-9][\\w\\-/.&]*`, then whitespace) before its
    object word, and the first object word in the clause, at q, is itself a match (with no
    leading words). So the first match starts before q and after the third run of whitespace
    back from q: searching from there finds the same match (the pattern looks neither behind
    nor at the start of the text).
    """
    first = _OBJECT_WORD.search(low, a, b)
    if first is None:
        return None
    q = first.start()
    runs = [m.end() for m in _SPACE_RUN.finditer(low, a, q)]
    return _UNKNOWN_OBJECT.search(low, runs[-3] if len(runs) >= 3 else a, b)


def _unknown_name(text: str, low: str, a: int, b: int, custom: bool) -> str | None:
    if low.find("per ", a, b) >= 0 and _STANDARD_TERMS.search(low, a, b):
        return None  # "we guarantee uptime per our standard SLA": the terms every deal has
    m = _unknown_object(low, a, b)
    if m is None:
        if custom:
            return "custom build"
        return _promised_object(text, low, a, b)
    phrase = text[m.start() : m.end()].strip()
    stripped = _LEADING_FILLER.sub("", phrase.lower())
    name = phrase[len(phrase) - len(stripped) :] if stripped else phrase
    if custom and not name.lower().startswith("custom"):
        name = "custom " + name
    return name


# What follows "promised", "committed to", "guarantee": the thing promised, when no product
# word names it ("promised them a compliance trail", "guarantee 99.99% uptime").
_PROMISED_OBJECT = re.compile(
    r"(?<![a-z0-9])(?:promis(?:e|ed|es|ing)|commit(?:ted|ting|s)? to|guarantee(?:d|s)?|"
    r"guaranteeing|assured?|(?:agree(?:d|s)?|signed up) to(?= (?P<agreed>[a-z]+)))"
    r"(?: (?:them|him|her|us|you|the customer|the client|the buyer))?"
    r"(?: to (?P<verb>[a-z]+))? (?P<rest>.)"
)
# Verbs after "promised to" that deliver something; "promised to send the pricing" does not.
_DELIVERY_VERBS_TEXT = """deliver build provide ship add support have give include develop offer
    make enable implement release launch create"""
_DELIVERY_VERBS = frozenset(_DELIVERY_VERBS_TEXT.split())
# What is sent is information about the product, not the product ("promised to send the SOC2
# report", "committed to sharing the roadmap deck").
_SENDING_TEXT = "send sending share sharing email emailing forward forwarding"
_SENDING = frozenset(_SENDING_TEXT.split())
# The first word after a promise cue that makes it a step of the sale (`_ours`): sending, and
# getting back, escalating, following up, checking, confirming ("We will get back to them on
# SCIM", "Committed to follow up on SCIM", "Promised to escalate SCIM to product").
_SALE_STEPS_TEXT = """back escalate escalating follow following circle circling loop looping
    check checking confirm confirming find finding look looking chase chasing ask asking raise
    raising flag flagging"""
_SALE_STEPS = _SENDING | frozenset(_SALE_STEPS_TEXT.split())
# Our future step of the sale opening the clause before a date cue ("We will send the offline
# mode roadmap by Q2", "Will confirm offline mode timing by end of month", "I'll follow up on
# SCIM by Q1"), with no delivery verb after it ("We'll confirm we can ship SCIM by Q2" is our
# promise).
_SALE_STEP_BEFORE = re.compile(
    r"(?:^|[^a-z0-9'\u2019])(?:(?:we|i)(?:['\u2019]ll| will| are going to| am going to| plan to"
    r"| need to| have to| should)|will"
    # "to confirm" of a step to do ("Rep to confirm SCIM timing by Friday"), not of our word
    # given now ("Happy to confirm SCIM by Q2", "pleased to", "glad to")
    r"|(?<!happy )(?<!pleased )(?<!glad )(?<!delighted )(?<!excited )(?<!proud )to)"
    r" (?:send|share|email|forward|confirm|check|follow up|get back|circle back|loop back"
    r"|find out|chase|escalate)(?:(?! (?:have|ship|deliver|build|release|launch)(?![a-z0-9]))"
    r"[^;:])*$"
)
_DETERMINERS_TEXT = "a an the their our its your some full native proper"
_DETERMINERS = frozenset(_DETERMINERS_TEXT.split())
# Where the promised thing's words end: a date, a condition, a purpose, another clause.
_OBJECT_STOP_TEXT = """by before until in within for next on at to and so if when as because
    after from with this that which who once soon asap or but per via during throughout"""
_OBJECT_STOP = frozenset(_OBJECT_STOP_TEXT.split())
# Things promised about the sale itself, not the product ("a revised quote by Monday").
_SALE_WORDS_TEXT = """contract contracts call calls meeting meetings quote quotes proposal
    proposals pricing price prices discount discounts decision demo demos follow-up followup email emails deck
    answer answers update updates response responses reply timeline reference references sow
    msa invoice redlines paperwork questionnaire trial credit credits refund rate rates
    signature deadline intro introduction callback slot visit dinner lunch workshop session
    review feedback summary recap notes agenda copy draft budget approval renewal terms nda
    loi order poc pilot back anything something everything it this that them"""
_SALE_WORDS = frozenset(_SALE_WORDS_TEXT.split()) | _SERVICE_WORDS
# The last word of a promised thing that is the customer's own, not something we deliver
# ("we guarantee your data is safe").
_THEIR_THINGS = frozenset(("data", "information", "business", "team", "teams", "users"))


# Words that end the search: the phrase is not a thing ("guaranteed they will", "promised it
# was not required", "promising etc.", a heading: "We promised the following:", "Promises
# made:").
_NOT_A_THING_TEXT = """we i you they he she it us them me may might will would can could should
    shall must is are was were be been being not no never none nothing etc vs aren't isn't
    wasn't weren't don't doesn't didn't won't can't cannot however although whereas out
    written dropped promise promised promising committed commitment guarantee guaranteed
    assured mr mrs ms dr approx ll following below made given"""
_NOT_A_THING = frozenset(_NOT_A_THING_TEXT.split())
_WORDLIKE = re.compile(r"[^\W\d_]{2}")


def _promised_object(text: str, low: str, a: int, b: int) -> str | None:
    """The thing promised after "promised", "committed to", "guarantee" in low[a:b]: up to
    five words, determiners dropped, ending at a preposition, a date or punctuation. None when
    it is about the sale itself ("a revised quote"), an action ("promised to send"), a date,
    or no thing at all."""
    m = _PROMISED_OBJECT.search(low, a, b)
    if m is None:
        return None
    agreed = m.group("agreed")  # "agreed to add ...": the verb opens `rest`
    verb = m.group("verb") or agreed
    if verb is not None and verb not in _DELIVERY_VERBS:
        return None  # "promised to send the pricing", "committed to get back to them"
    words: list[str] = []
    start = m.start("rest")
    # "committed to <verb>ing": delivering something, or an action ("committed to making this
    # work", "committed to helping them"), not a thing.
    action = verb is None and low.startswith("commit", m.start())
    for raw in text[start:b].split():
        word = raw.strip(".,;:!?()\"'\u2018\u2019\u201c\u201d")
        folded = word.lower()
        if action:
            action = False
            if folded.endswith("ing"):
                if _DELIVERY_VERBS.isdisjoint((folded[:-3], folded[:-3] + "e", folded[:-4])):
                    return None
                continue  # "committed to delivering ..."
        if not words and (
            folded in _DETERMINERS
            or (verb is None and folded in _DELIVERY_VERBS)
            or (agreed is not None and folded == agreed)
        ):
            agreed = None
            continue  # "a", "their"; "committed to deliver ..."; "agreed to add ..."
        if not words and _DATE.plain.match(low, low.find(folded, start) if folded else start):
            return None  # "guaranteed 15 July 2027": a date, not a thing
        if not word or not word[0].isalnum() or folded in _OBJECT_STOP or folded in _NOT_A_THING:
            break
        words.append(word)
        if not raw.endswith(word) or len(words) == 5:
            break  # punctuation ends the phrase
    if not words or not any(_WORDLIKE.search(w) for w in words):
        return None
    last = words[-1].lower()
    if last in _SALE_WORDS or words[0].lower() in _SALE_WORDS or last in _THEIR_THINGS:
        return None
    return " ".join(words)


# -- dates --------------------------------------------------------------------------------


def _end_of_month(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _month_end(index: int) -> date:
    """The last day of the month `index` (year * 12 + month - 1)."""
    return _end_of_month(index // 12, index % 12 + 1)


# Fiscal years. A fiscal year starting in month `start` (1: the calendar year) is named by the
# calendar year it ends in, the usual convention (with a February start, FY2027 runs from
# February 2026 to January 2027); its quarters and halves are counted from its first month.
# Periods are handled as month indexes (year * 12 + month - 1).


def _fy_first_month(fy: int, start: int) -> int:
    """The month index FY `fy` starts with."""
    return fy * 12 + start - 1 if start == 1 else (fy - 1) * 12 + start - 1


def _fiscal_year(day: date, start: int) -> int:
    """The fiscal year `day` falls in."""
    return day.year + 1 if start != 1 and day.month >= start else day.year


def _period_end(fy: int | None, start: int, last: int, ref: date) -> date:
    """The end of the fiscal period whose last month is month `last` (0-11) of FY `fy`; with
    no year, of the next such period ending on or after `ref`."""
    if fy is not None:
        return _month_end(_fy_first_month(fy, start) + last)
    fy = _fiscal_year(ref, start)
    end = _month_end(_fy_first_month(fy, start) + last)
    return end if end >= ref else _month_end(_fy_first_month(fy + 1, start) + last)


def _current_quarter_end(ref: date, start: int) -> int:
    """The month index the fiscal quarter holding `ref` ends with."""
    index = ref.year * 12 + ref.month - 1
    first = _fy_first_month(_fiscal_year(ref, start), start)
    return first + (index - first) // 3 * 3 + 2


def _year(raw: str | None) -> int | None:
    if not raw:
        return None
    value = int(raw)
    return 2000 + value if value < 100 else value


class _When(NamedTuple):
    """What a note's dates are read against: `ref`, the day it was written (dates are never in
    the past relative to it unless a year says so); `fy_start`, the month the fiscal year
    starts in (quarters, halves, fiscal years); `close`, the deal's close date, the signature
    that "within 90 days of signature" counts from (None: unknown, counted from `ref`)."""

    ref: date
    fy_start: int = 1
    close: date | None = None
    b4: frozenset[int] = frozenset()  # where the note wrote "b4" ("before"), read as "by"
    # the customer's own step by their account's name (`_account_step`): "Acme will roll out
    # SCIM by March" is theirs, as "They will roll out SCIM by March" is
    account: re.Pattern[str] | None = None
    # the spans of the note that are the customer's own e-mail (`_their_mail`)
    theirs: tuple[tuple[int, int], ...] = ()


def _promised_dates(low: str, a: int, b: int, when: _When) -> list[tuple[int, date]]:
    """Every date or quarter stated in low[a:b] with its offset, resolved against `when`."""
    found = []
    last_end = -1
    for m in _DATE.finditer(low, a, b):
        try:
            resolved = _resolve(m, low, when)
        except (ValueError, OverflowError):
            resolved = None
        if resolved is not None:
            at = m.start(m.lastgroup)
            months = _period_months(m, low)
            if (
                months
                and (
                    _BEFORE_PERIOD.search(low, max(0, at - 24), at) is not None
                    or (at - 3 in when.b4 and low.startswith("by ", at - 3))
                )
                and not low.startswith(_PERIOD_ENDS, m.end(m.lastgroup))
                and _MILESTONE_AFTER.match(low, m.end(m.lastgroup)) is None
                and _FLOOR_NEGATION.search(low, max(0, at - 40), at) is None
            ):
                resolved = _month_end(resolved.year * 12 + resolved.month - 1 - months)
                if resolved < when.ref:  # "before H2" in H2 2026: H2 2027's
                    resolved = _month_end(resolved.year * 12 + resolved.month - 1 + 12)
            end = m.end(m.lastgroup)
            if found and _range_joint(low, last_end, at, end):
                # "in Q1 or Q2", "January or February", "Q1, Q2 latest": one date, the
                # later end (what the customer was told to expect at the latest)
                found[-1] = (found[-1][0], max(found[-1][1], resolved))
            elif found and _redated(low, last_end, at, end):
                # "promised Q1, now Q2", "was Q1, pushed to Q2", "Q1 but it's now Q2": the
                # new date replaces the old (earlier or later), where the old one stood
                found[-1] = (found[-1][0], resolved)
            else:
                found.append((at, resolved))
            last_end = end
    return found


# Between a date and the one that replaces it (`_redated`): "Q1, now Q2", "Q1 - pushed to Q2",
# "Q1 but it's now Q2", "Q1; moved to Q2", "Q1, revised to Q2"; and after the new one: "Q1; it's
# Q2 now".
_REDATE_JOINT = re.compile(
    r"[\s,;:)(>\u2192-]*(?:but |and |which |that |so )?"
    r"(?:(?:it(?:'|\u2019)?s |it is |that(?:'|\u2019)?s |is |was |has |have |been |got |gets "
    r"|we(?:'|\u2019)ve |we have |we(?:'|\u2019)re |we are |we )*(?:now|(?:since |then |now )?"
    r"(?:pushed|moved|slipped|shifted|changed|updated|revised|re-?dated|re-?committed|reset"
    r"|bumped|pulled in|replaced)(?: out| back)?(?: it| this| that| the date| the commitment)?"
    r"(?: out| back| in)?(?: to| into| with)?)"
    r"(?: (?:it(?:'|\u2019)?s|is|for|to|in|by|until|targeting|targeted"
    r"(?: for)?|expected(?: in| by)?|planned(?: for)?|looking like|more like))*)[\s,:]*"
    r"(?:(?:by|in|for|until|till|the|end of|early|mid|late) )*"
)
_ARROW_JOINT = re.compile(r"\s*(?:-+>|\u2192|=>)\s*(?:(?:by|in|end of|the end of) )?")
_NOW_AFTER = (" now", ", now")
_REDATE_TAIL = re.compile(
    r"[;,] (?:but |and )?(?:(?:it(?:'|\u2019)?s |it is |was |has been |since |then |now |we "
    r"|we(?:'|\u2019)ve |we have )*"
    r"(?:pushed|moved|slipped|shifted|bumped|revised|re-?dated|pulled in)(?: out| back)?"
    r"(?: it| this| that)?(?: out| back| in)?(?: to| into)|now)[ ,:]*"
    r"(?:(?:by|in|for|until|till|the|end of|early|mid|late) )*$"
)
# Between two dates: another need or feature list with the later one ("We promised SCIM by Q1;
# they need the audit log, pushed to Q2" is not SCIM's)
_NOT_REDATED_SPAN = re.compile(r"[.!?\n]|(?<![a-z0-9])(?:need|needs|they|and the)(?![a-z0-9])")
_REDATE_WORD = re.compile(
    r"(?<![a-z0-9])(?:now|pushed|moved|slipped|shifted|changed|updated|revised|re-?dated|replaced"
    r"|re-?committed|reset|bumped|pulled in)(?![a-z0-9])"
)


def _redated(low: str, prev_end: int, at: int, end: int) -> bool:
    """Whether the date at low[at:end] replaces the one ending at `prev_end`: see
    `_REDATE_JOINT`."""
    if prev_end < 0 or at - prev_end > 48:
        return False
    if low.startswith(_NOW_AFTER, end) and "now" not in low[prev_end:at]:
        return True  # "... Q1; it's Q2 now"
    if _REDATE_JOINT.fullmatch(low, prev_end, at) is not None:
        return True
    if _ARROW_JOINT.fullmatch(low, prev_end, at) is not None:
        return True  # "promised March -> Q3", "3/31 \u2192 6/30"
    # ... after the feature named in between: "Promised March for SCIM; pushed to Q3"
    return _REDATE_TAIL.search(low, prev_end, at) is not None and (
        _NOT_REDATED_SPAN.search(low, prev_end, at) is None
    )


# Between the two ends of a range of dates (`_range_joint`).
_RANGE_JOINT = re.compile(r"\s*(?:or|to|through|thru|-|\u2013|/)\s*(?:(?:by|in|early|mid|late) )?")
_DATE_OPENED = re.compile(r"(?:(?:the )?(?:early|mid|late|end of) )?[a-z0-9' -]{1,16}")
_LATEST = (" latest", " at the latest", " at the outside", " worst case", " at worst")


def _range_joint(low: str, prev_end: int, at: int, end: int) -> bool:
    """Whether the date at low[at:end] closes a range opened by the date ending at
    `prev_end`: "Q1 or Q2", "Q1 to Q2", "Q1-Q2", "Q1 or early Q2", "Q1, Q2 latest"."""
    if at - prev_end > 14 or prev_end < 0:
        return False
    if _RANGE_JOINT.fullmatch(low, prev_end, at) is not None:
        return True
    if low.startswith(" and ", prev_end) and at == prev_end + 5:
        # "between Q1 and Q2" (not "SSO in Q1 and Q2 for the rest")
        k = low.rfind("between ", max(0, prev_end - 40), prev_end)
        return k >= 0 and _DATE_OPENED.fullmatch(low, k + 8, prev_end) is not None
    return (
        not low[prev_end:at].strip(" ,")
        and "," in low[prev_end:at]
        and low.startswith(_LATEST, end)
    )


# "before Q2", "prior to March", "b4 H2", "ahead of the start of 2027": before the period
# begins, so the last day of the one before it. Read as the period's end, a promise made for
# before Q2 looked a quarter later than it is (on time against a Q2 target) and a need before
# March a month later. Not "before the end of Q2" (its end) or "before March 15" (a day).
_BEFORE_PERIOD = re.compile(
    r"(?<![a-z0-9])(?<!not )(?<!n't )(?<!n\u2019t )(?<!not be )(?<!n't be )(?<!n\u2019t be )(?<!or )"
    r"(?:before|prior to|b4|ahead of)(?: the)?"
    r"(?: (?:start|beginning) of)? $"
)  # (not "not before Q2": Q2 at the earliest)


# After the period: its end, not its start ("before Q1 ends", "before Q2 is over").
_PERIOD_ENDS = (" ends", " is over", " closes", " is out", " finishes", " wraps")
# A negation before "before <period>": a floor, not a deadline ("SCIM won't GA before Q3",
# "Told them not to expect SCIM before Q3"): its date as it is said.
_FLOOR_NEGATION = re.compile(
    r"(?<![a-z0-9])(?:not|never|cannot|can['\u2019]?t|won['\u2019]?t|don['\u2019]?t)(?![a-z0-9])"
    r"[^.;!?\n]*$"
)


def _period_months(m: re.Match[str], low: str) -> int:
    """How many months the period `m` names ends after it starts (0: a day, or a part of a
    period: "end of Q2", "mid-2027", "in 90 days"; or an event in it: "the March renewal")."""
    kind = m.lastgroup
    if kind in ("q", "nq", "qw"):
        return 0 if kind == "q" and m.group("q_part") else 3
    if kind in ("h", "nh", "hw"):
        return 6
    if kind in ("fy", "yr"):
        return 12
    if kind == "md":
        return 0 if m.group("md_d") or _MILESTONE_AFTER.match(low, m.end(kind)) else 1
    if kind == "season":
        return 0 if m.group("season").startswith(("early", "mid", "late", "end")) else 3
    return 0


def _not_denied(low: str, found: list[tuple[int, date]], a: int) -> list[tuple[int, date]]:
    """The dates of `found` (from low[a:...]) not denied right before them (`_DENIED_DATE`)."""
    return [(p, d) for p, d in found if _DENIED_DATE.search(low, max(a, p - 16), p) is None]


# What `_DENIED_DATE` starts with: looked for first, before any date's look-behind is tried.
_DENIED_DATE_WORDS = ("not ", "n't ", "n\u2019t ")
# A date denied right before it: "not in Q1", "not by Q1", "isn't for Q1", "not in the Q1
# release". Not "not until Q3" or "not before Q2": those say when it will be.
_DENIED_DATE = re.compile(r"(?<![a-z0-9])(?:not|n['\u2019]t) (?:in|by|for|during)(?: the)? $")


# Before a bare month name ("by March", "in January", "end of March") or a year-less m/d
# ("by 3/15"): without one, "promised SCIM to Jan, their IT lead" or "3/4 of the users" are
# not dates.
_DATE_LEAD = re.compile(
    r"(?<![a-z])(?:(?:by|in|of|on|until|till|before|b4|prior to|ahead of|after|early|mid|late"
    r"|from|through|due|for|since|eta:?|target:?|targets|promised|committed|guaranteed|now"
    # re-dated to a month: "SCIM slipped to June", "moved to March" (not "promised SCIM to Jan")
    r"|(?:slipped|slips|pushed|moved|delayed|shifted|bumped|revised) to)\s+|(?:early|mid|late)-"
    r"|(?:->|\u2192)\s*)$"
)


# After a bare month name: a milestone it dates ("for their April rollout", "the March
# renewal", "SCIM will be in the January release"), as a date word before it does.
_MILESTONE_AFTER = re.compile(
    r" (?:go[- ]?live|launch|roll-?out|renewal|cut-?over|kick-?off|release|sprint|deadline)"
    r"(?![a-z0-9])"
)


# After a date opening its line: the dash or colon of a plan's item ("1/15 - SCIM GA").
_LINE_DATE_AFTER = re.compile(r"[ \t]*(?:[-\u2013\u2014:])[ \t]")


# Before "day one": what makes it a date ("by day one", "from day 1", "on day one").
_DAY_ONE_LEAD = re.compile(r"(?<![a-z])(?:by|from|on|for|at) $")


# Before a season or Christmas: what makes it a date ("by summer", "this fall", "next spring",
# "before Christmas"); not "Summer release" or "the winter team".
_SEASON_LEAD = re.compile(
    r"(?:^|[^a-z0-9])(?:by|in|this|next|before|b4|until|till|over|during|for|after|early|mid|late"
    r"|end of|by the end of|in the)[- ](?:the )?$"
)
# The last month of each season, the northern hemisphere's meteorological seasons.
_SEASON_LAST_MONTH = {"spring": 5, "summer": 8, "fall": 11, "autumn": 11, "winter": 2}


def _season_end(m: re.Match[str], low: str, ref: date) -> date | None:
    """The end of a season ("by summer": 31 August) or Christmas (25 December): the next one
    ending on or after `ref`, unless a year says which ("winter 2027" ends in February 2028).
    "next summer" is read as the next one too: of two readings the earlier date, as a promise
    is checked against it. None without a word before it that makes it a date
    (`_SEASON_LEAD`)."""
    at = m.start(m.lastgroup)
    if not _SEASON_LEAD.search(low, max(0, at - 18), at):
        return None
    if m.lastgroup == "xmas":
        end = date(ref.year, 12, 25)
        return end if end >= ref else date(ref.year + 1, 12, 25)
    month = _SEASON_LAST_MONTH[m.group("season_n")]
    if m.group("season_y"):
        year = _sane_year(int(m.group("season_y")), ref)
        return None if year is None else _end_of_month(year + (month == 2), month)
    end = _end_of_month(ref.year, month)
    return end if end >= ref else _end_of_month(ref.year + 1, month)


def _sane_year(year: int | None, ref: date) -> int | None:
    """A stated year more than a year before the note is no promise date ("by March 1 2000
    seats"): read as no year."""
    return None if year is not None and year < ref.year - 1 else year


def _resolve(m: re.Match[str], low: str, when: _When) -> date | None:
    ref, fy_start = when.ref, when.fy_start
    kind = m.lastgroup
    g = m.group
    if kind == "yp":  # "early 2027" (31 March), "mid-2027" (30 June), "late 2027", "end of"
        part = g("yp_part")
        month = 3 if part in ("early", "beginning of", "start of") else 6 if "mid" in part else 12
        year = ref.year + 1 if g("yp_next") else _sane_year(int(g("yp_y")), ref)
        return _end_of_month(year, month) if year is not None else None
    if kind == "hw":
        raw = g("hw_y") or g("hw_ys")
        year, start = _sane_year(_year(raw), ref), fy_start
        if g("hw_next"):
            year = _fiscal_year(ref, start) + 1
        half = 1 if g("hw_n") in ("first", "1st", "front") else 2
        return _period_end(year, start, half * 6 - 1, ref)
    if kind == "qw":
        year, start = _sane_year(_year(g("qw_y")), ref), fy_start
        if g("qw_next"):
            year = _fiscal_year(ref, start) + 1
        quarter = {"first": 1, "second": 2, "third": 3, "fourth": 4}.get(g("qw_n")) or int(
            g("qw_n")[0]
        )
        return _period_end(year, start, quarter * 3 - 1, ref)
    if kind in ("q", "h", "nh", "fy", "nq"):
        raw = g(f"{kind}_y")
        if kind in ("q", "h"):
            raw = raw or g(f"{kind}_ya") or g(f"{kind}_yl") or g(f"{kind}_ys") or g(f"{kind}_yb")
            if kind == "q":
                raw = raw or g("q_yf")
        year = _sane_year(_year(raw), ref)
        # "CY27", "Q3 CY27": the calendar's year and quarters, whatever the fiscal year.
        start = 1 if g(f"{kind}_cy") else fy_start
        if kind != "fy" and g(f"{kind}_next"):  # "Q1 next year": of the next fiscal year
            year = _fiscal_year(ref, start) + 1
        if kind == "fy":
            return _period_end(year, start, 11, ref) if year is not None else None
        if kind in ("q", "nq"):
            quarter = int(g(f"{kind}_n"))
            # "early Q3": the end of its first month ("mid": the second); read as the
            # quarter's end, a promise made for early in a quarter looked safer than it is.
            part = g("q_part") if kind == "q" else None
            short = (
                2 if part in ("early", "beginning of", "start of") else 1 if part == "mid" else 0
            )
            if year is None:  # the next such quarter: its end decides, not the part's
                year = _fiscal_year(_period_end(None, start, quarter * 3 - 1, ref), start)
            return _period_end(year, start, quarter * 3 - 1 - short, ref)
        half = int(g(f"{kind}_n"))
        return _period_end(year, start, half * 6 - 1, ref)
    if kind == "nextq":
        return _month_end(_current_quarter_end(ref, fy_start) + 3)
    if kind == "thisq":
        return _month_end(_current_quarter_end(ref, fy_start))
    if kind == "eofy":
        return _period_end(_fiscal_year(ref, fy_start), fy_start, 11, ref)
    if kind == "nextfy":
        return _period_end(_fiscal_year(ref, fy_start) + 1, fy_start, 11, ref)
    if kind == "nextm":
        month, year = (1, ref.year + 1) if ref.month == 12 else (ref.month + 1, ref.year)
        return _end_of_month(year, month)
    if kind == "nexty":
        return date(ref.year + 1, 12, 31)
    if kind == "eom":
        return _end_of_month(ref.year, ref.month)
    if kind in ("season", "xmas"):
        return _season_end(m, low, ref)
    if kind == "dmy":  # only after a date word: "version 2.1.2027" is none
        at = m.start(kind)
        if not _DATE_LEAD.search(low, max(0, at - 12), at):
            return None
        return date(int(g("dmy_y")), int(g("dmy_m")), int(g("dmy_d")))
    if kind == "dayone":  # "by day one": only after a date word ("Day one went well" is none)
        at = m.start(kind)
        return (when.close or ref) if _DAY_ONE_LEAD.search(low, max(0, at - 6), at) else None
    if kind == "now":  # "day one", "at signing": the deal's start, else the note's day
        return when.close or ref if g("now_start") else ref
    if kind == "yr":
        year = _sane_year(int(g("yr_y")), ref)
        return date(year, 12, 31) if year is not None else None
    if kind == "eoy":  # "end of year 2027", "EOY 2027": that year's; else this one's
        year = _sane_year(int(g("eoy_y")), ref) if g("eoy_y") else ref.year
        return date(year, 12, 31) if year is not None else None
    if kind == "iso":
        return date(int(g("iso_y")), int(g("iso_m")), int(g("iso_d")))
    if kind in ("my", "ym"):
        year = _sane_year(int(g(f"{kind}_y")), ref)
        return _end_of_month(year, int(g(f"{kind}_m"))) if year is not None else None
    if kind == "us":
        month, day = int(g("us_m")), int(g("us_d"))
        if month > 12 >= day:  # "30/06/2027", "15/3": day first, as in Europe
            month, day = day, month
        year = _sane_year(_year(g("us_y")), ref)
        if g("us_y") is None:
            at = m.start(kind)
            if not _DATE_LEAD.search(low, max(0, at - 12), at) and not (
                # a plan's line opening with its date: "MAP:\n1/15 - SCIM GA (committed)"
                _LINE_DATE_AFTER.match(low, m.end(kind))
                and not low[low.rfind("\n", 0, at) + 1 : at].strip(" \t-*\u2022>")
            ):
                return None  # "3/4 of the users"
        if year is None:
            year = ref.year if date(ref.year, month, day) >= ref else ref.year + 1
        return date(year, month, day)
    if kind in ("md", "dm"):
        if kind == "md":
            month_name, day_raw, year_raw = g("md_m"), g("md_d"), g("md_y")
        else:
            day_raw, month_name, year_raw = g("dm_d"), g("dm_m"), g("dm_y")
        at = m.start(kind)
        bare = kind == "md" and not day_raw and not year_raw
        if (
            bare
            and not _DATE_LEAD.search(low, max(0, at - 12), at)
            and not _MILESTONE_AFTER.match(low, m.end(kind))  # "for their April rollout"
        ):
            return None  # "we may add it", "promised SCIM to Jan, their IT lead"
        month = _MONTHS[month_name]
        year = _sane_year(_year(year_raw), ref)
        if day_raw:
            day = int(day_raw)
            if year is None:
                year = ref.year if date(ref.year, month, day) >= ref else ref.year + 1
            return date(year, month, day)
        if year is None:
            year = ref.year if _end_of_month(ref.year, month) >= ref else ref.year + 1
        return _end_of_month(year, month)
    if kind in ("rel", "after"):
        amount = _NUMBER_WORDS.get(g(f"{kind}_n")) or int(g(f"{kind}_n"))
        unit = g(f"{kind}_u")
        anchored = kind == "after" or g("rel_of")
        start = when.close if anchored and when.close is not None else ref
        if unit in ("month", "mo"):  # that many months on (the month's last day, if shorter)
            last = _month_end(start.year * 12 + start.month - 1 + amount)
            return last.replace(day=min(start.day, last.day))
        return start + timedelta(days=amount * (7 if unit in ("week", "wk") else 1))
    return None
