"""Product mappings: a product, found on a deal's line item by SKU, product id or exact name,
delivers these roadmap features. Single edits and all-or-nothing bulk imports (CSV or JSON);
every change is audited and fanned out to the open deals carrying that product.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import String, cast, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.errors import Conflict, Invalid, NotFound
from app.models import Feature as FeatureRow
from app.models import ProductMapping, utcnow
from app.models.core import mapping_match_key
from app.services import audit
from app.services.fanout import FanOutResult, fan_out, mapping_scope
from app.services.search import contains_text

MatchKind = Literal["sku", "product_id", "name"]
CSV_COLUMNS = ("match_kind", "match_value", "feature_keys")
CSV_DELIMITERS = (",", ";", "\t")  # ';': spreadsheets in locales with a decimal comma


def _clean_keys(keys: list[str]) -> list[str]:
    cleaned = list(dict.fromkeys(k.strip() for k in keys if k and k.strip()))
    if not cleaned:
        raise ValueError("must name at least one feature key")
    return cleaned


class MappingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    match_kind: MatchKind
    match_value: str = Field(min_length=1, max_length=255)
    feature_keys: list[str] = Field(min_length=1, max_length=200)

    @field_validator("match_value")
    @classmethod
    def _value(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @field_validator("feature_keys")
    @classmethod
    def _keys(cls, keys: list[str]) -> list[str]:
        return _clean_keys(keys)


class MappingUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    feature_keys: list[str] = Field(min_length=1, max_length=200)

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


def _check_keys(session: Session, keys: list[str]) -> None:
    missing = unknown_keys(session, keys)
    if missing:
        details = [
            {"path": f"feature_keys[{i}]", "message": f"unknown feature key '{k}'"}
            for i, k in enumerate(keys)
            if k in missing
        ]
        raise Invalid(f"unknown feature key(s): {', '.join(sorted(missing))}", details=details)


def mappings_using(session: Session, feature_keys: Iterable[str]) -> list[ProductMapping]:
    keys = set(feature_keys)
    return [m for m in session.exec(select(ProductMapping)) if keys & set(m.feature_keys)]


def list_mappings(
    session: Session,
    *,
    match_kind: str | None = None,
    q: str | None = None,
    feature_key: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[int, list[ProductMapping]]:
    stmt = select(ProductMapping)
    if match_kind:
        stmt = stmt.where(ProductMapping.match_kind == match_kind)
    if q:
        stmt = stmt.where(contains_text(func.lower(ProductMapping.match_value), q.casefold()))
    if feature_key:
        # Pre-filter on the JSON text, then confirm exactly (same on SQLite and PostgreSQL).
        stmt = stmt.where(
            contains_text(cast(ProductMapping.feature_keys, String), f'"{feature_key}"')
        )
    rows = list(session.exec(stmt.order_by(ProductMapping.match_kind, ProductMapping.match_value)))
    if feature_key:
        rows = [r for r in rows if feature_key in r.feature_keys]
    return len(rows), rows[offset : offset + limit]


def get_row(session: Session, mapping_id: int) -> ProductMapping:
    row = session.get(ProductMapping, mapping_id)
    if row is None:
        raise NotFound(f"mapping {mapping_id} does not exist")
    return row


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
    _check_keys(session, body.feature_keys)
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
    session: Session, mapping_id: int, body: MappingUpdate, *, actor: str
) -> tuple[ProductMapping, FanOutResult]:
    row = get_row(session, mapping_id)
    _check_keys(session, body.feature_keys)
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


def delete_mapping(session: Session, mapping_id: int, *, actor: str) -> FanOutResult:
    row = get_row(session, mapping_id)
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


def parse_csv(text: str) -> list[tuple[int, dict[str, Any] | RowError]]:
    """CSV with a header row match_kind,match_value,feature_keys; keys split on ';' or '|'.

    Header names ignore case and surrounding spaces; the delimiter is ',', or ';' or a tab when
    the header is written with one. Returns (line number, raw row or RowError) pairs; the
    header is line 1.
    """
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise Invalid(
            "empty file: expected a header row match_kind,match_value,feature_keys and one "
            "row per mapping",
            details=[{"row": 1, "path": "header", "message": "empty file"}],
        )
    header_line = next(line for line in text.splitlines() if line.strip())
    delimiter, header = _csv_header(header_line)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    next(cells for cells in reader if cells)  # the header
    rows: list[tuple[int, dict[str, Any] | RowError]] = []
    for cells in reader:
        line = reader.line_num
        cells = [c.strip() for c in cells]
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
        row = {name: cell for name, cell in zip(header, cells, strict=False) if name in CSV_COLUMNS}
        keys = row.get("feature_keys", "").replace("|", ";")
        row["feature_keys"] = [k for k in (p.strip() for p in keys.split(";")) if k]
        rows.append((line, row))
    return rows


def _csv_header(line: str) -> tuple[str, list[str]]:
    """The delimiter and the normalised column names of a CSV header line."""
    found: dict[str, list[str]] = {}
    for delimiter in CSV_DELIMITERS:
        names = [h.strip().casefold() for h in next(csv.reader([line], delimiter=delimiter))]
        if all(c in names for c in CSV_COLUMNS):
            return delimiter, names
        found[delimiter] = names
    header = found[","]
    missing = [c for c in CSV_COLUMNS if c not in header]
    hint = ""
    if len(header) == 1 and any(d in line for d in CSV_DELIMITERS[1:]):
        hint = "; columns must be separated by ',' (or ';' or a tab, used the same on every line)"
    raise Invalid(
        f"CSV header must have columns {', '.join(CSV_COLUMNS)}; missing: {', '.join(missing)}"
        + hint,
        details=[{"row": 1, "path": "header", "message": f"missing column {c}"} for c in missing],
    )


def parse_json(payload: Any) -> list[tuple[int, dict[str, Any]]]:
    """A JSON list of mappings, or {"mappings": [...]}; rows are numbered from 1."""
    if isinstance(payload, dict) and "mappings" in payload:
        payload = payload["mappings"]
    if not isinstance(payload, list):
        raise Invalid('JSON import must be a list of mappings or {"mappings": [...]}')
    return [(i + 1, item) for i, item in enumerate(payload)]


def import_mappings(
    session: Session,
    rows: list[tuple[int, Any]],
    *,
    actor: str,
    replace: bool = False,
) -> tuple[dict[str, int], FanOutResult]:
    """All or nothing: every row is checked first; any error writes nothing and lists them all."""
    errors: list[dict[str, Any]] = []
    parsed: list[tuple[int, MappingIn]] = []
    seen: dict[tuple[str, str], tuple[int, str]] = {}  # (kind, match key) → first row, value
    for row_no, raw in rows:
        if isinstance(raw, RowError):
            errors.append({"row": row_no, "path": raw.path, "message": raw.message})
            continue
        try:
            item = MappingIn.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors():
                errors.append(
                    {
                        "row": row_no,
                        "path": ".".join(str(p) for p in err["loc"]) or "row",
                        "message": err["msg"],
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
                    "path": "match_value",
                    "message": f"duplicate of row {first_row} ({item.match_kind} "
                    f"'{item.match_value}'{spelt}; case and spacing do not count)",
                }
            )
            continue
        seen[key] = (row_no, item.match_value)
        parsed.append((row_no, item))
    missing = unknown_keys(session, {k for _, item in parsed for k in item.feature_keys})
    for row_no, item in parsed:
        for i, k in enumerate(item.feature_keys):
            if k in missing:
                errors.append(
                    {
                        "row": row_no,
                        "path": f"feature_keys[{i}]",
                        "message": f"unknown feature key '{k}'",
                    }
                )
    if not rows:
        errors.append({"row": 0, "path": "", "message": "the import has no rows"})
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
    before: list[dict] = []
    after: list[dict] = []
    touched: set[str] = set()
    for _, item in parsed:
        row = existing.get((item.match_kind, mapping_match_key(item.match_value)))
        if row is None:
            row = ProductMapping(**item.model_dump(), created_at=now, updated_at=now)
            session.add(row)
            counts["created"] += 1
        elif list(row.feature_keys) != item.feature_keys:
            before.append(_json(row))
            row.feature_keys = item.feature_keys
            row.updated_at = now
            session.add(row)
            counts["updated"] += 1
        else:
            counts["unchanged"] += 1
            continue
        touched.add(item.match_value)
        after.append(item.model_dump())
    if replace:
        for key, row in existing.items():
            if key not in seen:
                before.append(_json(row))
                touched.add(row.match_value)
                session.delete(row)
                counts["deleted"] += 1
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="mapping.import",
        entity_type="product_mapping",
        entity_id="import",
        before={"mappings": before},
        after={"mappings": after, **counts},
    )
    return counts, fan_out(session, mapping_scope(touched))


__all__ = [
    "MappingIn",
    "MappingPublic",
    "MappingUpdate",
    "RowError",
    "create_mapping",
    "delete_mapping",
    "import_mappings",
    "list_mappings",
    "parse_csv",
    "parse_json",
    "update_mapping",
]
