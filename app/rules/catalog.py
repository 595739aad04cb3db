"""The roadmap catalog, precompiled once per roadmap version.

Finding feature names in 20 KB of notes per deal must cost about one regex pass, so everything
that does not depend on the text is built here once: a character trie of every name and alias
compiled into a single regular expression run by RE2 (`name_trie.py`), the product mapping
tables, and a deletion index for typo-tolerant matching. A `Catalog` is immutable from the outside and safe to
share between threads (the only mutable parts are memo caches of pure functions).
"""

from __future__ import annotations

import copy
import re
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from itertools import islice
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rapidfuzz import process
from rapidfuzz.distance import OSA

from app.rules.model import Feature, LineItem, ProductMappingEntry
from app.rules.name_trie import NameTrie

# Words that an all-caps acronym or a one-word feature name may collide with in ordinary prose
# ("IT", "US", "ON", "Go", "Export"): such names only match when written as in the catalog.
_COMMON_WORDS_TEXT = """a about above after again against all also am an and any are as ask at be
because been before being below between both but by can could customer customers data day deal did
do does doing done down during each few for from further get go going got had has have having he
her here him his how i if in into is it its just know last let like make may me meeting might more
most much must my need needs new next no nor not now of off on once one only or other our out over
own plan per please quarter really same see she should so some still such sure team than that the
their them then there these they this those through to too under until up us use used very via
want was we well were what when where which while who why will with would year yes yet you your
add call check close email export import report reports sign single start stop test view work
team teams dive demo went sent sync said told asked wants needs price pricing legal deck user
users admin week weeks month months today tomorrow follow next step steps call calls notes note
deal deals contract renewal discount budget review security vendor vendors send sends
flow flows hub hubs link links base core home board space stream pulse spark bridge vault lens
shield guard watch track chat mail form forms task tasks portal connect studio center desk inbox
canvas pages page sites site apps app files drive books play live pay plus pro max lite edge
cloud lab labs notes go"""
COMMON_WORDS: frozenset[str] = frozenset(_COMMON_WORDS_TEXT.split())
# Everyday words a misspelt name word must never be corrected from ("Offline model", "node",
# "made", "Audio log"): written for this project, no dictionary behind it. Only used as known
# words for typo tolerance (see `Catalog._correct`), never to decide how a name matches.
_ENGLISH_TEXT = """able about above accept access account across act action active actual
actually added address admin advice after again agent agree ahead aim allow almost alone along
already always amount answer anyone apart appear apply approach area argue around arrive
article aside assume attach attend audio author auto available avoid aware away back bad badly
balance bank base basic basis batch bear beat become bed begin behind believe below benefit
best better beyond big bill bit black blame block blog blue board body bold book boost born
boss both bottom box brand break brief bring broad broke brought build built bulk burn busy
buy cable camp card care career carry case cash cast catch cause cell center central chain
chair chance change channel charge chart chat cheap child choice choose chose city claim class
clean clear click client clock closed cloud club coach code cold come common company compare
complete concern config confirm connect consider contact content context control copy core
corner cost count couple course court cover crash create credit cross crowd current cut cycle
daily damage dark date dead death decide deep default define degree delay delete demand
depend design desk detail device differ direct dirty doc door double draft draw dream dress
drive drop due early earn ease easy edge edit effect effort either else empty enable end
energy enjoy enough enter entire entry equal error even event ever every exact example expect
expert explain extra face fact fail fair fall false family far fast fault fear feed feel field
fight figure file fill final find fine finish fire firm first fit fix flag flat floor focus
fold folk food foot force form former forward found frame free fresh friend front full fun
fund game gap gate gave general give given glad goal gold good grant great green grew group
grow growth guess guide half hand handle hang happen happy hard head health hear heard heart
heavy held help high hire hold hole home hope host hour house huge idea image impact include
index info input inside instead issue item job join joint judge keep kept key kind king knew
lack land large late later latest launch layer lead learn least leave left less level life
light limit line link list little live load local lock logic long look loop lose loss lost lot
love low lower made main major maker manage manual many map mark market mass master match
matter mean media medium meet member memo menu mess method middle mind minor minute miss mix
mobile model modem modern mood moment money mood motion move movie music name near nearly
neat network never news nice night node noise none normal north note nothing number object
offer office often okay old open option order origin owner pace pack page paid pain pair panel
paper park part party pass past path pay peer people period person phase phone pick piece
pilot place plain plant play point policy pool poor port post power press pretty prior
private problem process product profile program project proof proper public pull push put
quick quiet quite quote race raise random range rate rather reach read ready real reason
receive record reduce region relate release remote remove repeat reply request reset rest
result return rich ride right ring rise risk road role room root rough round route rule run
safe sale sales save scale scene school score screen search season seat second seem select
sell sense serve server set setup share sheet shift ship short show side sign simple site size
skill slow small smart social soft solid solve sort sound source space speak special speed
spend split spot staff stage stand star state status stay step store story strong study stuff
style submit success suit summary supply support surface switch system table take talk target
task tax team tech term text thank theme thing think third thread tight time title tool top
topic total touch tough tour track trade train training travel tree trial trip true trust
truth try turn type unit upon upper urgent usage useful user usual value version video visit
voice vote wait walk wall watch water way weak wear web weekly weight while white whole wide
wife win window wish within without word world worry worth write wrong yard young zone"""
ENGLISH_WORDS: frozenset[str] = frozenset(_ENGLISH_TEXT.split()) | COMMON_WORDS

# Words that make a sentence worth reading even when it names no feature: a promise of an
# "integration" or a "custom connector" that is not on the roadmap. Found by the same regex pass
# as the names, so looking for them costs nothing extra.
MARKER_WORDS = (
    "integration", "connector", "feature", "module", "api", "plugin", "plug-in", "add-on",
    "extension", "report", "dashboard", "workflow", "capability", "functionality", "endpoint",
    "sync", "version", "custom", "build", "building", "develop", "support for",
    # promise verbs: a promise of something no product word names ("a compliance trail")
    "promise", "promised", "promises", "promising", "commit", "committed", "commits",
    "commitment", "guarantee", "guaranteed", "guarantees", "guaranteeing", "assured",
)  # fmt: skip
_NON_WORD = re.compile(r"[\W_]+")

_TOKEN = re.compile(r"[^\W_]+")
_MIN_FUZZY_TOKEN = 4  # shorter words are too ambiguous to correct
_TYPO_LONG_WORD = 8  # `_correct`: a misspelt word this long may be two edits off, else one
# Names and aliases longer than this are not looked for in notes: the API refuses them, a
# roadmap source may still send one (a description in the alias field), and the matcher's
# trie is as deep as its longest name.
MAX_NAME_LENGTH = 255
_MIN_FUZZY_TERM = 7  # a typo in a short name is a different word more often than not
_NEGATIVE_CACHE_LIMIT = 200_000


def _tokens(text: str) -> list[str]:
    return [t.lower() for t in _TOKEN.findall(text)]


def term_key(text: str) -> str:
    """The spelling-independent key of a name: lower-case letters and digits only."""
    return "".join(_tokens(text))


def lower_same_length(text: str) -> str:
    """`text.lower()`, keeping offsets valid (a few characters grow when lower-cased)."""
    low = text.lower()
    if len(low) != len(text):
        low = "".join(ch if len(ch.lower()) != 1 else ch.lower() for ch in text)
    return low


def norm_code(value: str) -> str:
    return " ".join(value.split()).casefold()


@dataclass(slots=True, frozen=True)
class Mention:
    """A feature name found in a text: span into the text, the exact words, and match quality."""

    start: int
    end: int
    feature_key: str
    matched_text: str
    score: float  # 100 for exact matches, the OSA similarity for typo-tolerant ones
    fuzzy: bool = False


@dataclass(slots=True)
class Scan:
    mentions: list[Mention]
    markers: list[int]  # start offsets of product words ("integration", "custom", "build"...)


@dataclass(slots=True, frozen=True)
class _Term:
    tokens: tuple[str, ...]
    joined: str  # tokens joined by single spaces, what fuzzy windows are compared with
    feature_keys: tuple[str, ...]


def _plural_variants(tokens: list[str]) -> list[list[str]]:
    """Spellings the generic plural suffix cannot produce: "policy" -> "policies", and the
    singular of a plural name ("Dashboards" -> "dashboard")."""
    last = tokens[-1]
    if len(last) > 2 and last.endswith("y") and last[-2] not in "aeiou":
        return [tokens[:-1] + [last[:-1] + "ies"]]
    if len(last) > 4 and last.endswith("ies"):  # a plural name also matches its singular
        return [tokens[:-1] + [last[:-3] + "y"]]
    if len(last) > 3 and last.endswith("s") and not last.endswith("ss") and last.isalpha():
        return [tokens[:-1] + [last[:-1]]]
    return []


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def time_zone(name: str) -> tzinfo:
    """The zone an IANA name such as "America/New_York" names; ValueError saying what is
    wrong otherwise (an abbreviation like "PST" or an offset like "+02:00" is not one)."""
    if name == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r}: use an IANA name such as America/New_York, "
            "Europe/Berlin or UTC"
        ) from None


class Catalog:
    """Features and product mappings of one roadmap version, with matchers compiled once."""

    def __init__(
        self,
        features: Sequence[Feature],
        mappings: Sequence[ProductMappingEntry] = (),
        *,
        fiscal_year_start: int = 1,
        timezone: str = "UTC",
    ) -> None:
        """`fiscal_year_start`: the month (1-12) the company's fiscal year starts in, which is
        how "by Q3", "next quarter", "1H27" or "FY27" in notes are read (1: calendar).
        `timezone`: the IANA zone the sales team works in, which decides the day a note was
        written on (`local_date`) and so what its relative dates mean."""
        if not 1 <= fiscal_year_start <= 12:
            raise ValueError(f"fiscal_year_start must be a month 1-12, got {fiscal_year_start}")
        self.fiscal_year_start = fiscal_year_start
        self.timezone = timezone
        self._zone = time_zone(timezone)
        self._features: dict[str, Feature] = {f.key: f for f in features}
        self._build_line_item_maps(mappings)
        self._build_text_matchers()

    def with_features(self, features: Sequence[Feature]) -> Catalog:
        """This catalog's matchers over new versions of the same features.

        Only for features whose keys, names, aliases, SKUs and product ids are those this
        catalog was built from, with the same mappings (an availability, date or guidance
        edit): the caller checks that (services.catalog compares matcher versions). Every
        matcher and memo is shared; building them again costs ~0.3 s per 1,000 features, in
        every process, on every status change.
        """
        clone = copy.copy(self)
        clone._features = {f.key: f for f in features}
        return clone

    def local_date(self, moment: datetime) -> date:
        """The day `moment` falls on where the sales team works (a naive datetime is UTC, as
        every timestamp the connectors parse)."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(self._zone).date()

    # -- lookup -------------------------------------------------------------------------------

    def get(self, key: str | None) -> Feature | None:
        return self._features.get(key) if key is not None else None

    @property
    def features(self) -> list[Feature]:
        return list(self._features.values())

    def __len__(self) -> int:
        return len(self._features)

    def __contains__(self, key: object) -> bool:
        return key in self._features

    # -- line items ---------------------------------------------------------------------------

    def _build_line_item_maps(self, mappings: Sequence[ProductMappingEntry]) -> None:
        by_kind: dict[str, dict[str, list[str]]] = {"sku": {}, "product_id": {}, "name": {}}

        def add(kind: str, value: str | None, keys: Iterable[str]) -> None:
            if not value:
                return
            bucket = by_kind[kind].setdefault(norm_code(value), [])
            for key in keys:
                if key not in bucket:
                    bucket.append(key)

        for entry in mappings:
            if entry.match_kind in by_kind:
                add(entry.match_kind, entry.match_value, entry.feature_keys)
        for feature in self._features.values():
            for sku in feature.skus:
                add("sku", sku, [feature.key])
            for pid in feature.product_ids:
                add("product_id", pid, [feature.key])
        self._line_item_memo: dict[
            tuple[str | None, str | None, str], tuple[list[str], str | None]
        ] = {}
        self._by_sku = by_kind["sku"]
        self._by_product_id = by_kind["product_id"]
        self._by_name = by_kind["name"]
        # Exact (spelling-independent) feature names and aliases, the last resort for line items.
        self._by_feature_name: dict[str, list[str]] = {}
        for feature in self._features.values():
            for name in [feature.name, *feature.aliases]:
                key = term_key(name)
                if key:
                    bucket = self._by_feature_name.setdefault(key, [])
                    if feature.key not in bucket:
                        bucket.append(feature.key)

    def features_for_line_item(self, item: LineItem) -> tuple[list[str], str | None]:
        """Feature keys a line item delivers and how they were found: SKU, then product id,
        then exact product name (mapping first, then the feature's own name or alias).
        Memoised: the same products recur on deal after deal."""
        memo_key = (item.sku, item.product_id, item.name)
        found = self._line_item_memo.get(memo_key)
        if found is None:
            found = self._features_for_line_item(item)
            if len(self._line_item_memo) > _NEGATIVE_CACHE_LIMIT:
                self._line_item_memo.clear()
            self._line_item_memo[memo_key] = found
        return list(found[0]), found[1]

    def _features_for_line_item(self, item: LineItem) -> tuple[list[str], str | None]:
        if item.sku and (keys := self._by_sku.get(norm_code(item.sku))):
            return list(keys), "sku"
        if item.product_id and (keys := self._by_product_id.get(norm_code(item.product_id))):
            return list(keys), "product_id"
        if item.name:
            if keys := self._by_name.get(norm_code(item.name)):
                return list(keys), "name"
            if keys := self._by_feature_name.get(term_key(item.name)):
                return list(keys), "name"
        return [], None

    # -- text ---------------------------------------------------------------------------------

    def _build_text_matchers(self) -> None:
        folded: dict[str, set[str]] = {}  # key -> feature keys, for names matched case-blind
        exact_case: dict[str, set[str]] = {}  # original spelling -> feature keys
        folded_terms: list[list[str]] = []
        exact_terms: list[str] = []
        terms: dict[tuple[str, ...], set[str]] = {}
        for feature in self._features.values():
            for name in dict.fromkeys([feature.name, *feature.aliases]):
                if len(name) > MAX_NAME_LENGTH:
                    continue  # a pasted description, not a name anyone writes in a note
                tokens = _tokens(name)
                if not tokens or len("".join(tokens)) < 2:
                    continue
                if self._is_case_sensitive(name, tokens):
                    exact_case.setdefault(name.strip(), set()).add(feature.key)
                    exact_terms.append(name.strip())
                    continue
                for variant in [tokens, *_plural_variants(tokens)]:
                    folded.setdefault("".join(variant), set()).add(feature.key)
                    folded_terms.append(variant)
                terms.setdefault(tuple(tokens), set()).add(feature.key)

        self._folded_keys = {k: tuple(sorted(v)) for k, v in folded.items()}
        self._marker_keys: frozenset[str] = frozenset()
        for word in MARKER_WORDS:
            tokens = _tokens(word)
            for variant in [tokens, *_plural_variants(tokens)]:
                folded_terms.append(variant)
                self._marker_keys |= {"".join(variant)}
        self._exact_keys = {k: tuple(sorted(v)) for k, v in exact_case.items()}
        self._spelling_keys: dict[str, str] = {}  # matched spelling -> term key (memo)
        # (never empty: the marker words are always there)
        self._names = NameTrie(
            {tuple(t): t for t in folded_terms}.values(), warm_up=sorted(COMMON_WORDS)
        )
        self._exact_pattern: re.Pattern[str] | None = None
        if exact_terms:
            alternation = "|".join(
                re.escape(t) for t in sorted(set(exact_terms), key=len, reverse=True)
            )
            # Not the first word of a hyphenated compound ("Go-live", "Flow-based").
            self._exact_pattern = re.compile(
                r"(?<![^\W_])(" + alternation + r")(?:'s|s)?(?![^\W_])(?!-[^\W\d_])"
            )

        # Typo tolerance: every vocabulary word of a name, the names it occurs in, and its
        # one-character deletions (a typo and the right word share a deletion, SymSpell-style).
        self._terms = [
            _Term(tokens=t, joined=" ".join(t), feature_keys=tuple(sorted(keys)))
            for t, keys in terms.items()
            if len(" ".join(t)) >= _MIN_FUZZY_TERM
        ]
        self._word_index: dict[str, list[tuple[int, int]]] = {}
        # (word, position, "next"/"prev", neighbouring word) -> names: a typo'd word is only
        # compared with names whose neighbouring word is actually there ("Project X" has 1,000).
        self._neighbours: dict[tuple[str, str, str], list[tuple[int, int]]] = {}
        for idx, term in enumerate(self._terms):
            n = len(term.tokens)
            for pos, tok in enumerate(term.tokens):
                self._word_index.setdefault(tok, []).append((idx, pos))
                if pos + 1 < n:
                    key = (tok, "next", term.tokens[pos + 1])
                elif pos > 0:
                    key = (tok, "prev", term.tokens[pos - 1])
                else:
                    key = (tok, "", "")
                self._neighbours.setdefault(key, []).append((idx, pos))
        # Which neighbour a name word needs ("project" is always followed by a name word):
        # a window is only read around a typo when its correction can have candidates.
        self._needs_next = frozenset(w for w, kind, _ in self._neighbours if kind == "next")
        self._needs_prev = frozenset(w for w, kind, _ in self._neighbours if kind == "prev")
        # The same names grouped by shape, (words before, words after) the neighbour key's word,
        # in the order first met: a typo's window is compared with a shape's names together.
        self._neighbour_shapes: dict[tuple[str, str, str], list[tuple[int, int, list[int]]]] = {}
        for key, names in self._neighbours.items():
            by_shape: dict[tuple[int, int], list[int]] = {}
            for idx, pos in names:
                after = len(self._terms[idx].tokens) - pos - 1
                by_shape.setdefault((pos, after), []).append(idx)
            self._neighbour_shapes[key] = [(b, a, idxs) for (b, a), idxs in by_shape.items()]
        self._deletes: dict[str, set[str]] = {}
        self._longest_fuzzy = 0  # the longest name word a typo may stand for
        for word in self._word_index:
            if len(word) >= _MIN_FUZZY_TOKEN and word.isalpha():
                self._longest_fuzzy = max(self._longest_fuzzy, len(word))
                for variant in {word, *_deletions(word)}:
                    self._deletes.setdefault(variant, set()).add(word)
        vocabulary = {tok for t in terms for tok in t}
        # Raw whitespace-split words known to need no correction; grows as notes are read.
        inflected = {w + "s" for w in vocabulary} | {w + "es" for w in vocabulary}
        inflected |= {w[:-1] for w in vocabulary if w.endswith("s")}
        # Everyday words, unless one is itself a name word ("audit", "mode", "log").
        self._known: set[str] = set(ENGLISH_WORDS) | vocabulary | inflected
        self._known_base = frozenset(self._known)
        self._corrections: dict[str, tuple[str, ...]] = {}

    @staticmethod
    def _is_case_sensitive(name: str, tokens: list[str]) -> bool:
        """A name that is also an ordinary word ("IT", "Go", "Export") only matches as written."""
        return len(tokens) == 1 and tokens[0] in COMMON_WORDS

    @property
    def pattern(self) -> NameTrie:
        """The compiled name matcher (over lower-cased text); benchmarks time its `findall`
        alone: the least an exact search for the names costs."""
        return self._names

    def find_mentions(self, text: str, *, fuzzy: bool = True) -> list[Mention]:
        """Every feature name or alias in `text`, longest match first, in text order."""
        return self.scan(text, fuzzy=fuzzy).mentions

    def scan(
        self,
        text: str,
        *,
        low: str | None = None,
        fuzzy: bool = True,
        typos: dict[str, tuple[str, ...]] | None = None,
        spans: list[tuple[int, int, int]] | None = None,
    ) -> Scan:
        """Feature mentions and product-word markers in one pass of the compiled trie.

        `low` is `text` lower-cased with the same length (computed if not given). Typo-tolerant
        matches are only tried around words that are neither English nor name words: pass
        `typos` (from `typo_candidates` over all of a deal's notes) to share that work. `spans`
        is the trie's pass over `low` when already made (`name_spans` reads all of a deal's
        notes at once).
        """
        if low is None:
            low = lower_same_length(text)
        if spans is None:
            spans = self._names.spans(low)
        mentions: list[Mention] = []
        markers: list[int] = []
        folded, marker_keys = self._folded_keys, self._marker_keys
        spelling_keys = self._spelling_keys
        for s, name_end, e in spans:
            spelling = low[s:name_end]
            key = spelling_keys.get(spelling)
            if key is None:
                key = _NON_WORD.sub("", spelling)
                if len(spelling_keys) > _NEGATIVE_CACHE_LIMIT:
                    spelling_keys.clear()
                spelling_keys[spelling] = key
            keys = folded.get(key)
            if keys:
                for feature_key in keys:
                    mentions.append(Mention(s, e, feature_key, text[s:e], 100.0))
            elif key in marker_keys:
                markers.append(s)
        if self._exact_pattern is not None:
            for m in self._exact_pattern.finditer(text):
                s, e = m.span()
                name = m.group(1)
                if len(name) <= 3 and not name.isupper() and _sentence_initial(text, s):
                    # "Hub and spoke model", "Go with plan B": capitalised as any first word
                    # is ("Export is needed" is still the feature: a short word is more often
                    # the word itself)
                    continue
                for key in self._exact_keys.get(name, ()):
                    mentions.append(Mention(s, e, key, text[s:e], 100.0))
        if fuzzy and self._terms:
            if typos is None:
                typos = self.typo_candidates(low)
            if typos:
                mentions.extend(self._fuzzy_mentions(text, low, mentions, typos))
        if len(mentions) > 1:
            mentions.sort(key=lambda m: (m.start, -m.end, m.feature_key))
            mentions = _longest_only(mentions)
        return Scan(mentions, markers)

    def name_spans(self, lows: Sequence[str]) -> list[list[tuple[int, int, int]]]:
        """The trie's pass over each lower-cased text, for `scan(spans=...)`: one search over
        them all (see `NameTrie.spans_each`)."""
        return self._names.spans_each(lows)

    def typo_candidates(
        self, low: str, words: set[str] | None = None
    ) -> dict[str, tuple[str, ...]]:
        """Words of the lower-cased `low` that look like misspelt name words, with the name
        words they may stand for. Ordinary words are memoised so each is examined once.
        `words` is `set(low.split())` when the caller has made it already."""
        unknown = (set(low.split()) if words is None else words) - self._known
        typos: dict[str, tuple[str, ...]] = {}
        for raw in unknown:
            plausible = False
            for word in _TOKEN.findall(raw):  # "sigle-sign-on," -> sigle, sign, on
                corrections = self._corrections.get(word)
                if corrections is None:
                    corrections = self._correct(word)
                    if len(self._corrections) > _NEGATIVE_CACHE_LIMIT:
                        self._corrections.clear()
                    self._corrections[word] = corrections
                if corrections:
                    typos[word] = corrections
                    plausible = True
            if not plausible:
                # Never a typo of a name word: skip it cheaply next time (bounded memo).
                if len(self._known) > _NEGATIVE_CACHE_LIMIT:
                    self._known = set(self._known_base)
                self._known.add(raw)
        return typos

    def _fuzzy_mentions(
        self,
        text: str,
        low: str,
        exact: list[Mention],
        typos: dict[str, tuple[str, ...]],
    ) -> list[Mention]:
        taken: list[tuple[int, int]] | None = None
        found: dict[tuple[int, int, str], Mention] = {}
        for word, corrections in typos.items():
            pos = low.find(word)
            while pos >= 0:
                end = pos + len(word)
                if (pos == 0 or not _is_word_char(low[pos - 1])) and (
                    end == len(low) or not _is_word_char(low[end])
                ):
                    if taken is None:
                        taken = sorted((m.start, m.end) for m in exact)
                    self._fuzzy_windows(text, low, pos, end, corrections, taken, found)
                pos = low.find(word, end)
        return list(found.values())

    def _correct(self, word: str) -> tuple[str, ...]:
        """Name words one edit (two for long words) away from `word`; empty if none."""
        if len(word) < _MIN_FUZZY_TOKEN or not word.isalpha() or word in self._known_base:
            return ()  # too short, or a real word (English or part of a name) spelt right
        if len(word) > self._longest_fuzzy + 2:
            # more than two edits from every name word: nothing to correct. Its deletions
            # cost memory and time with the square of its length (a 64 KB "word" in a note,
            # pasted base64 or a run of letters, took gigabytes and killed the worker).
            return ()
        candidates: set[str] = set()
        for variant in {word, *_deletions(word)}:
            candidates |= self._deletes.get(variant, set())
        if word.endswith("s"):  # a typo in a plural: "dashbaords"
            for variant in {word[:-1], *_deletions(word[:-1])}:
                candidates |= self._deletes.get(variant, set())
        limit = 1 if len(word) < _TYPO_LONG_WORD else 2
        return tuple(
            sorted(
                c for c in candidates if OSA.distance(word, c) <= limit and not _end_slip(word, c)
            )
        )

    def _fuzzy_windows(
        self,
        text: str,
        low: str,
        s: int,
        e: int,
        corrections: tuple[str, ...],
        taken: list[tuple[int, int]],
        found: dict[tuple[int, int, str], Mention],
    ) -> None:
        """Compare the words around a typo at low[s:e] with every name its correction is in."""
        nxt: str | None = None
        prev: str | None = None
        candidates: list[tuple[str, list[tuple[int, int, list[int]]]]] = []
        neighbour_shapes = self._neighbour_shapes
        for correction in corrections:
            keys = [(correction, "", "")]
            if correction in self._needs_next:
                if nxt is None:
                    after_word = _TOKEN.search(low, e, e + 40)
                    nxt = after_word.group() if after_word else ""
                keys.append((correction, "next", nxt))
            if correction in self._needs_prev:
                if prev is None:
                    before_words = _TOKEN.findall(low, max(0, s - 40), s)
                    prev = before_words[-1] if before_words else ""
                keys.append((correction, "prev", prev))
            for key in keys:
                if groups := neighbour_shapes.get(key):
                    candidates.append((correction, groups))
        if not candidates:
            return  # the usual case: an ordinary word that looks like a name word
        lo, hi = max(0, s - 120), min(len(low), e + 120)
        near = [(a, b) for a, b in taken[max(0, bisect_left(taken, (lo, 0)) - 1) :] if a < hi]
        if any(a <= s and e <= b for a, b in near):
            return  # the word is already part of an exactly matched name
        # Only as many words on each side as the longest name shape needs (a name has a few):
        # the same last and first words as reading the whole 120 characters, for less.
        most_before = most_after = 0
        for _correction, groups in candidates:
            for before, after, _idxs in groups:
                most_before = max(most_before, before)
                most_after = max(most_after, after)
        left = _last_tokens(low, lo, s, most_before)
        right = [m.span() for m in islice(_TOKEN.finditer(low, e, hi), most_after)]
        left_words = [low[a:b] for a, b in left]
        right_words = [low[a:b] for a, b in right]
        # Candidates with the same shape (words before and after the typo) share one window:
        # a code-name word such as "project" has dozens of names behind it.
        shapes: dict[tuple[int, int, str], list[int]] = {}
        for correction, groups in candidates:
            for before, after, idxs in groups:
                if before <= len(left) and after <= len(right):
                    shapes.setdefault((before, after, correction), []).extend(idxs)
        for (before, after, correction), idxs in shapes.items():
            spans = left[len(left) - before :] + [(s, e)] + right[:after]
            start, end = spans[0][0], spans[-1][1]
            if any(a < end and start < b and not (start <= a and b <= end) for a, b in near):
                continue  # crosses an exactly matched name
            window = " ".join(low[a:b] for a, b in spans)
            words = left_words[len(left) - before :] + [correction] + right_words[:after]
            if len(idxs) > 4:  # one C call over every name of the shape, below the cutoff
                idxs = self._close_names(window, idxs)
            for idx in idxs:
                term = self._terms[idx]
                # Every other word must be right or one slip away.
                if any(
                    w != t and (abs(len(w) - len(t)) > 1 or OSA.distance(w, t) > 1)
                    for w, t in zip(words, term.tokens, strict=True)
                ):
                    continue
                score = OSA.normalized_similarity(window, term.joined) * 100
                if score < FUZZY_CUTOFF and window.endswith("s"):
                    score = OSA.normalized_similarity(window[:-1], term.joined) * 100
                if score < FUZZY_CUTOFF:
                    continue
                for key in term.feature_keys:
                    k = (start, end, key)
                    if k not in found or found[k].score < score:
                        found[k] = Mention(start, end, key, text[start:end], round(score, 1), True)

    def _close_names(self, window: str, idxs: list[int]) -> list[int]:
        """The names among `idxs` that may reach the cutoff against `window` (or against it
        without a final "s"), found in one rapidfuzz call; a slightly lower cutoff than the
        one applied afterwards, so rounding never drops a name."""
        choices = [self._terms[i].joined for i in idxs]
        keep: set[int] = set()
        for probe in (window, window[:-1]) if window.endswith("s") else (window,):
            for _choice, _score, i in process.extract(
                probe,
                choices,
                scorer=OSA.normalized_similarity,
                score_cutoff=_PREFILTER,
                limit=None,
            ):
                keep.add(i)
        return [idx for i, idx in enumerate(idxs) if i in keep]


def _sentence_initial(text: str, pos: int) -> bool:
    """Whether text[pos] starts a sentence, a line or a list item."""
    i = pos - 1
    while i >= 0 and text[i] in " \t\u2022*-\u2013\u2014\"'(\u201c":
        i -= 1
    return i < 0 or text[i] in ".!?\n:;>"


def _end_slip(word: str, name_word: str) -> bool:
    """A short name word (a name of several words has them: "mode", "log", "hub") that `word`
    differs from only in its last letter, added, dropped or changed: "model", "modem",
    "audio" for "audit" are other words, while a swap of the last two ("audti") is a typo."""
    if len(name_word) > 5:
        return False
    return word[:-1] == name_word or name_word[:-1] == word or word[:-1] == name_word[:-1]


def _last_tokens(low: str, lo: int, hi: int, count: int) -> list[tuple[int, int]]:
    """The spans of the last `count` words (`_TOKEN`) in low[lo:hi] (all of them if fewer),
    as `list(_TOKEN.finditer(low, lo, hi))[-count:]` gives them, reading back only as far as
    needed: a word cut by a nearer start can only be the first one read, never one kept."""
    if count <= 0:
        return []
    start = max(lo, hi - 12 * count)
    while True:
        spans = [m.span() for m in _TOKEN.finditer(low, start, hi)]
        if len(spans) > count or start == lo:
            return spans[-count:]
        start = max(lo, start - 12 * count)


def _longest_only(mentions: list[Mention]) -> list[Mention]:
    """Drop mentions inside a longer one ("SCIM" inside "SCIM provisoning"); `mentions` is
    sorted by start, longest first. Equal spans (an alias shared by two features) are kept."""
    kept: list[Mention] = []
    best = (-1, -1)
    for m in mentions:
        if m.end <= best[1] and (m.start, m.end) != best:
            continue
        kept.append(m)
        if m.end > best[1]:
            best = (m.start, m.end)
    return kept


def _is_word_char(ch: str) -> bool:
    return ch.isalnum()


FUZZY_CUTOFF = 85.0  # OSA similarity (0..100) a misspelt name must reach: about 1 edit per 7 chars
_PREFILTER = FUZZY_CUTOFF / 100 - 0.01
