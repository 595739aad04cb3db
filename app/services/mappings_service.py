"""Product mappings: a product, found on a deal's line item by SKU, product id or exact name,
delivers these roadmap features. Single edits and all-or-nothing bulk imports (CSV or JSON);
every change is audited and fanned out to the open deals carrying that product.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlalchemy import ColumnElement, String, and_, cast, exists, func, literal, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.db import is_postgres
from app.errors import (
    Conflict,
    Invalid,
    InvalidRequest,
    NotFound,
    did_you_mean,
    error_message,
    json_path,
)
from app.models import Feature as FeatureRow
from app.models import ProductMapping, utcnow
from app.models.core import mapping_match_key
from app.services import audit
from app.services.catalog import product_id_as_read
from app.services.fanout import FanOutResult, fan_out, mapping_scope
from app.services.rules_service import PreconditionFailed, if_match_holds
from app.services.search import contains_text

MatchKind = Literal["sku", "product_id", "name"]
CSV_COLUMNS = ("match_kind", "match_value", "feature_keys")
# The short form of the header: a column named after the kind of value it holds ("sku",
# "feature_keys", as a product catalog export has it), instead of match_kind and match_value.
# With several, the first here is read (a "name" beside "sku" is the product's description).
CSV_KIND_COLUMNS: tuple[str, ...] = ("sku", "product_id", "name")
CSV_DELIMITERS = (",", ";", "\t")  # ';': spreadsheets in locales with a decimal comma
JSON_WRAPPER_KEYS = ("mappings",)


def trim(value: str) -> str:
    """`value` without the whitespace and the invisible format characters around it (a zero
    width space, a byte order mark, a direction mark: category Cf), which a value copied from
    a web page or a chat keeps at its ends. str.strip() left them: "ENT-SSO\u200b" was stored
    as a mapping no line item matched, and "sso\u200b" was an unknown feature key whose
    error message showed nothing wrong."""
    start, end = 0, len(value)
    while start < end and (value[start].isspace() or unicodedata.category(value[start]) == "Cf"):
        start += 1
    while end > start and (
        value[end - 1].isspace() or unicodedata.category(value[end - 1]) == "Cf"
    ):
        end -= 1
    return value[start:end]


def _clean_keys(keys: list[str]) -> list[str]:
    cleaned = list(dict.fromkeys(trim(k) for k in keys if k and trim(k)))
    if not cleaned:
        raise ValueError("must name at least one feature key")
    return cleaned


class _SentKeys(BaseModel):
    """Keeps `feature_keys` as sent, so that an error names the index the writer used: the
    validator drops blank and repeated keys, which moves the ones after them."""

    _sent_keys: list[str] = PrivateAttr(default_factory=list)

    @model_validator(mode="wrap")
    @classmethod
    def _keep_sent_keys(cls, data: Any, handler: Any) -> Any:
        if isinstance(data, cls):
            return handler(data)
        model = handler(data)
        sent = data.get("feature_keys") if isinstance(data, dict) else None
        model._sent_keys = (
            [trim(k) if isinstance(k, str) else "" for k in sent]
            if isinstance(sent, list)
            else list(model.feature_keys)
        )
        return model

    def sent_positions(self) -> list[tuple[int, str]]:
        """(index in the list as sent, key) for every key named, repeats included."""
        return [(i, k) for i, k in enumerate(self._sent_keys) if k]


class MappingIn(_SentKeys):
    model_config = ConfigDict(extra="forbid")

    match_kind: MatchKind
    match_value: str = Field(min_length=1, max_length=255)
    feature_keys: list[str] = Field(min_length=1, max_length=200)

    @field_validator("match_kind", mode="before")
    @classmethod
    def _kind(cls, value: Any) -> Any:
        """ "SKU", "Product ID", "product-id": a spreadsheet's spelling of the kind, read as
        the CSV header's names are (any case, spaces and hyphens as underscores)."""
        return _SEPARATORS.sub("_", trim(value).casefold()) if isinstance(value, str) else value

    @field_validator("match_value")
    @classmethod
    def _value(cls, value: str) -> str:
        if not trim(value):
            raise ValueError("must not be blank")
        return trim(value)

    @field_validator("feature_keys")
    @classmethod
    def _keys(cls, keys: list[str]) -> list[str]:
        return _clean_keys(keys)

    @model_validator(mode="after")
    def _product_id(self) -> MappingIn:
        if self.match_kind == "product_id":
            self.match_value = product_id_as_read(self.match_value)
        return self


class MappingUpdate(_SentKeys):
    model_config = ConfigDict(extra="forbid")

    match_kind: str | None = Field(
        default=None, description="as read back: the mapping's own (a product does not change)"
    )
    match_value: str | None = Field(
        default=None, description="as read back: the mapping's own (a product does not change)"
    )
    feature_keys: list[str] = Field(min_length=1, max_length=200)

    @model_validator(mode="before")
    @classmethod
    def _without_read_only(cls, data: Any) -> Any:
        """A mapping read back whole (GET, change feature_keys, PUT) had id, created_at,
        updated_at and unknown_feature_keys each refused as not permitted."""
        return _as_written(data)

    @field_validator("feature_keys")
    @classmethod
    def _keys(cls, keys: list[str]) -> list[str]:
        return _clean_keys(keys)


class MappingPublic(BaseModel):
    id: int
    match_kind: str
    match_value: str
    feature_keys: list[str]
    unknown_feature_keys: list[str] = Field(
        default_factory=list,
        description="feature keys no longer on the roadmap (a source refresh or delete removed "
        "them): fix the mapping; deals selling the product get the unknown-sold warning",
    )
    created_at: str
    updated_at: str


class MappingWarning(BaseModel):
    """A mapping for a SKU or product id that a feature already lists among its own: the
    catalog adds the two up, so a deal selling the product references both. Not a refusal."""

    path: str = Field(description="where in the body: match_value (feature_keys for an edit)")
    message: str
    match_kind: str
    match_value: str
    claimed_by: list[str] = Field(
        description="features whose own skus / product_ids already name this value"
    )
    deals_will_reference: list[str] = Field(
        description="what a deal selling the product references: the mapping's features, "
        "then the claiming features it does not name"
    )


class ImportWarning(BaseModel):
    """A `MappingWarning` for one row of an import (`path` match_value), or a CSV header column
    that is not read (`path` header; the mapping fields are null)."""

    row: int = Field(description="the CSV line the row starts on, or the JSON item (from 1)")
    path: str = Field(description="match_value, or header for a column that is not read")
    message: str
    match_kind: str | None = None
    match_value: str | None = None
    claimed_by: list[str] | None = None
    deals_will_reference: list[str] | None = None


def to_public(
    row: ProductMapping, unknown: set[str] | frozenset[str] = frozenset()
) -> MappingPublic:
    """`unknown`: the keys (of this row or more) known not to be features, see `publics`."""
    return MappingPublic(
        id=row.id,
        match_kind=row.match_kind,
        match_value=row.match_value,
        feature_keys=list(row.feature_keys),
        unknown_feature_keys=[k for k in row.feature_keys if k in unknown],
        created_at=row.created_at.isoformat(),
        updated_at=row.updated_at.isoformat(),
    )


def publics(session: Session, rows: Iterable[ProductMapping]) -> list[MappingPublic]:
    """`to_public` for each row, with the keys that are no longer features found in one read."""
    rows = list(rows)
    unknown = unknown_keys(session, (k for r in rows for k in r.feature_keys))
    return [to_public(r, unknown) for r in rows]


def _json(row: ProductMapping) -> dict:
    return {
        "id": row.id,
        "match_kind": row.match_kind,
        "match_value": row.match_value,
        "feature_keys": list(row.feature_keys),
    }


def unknown_keys(session: Session, keys: Iterable[str]) -> set[str]:
    wanted = sorted(set(keys))
    known: set[str] = set()
    for start in range(0, len(wanted), 500):  # SQLite caps bound parameters per statement
        chunk = wanted[start : start + 500]
        known |= set(session.exec(select(FeatureRow.key).where(FeatureRow.key.in_(chunk))))
    return set(wanted) - known


def _check_keys(session: Session, body: MappingIn | MappingUpdate) -> None:
    missing = unknown_keys(session, body.feature_keys)
    if missing:
        meant = KeyHints(session, missing)
        details = [
            {"path": f"feature_keys[{i}]", "message": meant.message(k)}
            for i, k in body.sent_positions()
            if k in missing
        ]
        raise Invalid(f"unknown feature key(s): {', '.join(sorted(missing))}", details=details)


# --- overlap with the features' own SKUs and product ids ----------------------------------------

_OWN_CODES = {"sku": "SKUs", "product_id": "product ids"}


def own_claims(session: Session) -> dict[tuple[str, str], list[str]]:
    """(match kind, match key) → the features listing that value among their own skus or
    product_ids, in key order: what the catalog unions with a mapping of that value."""
    claims: dict[tuple[str, str], list[str]] = {}
    for key, skus, product_ids in session.exec(
        select(FeatureRow.key, FeatureRow.skus, FeatureRow.product_ids).order_by(FeatureRow.key)
    ):
        for kind, values in (("sku", skus), ("product_id", product_ids)):
            for value in values or []:
                if isinstance(value, str) and value.strip():
                    claimants = claims.setdefault((kind, mapping_match_key(value)), [])
                    if key not in claimants:
                        claimants.append(key)
    return claims


def _overlap(
    claims: dict[tuple[str, str], list[str]],
    match_kind: str,
    match_value: str,
    feature_keys: list[str],
    path: str,
) -> dict[str, Any] | None:
    claimed_by = claims.get((match_kind, mapping_match_key(match_value)))
    if not claimed_by:
        return None
    added = [k for k in claimed_by if k not in feature_keys]
    references = [*feature_keys, *added]
    whose = ", ".join(f"'{k}'" for k in claimed_by)
    claim = (
        f"feature {whose} already claims {match_kind} '{match_value}' (one of its own "
        if len(claimed_by) == 1
        else f"features {whose} already claim {match_kind} '{match_value}' (among their own "
    ) + f"{_OWN_CODES[match_kind]})"
    if added:
        message = (
            f"{claim}; a mapping adds to what features claim, so a deal selling it will "
            f"reference {', '.join(references)}, not only {', '.join(feature_keys)}"
        )
    else:
        message = (
            f"{claim}: this mapping repeats it; a deal selling it references "
            f"{', '.join(references)} either way"
        )
    return {
        "path": path,
        "message": message,
        "match_kind": match_kind,
        "match_value": match_value,
        "claimed_by": list(claimed_by),
        "deals_will_reference": references,
    }


def overlap_warnings(session: Session, row: ProductMapping, *, path: str) -> list[dict[str, Any]]:
    """A stored mapping's value is among a feature's own SKUs or product ids: what a deal
    selling it will reference, as warnings {path, message, match_kind, match_value, claimed_by,
    deals_will_reference}. Name mappings never overlap: a name is matched by a mapping first
    and by a feature's own name only without one."""
    if row.match_kind not in _OWN_CODES:
        return []
    found = _overlap(
        own_claims(session), row.match_kind, row.match_value, list(row.feature_keys), path
    )
    return [found] if found else []


def import_warnings(session: Session, rows: list[tuple[int, Any]]) -> list[dict[str, Any]]:
    """`overlap_warnings` for each row of an import that went through, with its `row`."""
    claims = own_claims(session)
    if not claims:
        return []
    warnings = []
    for row_no, raw in rows:
        kind = raw.get("match_kind") if isinstance(raw, dict) else None
        value = raw.get("match_value") if isinstance(raw, dict) else None
        # The kind as the row was read ("SKU", "Product ID"): such a row had no warning.
        kind = _SEPARATORS.sub("_", trim(kind).casefold()) if isinstance(kind, str) else kind
        if kind not in _OWN_CODES or not isinstance(value, str):
            continue
        if kind == "product_id":
            value = product_id_as_read(trim(value))
        if (kind, mapping_match_key(value)) not in claims:
            continue  # only the rows that overlap are read again
        item = MappingIn.model_validate(raw)
        found = _overlap(
            claims, kind, item.match_value, item.feature_keys, column_path(raw, "match_value")
        )
        if found:
            warnings.append({"row": row_no, **found})
    return warnings


# Mappings listed by name in one import's audit entry, or in a refusal naming those in the way.
AUDIT_MAPPING_LIMIT = 50


def listed(mappings: list[dict[str, Any]], total: int) -> dict[str, Any]:
    """The first AUDIT_MAPPING_LIMIT of `total` mappings, and whether that is all of them:
    {"mappings": [...], "total": n, "truncated": bool}."""
    return {
        "mappings": mappings[:AUDIT_MAPPING_LIMIT],
        "total": total,
        "truncated": total > min(len(mappings), AUDIT_MAPPING_LIMIT),
    }


# A key JSON writes as itself between quotes, whatever the serializer (orjson, json): a LIKE on
# the column's text finds it. Feature keys are made of these (features_service.KEY_PATTERN).
_PLAIN_KEY = re.compile(r"[A-Za-z0-9._:\-]+")


def names_a_key(session: Session, keys: Sequence[str]) -> ColumnElement[bool]:
    """SQL: the mapping's `feature_keys` (a JSON array) holds one of `keys`, exactly (case,
    and "sso" beside "sso-v2", count). Each element compared on its own, json_each on SQLite,
    json_array_elements_text on PostgreSQL, after a LIKE on the array's text that only lets
    through rows naming the key somewhere (cheap: most rows go no further)."""
    if is_postgres(session):
        element = func.json_array_elements_text(ProductMapping.feature_keys)
    else:
        element = func.json_each(ProductMapping.feature_keys)
    value = element.table_valued("value").alias("k")
    exact = exists(select(literal(1)).select_from(value).where(value.c.value.in_(keys)))
    if not all(_PLAIN_KEY.fullmatch(k) for k in keys):
        return exact
    text = cast(ProductMapping.feature_keys, String)
    return and_(or_(*(contains_text(text, f'"{k}"') for k in keys)), exact)


def mappings_using(
    session: Session, feature_keys: Iterable[str], *, limit: int | None = None
) -> list[ProductMapping]:
    """The mappings naming any of `feature_keys`, by id (the first `limit` of them): one
    query. It read every mapping and compared in Python: 4.4 s for a feature delete with
    200,000 mappings on SQLite."""
    keys = sorted(set(feature_keys))
    if not keys:
        return []
    stmt = select(ProductMapping).where(names_a_key(session, keys)).order_by(ProductMapping.id)
    return list(session.exec(stmt if limit is None else stmt.limit(limit)))


def count_mappings_using(session: Session, feature_keys: Iterable[str]) -> int:
    """How many mappings `mappings_using` would return, counted in the database."""
    keys = sorted(set(feature_keys))
    if not keys:
        return 0
    return session.exec(
        select(func.count()).select_from(ProductMapping).where(names_a_key(session, keys))
    ).one()


def list_mappings(
    session: Session,
    *,
    match_kind: str | None = None,
    q: str | None = None,
    feature_key: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[int, list[ProductMapping]]:
    """One page of mappings by kind and value, and how many match: counted and paged by the
    database (every matching mapping was read and sliced in Python: all 200,000 for each page
    of a large catalog)."""
    conditions = []
    if match_kind:
        conditions.append(ProductMapping.match_kind == match_kind)
    if q:
        # On match_key, the value casefolded in Python when written: SQL's lower() is no match
        # for casefold (SQLite's folds A-Z only, and neither makes "ß" "ss"), so a mapping for
        # "CAFÉ PRO" or "Straße-1" was not found even by its value as stored.
        conditions.append(contains_text(ProductMapping.match_key, mapping_match_key(q)))
    if feature_key:
        conditions.append(names_a_key(session, [feature_key]))
    total = session.exec(select(func.count()).select_from(ProductMapping).where(*conditions)).one()
    page = (
        select(ProductMapping)
        .where(*conditions)
        .order_by(ProductMapping.match_kind, ProductMapping.match_value, ProductMapping.id)
        .offset(offset)
        .limit(limit)
    )
    return total, list(session.exec(page))


def get_row(session: Session, mapping_id: int, *, for_update: bool = False) -> ProductMapping:
    """The mapping; `for_update` locks its row until the transaction ends (PostgreSQL; SQLite's
    writers are serialized already), so an If-Match check holds until the write."""
    row = session.get(ProductMapping, mapping_id, with_for_update=True if for_update else None)
    if row is None:
        raise NotFound(f"mapping {mapping_id} does not exist")
    return row


def etag(row: ProductMapping) -> str:
    """The mapping's entity tag, quoted: a digest of its product and feature keys."""
    text = json.dumps(_json(row), sort_keys=True, separators=(",", ":"))
    return '"' + hashlib.sha256(text.encode()).hexdigest()[:20] + '"'


def check_if_match(row: ProductMapping, if_match: str | None) -> None:
    """As for features and rules: with If-Match (a mapping's ETag; a list, or `*`), a PUT or
    DELETE of a mapping that changed since it was read is a 412 and writes nothing. The header
    was ignored: two people adding a feature each to the keys they had read lost one."""
    current = etag(row)
    if if_match_holds(current, if_match):
        return
    raise PreconditionFailed(
        f"mapping {row.id} changed since it was read (its ETag is {current}, not the one "
        f"If-Match names: {if_match}); GET it again, apply the change to that and retry; "
        "nothing was written",
        details={"id": row.id, "etag": current, "if_match": if_match},
    )


def _find(session: Session, kind: str, value: str) -> ProductMapping | None:
    """The mapping a line item with this value would match: case and spacing do not count."""
    return session.exec(
        select(ProductMapping).where(
            ProductMapping.match_kind == kind,
            ProductMapping.match_key == mapping_match_key(value),
        )
    ).first()


def _already_mapped(body: MappingIn, existing: ProductMapping) -> Conflict:
    same = "" if existing.match_value == body.match_value else " (case and spacing do not count)"
    return Conflict(
        f"{body.match_kind} '{body.match_value}' is already mapped by mapping {existing.id} "
        f"({existing.match_kind} '{existing.match_value}'){same}: change that one "
        f"(PUT /api/v1/mappings/{existing.id})",
        details={"existing": _json(existing)},
    )


def create_mapping(
    session: Session, body: MappingIn, *, actor: str
) -> tuple[ProductMapping, FanOutResult]:
    if (existing := _find(session, body.match_kind, body.match_value)) is not None:
        raise _already_mapped(body, existing)
    _check_keys(session, body)
    now = utcnow()
    row = ProductMapping(**body.model_dump(), created_at=now, updated_at=now)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        # A parallel request created it since the check (PostgreSQL waited for its commit).
        if (existing := _find(session, body.match_kind, body.match_value)) is None:
            raise
        raise _already_mapped(body, existing) from None
    audit.record(
        session,
        actor=actor,
        action="mapping.create",
        entity_type="product_mapping",
        entity_id=row.id,
        after=_json(row),
    )
    return row, fan_out(session, mapping_scope([row.match_value]))


def update_mapping(
    session: Session,
    mapping_id: int,
    body: MappingUpdate,
    *,
    actor: str,
    if_match: str | None = None,
) -> tuple[ProductMapping, FanOutResult]:
    row = get_row(session, mapping_id, for_update=if_match is not None)
    check_if_match(row, if_match)
    _same_product(row, body)
    _check_keys(session, body)
    before = _json(row)
    if list(row.feature_keys) == body.feature_keys:
        return row, FanOutResult()
    row.feature_keys = body.feature_keys
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="mapping.update",
        entity_type="product_mapping",
        entity_id=row.id,
        before=before,
        after=_json(row),
    )
    return row, fan_out(session, mapping_scope([row.match_value]))


def _same_product(row: ProductMapping, body: MappingUpdate) -> None:
    """A PUT may carry the mapping's kind and value as read back, not another product's."""
    errors = []
    kind = body.match_kind
    if kind is not None and _SEPARATORS.sub("_", trim(kind).casefold()) != row.match_kind:
        errors.append(("match_kind", body.match_kind, row.match_kind))
    value = body.match_value
    if value is not None:
        # A product id as sent or in the 18-character form (`product_id_as_read`): a mapping
        # stored with a 15-character Salesforce id before that is read back in that form.
        forms = {value}
        if row.match_kind == "product_id":
            forms.add(product_id_as_read(trim(value)))
        if row.match_key not in {mapping_match_key(v) for v in forms}:
            errors.append(("match_value", body.match_value, row.match_value))
    if errors:
        raise InvalidRequest(
            [
                {
                    "loc": (field,),
                    "msg": f"'{sent}' differs from mapping {row.id}'s {field} '{stored}': a "
                    "mapping's product does not change; create a mapping for the other product "
                    "(POST /api/v1/mappings), or leave it out",
                    "type": "value_error",
                }
                for field, sent, stored in errors
            ],
            rendered=True,
        )


def delete_mapping(
    session: Session, mapping_id: int, *, actor: str, if_match: str | None = None
) -> FanOutResult:
    row = get_row(session, mapping_id, for_update=if_match is not None)
    check_if_match(row, if_match)
    before = _json(row)
    session.delete(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="mapping.delete",
        entity_type="product_mapping",
        entity_id=mapping_id,
        before=before,
    )
    return fan_out(session, mapping_scope([before["match_value"]]))


# --- bulk import ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    """A row refused while reading the file, reported with the validation errors of the rest."""

    path: str
    message: str


class CsvRow(dict):
    """A row read from a CSV file: how many cells it had and the header's columns, so that an
    empty or missing cell is said as such (`_csv_cell_message`)."""

    value_column: str = "match_value"
    cells: int = 0
    columns: int = 0
    delimiter: str = ","


class ShortFormRow(CsvRow):
    """A row of the CSV's short form ("sku,feature_keys"): its match_value came from the
    column named after its kind, and an error about it names that column (`column_path`)."""


def column_path(raw: object, path: str) -> str:
    """`path` as the file the row came from names it: "sku" for match_value in the short form."""
    if path == "match_value" and isinstance(raw, ShortFormRow):
        return raw.value_column
    return path


def parse_csv(text: str) -> list[tuple[int, dict[str, Any] | RowError]]:
    """The rows of `read_csv` alone."""
    return read_csv(text)[0]


def read_csv(text: str) -> tuple[list[tuple[int, dict[str, Any] | RowError]], list[dict[str, Any]]]:
    """CSV with a header row match_kind,match_value,feature_keys, or the short form
    sku,feature_keys (or product_id or name: `CSV_KIND_COLUMNS`); keys split on ';' or '|'.

    Header names ignore case and surrounding spaces; the delimiter is ',', or ';' or a tab when
    the header is written with one, or what an Excel `sep=` first line names. Lines end with
    LF, CRLF or a lone CR (old Mac Excel). Blank lines before the header are skipped. Returns
    (line number, raw row or RowError) pairs, numbered as the file's lines (the line a row
    starts on), and warnings for header columns that are not read; a file the reader cannot go
    through is refused naming the line.

    Other columns (a spreadsheet's "description", "owner") are allowed, and ignored: the
    answer's warnings name them, so a misspelt optional column is not lost unnoticed.
    """
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise Invalid(
            "empty file: expected a header row match_kind,match_value,feature_keys and one "
            "row per mapping",
            details=[{"row": 1, "path": "header", "message": "empty file"}],
        )
    # newline="": the lines end where the file's do (\n, \r\n or \r), and a quoted cell keeps
    # its own line breaks for the csv reader.
    lines = io.StringIO(text, newline="").readlines()
    header_no, sep = _header_line(lines)
    delimiter, header, kind = _csv_header(lines[header_no - 1], header_no, sep)
    read = CSV_COLUMNS if kind is None else (kind, "feature_keys")
    reader = csv.reader(iter(lines[header_no:]), delimiter=delimiter, strict=True)
    rows: list[tuple[int, dict[str, Any] | RowError]] = []
    while True:
        line = header_no + reader.line_num + 1  # the line this row starts on
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise _csv_error(exc, lines, line, header_no + reader.line_num, delimiter) from None
        cells = [excel_text(trim(c)) for c in cells]
        if not any(cells):
            continue  # blank line
        if len(cells) > len(header) and any(cells[len(header) :]):
            extra = [c for c in cells[len(header) :] if c]
            hint = (
                "; separate several feature keys with ';' or '|' inside one cell"
                if delimiter == ","
                else "; separate several feature keys with '|' inside one cell"
            )
            rows.append(
                (
                    line,
                    RowError(
                        path="row",
                        message=f"{len(cells)} cells but the header has {len(header)} columns; "
                        f"extra: {', '.join(repr(c) for c in extra)}{hint}",
                    ),
                )
            )
            continue
        row = CsvRow(
            (name, cell) for name, cell in zip(header, cells, strict=False) if name in read
        )
        if kind is not None:  # "sku,feature_keys": the kind is the column's name
            row = ShortFormRow(
                match_kind=kind,
                match_value=row.get(kind, ""),
                feature_keys=row.get("feature_keys", ""),
            )
            row.value_column = kind
        row.cells, row.columns, row.delimiter = len(cells), len(header), delimiter
        # Every part is kept, blank ones too, so an error's feature_keys[i] is the cell's i-th.
        keys = [trim(k) for k in KEY_SEPARATOR.split(row.get("feature_keys", ""))]
        row["feature_keys"] = keys if any(keys) else []
        rows.append((line, row))
    if not rows:
        raise Invalid(
            f"nothing to import, nothing was written: no rows after the header on line "
            f"{header_no} (one row per mapping, e.g. {_example_row(kind, delimiter)})",
            details=[{"row": header_no + 1, "path": "row", "message": "no rows after the header"}],
        )
    unread = [name for name in header if name and name not in read]
    warnings = [
        {
            "row": header_no,
            "path": "header",
            "message": f"column '{name}' is not read (the columns read are "
            f"{', '.join(read)}); its cells are ignored",
        }
        for name in dict.fromkeys(unread)
    ]
    return rows, warnings


_EXCEL_TEXT = re.compile(r'="((?:[^"]|"")*)"')


def excel_text(cell: str) -> str:
    """A cell written as an Excel text formula, `="00123"`, is its text: exports made for
    Excel write codes so, to keep their leading zeros (00123 would open as the number 123).
    The formula was stored as the SKU itself, `="00123"`, which no line item carries."""
    found = _EXCEL_TEXT.fullmatch(cell)
    return trim(found.group(1).replace('""', '"')) if found else cell


# Between two feature keys of a cell: ';' or '|', or a line break inside the cell (Excel's
# Alt+Enter, the usual way to list several values in one cell: "sso\nscim" was refused as
# the one unknown key 'sso\nscim'); a ';' or '|' ending a line is one separator with it.
KEY_SEPARATOR = re.compile(r"[;|][ \t]*(?:\r\n|\r|\n)?|\r\n|\r|\n")


def _example_row(kind: str | None, delimiter: str) -> str:
    cells = ("ENT-SSO", "sso") if kind is not None else ("sku", "ENT-SSO", "sso")
    return delimiter.join(cells).replace("\t", "<tab>")


def _header_line(lines: list[str]) -> tuple[int, str | None]:
    """The header's line number (from 1), and the delimiter an Excel `sep=` line before it
    names. Lines before it with nothing but spaces, delimiters or quotes are skipped."""
    sep: str | None = None
    sep_no = 0
    for no, line in enumerate(lines, 1):
        content = line.rstrip("\r\n")
        if not content.strip(' \t,;"'):
            continue
        if not sep_no and content.lstrip(" ").lower().startswith("sep="):
            sep = content.lstrip(" ")[4:]
            sep = sep if sep == "\t" else sep.strip().strip('"')
            if sep not in CSV_DELIMITERS:
                shown = "a tab" if sep == "\t" else f"'{sep}'" if sep else "nothing"
                raise Invalid(
                    f"line {no}: the Excel line '{content.strip()}' names {shown} as the "
                    "column separator; this import reads ',', ';' or a tab: save the file "
                    "with one of them",
                    details=[
                        {"row": no, "path": "sep", "message": f"unsupported separator {shown}"}
                    ],
                )
            sep_no = no
            continue
        return no, sep
    raise Invalid(
        f"no header row after the 'sep=' line {sep_no}: expected match_kind,match_value,"
        "feature_keys and one row per mapping",
        details=[{"row": sep_no + 1, "path": "header", "message": "no header row"}],
    )


def _csv_header(
    line: str, line_no: int, sep: str | None = None
) -> tuple[str, list[str], str | None]:
    """The delimiter, the normalised column names of the CSV header on line `line_no`, and
    the match kind its short form names (None for match_kind,match_value); only `sep` is
    tried when the file names its delimiter (Excel's `sep=` line)."""
    found: dict[str, list[str]] = {}
    for delimiter in (sep,) if sep else CSV_DELIMITERS:
        try:
            cells = next(csv.reader([line], delimiter=delimiter), [])
        except csv.Error as exc:
            raise Invalid(
                f"line {line_no}: the CSV header cannot be read: {exc}",
                details=[{"row": line_no, "path": "header", "message": str(exc)}],
            ) from None
        # "Feature keys", "Product-ID": spaces and hyphens as underscores
        names = [_SEPARATORS.sub("_", trim(h).casefold()) for h in cells]
        found[delimiter] = names
        if all(c in names for c in CSV_COLUMNS):
            _refuse_repeated_columns(names, line_no, CSV_COLUMNS)
            return delimiter, names, None
        kind = _short_form(names)
        if kind is not None:
            _refuse_repeated_columns(names, line_no, (kind, "feature_keys"))
            return delimiter, names, kind
    header = found[sep or ","]
    if len(header) == 1 and line.lstrip(" ").startswith('"'):
        # '"sku,feature_keys"': the whole line quoted, one cell (a column pasted as text, or
        # a tool that quotes each line); the answer said "is 'sku,feature_keys' meant to be
        # feature_keys?", as if a column were misspelt
        [cell] = next(csv.reader([line], delimiter=sep or ","), [""])
        if any(d in cell for d in ((sep,) if sep else CSV_DELIMITERS)):
            message = (
                f"the header is one quoted cell, '{cell.strip()}': each whole line is wrapped "
                "in quotes, so the file reads as a single column; save it with the quotes "
                "around each cell, not each line (in Excel: Data > Text to Columns, then save "
                "as CSV)"
            )
            raise Invalid(
                f"line {line_no}: {message}; nothing was written",
                details=[{"row": line_no, "path": "header", "message": message}],
            )
    missing = [c for c in CSV_COLUMNS if c not in header]
    hint = ""
    if sep:
        shown = "a tab" if sep == "\t" else f"'{sep}'"
        hint = f"; the 'sep=' line says columns are separated by {shown}"
    elif len(header) == 1 and any(d in line for d in CSV_DELIMITERS[1:]):
        hint = "; columns must be separated by ',' (or ';' or a tab, used the same on every line)"
    short = _short_form_meant(header)
    raise Invalid(
        f"CSV header must have columns {', '.join(CSV_COLUMNS)} (or, short, sku, product_id "
        "or name, and feature_keys); missing: "
        + ", ".join(c + _column_meant(c, header) for c in missing)
        + short
        + hint,
        details=[
            {
                "row": line_no,
                "path": "header",
                "message": f"missing column {c}" + _column_meant(c, header),
            }
            for c in missing
        ]
        + ([{"row": line_no, "path": "header", "message": short[2:]}] if short else []),
    )


# A CRM export's column for a kind of value, as the header reads it (`_SEPARATORS`): the name
# alone made Salesforce's "Product Code" a near miss of product_id, and a file renamed so mapped
# SKUs as product ids, which no line item matched (the connector reads ProductCode as the SKU).
_SALESFORCE_SKU = "Salesforce's Product Code is the SKU a line item carries"
_HUBSPOT = "HubSpot's line item property {} is its {}"
CRM_KIND_COLUMNS: dict[str, tuple[str, str]] = {
    "product_code": ("sku", _SALESFORCE_SKU),
    "productcode": ("sku", _SALESFORCE_SKU),
    "hs_sku": ("sku", _HUBSPOT.format("hs_sku", "SKU")),
    "product2id": ("product_id", "Salesforce's Product2Id is a line item's product id"),
    "hs_product_id": ("product_id", _HUBSPOT.format("hs_product_id", "product id")),
}


# A header word naming the kind of value a column holds, in the order they are looked for.
_KIND_WORDS = (("sku", "sku"), ("code", "sku"), ("name", "name"), ("id", "product_id"))


def _short_form_meant(header: list[str]) -> str:
    """ "; for the short form, is 'skus' meant to be sku?" when the header has feature_keys,
    no long-form column, and a name close to a kind column (sku, product_id, name)."""
    if "feature_keys" not in header or "match_kind" in header or "match_value" in header:
        return ""
    for name in header:
        if name in CRM_KIND_COLUMNS:
            kind, field = CRM_KIND_COLUMNS[name]
            return f"; for the short form, is '{name}' meant to be {kind}? ({field})"
    for name in header:
        # By its words first: spelling alone made "product_name" and "product_sku" near
        # misses of product_id.
        words = set(name.split("_"))
        kind = next((k for w, k in _KIND_WORDS if w in words), None)
        if kind is not None and name not in CSV_COLUMNS:
            return f"; for the short form, is '{name}' meant to be {kind}?"
    for name in header:
        if name in CSV_COLUMNS:
            continue
        close = difflib.get_close_matches(name, CSV_KIND_COLUMNS, n=1, cutoff=0.6)
        if close:
            return f"; for the short form, is '{name}' meant to be {close[0]}?"
    return ""


def _column_meant(column: str, header: list[str]) -> str:
    """ " (is 'feature_key' meant to be feature_keys?)" when a header name is close to a
    missing column, else ""."""
    close = difflib.get_close_matches(
        column, [h for h in header if h not in CSV_COLUMNS], n=1, cutoff=0.75
    )
    return f" (is '{close[0]}' meant to be {column}?)" if close else ""


_SEPARATORS = re.compile(r"[\s-]+")


def _short_form(names: list[str]) -> str | None:
    """The kind column of a short-form header ("sku,feature_keys"), or None: feature_keys, no
    match_kind or match_value (a half-written long form is refused as such), and a kind
    column."""
    if "feature_keys" not in names or "match_kind" in names or "match_value" in names:
        return None
    return next((kind for kind in CSV_KIND_COLUMNS if kind in names), None)


def _refuse_repeated_columns(names: list[str], line_no: int, columns: Sequence[str]) -> None:
    """A column named twice: which cell counts would be a guess (the last one did)."""
    repeated = {c: [i + 1 for i, n in enumerate(names) if n == c] for c in columns}
    details = [
        {
            "row": line_no,
            "path": "header",
            "message": f"column {c} appears {len(at)} times "
            f"(columns {', '.join(str(i) for i in at)})",
        }
        for c, at in repeated.items()
        if len(at) > 1
    ]
    if details:
        named = ", ".join(d["message"].split(" ", 2)[1] for d in details)
        raise Invalid(
            f"CSV header names column(s) more than once: {named}; keep one of each",
            details=details,
        )


def _csv_error(exc: csv.Error, lines: list[str], start: int, at: int, delimiter: str) -> Invalid:
    """The 422 for a row the csv reader gave up on: `start` is the line it began on, `at` the
    line the reader had reached."""
    reason = str(exc)
    open_quote = _open_quote_line(lines, start, at, delimiter)
    if reason.startswith("unexpected end of data") and open_quote:
        message = (
            f"the quote opened on line {open_quote} is never closed (the cell runs to the end "
            'of the file); close it, or write a quote inside a quoted cell as two: ""'
        )
        start = open_quote
    elif reason.startswith("field larger than field limit"):
        message = f"a cell longer than {csv.field_size_limit()} characters"
        if open_quote:
            message += (
                f" (it runs from line {open_quote} to line {at} or further: is the quote "
                f"opened on line {open_quote} never closed?)"
            )
    elif "expected after" in reason:
        message = (
            f"text after the closing quote of a cell ({reason}); a quote inside a quoted cell "
            'is written as two: ""'
        )
        start = at
    else:
        message = reason
    return Invalid(
        f"CSV line {start}: {message}; nothing was written",
        details=[{"row": start, "path": "row", "message": message}],
    )


def _open_quote_line(lines: list[str], start: int, end: int, delimiter: str) -> int | None:
    """The line of the quote still open after lines `start`..`end` of a row, if one is."""
    opened: int | None = None
    field_start = True
    for no in range(start, min(end, len(lines)) + 1):
        line = lines[no - 1]
        i = 0
        while i < len(line):
            char = line[i]
            if opened is not None:
                if char == '"':
                    if line[i + 1 : i + 2] == '"':
                        i += 1  # an escaped quote
                    else:
                        opened, field_start = None, False
            elif char == '"' and field_start:
                opened = no
            else:
                field_start = char in (delimiter, "\r", "\n")
            i += 1
    return opened


def parse_json(payload: Any) -> list[tuple[int, dict[str, Any]]]:
    """A JSON list of mappings, or {"mappings": [...]}; rows are numbered from 1.

    Any other key of the wrapper is refused, naming it: a misspelt option must not be dropped
    unseen (`replace` is a query parameter, or the CLI's --replace, never a body key)."""
    if isinstance(payload, dict):
        unknown = [k for k in payload if k not in JSON_WRAPPER_KEYS]
        if unknown and set(payload) & set(CSV_COLUMNS) and "mappings" not in payload:
            raise Invalid(
                'JSON import must be a list of mappings or {"mappings": [...]}: this is one '
                "mapping; put it in a list (or POST it to /api/v1/mappings)",
                details=[{"row": 0, "path": "", "message": "a single mapping, not a list"}],
            )
        if "items" in payload and "mappings" not in payload:
            message = (
                "this is a page of GET /api/v1/mappings: send its items, as the list or as "
                '{"mappings": items} (a page holds at most 1,000: import every page\'s items '
                "at once for replace=true)"
            )
            raise Invalid(
                f"JSON import refused, nothing was written: {message}",
                details=[{"row": 0, "path": "items", "message": message}],
            )
        if unknown:
            details = [{"row": 0, "path": k, "message": _unknown_wrapper_key(k)} for k in unknown]
            raise Invalid(
                "JSON import refused, nothing was written: "
                + "; ".join(d["message"] for d in details)
                + ' (the body is a list of mappings or {"mappings": [...]})',
                details=details,
            )
        if "mappings" in payload:
            payload = payload["mappings"]
    if not isinstance(payload, list):
        raise Invalid('JSON import must be a list of mappings or {"mappings": [...]}')
    if not payload:
        raise Invalid(
            "nothing to import, nothing was written: the list of mappings is empty",
            details=[{"row": 0, "path": "", "message": "an empty list"}],
        )
    return [(i + 1, _as_written(item)) for i, item in enumerate(payload)]


# What GET /api/v1/mappings answers of a mapping besides what an import writes: a page's
# items sent back (exported, edited, imported) had each row refused four times over.
READ_ONLY_FIELDS = ("id", "unknown_feature_keys", "created_at", "updated_at")


def _as_written(item: Any) -> Any:
    """A mapping of the import without the fields the API answers but an import does not
    write (`READ_ONLY_FIELDS`): a mapping is found by its kind and value, not its id."""
    if isinstance(item, dict) and any(k in item for k in READ_ONLY_FIELDS):
        return {k: v for k, v in item.items() if k not in READ_ONLY_FIELDS}
    return item


def _unknown_wrapper_key(key: str) -> str:
    hint = did_you_mean(key, (*JSON_WRAPPER_KEYS, "replace"))
    query = (
        "replace is not part of the body: ask for it as a query parameter, "
        "POST /api/v1/mappings/import?replace=true (CLI: --replace)"
    )
    if key == "replace":
        return f"unknown key 'replace': {query}"
    if hint == "; did you mean 'replace'?":
        return f"unknown key '{key}'{hint} {query}"
    return f"unknown key '{key}'{hint}"


def _csv_cell_message(raw: Any, path: str, err: Any) -> str | None:
    """A CSV row's empty or missing cell said as such ("column 'feature_keys' is empty"), not
    as pydantic says a list or string is too short."""
    if not isinstance(raw, CsvRow) or path not in ("feature_keys", raw.value_column):
        return None
    value = raw.get("feature_keys" if path == "feature_keys" else "match_value")
    if value not in ("", [], None) and not (isinstance(value, str) and not value.strip()):
        return None
    what = (
        "name at least one feature key (several separated by "
        + ("';' or '|'" if raw.delimiter == "," else "'|'")
        + ")"
        if path == "feature_keys"
        else "give the product's " + {"sku": "SKU", "product_id": "id"}.get(path, "value")
    )
    short = (
        f" (the row has {raw.cells} cell{'s' if raw.cells != 1 else ''}, the header "
        f"{raw.columns} columns)"
        if raw.cells < raw.columns
        else ""
    )
    return f"column '{path}' is empty{short}: {what}"


class KeyHints:
    """What an unknown feature key may have meant: a feature's key, name or alias in another
    case ("SSO", "Single sign-on", "SAML" → 'sso'), or several keys in one cell separated by
    ','. An alias only when one feature has it: two sharing it ("SSO" for SAML and OIDC
    sign-on) could each be meant."""

    def __init__(self, session: Session, missing: Iterable[str]) -> None:
        self.known: dict[str, str] = {}
        if not missing:
            return
        keys: list[str] = []
        aliases: dict[str, set[str]] = {}
        rows = session.exec(select(FeatureRow.key, FeatureRow.name, FeatureRow.aliases))
        for key, name, named in rows:
            keys.append(key)
            self.known.setdefault(name.strip().casefold(), key)
            for alias in named or []:
                if isinstance(alias, str) and alias.strip():
                    aliases.setdefault(alias.strip().casefold(), set()).add(key)
        for alias, owners in aliases.items():  # a name wins over another feature's alias
            if len(owners) == 1:
                self.known.setdefault(alias, next(iter(owners)))
        for key in keys:  # a key wins over another feature's name spelt the same
            self.known[key.casefold()] = key

    def message(self, key: str, row: CsvRow | None = None) -> str:
        text = f"unknown feature key '{key}'"
        found = self.known.get(key.strip().casefold())
        if found is not None:
            return f"{text}; did you mean '{found}'?"
        if "," in key:
            parts = [p.strip() for p in key.split(",") if p.strip()]
            named = [self.known.get(p.casefold(), p) for p in parts]
            if row is None:
                return f"{text}; list several feature keys as separate items, not with ','"
            sep = ";" if row.delimiter == "," else "|"
            seps = "';' or '|'" if row.delimiter == "," else "'|'"
            return (
                f"{text}; separate several feature keys with {seps} inside one cell, not ',' "
                f"(e.g. '{sep.join(named)}')"
            )
        return text


def _row_error_message(err: Any) -> str:
    """A row's validation error for the writer of a file: pydantic's "a valid dictionary or
    instance of MappingIn" names our class, not what the row must be."""
    if err["type"] in ("model_type", "model_attributes_type", "dict_type") and not err["loc"]:
        return (
            "each mapping must be an object with match_kind, match_value and feature_keys, "
            f"not {_json_kind(err.get('input'))}"
        )
    return error_message(err, MappingIn)


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    return "null" if value is None else type(value).__name__


# A long numeric code as a spreadsheet saves a cell in the General format, "1.23457E+11" (or
# "1,23457E+11" where the decimal mark is a comma): its digits are gone, and a mapping of it
# matched no line item.
_EXCEL_EXPONENT = re.compile(r"\d+(?:[.,]\d+)?[eE]\+\d+")


def _excel_exponent_message(kind: str, value: str) -> str:
    what = {"sku": "SKU", "product_id": "product id"}[kind]
    return (
        f"'{value}' is a number in scientific notation, as a spreadsheet saves a long "
        f"{what} in a General-format cell: its digits are lost, and no line item would match "
        "it; format the column as Text, type the ids again (or export them again) and save"
    )


def import_mappings(
    session: Session,
    rows: list[tuple[int, Any]],
    *,
    actor: str,
    replace: bool = False,
) -> tuple[dict[str, int], FanOutResult]:
    """All or nothing: every row is checked first; any error writes nothing and lists them all."""
    if not rows:
        raise Invalid(
            "nothing to import, nothing was written: the import has no rows",
            details=[{"row": 0, "path": "", "message": "the import has no rows"}],
        )
    errors: list[dict[str, Any]] = []
    parsed: list[tuple[int, MappingIn]] = []
    # (row, [(index as sent, key)]): every row's keys are checked, a row refused for
    # something else too, so that one answer lists every mistake
    named: list[tuple[int, list[tuple[int, str]]]] = []
    seen: dict[tuple[str, str], tuple[int, str]] = {}  # (kind, match key) → first row, value
    for row_no, raw in rows:
        if isinstance(raw, RowError):
            errors.append({"row": row_no, "path": raw.path, "message": raw.message})
            continue
        try:
            item = MappingIn.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors():
                path = column_path(raw, json_path(err["loc"]) or "row")
                errors.append(
                    {
                        "row": row_no,
                        "path": path,
                        "message": _csv_cell_message(raw, path, err) or _row_error_message(err),
                    }
                )
            sent = raw.get("feature_keys") if isinstance(raw, dict) else None
            if isinstance(sent, list):
                named.append(
                    (row_no, [(i, trim(k)) for i, k in enumerate(sent) if isinstance(k, str)])
                )
            continue
        named.append((row_no, item.sent_positions()))
        if (
            isinstance(raw, CsvRow)
            and item.match_kind in _OWN_CODES
            and _EXCEL_EXPONENT.fullmatch(item.match_value)
        ):
            errors.append(
                {
                    "row": row_no,
                    "path": column_path(raw, "match_value"),
                    "message": _excel_exponent_message(item.match_kind, item.match_value),
                }
            )
            continue
        key = (item.match_kind, mapping_match_key(item.match_value))
        if key in seen:
            first_row, first_value = seen[key]
            spelt = "" if first_value == item.match_value else f", written '{first_value}' there"
            errors.append(
                {
                    "row": row_no,
                    "path": column_path(raw, "match_value"),
                    "message": f"duplicate of row {first_row} ({item.match_kind} "
                    f"'{item.match_value}'{spelt}; case and spacing do not count)",
                }
            )
            continue
        seen[key] = (row_no, item.match_value)
        parsed.append((row_no, item))
    missing = unknown_keys(session, {k for _, keys in named for _, k in keys if k})
    meant = KeyHints(session, missing)
    from_csv = {row_no: raw for row_no, raw in rows if isinstance(raw, CsvRow)}
    for row_no, keys in named:
        for i, k in keys:  # the index as sent, before blanks and repeats went
            if k and k in missing:
                errors.append(
                    {
                        "row": row_no,
                        "path": f"feature_keys[{i}]",
                        "message": meant.message(k, from_csv.get(row_no)),
                    }
                )
    if errors:
        errors.sort(key=lambda e: e["row"])
        rows_bad = sorted({e["row"] for e in errors})
        raise Invalid(
            f"import refused, nothing was written: {len(errors)} error(s) in row(s) "
            + ", ".join(str(r) for r in rows_bad[:20]),
            details=errors,
        )

    now = utcnow()
    existing = {(m.match_kind, m.match_key): m for m in session.exec(select(ProductMapping))}
    counts = {"created": 0, "updated": 0, "unchanged": 0, "deleted": 0}
    before: list[dict] = []  # the first AUDIT_MAPPING_LIMIT updated or deleted, as they were
    before_total = 0
    changed: list[ProductMapping] = []
    touched: set[str] = set()
    for _, item in parsed:
        row = existing.get((item.match_kind, mapping_match_key(item.match_value)))
        if row is None:
            row = ProductMapping(**item.model_dump(), created_at=now, updated_at=now)
            session.add(row)
            counts["created"] += 1
        elif list(row.feature_keys) != item.feature_keys:
            before_total += 1
            if len(before) < AUDIT_MAPPING_LIMIT:
                before.append(_json(row))
            row.feature_keys = item.feature_keys
            row.updated_at = now
            session.add(row)
            counts["updated"] += 1
        else:
            counts["unchanged"] += 1
            continue
        touched.add(item.match_value)
        changed.append(row)
    deleted_ids: list[int] = []
    if replace:
        for key, row in existing.items():
            if key not in seen:
                before_total += 1
                if len(before) < AUDIT_MAPPING_LIMIT:
                    before.append(_json(row))
                touched.add(row.match_value)
                deleted_ids.append(row.id)
                session.delete(row)
                counts["deleted"] += 1
    session.flush()
    # One entry for the import: its counts, and the first AUDIT_MAPPING_LIMIT mappings it
    # changed with their ids (as a single create or update records them), so a mapping's history
    # can be followed through imports too. Not every row: a 200,000-row import made one entry of
    # 17 MB, which every read of the audit log then carried. Every mapping it created, changed
    # or deleted is a subject of the entry, so GET /api/v1/audit?entity_type=product_mapping&
    # entity_id=<id> finds the import among that mapping's history (it found only the single
    # edits: the import that changed the mapping was missing from it).
    audit.record(
        session,
        actor=actor,
        action="mapping.import",
        entity_type="product_mapping",
        entity_id="import",
        before=listed(before, before_total),
        after={
            **counts,
            **listed([_json(row) for row in changed[:AUDIT_MAPPING_LIMIT]], len(changed)),
        },
        subjects=[("product_mapping", row.id) for row in changed]
        + [("product_mapping", i) for i in deleted_ids],
    )
    return counts, fan_out(session, mapping_scope(touched))


__all__ = [
    "ImportWarning",
    "MappingIn",
    "MappingPublic",
    "MappingUpdate",
    "MappingWarning",
    "RowError",
    "create_mapping",
    "delete_mapping",
    "import_mappings",
    "import_warnings",
    "list_mappings",
    "overlap_warnings",
    "own_claims",
    "parse_csv",
    "parse_json",
    "read_csv",
    "update_mapping",
]
