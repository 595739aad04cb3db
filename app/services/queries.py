"""Read-side queries for engineering and product: which open deals depend on which features.

Every aggregate is computed by the database (GROUP BY over the dependency index joined to the
deal table); Python only shapes one page of results. Sorting is by whitelisted keys so a query
string can never name an arbitrary column, and a bad key is refused with the allowed list.
"""

from __future__ import annotations

import base64
import csv
import difflib
import hashlib
import io
import json
import time
import unicodedata
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import quote

import structlog
from sqlalchemy import (
    Float,
    and_,
    case,
    false,
    func,
    literal,
    or_,
    select,
    text,
    true,
    tuple_,
    type_coerce,
    union_all,
    update,
)
from sqlalchemy import null as sa_null
from sqlalchemy.engine import Engine
from sqlalchemy.orm import defer
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session

from app.connectors.registry import canonical_deal_id
from app.errors import InvalidRequest, NotFound, did_you_mean
from app.models import (
    Approval,
    Commitment,
    Deal,
    DealFeature,
    Evaluation,
    Feature,
    WriteBackLog,
    utcnow,
)
from app.rules.model import Availability, FeatureReference

log = structlog.get_logger(__name__)

MAX_PAGE = 500
CSV_MAX_ROWS = 100_000

# --- paging, sorting, CSV ----------------------------------------------------------------------


@dataclass(frozen=True)
class PageRequest:
    limit: int | None  # None: everything (CSV exports)
    offset: int = 0
    sort: str = ""
    # The rows after this one (`next_cursor` of the page before): see `keyset`.
    cursor: str | None = None
    # Which list the page is of (its route's path, `/api/v1/deals`) and its filters'
    # fingerprint (`cursor_filters`): a cursor carries both, and a cursor of another list or of
    # the same list filtered otherwise is refused (`_decode_cursor`).
    listing: str = ""
    filters: str = ""


@dataclass
class PageResult:
    items: list[dict[str, Any]]
    total: int
    limit: int | None
    offset: int
    sort: str
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        body = {
            "items": self.items,
            "total": self.total,
            "limit": self.limit,
            "offset": self.offset,
            "sort": self.sort,
        }
        body.update(self.extra)
        return body


def order_by(sort: str, allowed: dict[str, ColumnElement], tiebreak: Sequence[ColumnElement]):
    """`sort` is `key` or `-key` (descending), comma-separated; NULLs always last. An empty key
    ("amount,,name" was read as "amount,name") and a key given twice ("amount,-amount": the
    second said nothing) are refused, as an unknown key is; no sort at all ("") is the tiebreak
    alone."""
    clauses = []
    seen: dict[str, int] = {}
    for i, part in enumerate(p.strip() for p in sort.split(",") if sort.strip()):
        desc = part.startswith("-")
        key = part.lstrip("-+")
        if not key:
            raise InvalidRequest.at(
                ("query", "sort"),
                f"sort key {i + 1} is empty: write keys separated by commas, e.g. -amount,name",
                input=sort,
            )
        if key in seen:
            raise InvalidRequest.at(
                ("query", "sort"),
                f"sort key '{key}' is given twice (keys {seen[key] + 1} and {i + 1})",
                input=sort,
            )
        seen[key] = i
        if key not in allowed:
            keys = sorted(allowed)
            raise InvalidRequest.at(
                ("query", "sort"),
                f"unknown sort key '{key}'"
                + (did_you_mean(key, keys) or "; sort by one of: " + ", ".join(keys))
                + " (-key for descending)",
                input=sort,
            )
        clauses.append((allowed[key], desc))
    return [
        *(col.desc().nulls_last() if desc else col.asc().nulls_last() for col, desc in clauses),
        *(c.asc() for c in tiebreak),
    ]


def sort_keys(
    sort: str, allowed: dict[str, ColumnElement], tiebreak: Sequence[ColumnElement]
) -> list[tuple[ColumnElement, bool]]:
    """The (column, descending) pairs `order_by` orders by, the tiebreak last (ascending)."""
    order_by(sort, allowed, tiebreak)  # refuses what it refuses
    keys = [
        (allowed[part.lstrip("-+")], part.startswith("-"))
        for part in (p.strip() for p in sort.split(",") if sort.strip())
    ]
    return [*keys, *((c, False) for c in tiebreak)]


@dataclass(frozen=True)
class Keyset:
    """One page by keyset: `order` (ORDER BY), `after` (the rows after the cursor's row, or
    None), and the `columns` whose values, read with the page's last row, make the next
    cursor (`next_cursor`)."""

    order: list[Any]
    after: ColumnElement[bool] | None
    columns: list[ColumnElement]


def keyset(
    page: PageRequest, allowed: dict[str, ColumnElement], tiebreak: Sequence[ColumnElement]
) -> Keyset:
    """Paging by cursor as well as by offset. An offset counts rows: a deal that closed (or
    was added, or moved up the sort) between two page requests shifted every later row, and
    the next page repeated a deal or skipped one. The cursor holds the sort values of the
    page's last row (and the tiebreak), and the next page is the rows after it in the same
    order (NULLs last), however the rows before it changed."""
    keys = sort_keys(page.sort, allowed, tiebreak)
    after = None
    if page.cursor is not None:
        after = _rows_after(keys, _decode_cursor(page.cursor, page, len(keys)))
    return Keyset(order_by(page.sort, allowed, tiebreak), after, [c for c, _ in keys])


def _rows_after(keys: list[tuple[ColumnElement, bool]], values: list[Any]) -> ColumnElement[bool]:
    """The rows that come after `values` in the order of `keys`, NULLs last in each key."""
    alternatives = []
    for i, ((col, desc), value) in enumerate(zip(keys, values, strict=True)):
        if value is not None:  # after a NULL come only the NULLs: equality, on a later key
            equal = [
                c.is_(None) if v is None else c == v
                for (c, _d), v in zip(keys[:i], values[:i], strict=True)
            ]
            alternatives.append(
                and_(*equal, or_(col < value if desc else col > value, col.is_(None)))
            )
    return or_(*alternatives) if alternatives else false()


def next_cursor(page: PageRequest, last: Sequence[Any] | None) -> str | None:
    """The cursor of the page after this one, from the keyset values of its last row (`last`,
    None when the page held fewer rows than asked for: it is the last)."""
    if last is None:
        return None
    payload = {
        "l": page.listing,
        "f": page.filters,
        "s": page.sort,
        "v": [_cursor_value(v) for v in last],
    }
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _cursor_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if isinstance(value, date):
        return {"d": value.isoformat()}
    if isinstance(value, Decimal):
        return {"n": str(value)}
    return value  # str, int, float, bool, None


# The query parameters that page or shape an answer rather than choose its rows: a cursor may
# be followed with another `limit`, as a CSV (`format`, `csv_rows`), and its `sort` is checked
# on its own (`_decode_cursor`). Every other parameter is a filter (`cursor_filters`).
PAGING_PARAMS = frozenset({"limit", "offset", "cursor", "sort", "format", "csv_rows"})


def cursor_filters(params: Iterable[tuple[str, str]]) -> str:
    """The fingerprint of a list's filters, as a cursor carries it: a hash of the (name, value)
    pairs of the request's query parameters other than PAGING_PARAMS, in any order, empty
    values left out (an empty filter filters nothing). "" when there are none."""
    pairs = sorted(
        {(name, value) for name, value in params if value != "" and name not in PAGING_PARAMS}
    )
    if not pairs:
        return ""
    raw = json.dumps(pairs, separators=(",", ":")).encode()
    return hashlib.blake2b(raw, digest_size=8).hexdigest()


def _decode_cursor(cursor: str, page: PageRequest, size: int) -> list[Any]:
    """The keyset values a cursor holds, refused (422 at `query.cursor`) when it is not one a
    list gave, or continues another list (`PageRequest.listing`), the same list filtered
    otherwise (`PageRequest.filters`), another sort, or a sort of another width."""

    def refuse(why: str) -> InvalidRequest:
        return InvalidRequest.at(("query", "cursor"), why, input=cursor)

    not_one = refuse(
        "not a cursor of this list: pass the `next_cursor` of the page before as it is"
    )
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        values = payload["v"]
        given_sort = payload["s"]
        given_listing = payload.get("l")
        given_filters = payload.get("f", "")
        if not isinstance(given_sort, str) or not isinstance(given_filters, str):
            raise TypeError(payload)
        if given_listing is not None and not isinstance(given_listing, str):
            raise TypeError(given_listing)
    except Exception:
        raise not_one from None
    if given_listing is None:
        # Issued before cursors named their list: accepted while they may still be in use
        # (a client paging across the upgrade), with the checks they had. To be refused once
        # those are gone: see docs/views.md.
        log.warning("cursor_untagged", listing=page.listing, sort=page.sort)
    elif given_listing != page.listing:
        raise refuse(
            f"this cursor belongs to another list ({given_listing}), not {page.listing}: a "
            "cursor continues only the list that gave it; start again without a cursor"
        )
    elif given_filters != page.filters:
        raise refuse(
            f"this cursor belongs to {page.listing} with other filters: a cursor continues the "
            "list filtered as its first page was (every query parameter but "
            + ", ".join(sorted(PAGING_PARAMS))
            + "); keep those filters, or start again without a cursor"
        )
    if given_sort != page.sort:
        raise refuse(
            f"this cursor continues the order '{given_sort}', not '{page.sort}': keep the sort "
            "of the first page (or start again without a cursor)"
        )
    try:
        if not isinstance(values, list) or len(values) != size:
            raise ValueError(values)
        decoded = []
        for v in values:
            if isinstance(v, dict):
                [(kind, text)] = v.items()
                v = {"t": datetime.fromisoformat, "d": date.fromisoformat, "n": Decimal}[kind](text)
            decoded.append(v)
    except Exception:
        raise not_one from None
    return decoded


_CENT = Decimal("0.01")
# Below a millionth a sum's digits are binary arithmetic's, not the amounts': amount ×
# probability is a float (PostgreSQL computes NUMERIC × FLOAT so, SQLite every sum), and cents
# times a probability of a few decimals are multiples of 0.00001.
_FLOAT_NOISE = Decimal("0.000001")


def money(value: Any) -> float:
    """Amounts leave as JSON numbers rounded half up to cents. A float (SQLite sums NUMERIC as
    floats) is rounded as the decimal it prints as; a Decimal as it is (no string round trip:
    exports convert tens of thousands of amounts). Both to a millionth first: a weighted sum of
    2,207.675 comes back as 2207.6749999999997, which was shown as 2,207.67. (An exact sum in
    SQL, the probability cast to NUMERIC, cost PostgreSQL ~25 ms per 100,000 rows.)"""
    if value is None:
        return 0.0
    if type(value) is not Decimal:
        value = Decimal(str(value))
    return float(value.quantize(_FLOAT_NOISE).quantize(_CENT, rounding=ROUND_HALF_UP))


# A text cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets,
# full-width forms included (spreadsheets in CJK locales read '＝' as '=').
_FORMULA_START = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")
# Cells starting with these are made inert whatever follows (OWASP's list), as before.
_ALWAYS_INERT = frozenset("\t\r")
_INERT_FIRST = _FORMULA_START | _ALWAYS_INERT


def _ignorable(char: str) -> bool:
    """Whitespace (any, the ideographic space too) and control or format characters (NUL, a
    zero-width space, a byte-order mark): what a spreadsheet skips or trims before it reads
    a formula, and what a reader does not see before the '=' when the cell is shown."""
    return char.isspace() or unicodedata.category(char) in ("Cc", "Cf")


def _inert(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula, prefixed with an apostrophe (the
    OWASP advice for CSV injection): deal names, note quotes and owner names come from the CRM,
    where anyone who edits a deal can write '=HYPERLINK(...)' for the person opening the export.
    Also when whitespace or control characters come before the '=' (' =1+1', '\\n@SUM(..)',
    '\\x00=..'), or the sign is a full-width one ('＝HYPERLINK(...)'): those were written as they
    came. Numbers (negative amounts included) are not text and stay numbers."""
    if type(value) is not str or not value:
        return value
    first = value[0]
    if first in _INERT_FIRST:
        return "'" + value
    if first.isalnum() or not _ignorable(first):  # most cells: their first character alone
        return value
    for char in value:
        if not _ignorable(char):
            return "'" + value if char in _FORMULA_START else value
    return value


def to_csv(rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> Iterator[str]:
    """CSV text in chunks; lists are joined with ' | ' so a cell stays one cell, None is an
    empty cell (the csv module writes it so), text that would run as a formula is made inert."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(columns)
    for row in rows:
        cells = [row.get(col) for col in columns]
        if list in (kinds := set(map(type, cells))) or tuple in kinds:
            cells = [
                " | ".join(str(v) for v in value) if type(value) in (list, tuple) else value
                for value in cells
            ]
        if str in kinds or list in kinds or tuple in kinds:
            cells = [_inert(value) for value in cells]
        writer.writerow(cells)
        if buf.tell() > 64_000:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


# --- the read model: dependency rows carrying deal facts ----------------------------------------


def evidence_rank(ref: FeatureReference) -> tuple[bool, bool, bool]:
    """Lower is stronger: a commitment before a mention, a line item before a note, a need
    before a nice-to-have."""
    return (not ref.is_commitment, ref.source != "line_item", ref.optional)


def feature_availability(session: Session, keys: Iterable[str | None]) -> dict[str, str]:
    """key → the feature's current availability, for every key given (`unknown` when the key is
    not on the roadmap): the value `deal_feature.availability` copies."""
    wanted = sorted({k for k in keys if k})
    found = dict.fromkeys(wanted, Availability.unknown.value)
    for start in range(0, len(wanted), 500):  # SQLite caps bound parameters
        chunk = wanted[start : start + 500]
        for key, availability in session.execute(
            select(Feature.key, Feature.availability).where(Feature.key.in_(chunk))
        ):
            found[key] = availability
    return found


def pipeline_amount(deal: Deal) -> dict[str, Any]:
    """What a deal adds to pipeline totals, and in which currency: its amount in the CRM's
    company currency when the CRM converted it, else its own amount in its own currency."""
    if deal.amount_home is not None:
        return {"amount": deal.amount_home, "currency": deal.home_currency}
    if deal.amount is None:  # adds nothing: labelled like the converted amounts it sits among
        return {"amount": None, "currency": deal.home_currency or deal.currency}
    return {"amount": deal.amount, "currency": deal.currency}


def dependency_values(
    deal: Deal,
    references: Sequence[FeatureReference],
    availability: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The `deal_feature` rows of one deal, as column values (bulk inserts use them as they are).

    The one definition of the read model: `pipeline.replace_dependencies` stores these, the
    benchmark and the tests seed through it. Each row copies the deal facts exposure filters
    and sums on, and one row per (deal, feature) is primary, so aggregates need neither
    DISTINCT nor a join to `deal`. `availability` (from `feature_availability`) is the
    feature's availability copied onto the row; a key it lacks is `unknown`. The roadmap
    fan-out keeps the copy current (`fanout.sync_availability`).
    """
    availability = availability or {}
    primary: dict[str, int] = {}
    for i, ref in enumerate(references):
        if ref.feature_key is None:
            continue
        best = primary.get(ref.feature_key)
        if best is None or evidence_rank(ref) < evidence_rank(references[best]):
            primary[ref.feature_key] = i
    unknown = Availability.unknown.value
    promised = [ref.is_commitment or ref.source == "line_item" for ref in references]
    # availability -> the primary row that stands for it: a promised one if any, then a
    # required one, then the first
    first_of: dict[str, int] = {}
    ranked = sorted(
        primary.items(),
        key=lambda item: (not promised[item[1]], references[item[1]].optional, item[1]),
    )
    for key, i in ranked:
        first_of.setdefault(availability.get(key, unknown), i)
    firsts = set(first_of.values())
    facts = {
        "crm": deal.crm,
        "deal_id": deal.deal_id,
        "deal_open": bool(deal.tracked and not deal.is_closed),
        "pipeline": deal.pipeline,
        "stage_id": deal.stage_id,
        "stage_label": deal.stage_label,
        "owner_id": deal.owner_id,
        "owner_name": deal.owner_name,
        "close_date": deal.close_date,
        **pipeline_amount(deal),
        "probability": deal.probability,
    }
    return [
        {
            **facts,
            "feature_key": ref.feature_key,
            "feature_name": ref.feature_name[:255],
            "availability": availability.get(ref.feature_key or "", unknown),
            "source": ref.source,
            "source_id": ref.source_id,
            "evidence": ref.evidence,
            "is_commitment": ref.is_commitment,
            "promised_date": ref.promised_date,
            "needed_by": ref.needed_by,
            "hedged": ref.hedged,
            "optional": ref.optional,
            "score": ref.score,
            "is_primary": ref.feature_key is not None and primary[ref.feature_key] == i,
            "promised": promised[i],
            "availability_first": i in firsts,
        }
        for i, ref in enumerate(references)
    ]


def mark_availability_first(session: Session, feature_keys: Iterable[str]) -> int:
    """Re-derive `availability_first` for every deal depending on one of `feature_keys`, after
    their rows' availability changed (`fanout.sync_availability`), in the caller's transaction:
    per deal and availability, the promised primary row with the lowest id stands for it, else
    the required one (not a nice-to-have) with the lowest id, else the primary row with the
    lowest id (as `dependency_values` chooses). Returns the
    rows changed. One UPDATE per 500 keys over `ix_deal_feature_feature` and
    `ix_deal_feature_deal`.
    """
    keys = sorted(set(feature_keys))
    changed = 0
    for start in range(0, len(keys), 500):
        deals = select(DealFeature.crm, DealFeature.deal_id).where(
            DealFeature.feature_key.in_(keys[start : start + 500])
        )
        first = func.row_number().over(
            partition_by=(DealFeature.crm, DealFeature.deal_id, DealFeature.availability),
            order_by=(DealFeature.promised.desc(), DealFeature.optional, DealFeature.id),
        ) == literal(1)
        ranked = (
            select(DealFeature.id, case((first, true()), else_=false()).label("first"))
            .where(
                DealFeature.is_primary == true(),
                tuple_(DealFeature.crm, DealFeature.deal_id).in_(deals),
            )
            .subquery("ranked")
        )
        changed += session.execute(
            update(DealFeature)
            .where(
                DealFeature.id == ranked.c.id,
                DealFeature.availability_first != ranked.c.first,
            )
            .values(availability_first=ranked.c.first)
        ).rowcount
    return changed


def dependency_rows(
    deal: Deal,
    references: Sequence[FeatureReference],
    availability: Mapping[str, str] | None = None,
) -> list[DealFeature]:
    return [DealFeature(**values) for values in dependency_values(deal, references, availability)]


# --- filters -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DealFilters:
    crm: str | None = None
    pipeline: str | None = None
    owner: str | None = None  # owner id or owner name
    stage: str | None = None  # stage id or label
    verdict: str | None = None
    close_from: date | None = None
    close_to: date | None = None
    state: str = "open"  # open | closed | won | all
    feature: str | None = None
    # With `feature`: True, deals promised it or buying it (a commitment in a note, or a line
    # item); False, deals that only mention or ask about it.
    promised: bool | None = None
    # With `feature`: True, deals that only called it nice to have; False, the others (deals
    # that need it, were promised it or buy it).
    optional: bool | None = None
    # `pipeline` given by its name in the CRM ("Enterprise" where HubSpot stores "12345678"):
    # the (crm, pipeline id) pairs so named, set by `check_filter_values`. Matched per CRM: the
    # name of a HubSpot pipeline does not take in another CRM's pipeline of the same id.
    pipeline_ids: tuple[tuple[str, str], ...] = ()


def _fact_conditions(model: type[Deal] | type[DealFeature], f: DealFilters) -> list[ColumnElement]:
    """The filters on the deal's own facts (CRM, pipeline, owner, stage, close date), on
    `deal` or on the dependency rows that carry copies of them under the same names."""
    conds: list[ColumnElement] = []
    if f.crm:
        conds.append(model.crm == f.crm)
    if f.pipeline_ids:
        conds.append(
            or_(*(and_(model.crm == crm, model.pipeline == p) for crm, p in f.pipeline_ids))
        )
    elif f.pipeline:
        conds.append(model.pipeline == f.pipeline)
    if f.owner:
        conds.append(or_(model.owner_id == f.owner, model.owner_name == f.owner))
    if f.stage:
        conds.append(or_(model.stage_id == f.stage, model.stage_label == f.stage))
    if f.close_from:
        conds.append(model.close_date >= f.close_from)
    if f.close_to:
        conds.append(model.close_date <= f.close_to)
    return conds


def _deal_conditions(f: DealFilters) -> list[ColumnElement]:
    conds: list[ColumnElement] = [Deal.tracked == true()]
    if f.state == "open":
        conds.append(Deal.is_closed == false())
    elif f.state == "closed":
        conds.append(Deal.is_closed == true())
    elif f.state == "won":
        conds.append(Deal.is_won == true())
    conds += _fact_conditions(Deal, f)
    if f.verdict:
        conds.append(Deal.verdict == f.verdict)
    if f.feature:  # (list_deals reads a feature's dependants from its rows: `_dependants`)
        conds.append(
            select(DealFeature.id)
            .where(
                DealFeature.crm == Deal.crm,
                DealFeature.deal_id == Deal.deal_id,
                DealFeature.feature_key == f.feature,
            )
            .exists()
        )
    return conds


def _how_depends(f: DealFilters) -> list[ColumnElement]:
    """Primary rows by how the deal depends on the row's feature. The primary row is the
    strongest evidence (a commitment, then a line item, then a required mention, then a
    nice-to-have): `promised`, the deal was promised the feature or buys it exactly when the
    row is one of those (`DealFeature.promised`), else it only mentions or asks about it;
    `optional`, the deal only called it nice to have exactly when the row is a nice-to-have
    (`DealFeature.optional`), else it needs it, was promised it or buys it."""
    conds: list[ColumnElement] = []
    if f.promised is not None:
        conds.append(DealFeature.promised == (true() if f.promised else false()))
    if f.optional is not None:
        conds.append(DealFeature.optional == (true() if f.optional else false()))
    return conds


def _dependency_conditions(f: DealFilters) -> list[ColumnElement]:
    """The filters on the deal facts copied onto primary dependency rows of open deals.

    Only `verdict` is not copied (a re-evaluation from the stored snapshot changes it without
    touching the rows); it is checked against `deal`, one semi-join, when asked for.
    `promised` and `optional` keep the rows by how the deal depends on the row's feature
    (`_how_depends`).
    """
    conds: list[ColumnElement] = [DealFeature.deal_open == true(), DealFeature.is_primary == true()]
    conds += _how_depends(f)
    conds += _fact_conditions(DealFeature, f)
    if f.verdict:
        conds.append(
            select(Deal.id)
            .where(
                Deal.crm == DealFeature.crm,
                Deal.deal_id == DealFeature.deal_id,
                Deal.verdict == f.verdict,
            )
            .exists()
        )
    return conds


# --- deals -------------------------------------------------------------------------------------

DEAL_SORTS: dict[str, ColumnElement] = {
    # By what the deal is worth in the company currency (its own amount where not converted):
    # a JPY deal is not the largest because its number is.
    "amount": func.coalesce(Deal.amount_home, Deal.amount),
    "close_date": Deal.close_date,
    "name": Deal.name,
    "owner": Deal.owner_name,
    "stage": Deal.stage_label,
    # By severity, clear < warning < blocked (`-verdict`: blocked first): alphabetically
    # `-verdict` listed warnings, then clear deals, then the blocked ones last.
    "verdict": case(
        (Deal.verdict == "blocked", 2), (Deal.verdict == "warning", 1), (Deal.verdict == "clear", 0)
    ),  # not yet evaluated (NULL): last, as every sort puts NULLs
    "updated_at": Deal.updated_at,
    "probability": Deal.probability,
}
# The sorts a feature's dependants can be ordered by from their dependency rows alone.
DEPENDANT_SORTS: dict[str, ColumnElement] = {
    "amount": DealFeature.amount,
    "close_date": DealFeature.close_date,
    "owner": DealFeature.owner_name,
    "stage": DealFeature.stage_label,
    "probability": DealFeature.probability,
}

DEAL_COLUMNS = [
    "crm",
    "deal_id",
    "name",
    "account_name",
    "pipeline",
    "stage_id",
    "stage_label",
    "probability",
    "amount",
    "currency",
    "amount_home",
    "home_currency",
    "close_date",
    "owner_id",
    "owner_name",
    "verdict",
    "is_closed",
    "is_won",
    "url",
    "evaluation_url",
]


def deal_path(crm: str, deal_id: str) -> str:
    """The dashboard's page of a deal, each segment percent-encoded: a deal id such as
    "D 45#x?y" made a link whose "#x?y" was a fragment and a query, not the deal's."""
    return f"/dashboard/deals/{quote(crm, safe='')}/{quote(deal_id, safe='')}"


def evaluation_url(base_url: str, crm: str, deal_id: str) -> str:
    """The link written to the CRM record and listed with each deal (`deal_path`)."""
    return f"{base_url.rstrip('/')}{deal_path(crm, deal_id)}"


def deal_row(deal: Deal, base_url: str) -> dict[str, Any]:
    return {
        "crm": deal.crm,
        "deal_id": deal.deal_id,
        "name": deal.name,
        "account_name": deal.account_name,
        "pipeline": deal.pipeline,
        "stage_id": deal.stage_id,
        "stage_label": deal.stage_label,
        "probability": deal.probability,
        "amount": None if deal.amount is None else money(deal.amount),
        "currency": deal.currency,
        # In the CRM's company currency, as it converted the amount (None: not converted).
        "amount_home": None if deal.amount_home is None else money(deal.amount_home),
        "home_currency": deal.home_currency,
        "close_date": deal.close_date.isoformat() if deal.close_date else None,
        "owner_id": deal.owner_id,
        "owner_name": deal.owner_name,
        "verdict": deal.verdict,
        "is_closed": deal.is_closed,
        "is_won": deal.is_won,
        "url": deal.url,
        "evaluation_url": evaluation_url(base_url, deal.crm, deal.deal_id),
        "updated_at": deal.updated_at.isoformat() if deal.updated_at else None,
    }


# A list or export of deals reads what `deal_row` shows, not the stored snapshot (every note of
# the deal) nor what was written to the CRM: a CSV of 5,000 deals with forty notes each peaked
# at ~230 MB (100,000 rows, the export's limit, would need gigabytes) for columns no row shows.
_LISTED = (defer(Deal.snapshot), defer(Deal.written))


def _sort_keys(sort: str) -> set[str]:
    return {p.strip().lstrip("-+") for p in sort.split(",") if p.strip()}


def list_deals(
    session: Session, filters: DealFilters, page: PageRequest, *, base_url: str
) -> PageResult:
    extra: dict[str, Any] = {}
    if filters.feature:
        total, deals, extra["totals"], last = _dependants(session, filters, page)
    else:
        conds = _deal_conditions(filters)
        total = session.execute(select(func.count()).select_from(Deal).where(*conds)).scalar_one()
        ks = keyset(page, DEAL_SORTS, [Deal.id])
        stmt = (
            select(Deal, *_labelled(ks.columns))
            .options(*_LISTED)
            .where(*conds, *_after(ks))
            .order_by(*ks.order)
            .offset(page.offset)
        )
        if page.limit is not None:
            stmt = stmt.limit(page.limit)
        rows = session.execute(stmt).all()
        deals = [row[0] for row in rows]
        last = tuple(rows[-1][1:]) if _full(page, rows) else None
    extra["next_cursor"] = next_cursor(page, last)
    return PageResult(
        items=[deal_row(d, base_url) for d in deals],
        total=total,
        limit=page.limit,
        offset=page.offset,
        sort=page.sort,
        extra=extra,
    )


def _full(page: PageRequest, rows: Sequence[Any]) -> bool:
    """The page holds as many rows as asked for: there may be more after it."""
    return page.limit is not None and len(rows) == page.limit


def _labelled(columns: Sequence[ColumnElement]) -> list[ColumnElement]:
    """A keyset's columns, selected beside a page's rows under names of their own."""
    return [c.label(f"keyset_{i}") for i, c in enumerate(columns)]


def _after(ks: Keyset) -> list[ColumnElement[bool]]:
    return [] if ks.after is None else [ks.after]


def _dependant_totals(session: Session, source: Any, conds: list) -> tuple[int, dict[str, Any]]:
    """How many deals depend on the feature and what they add up to, filtered as the list is:
    count, amount, weighted amount and their currency label, as exposure sums them (the
    primary rows' copied amounts, one per deal), in the statement that counted the list."""
    n, amount, weighted, low, high, unlabelled = session.execute(
        select(*_sums()).select_from(source).where(*conds)
    ).one()
    totals = {
        "deal_count": int(n),
        "amount": money(amount),
        "weighted_amount": money(weighted),
        **currency_label(low, high, unlabelled),
    }
    return int(n), totals


def _dependants(
    session: Session, filters: DealFilters, page: PageRequest
) -> tuple[int, list, dict[str, Any], tuple | None]:
    """One page of the deals depending on `filters.feature`, driven from its primary rows,
    and the totals of all of them (`_dependant_totals`).

    Open deals filtered and sorted on copied facts never touch `deal` until the page is known
    (count and order come from `ix_deal_feature_dependants`); a verdict filter, a sort on a
    column that is not copied, or closed deals join `deal`. Ties break on (crm, deal_id) on
    both paths, so paging is stable.
    """
    rows = [
        DealFeature.feature_key == filters.feature,
        DealFeature.is_primary == true(),
        *_how_depends(filters),
    ]
    filters = replace(filters, promised=None, optional=None)  # in `rows`, for both paths below
    tiebreak = [DealFeature.crm, DealFeature.deal_id]
    copied = filters.state == "open" and not filters.verdict
    if copied and _sort_keys(page.sort) <= set(DEPENDANT_SORTS):
        conds = [*rows, *_dependency_conditions(filters)]
        total, totals = _dependant_totals(session, DealFeature, conds)
        ks = keyset(page, DEPENDANT_SORTS, tiebreak)
        stmt = (
            select(DealFeature.crm, DealFeature.deal_id, *_labelled(ks.columns))
            .where(*conds, *_after(ks))
            .order_by(*ks.order)
            .offset(page.offset)
        )
        if page.limit is not None:
            stmt = stmt.limit(page.limit)
        found = session.execute(stmt).all()
        keys = [(r[0], r[1]) for r in found]
        last = tuple(found[-1][2:]) if _full(page, found) else None
        if not keys:
            return total, [], totals, last
        by_key: dict[tuple[str, str], Deal] = {}
        for ids_by_crm in _key_batches(keys):
            # One IN list per CRM: SQLite probes uq_deal_crm_deal for these, not row values.
            page_deals = (
                select(Deal)
                .options(*_LISTED)
                .where(
                    or_(
                        *(
                            and_(Deal.crm == crm, Deal.deal_id.in_(ids))
                            for crm, ids in ids_by_crm.items()
                        )
                    )
                )
            )
            by_key.update(((d.crm, d.deal_id), d) for d in session.execute(page_deals).scalars())
        return total, [by_key[k] for k in keys if k in by_key], totals, last
    order_sorts = {**DEAL_SORTS, **DEPENDANT_SORTS} if copied else DEAL_SORTS
    conds = [*rows, *_deal_conditions(replace(filters, feature=None))]
    if filters.state == "open":
        conds.append(DealFeature.deal_open == true())
    source = DealFeature.__table__.join(
        Deal.__table__, and_(Deal.crm == DealFeature.crm, Deal.deal_id == DealFeature.deal_id)
    )
    total, totals = _dependant_totals(session, source, conds)
    ks = keyset(page, order_sorts, tiebreak)
    stmt = (
        select(Deal, *_labelled(ks.columns))
        .options(*_LISTED)
        .select_from(source)
        .where(*conds, *_after(ks))
        .order_by(*ks.order)
        .offset(page.offset)
    )
    if page.limit is not None:
        stmt = stmt.limit(page.limit)
    found = session.execute(stmt).all()
    last = tuple(found[-1][1:]) if _full(page, found) else None
    return total, [r[0] for r in found], totals, last


FEATURE_DEAL_COLUMNS = [*DEAL_COLUMNS, "sources", "evidence"]

# Deal ids bound in one statement: a JSON page (at most 500) is one statement; a CSV of every
# dependant (up to 100,000) is several. In one, its ids went past what the drivers bind (65,535
# parameters for psycopg, 32,766 or 999 for SQLite builds) and the export failed with a 500.
KEY_BATCH = 500


def _key_batches(keys: Iterable[tuple[str, str]]) -> Iterator[dict[str, list[str]]]:
    """(crm, deal id) pairs, in batches of at most KEY_BATCH: crm -> its deal ids."""
    batch: dict[str, list[str]] = {}
    size = 0
    for crm, deal_id in keys:
        batch.setdefault(crm, []).append(deal_id)
        size += 1
        if size == KEY_BATCH:
            yield batch
            batch, size = {}, 0
    if batch:
        yield batch


def check_feature_filter(
    session: Session, key: str, *, ledger: bool = False, approvals: bool = False
) -> None:
    """A `feature` filter names a feature on the roadmap, one a deal references, (`ledger`)
    one a ledger entry was signed on, or (`approvals`) one an approval was given for:
    `feature=ssoo` answered an empty list, read as "no deal depends on SSO" (or "nobody
    approved anything on SSO"), where /features/ssoo/deals is a 404. Refused with a 422 at
    query.feature, naming the roadmap key meant. Primary-key and index probes; the roadmap's
    keys are read only for the suggestion."""
    if session.get(Feature, key) is not None:
        return
    if session.execute(
        select(DealFeature.id).where(DealFeature.feature_key == key).limit(1)
    ).first():
        return
    if (
        ledger
        and session.execute(
            select(Commitment.id).where(Commitment.feature_key == key).limit(1)
        ).first()
    ):
        return
    if (
        approvals
        and session.execute(select(Approval.id).where(Approval.feature_key == key).limit(1)).first()
    ):
        return
    keys = session.execute(select(Feature.key)).scalars().all()
    where = "no deal references it" + (" and no commitment names it" if ledger else "")
    where += " and no approval names it" if approvals else ""
    raise InvalidRequest.at(
        ("query", "feature"),
        f"feature '{key}' is not on the roadmap and {where}{did_you_mean(key, keys)}",
        input=key,
    )


# --- filter values that match nothing -----------------------------------------------------------


@dataclass(frozen=True)
class PipelineNames:
    """What the CRMs call their pipelines: (crm, pipeline id) -> name, and the CRMs whose
    names could not be read just now (`crm_pipeline_names`)."""

    labels: Mapping[tuple[str, str], str] = field(default_factory=dict)
    unread: tuple[str, ...] = ()


KNOWN_LISTED = 20  # known values a 422 lists, the rest counted

# A CRM's pipeline names, read at most hourly per connector (as its stages are), a failed
# read retried after ten minutes: connector -> (good until, id -> name, or None: unread).
PIPELINE_NAMES_SECONDS = 3600.0
PIPELINE_NAMES_RETRY_SECONDS = 600.0
_PIPELINE_NAMES: weakref.WeakKeyDictionary[Any, tuple[float, dict[str, str] | None]] = (
    weakref.WeakKeyDictionary()
)


def crm_pipeline_names(
    connectors: Mapping[str, Any], *, clock: Callable[[], float] = time.monotonic
) -> PipelineNames:
    """The pipeline names of the configured CRMs, for a pipeline filter given by name. A
    connector says them with `pipeline_names()` (id -> name); HubSpot's are read from its
    pipelines API (the call its stage cache makes, `crm.pipelines.pipelines_api.get_all`),
    kept an hour. A CRM without pipelines of its own (Salesforce, the test CRM) names none.
    A read that fails leaves that CRM's names out and says so (`unread`)."""
    labels: dict[tuple[str, str], str] = {}
    unread: list[str] = []
    for crm, connector in sorted(connectors.items()):
        names = _pipeline_names_of(connector, clock)
        if names is None:
            unread.append(crm)
            continue
        labels.update(((crm, pid), name) for pid, name in names.items() if pid and name)
    return PipelineNames(labels, tuple(unread))


def _pipeline_names_of(connector: Any, clock: Callable[[], float]) -> dict[str, str] | None:
    own = getattr(connector, "pipeline_names", None)
    if callable(own):
        return dict(own())
    api = getattr(getattr(connector, "pipelines", None), "api", None)
    if api is None or not hasattr(api, "call"):
        return {}
    now = clock()
    cached = _PIPELINE_NAMES.get(connector)
    if cached is not None and now < cached[0]:
        return cached[1]
    names: dict[str, str] | None
    try:
        response = api.call(
            "pipelines.get_all", api.api("crm.pipelines.pipelines_api").get_all, "deals"
        )
        names = {str(p.id): str(p.label) for p in response.results or [] if p.id and p.label}
        _PIPELINE_NAMES[connector] = (now + PIPELINE_NAMES_SECONDS, names)
    except Exception as exc:  # a filter is answered without the names, never a 500
        log.warning("pipeline names not read", error_type=type(exc).__name__, error=str(exc))
        names = None
        _PIPELINE_NAMES[connector] = (now + PIPELINE_NAMES_RETRY_SECONDS, names)
    return names


def check_filter_values(
    session: Session,
    filters: DealFilters,
    pipeline_names: Callable[[], PipelineNames] | None = None,
    *,
    ledger: bool = False,
) -> DealFilters:
    """The `pipeline`, `owner` and `stage` filters each name something roadmap-guard has seen,
    or the answer is a 422 naming the value, the one meant and the values known: a typo
    (`owner=Bob Ray`, `pipeline=Enterprize`) answered an empty list, no exposure and an empty
    CSV, read as "no pipeline there". Returns `filters`, with `pipeline_ids` set when the
    pipeline was given by its name in the CRM (HubSpot stores a pipeline's id, "default" or
    "12345678", where people know it as "Enterprise").

    A value is known when a deal in any state (closed, won, deleted in the CRM: a pipeline
    whose deals are all closed is a legitimate, empty answer) carries it, in the `crm` filtered
    on; on the ledger (`ledger`) also when an entry does; a pipeline also when its CRM lists
    it (a new pipeline with no deal yet). A pipeline value is its id first; only a value that
    is no pipeline's id is read as a name, in any case, per CRM (`pipeline_names`, asked only
    then). Index probes and scans stopping at the first match; the lists of known values are
    read only for the 422. Routes call it when their answer is empty (`answer_with_filters`),
    so a filter that matches costs nothing."""
    crm = filters.crm or None
    errors: list[dict[str, Any]] = []

    def seen(deal_cond: ColumnElement, entry_cond: ColumnElement | None = None) -> bool:
        conds = [deal_cond, *([Deal.crm == crm] if crm else [])]
        if session.execute(select(Deal.id).where(*conds).limit(1)).first():
            return True
        if not ledger or entry_cond is None:
            return False
        conds = [entry_cond, *([Commitment.crm == crm] if crm else [])]
        return session.execute(select(Commitment.id).where(*conds).limit(1)).first() is not None

    def values(*columns: ColumnElement, entries: ColumnElement | None = None) -> list[str]:
        """Distinct non-empty values (the first column that has one, per row) of deals, and of
        ledger entries when `entries` is given."""
        value = func.coalesce(*columns) if len(columns) > 1 else columns[0]
        stmt = select(value).where(value.is_not(None), *([Deal.crm == crm] if crm else []))
        found = set(session.execute(stmt.distinct()).scalars())
        if ledger and entries is not None:
            stmt = select(entries).where(
                entries.is_not(None), *([Commitment.crm == crm] if crm else [])
            )
            found |= set(session.execute(stmt.distinct()).scalars())
        return sorted(v for v in found if v)

    where = f"no {crm + ' ' if crm else ''}deal" + (" or ledger entry" if ledger else "")
    if filters.pipeline and not seen(
        Deal.pipeline == filters.pipeline, Commitment.pipeline == filters.pipeline
    ):
        given = filters.pipeline
        names = pipeline_names() if pipeline_names is not None else PipelineNames()
        labels = {k: v for k, v in names.labels.items() if v and (crm is None or k[0] == crm)}
        named = tuple(sorted(k for k, v in labels.items() if v.casefold() == given.casefold()))
        if any(pid == given for _c, pid in labels):
            pass  # a pipeline of the CRM no deal was read in yet: an empty answer is the answer
        elif named:
            filters = replace(filters, pipeline_ids=named)
        else:
            ids = values(Deal.pipeline, entries=Commitment.pipeline)
            name_of = {pid: label for (_c, pid), label in labels.items()}
            ids = sorted(set(ids) | set(name_of))
            unread = [c for c in names.unread if crm is None or c == crm]
            errors.append(
                unmatched_filter(
                    "pipeline",
                    given,
                    f"{where} has pipeline '{given}' (a pipeline's id, or its name in the CRM "
                    "in any case)",
                    [*ids, *name_of.values()],
                    [f"{pid} ({name_of[pid]})" if pid in name_of else pid for pid in ids],
                    (
                        f"; the pipeline names of {', '.join(unread)} could not be read just "
                        "now: give the pipeline's id"
                    )
                    if unread
                    else "",
                )
            )
    if filters.owner and not seen(
        or_(Deal.owner_id == filters.owner, Deal.owner_name == filters.owner),
        Commitment.owner_id == filters.owner,
    ):
        errors.append(
            unmatched_filter(
                "owner",
                filters.owner,
                f"{where} has owner '{filters.owner}' (an owner's id or name)",
                values(Deal.owner_name, Deal.owner_id, entries=Commitment.owner_id),
            )
        )
    if filters.stage and not seen(
        or_(Deal.stage_id == filters.stage, Deal.stage_label == filters.stage)
    ):
        errors.append(
            unmatched_filter(
                "stage",
                filters.stage,
                f"{where} is in stage '{filters.stage}' (a stage's id or label)",
                values(Deal.stage_label, Deal.stage_id),
            )
        )
    if errors:
        raise InvalidRequest(errors, rendered=True)
    return filters


def unmatched_filter(
    name: str,
    given: str,
    said: str,
    choices: Sequence[str],
    listed: Sequence[str] | None = None,
    note: str = "",
) -> dict[str, Any]:
    """One 422 detail at query.<name>: what matched nothing, the value meant (in any case, or
    close), and the values known (`listed`, else `choices`; KNOWN_LISTED of them). The one
    wording of every filter value refused so (`check_filter_values`, the approvals list's
    `services.approvals.check_list_filters`)."""
    listed = list(choices if listed is None else listed)
    by_fold = {c.casefold(): c for c in choices}
    meant = by_fold.get(given.casefold())
    if meant is None:
        close = difflib.get_close_matches(given.casefold(), list(by_fold), n=1, cutoff=0.75)
        meant = by_fold[close[0]] if close else None
    known = ", ".join(listed[:KNOWN_LISTED]) or "none yet"
    if len(listed) > KNOWN_LISTED:
        known += f" (and {len(listed) - KNOWN_LISTED} more)"
    hint = f"; did you mean '{meant}'?" if meant is not None and meant != given else ""
    return {
        "loc": ("query", name),
        "msg": f"{said}{hint}{note}; known: {known}",
        "type": "value_error",
        "input": given,
    }


def feature_deals(
    session: Session, key: str, filters: DealFilters, page: PageRequest, *, base_url: str
) -> PageResult:
    """Open deals that depend on one feature, with where and how each deal mentions it."""
    feature = session.get(Feature, key)
    if feature is None:
        known = session.execute(
            select(DealFeature.id).where(DealFeature.feature_key == key).limit(1)
        ).first()
        if known is None:
            keys = session.execute(select(Feature.key)).scalars().all()
            raise NotFound(
                f"feature '{key}' is not on the roadmap and no deal references it"
                + did_you_mean(key, keys)
            )
    result = list_deals(session, replace(filters, feature=key), page, base_url=base_url)
    refs: dict[tuple[str, str], list[DealFeature]] = {}
    for ids_by_crm in _key_batches((row["crm"], row["deal_id"]) for row in result.items):
        # All rows of the page's deals by (crm, deal_id), `ix_deal_feature_deal`: a few probes
        # per deal, the other features' rows dropped here. With the feature key in the WHERE
        # both planners read every row of the feature instead (20,000 for the hottest; 3,900
        # heap pages on PostgreSQL) to keep the page's 80. A deal's rows come in one batch,
        # in id order.
        rows = session.execute(
            select(DealFeature)
            .where(
                or_(
                    *(
                        and_(DealFeature.crm == crm, DealFeature.deal_id.in_(ids))
                        for crm, ids in ids_by_crm.items()
                    )
                )
            )
            .order_by(DealFeature.id)
        ).scalars()
        for ref in rows:
            if ref.feature_key == key:
                refs.setdefault((ref.crm, ref.deal_id), []).append(ref)
    for row in result.items:
        mine = refs.get((row["crm"], row["deal_id"]), [])
        row["references"] = [
            {
                "source": r.source,
                "source_id": r.source_id,
                "evidence": r.evidence,
                "is_commitment": r.is_commitment,
                "hedged": r.hedged,
                "optional": r.optional,
                "promised_date": r.promised_date.isoformat() if r.promised_date else None,
                "needed_by": r.needed_by.isoformat() if r.needed_by else None,
                "score": r.score,
            }
            for r in mine
        ]
        row["sources"] = sorted({r.source for r in mine})
        row["evidence"] = [r.evidence for r in mine]
    name = feature.name if feature else None
    if name is None:
        # Gone from the roadmap: the name its deals quoted it by, as exposure names it (the key
        # was shown here while exposure showed the name).
        name = session.execute(
            select(func.max(DealFeature.feature_name)).where(DealFeature.feature_key == key)
        ).scalar_one_or_none()
    result.extra["feature"] = {
        "key": key,
        "name": name or key,
        "availability": feature.availability if feature else "unknown",
        "target_date": feature.target_date.isoformat() if feature and feature.target_date else None,
    }
    return result


# --- exposure ----------------------------------------------------------------------------------

EXPOSURE_COLUMNS = [
    "feature_key",
    "feature_name",
    "availability",
    "target_date",
    "deal_count",
    "amount",
    "weighted_amount",
    "currency",  # the row's own: see exposure_csv_currency
]
EXPOSURE_STAGE_COLUMNS = [
    "feature_key",
    "feature_name",
    "availability",
    "target_date",
    "pipeline",
    "stage_id",
    "stage_label",
    "deal_count",
    "amount",
    "weighted_amount",
    "currency",
]


def _amount() -> ColumnElement:
    return func.coalesce(DealFeature.amount, 0)


def _weighted() -> ColumnElement:
    # A stage without a probability weighs nothing: unknown odds are not counted as certain.
    # A float, read as one: typed as the amount column (NUMERIC(18, 2)) the driver's float was
    # cut to two places before `money` saw it, 1,431.535 (2,045.05 at 70%) as 1431.53.
    weighted = func.coalesce(DealFeature.amount, 0) * func.coalesce(DealFeature.probability, 0.0)
    return type_coerce(weighted, Float())


def _sums() -> tuple[ColumnElement, ...]:
    """What exposure adds up over dependency rows, in this order: deals (n), amount, weighted
    amount, and the currency label's plain aggregates (`currency_label`: low, high,
    unlabelled; plain aggregates over the covering index, where a CASE per row cost 15% of
    the split on SQLite). A row without an amount still carries its deal's company currency
    (see pipeline_amount), so every row is labelled."""
    return (
        func.count().label("n"),
        func.sum(_amount()).label("amount"),
        func.sum(_weighted()).label("weighted"),
        func.min(DealFeature.currency).label("low"),
        func.max(DealFeature.currency).label("high"),
        (func.count() - func.count(DealFeature.currency)).label("unlabelled"),
    )


def exposure(
    session: Session,
    filters: DealFilters,
    page: PageRequest,
    *,
    availability: str | Sequence[str] | None = None,
    by_stage: bool = True,
    split: bool = True,
) -> PageResult:
    """Exposure of open deals per feature, read from primary dependency rows alone.

    `by_stage=False` leaves each feature's stage breakdown empty and `split=False` the
    availability split out (`by_availability` is then absent): a CSV of one row per feature
    shows neither, and for every feature at once they were most of its cost.

    Statement 1 groups the rows once per feature × pipeline × stage (`cells`, at most a few
    thousand rows, materialized); the per-feature totals, their sorted page and the page's
    stage breakdown are read from it, each with its own currency label (`currency_label` from
    the cells' min and max currency and unlabelled rows). Statement 2 is the availability
    split, which counts a deal once however many features of one availability it depends on:
    one pass grouped by deal over the availability copied onto the rows. Only the per-feature `availability`
    filter joins `feature` (a thousand rows); `deal` is not read.
    """
    conds = _dependency_conditions(filters)
    # one availability or several (`?availability=coming_soon&availability=uncertain`)
    availability = (availability,) if isinstance(availability, str) else tuple(availability or ())
    cells = (
        select(
            DealFeature.feature_key,
            DealFeature.pipeline,
            DealFeature.stage_id,
            DealFeature.stage_label,
            # features and stages are labelled from these, with no second pass over the rows
            *_sums(),
        )
        .where(*conds)
        .group_by(
            DealFeature.feature_key,
            DealFeature.pipeline,
            DealFeature.stage_id,
            DealFeature.stage_label,
        )
        .cte("cells")
        .prefix_with("MATERIALIZED")
    )
    bind = session.get_bind()
    postgres = bind.dialect.name == "postgresql"
    amount = func.sum(cells.c.amount)
    if not postgres:
        # SQLite sums NUMERIC as a float, which the column's type read back rounded to cents:
        # a page's last amount in `next_cursor` must be the value its rows compare by, or a
        # sum such as 0.30000000000000004 compares above its own cursor (0.30): shown again
        # in an ascending order, the features tied with it skipped in a descending one.
        # PostgreSQL's sum is an exact numeric.
        amount = type_coerce(amount, Float())
    per_feature_q = select(
        cells.c.feature_key,
        func.sum(cells.c.n).label("deal_count"),
        amount.label("amount"),
        func.sum(cells.c.weighted).label("weighted_amount"),
        func.min(cells.c.low).label("low"),
        func.max(cells.c.high).label("high"),
        func.sum(cells.c.unlabelled).label("unlabelled"),
    ).group_by(cells.c.feature_key)
    if availability:  # decided per feature (a thousand rows), not per dependency row
        per_feature_q = (
            per_feature_q.select_from(cells)
            .outerjoin(Feature, Feature.key == cells.c.feature_key)
            .where(func.coalesce(Feature.availability, literal("unknown")).in_(availability))
        )
    per_feature = per_feature_q.cte("per_feature")
    sorts = {
        "amount": per_feature.c.amount,
        "weighted_amount": per_feature.c.weighted_amount,
        "deal_count": per_feature.c.deal_count,
        "feature_key": per_feature.c.feature_key,
    }
    # by cursor too (`keyset`): a feature gaining or losing pipeline between two page requests
    # moved every later feature, and the next page by offset repeated one or skipped one
    ks = keyset(page, sorts, [per_feature.c.feature_key])
    paged = select(per_feature).where(*_after(ks)).order_by(*ks.order)
    paged = paged.offset(page.offset)
    if page.limit is not None:
        paged = paged.limit(page.limit)
    page_cte = paged.cte("page")
    null = sa_null()
    total = select(func.count()).select_from(per_feature).scalar_subquery()
    features_part = select(
        literal("f").label("kind"),
        page_cte.c.feature_key.label("k"),
        null.label("pipeline"),
        null.label("stage_id"),
        null.label("stage_label"),
        page_cte.c.deal_count.label("n"),
        page_cte.c.amount.label("amount"),
        page_cte.c.weighted_amount.label("weighted"),
        total.label("total"),
        page_cte.c.low,
        page_cte.c.high,
        page_cte.c.unlabelled,
    )
    stages_part = select(
        literal("s"),
        cells.c.feature_key,
        cells.c.pipeline,
        cells.c.stage_id,
        cells.c.stage_label,
        cells.c.n,
        cells.c.amount,
        cells.c.weighted,
        null,
        cells.c.low,
        cells.c.high,
        cells.c.unlabelled,
    ).where(cells.c.feature_key.in_(select(page_cte.c.feature_key)))
    # On PostgreSQL a session that only reads (GET requests) has the split computed on a
    # second connection while this one groups the cells: two server processes at once, the
    # request waits for the longer statement instead of both. Each statement reads its own
    # snapshot (milliseconds apart), as two requests would. SQLite: one after the other.
    concurrent_split = (
        split
        and postgres
        and isinstance(bind, Engine)
        and bool(bind.get_execution_options().get("read_only"))
    )
    split_future = (
        _SPLIT_POOL.submit(_split_on_own_connection, bind, conds, availability)
        if concurrent_split
        else None
    )
    if postgres:
        # PostgreSQL prices a hash aggregate over a sequential scan below the streaming
        # aggregate over the covering index, which is presorted by the cells' keys: on the
        # 50k-deal benchmark 73 ms against 50 ms. For this statement only.
        session.execute(text("SET LOCAL enable_hashagg = off"))
    try:
        statement = union_all(features_part, stages_part) if by_stage else features_part
        rows = session.execute(statement).all()
    finally:
        if postgres:
            session.execute(text("RESET enable_hashagg"))

    features: list[dict[str, Any]] = []
    index: dict[str, dict[str, Any]] = {}
    total_features = 0
    for kind, key, _p, _s, _l, n, amount, weighted, total_n, low, high, unlabelled in rows:
        if kind == "f":
            total_features = total_n or 0
            item = {
                "feature_key": key,
                "feature_name": key,
                "availability": "unknown",
                "target_date": None,
                "deal_count": int(n),
                "amount": money(amount),
                "weighted_amount": money(weighted),
                **currency_label(low, high, unlabelled),
                "by_stage": [],
            }
            features.append(item)
            index[key] = item
    # Python sorts only what SQL already ordered: one page. UNION ALL keeps no order.
    in_order = _page_order(rows, page)
    order = {r[1]: i for i, r in enumerate(in_order)}
    features.sort(key=lambda i: order.get(i["feature_key"], 0))
    # One entry per stage: a stage renamed in the CRM gives the deals read since the new label
    # and the others the old one (cells group by both), and the stage was listed twice, its
    # deals split between the two. Merged here, named by the label most of its deals carry.
    stages: dict[tuple, dict[str, Any]] = {}
    for kind, key, pipeline, stage_id, stage_label, n, amount, weighted, _t, *label in rows:
        if kind == "s" and key in index:
            cell = stages.get((key, pipeline, stage_id))
            if cell is None:
                cell = stages[(key, pipeline, stage_id)] = {
                    "labels": {}, "n": 0, "amount": 0, "weighted": 0, "label": []
                }  # fmt: skip
            cell["labels"][stage_label] = cell["labels"].get(stage_label, 0) + int(n)
            cell["n"] += int(n)
            cell["amount"] += amount or 0
            cell["weighted"] += weighted or 0
            cell["label"].append(label)
    for (key, pipeline, stage_id), cell in stages.items():
        lows = [low for low, _h, _u in cell["label"] if low is not None]
        highs = [high for _l, high, _u in cell["label"] if high is not None]
        index[key]["by_stage"].append(
            {
                "pipeline": pipeline,
                "stage_id": stage_id,
                "stage_label": max(cell["labels"].items(), key=lambda kv: (kv[1], kv[0] or ""))[0],
                "deal_count": cell["n"],
                "amount": money(cell["amount"]),
                "weighted_amount": money(cell["weighted"]),
                **currency_label(
                    min(lows, default=None),
                    max(highs, default=None),
                    sum(u or 0 for _l, _h, u in cell["label"]),
                ),
            }
        )
    for item in features:
        item["by_stage"].sort(key=lambda s: (s["pipeline"] or "", s["stage_id"] or ""))
    if index:  # names, availability and dates for one page of features: a primary-key lookup
        for f in session.execute(
            select(Feature.key, Feature.name, Feature.availability, Feature.target_date).where(
                Feature.key.in_(list(index))
            )
        ):
            item = index[f.key]
            item["feature_name"], item["availability"] = f.name, f.availability
            item["target_date"] = f.target_date.isoformat() if f.target_date else None
        # A feature gone from the roadmap keeps the name its deals quoted it by (the key was
        # shown until they were all checked again)
        gone = [k for k, item in index.items() if item["feature_name"] == k]
        if gone:
            for key, name in session.execute(
                select(DealFeature.feature_key, func.max(DealFeature.feature_name))
                .where(DealFeature.feature_key.in_(gone))
                .group_by(DealFeature.feature_key)
            ):
                if name:
                    index[key]["feature_name"] = name
    if total_features == 0 and (page.offset or page.cursor is not None):  # past the last page
        total_features = session.execute(select(func.count()).select_from(per_feature)).scalar_one()
    extra: dict[str, Any] = {
        "next_cursor": next_cursor(
            page, _cursor_of(in_order[-1], page) if _full(page, in_order) else None
        )
    }
    if split:
        by_availability = (
            split_future.result()
            if split_future is not None
            else _availability_split(session, conds, availability)
        )
        extra.update(by_availability=by_availability, **exposure_currency(by_availability))
    return PageResult(
        items=features,
        total=total_features,
        limit=page.limit,
        offset=page.offset,
        sort=page.sort,
        extra=extra,
    )


# Threads that run exposure's availability split beside the request's own statement.
_SPLIT_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="rg-exposure-split")


def _split_on_own_connection(
    engine: Engine, conds: list[ColumnElement], availability: Sequence[str]
) -> list[dict[str, Any]]:
    with Session(engine) as session:
        return _availability_split(session, conds, availability)


def _availability_split(
    session: Session, conds: list[ColumnElement], availability: Sequence[str]
) -> list[dict[str, Any]]:
    """Per availability: open deals depending on at least one such feature, each counted once.

    Each deal has one `availability_first` row per availability it depends on, so this is one
    pass over those rows grouped by availability (`ix_deal_feature_split`, covering): no
    grouping by deal and no join to `feature` (the availability is the copy on the row, kept
    current by the roadmap fan-out). The filters are deal facts, the same on every row of a
    deal, so they keep or drop a deal's rows together, but for `promised` and `optional`: a
    deal's row first of its availability is a promised one when any is, else a required one
    when any is (`dependency_values`), so `promised=true` counts the deals promised at least
    one feature of an availability and `promised=false` those that only mention features of
    it; `optional=false` counts the deals that need (or were promised) at least one feature of
    it and `optional=true` those that only called its features nice to have. Each pair adds up
    to the whole.
    """
    query = (
        select(
            DealFeature.availability,
            *_sums(),
        )
        .where(*conds, DealFeature.availability_first == true())
        .group_by(DealFeature.availability)
    )
    if availability:
        query = query.where(DealFeature.availability.in_(availability))
    return [
        {
            "availability": value,
            "deal_count": int(n),
            "amount": money(amount),
            "weighted_amount": money(weighted),
            **currency_label(low, high, unlabelled),
        }
        for value, n, amount, weighted, low, high, unlabelled in sorted(
            session.execute(query).all()
        )
    ]


def currency_label(low: str | None, high: str | None, unlabelled: int | None) -> dict[str, Any]:
    """`currency`: the one currency every summed amount is in, else None; `mixed_currencies`:
    the amounts are in more than one known currency (a CRM that does not convert, or deals
    stored before amounts were converted: re-evaluating them converts them)."""
    single = low is not None and low == high and not unlabelled
    return {"currency": low if single else None, "mixed_currencies": low != high}


def amounts_currency(codes: Iterable[str | None]) -> dict[str, Any]:
    """`currency_label` of amounts summed in Python: `codes` holds the currency of each amount
    added (None where it is not known). A total adding GBP to USD says `mixed_currencies`,
    never a bare sum with `currency: null` that reads as "not known"."""
    codes = list(codes)
    known = [c for c in codes if c is not None]
    return currency_label(
        min(known, default=None), max(known, default=None), len(codes) - len(known)
    )


def exposure_currency(split: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The label of a whole exposure answer from its availability split (which reads every
    filtered deal once per availability)."""
    codes = {s["currency"] for s in split if s["amount"] or s["currency"]}
    mixed = any(s["mixed_currencies"] for s in split) or len(codes - {None}) > 1
    single = len(codes) == 1 and not mixed
    return {"currency": next(iter(codes)) if single else None, "mixed_currencies": mixed}


# Where exposure's sort keys are in its feature rows (`kind, key, ..., n, amount, weighted`).
_EXPOSURE_FIELDS = {"deal_count": 5, "amount": 6, "weighted_amount": 7, "feature_key": 1}


def _page_order(rows, page: PageRequest) -> list:
    """Re-apply the requested order to the page's feature rows (already chosen by SQL)."""
    fields = _EXPOSURE_FIELDS
    ordered = sorted((r for r in rows if r[0] == "f"), key=lambda r: r[1])
    for part in reversed([p.strip() for p in page.sort.split(",") if p.strip()]):
        col = fields[part.lstrip("-+")]
        present = [r for r in ordered if r[col] is not None]
        present.sort(key=lambda r, c=col: r[c], reverse=part.startswith("-"))
        ordered = present + [r for r in ordered if r[col] is None]
    return ordered


def _cursor_of(row: Sequence[Any], page: PageRequest) -> tuple[Any, ...]:
    """The keyset values of exposure's feature row `row` (`next_cursor`): its sort keys' values
    as SQL read them (not rounded to cents), then its key (the tiebreak)."""
    keys = [p.strip().lstrip("-+") for p in page.sort.split(",") if p.strip()]
    return (*(row[_EXPOSURE_FIELDS[k]] for k in keys), row[1])


def exposure_csv_currency(row: Mapping[str, Any]) -> str | None:
    """A CSV row's `currency` cell: the one currency its amounts are in, `mixed` when they add
    up several (the sum is no amount of any one currency), empty when it is not known. JSON
    says the same with `currency: null` and `mixed_currencies: true`."""
    return "mixed" if row["mixed_currencies"] else row["currency"]


def exposure_feature_rows(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A page of exposure as CSV rows, one per feature, each with its own currency cell."""
    return [{**item, "currency": exposure_csv_currency(item)} for item in items]


def exposure_stage_rows(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Flatten a page of exposure into one CSV row per feature × stage, each stage's own
    currency in its currency cell."""
    rows = []
    for item in items:
        for stage in item["by_stage"]:
            rows.append(
                {
                    **{k: item[k] for k in EXPOSURE_COLUMNS[:4]},
                    **stage,
                    "currency": exposure_csv_currency(stage),
                }
            )
    return rows


# --- one deal ----------------------------------------------------------------------------------


def deal_detail(
    session: Session,
    crm: str,
    deal_id: str,
    *,
    base_url: str,
    history_limit: int = 50,
    now: datetime | None = None,
) -> dict[str, Any]:
    now = now or utcnow()
    deal_id = canonical_deal_id(crm, deal_id)
    deal = session.execute(
        select(Deal).where(Deal.crm == crm, Deal.deal_id == deal_id)
    ).scalar_one_or_none()
    if deal is None:
        raise NotFound(f"no deal '{deal_id}' in crm '{crm}'")
    latest = session.get(Evaluation, deal.last_evaluation_id) if deal.last_evaluation_id else None
    if latest is None:
        latest = session.execute(
            select(Evaluation)
            .where(Evaluation.crm == crm, Evaluation.deal_id == deal_id)
            .order_by(Evaluation.created_at.desc(), Evaluation.id.desc())
            .limit(1)
        ).scalar_one_or_none()
    evaluations = session.execute(
        select(Evaluation)
        .where(Evaluation.crm == crm, Evaluation.deal_id == deal_id)
        .order_by(Evaluation.created_at.desc(), Evaluation.id.desc())
        .limit(history_limit)
    ).scalars()
    writes = session.execute(
        select(WriteBackLog)
        .where(WriteBackLog.crm == crm, WriteBackLog.deal_id == deal_id)
        .order_by(WriteBackLog.created_at.desc(), WriteBackLog.id.desc())
        .limit(history_limit)
    ).scalars()
    refs = session.execute(
        select(DealFeature)
        .where(DealFeature.crm == crm, DealFeature.deal_id == deal_id)
        .order_by(DealFeature.id)
    ).scalars()
    approvals = session.execute(
        select(Approval)
        .where(Approval.crm == crm, Approval.deal_id == deal_id)
        .order_by(Approval.created_at.desc())
    ).scalars()
    commitments = session.execute(
        select(Commitment)
        .where(Commitment.crm == crm, Commitment.deal_id == deal_id)
        .order_by(Commitment.id)
    ).scalars()
    snap = deal.snapshot or {}
    return {
        # A deal deleted in the CRM keeps its page (ledger entries and history link to it) but
        # is in no list or total: said here, or it read as an open deal with its last verdict.
        "deal": {**deal_row(deal, base_url), "deleted_in_crm": not deal.tracked},
        "snapshot": {
            "taken_at": deal.snapshot_at.isoformat() if deal.snapshot_at else None,
            "line_items": [
                {k: li.get(k) for k in ("id", "name", "sku", "quantity", "amount")}
                for li in snap.get("line_items", [])
            ],
            "note_count": len(snap.get("notes", [])),
        },
        "references": [
            {
                "feature_key": r.feature_key,
                "feature_name": r.feature_name,
                "source": r.source,
                "source_id": r.source_id,
                "evidence": r.evidence,
                "is_commitment": r.is_commitment,
                "hedged": r.hedged,
                "optional": r.optional,
                "promised_date": r.promised_date.isoformat() if r.promised_date else None,
                "needed_by": r.needed_by.isoformat() if r.needed_by else None,
            }
            for r in refs
        ],
        "findings": list(latest.findings) if latest else [],
        "evaluation_id": latest.id if latest else None,
        "evaluations": [
            {
                "id": e.id,
                "verdict": e.verdict,
                "trigger": e.trigger,
                "rules_version": e.rules_version,
                "finding_count": len(e.findings or []),
                "created_at": e.created_at.isoformat(),
            }
            for e in evaluations
        ],
        "write_backs": [
            {
                "id": w.id,
                "evaluation_id": w.evaluation_id,
                "outcome": w.outcome,
                "changes": w.changes,
                "error": w.error,
                "created_at": w.created_at.isoformat(),
            }
            for w in writes
        ],
        "approvals": [{**approval_row(a), "status": approval_status(a, now)} for a in approvals],
        "commitments": [commitment_row(c) for c in commitments],
    }


def approval_status(a: Approval, now: datetime) -> str:
    """active | expired | revoked: what the engine honours at `now`."""
    if a.revoked_at is not None:
        return "revoked"
    if a.expires_at is not None and a.expires_at <= now:
        return "expired"
    return "active"


def approval_row(a: Approval) -> dict[str, Any]:
    return {
        "id": a.id,
        "crm": a.crm,
        "deal_id": a.deal_id,
        "feature_key": a.feature_key,
        "rule_id": a.rule_id,
        "promised_date": a.promised_date.isoformat() if a.promised_date else None,
        "reason": a.reason,
        "approver": a.approver,
        "expires_at": a.expires_at.isoformat() if a.expires_at else None,
        "revoked_at": a.revoked_at.isoformat() if a.revoked_at else None,
        "revoked_by": a.revoked_by,
        "created_at": a.created_at.isoformat(),
        # the findings it was given for (null: made before they were recorded; covers any)
        "covers": a.covers,
    }


def commitment_owner(owner: str) -> ColumnElement[bool]:
    """The ledger's owner filter: an owner id, or a name, as /deals and /exposure take it.

    An entry keeps the owner's id from signing, not the name; a name matches the entries whose
    owner id a deal of the same CRM carries with that name (`deal.owner_id` is indexed)."""
    named = (
        select(literal(1))
        .where(
            Deal.crm == Commitment.crm,
            Deal.owner_id == Commitment.owner_id,
            Deal.owner_name == owner,
        )
        .exists()
    )
    return or_(Commitment.owner_id == owner, named)


def commitment_owner_names(
    session: Session, entries: Sequence[Commitment]
) -> dict[tuple[str, str], str]:
    """(crm, owner id) -> the owner's name as the CRM's deals carry it, for a page of ledger
    entries: one query (entries keep no name of their own)."""
    ids = {(c.crm, c.owner_id) for c in entries if c.owner_id}
    if not ids:
        return {}
    rows = session.execute(
        select(Deal.crm, Deal.owner_id, func.max(Deal.owner_name))
        .where(tuple_(Deal.crm, Deal.owner_id).in_(sorted(ids)), Deal.owner_name.is_not(None))
        .group_by(Deal.crm, Deal.owner_id)
    ).all()
    return {(crm, owner_id): name for crm, owner_id, name in rows}


def commitment_deal_gone() -> ColumnElement[bool]:
    """SQL: the ledger entry's deal is deleted (or merged into another deal) in the CRM, i.e.
    untracked. Its entries stay in the ledger, flagged `deal_deleted_in_crm`; they are not
    signed business: a won duplicate cleaned up would count twice beside the deal kept, and a
    deal restored in the CRM is tracked again and counts again."""
    return (
        select(Deal.id)
        .where(
            Deal.crm == Commitment.crm,
            Deal.deal_id == Commitment.deal_id,
            Deal.tracked == false(),
        )
        .exists()
    )


def deleted_deals(session: Session, keys: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of these (crm, deal id) the CRM deleted (or merged into another deal): untracked
    deals, by `uq_deal_crm_deal`, KEY_BATCH at a time."""
    gone: set[tuple[str, str]] = set()
    for ids_by_crm in _key_batches(dict.fromkeys(keys)):
        gone.update(
            (crm, deal_id)
            for crm, deal_id in session.execute(
                select(Deal.crm, Deal.deal_id).where(
                    or_(
                        *(
                            and_(Deal.crm == crm, Deal.deal_id.in_(ids))
                            for crm, ids in ids_by_crm.items()
                        )
                    ),
                    Deal.tracked == false(),
                )
            )
        )
    return gone


def commitment_rows(session: Session, entries: Sequence[Commitment]) -> list[dict[str, Any]]:
    """`commitment_row` of each entry, with `owner_name` (`commitment_owner_names`) and
    `deal_deleted_in_crm`: an entry outlives its deal, and a won deal deleted or merged away in
    the CRM (a duplicate cleaned up) read as signed business beside the deal that replaced it."""
    names = commitment_owner_names(session, entries)
    gone = deleted_deals(session, ((c.crm, c.deal_id) for c in entries))
    return [
        {
            **commitment_row(c),
            "owner_name": names.get((c.crm, c.owner_id)),
            "deal_deleted_in_crm": (c.crm, c.deal_id) in gone,
        }
        for c in entries
    ]


def commitment_row(c: Commitment) -> dict[str, Any]:
    return {
        "id": c.id,
        "crm": c.crm,
        "deal_id": c.deal_id,
        "deal_name": c.deal_name,
        "account_name": c.account_name,
        "owner_id": c.owner_id,
        "pipeline": c.pipeline,
        "close_date": c.close_date.isoformat() if c.close_date else None,
        "promise_key": c.promise_key,
        "feature_key": c.feature_key,
        "rule_id": c.rule_id,
        "feature_name": c.feature_name,
        "availability_at_signing": c.availability_at_signing,
        "target_date_at_signing": c.target_date_at_signing.isoformat()
        if c.target_date_at_signing
        else None,
        "promised_date": c.promised_date.isoformat() if c.promised_date else None,
        "hedged": c.hedged,
        "amount": None if c.amount is None else money(c.amount),
        "currency": c.currency,
        "amount_home": None if c.amount_home is None else money(c.amount_home),
        "home_currency": c.home_currency,
        "approval_id": c.approval_id,
        "approver": c.approver,
        "evidence": c.evidence,
        "signed_at": c.signed_at.isoformat(),
        "recorded_at": c.recorded_at.isoformat(),
        "withdrawn_at": c.withdrawn_at.isoformat() if c.withdrawn_at else None,
        "flagged": c.flagged_at is not None,
        "flagged_at": c.flagged_at.isoformat() if c.flagged_at else None,
        "flag_reason": c.flag_reason,
        "task_requested": c.task_requested,
    }
