"""Roadmap features: list and search every source's features; create, edit and delete the
built-in registry's. Every change is audited and fanned out in the caller's transaction.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema
from sqlalchemy import exists, func, literal, or_
from sqlmodel import Session, select

from app.connectors.roadmap import REGISTRY
from app.errors import Conflict, InvalidRequest, NotFound, did_you_mean
from app.models import Feature as FeatureRow
from app.models import ProductMapping, RoadmapSource, utcnow
from app.models.core import mapping_match_key
from app.models.types import RequestDate, web_link
from app.rules.catalog import MAX_NAME_LENGTH, term_key
from app.rules.model import Availability, Feature
from app.services import audit
from app.services.catalog import feature_from_row
from app.services.fanout import FanOutResult, fan_out, feature_scope
from app.services.mappings_service import product_id_as_read, trim
from app.services.rules_service import PreconditionFailed, if_match_holds
from app.services.search import contains_text
from app.services.search import lower as search_lower

KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:\-]*$"


def _clean_list(values: list[str]) -> list[str]:
    """Values without the whitespace and invisible format characters around them (`trim`, as
    a mapping's): a SKU pasted as "ENT-SSO\u200b" was stored so, and no line item matched it."""
    seen: dict[str, str] = {}
    for value in values:
        value = trim(value)
        if value:
            seen.setdefault(value.casefold(), value)
    return list(seen.values())


CODE_FIELDS = {"skus": "sku", "product_ids": "product_id"}  # body field → mapping match_kind


def _clean_codes(name: str, values: list[str]) -> list[str]:
    """`_clean_list`; product ids as a line item carries them (`product_id_as_read`), before
    repeats are dropped: two 15-character Salesforce ids may differ only in case."""
    if name == "product_ids":
        values = [product_id_as_read(trim(v)) for v in values]
    return _clean_list(values)


# What GET /api/v1/features answers of a feature besides what a create or an edit writes: a
# feature read, changed and sent back whole had each of them refused ("Extra inputs are not
# permitted"), so a script could not edit by read-modify-write, nor copy a feature over.
READ_ONLY_FIELDS = ("source", "source_status", "source_id", "created_at", "updated_at", "editable")


def _without_read_only(data: Any) -> Any:
    if isinstance(data, dict) and any(k in data for k in READ_ONLY_FIELDS):
        return {k: v for k, v in data.items() if k not in READ_ONLY_FIELDS}
    return data


class _SentCodes(BaseModel):
    """Keeps `skus` and `product_ids` as sent, so that a warning names the index the writer
    used: the validator drops blank and repeated values, which moves the ones after them."""

    _sent_codes: dict[str, list[str]] = PrivateAttr(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _keep_sent_codes(cls, data: Any, handler: Any) -> Any:
        if isinstance(data, cls):
            return handler(data)
        data = _without_read_only(data)
        model = handler(data)
        if isinstance(data, dict):
            model._sent_codes = {
                name: [
                    (product_id_as_read(trim(v)) if name == "product_ids" else trim(v)).casefold()
                    if isinstance(v, str)
                    else ""
                    for v in data[name]
                ]
                for name in CODE_FIELDS
                if isinstance(data.get(name), list)
            }
        return model

    def sent_index(self, name: str, position: int, value: str) -> int:
        """Where the kept value at `position` of list `name` was in the list as sent."""
        sent = self._sent_codes.get(name, [])
        folded = value.casefold()
        return next((i for i, v in enumerate(sent) if v == folded), position)


# An alias is a name: as long as a name may be (longer ones the notes reader skips).
Alias = Annotated[str, Field(max_length=MAX_NAME_LENGTH)]


def _text_or_none(value: str | None) -> str | None:
    """Text as sent, surrounding whitespace dropped; blank text is none ("  \n" as guidance
    rendered an empty "what you can say instead")."""
    return (value.strip() or None) if value is not None else None


def _web_link_or_refuse(value: str | None) -> str | None:
    """A feature's url is shown in the CRM ({feature.url} in a rule's message) and on the
    dashboard: an http(s) link, nothing that runs ("javascript:...") or opens a local file."""
    if value is not None and web_link(value) is None:
        raise ValueError(
            "must be an http or https URL, e.g. https://roadmap.example.com/features/sso"
        )
    return value


def _percent_is_refused(value: Any) -> Any:
    """A confidence of 80 meant 80%: said as such ("0.8 for 80%"), as a rule comparing
    feature.confidence with 80 is, not only as a number above 1."""
    if isinstance(value, int | float) and not isinstance(value, bool) and 1 < value <= 100:
        raise ValueError(f"is 0 to 1: {value / 100:g} for {value:g}%; got {value:g}")
    return value


class FeatureFields(_SentCodes):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=255)
    aliases: list[Alias] = Field(default_factory=list, max_length=100)
    availability: Availability = Availability.unknown
    target_date: RequestDate | None = None
    confidence: float | None = Field(default=None, ge=0, le=1)
    skus: list[str] = Field(default_factory=list, max_length=500)
    product_ids: list[str] = Field(default_factory=list, max_length=500)
    url: str | None = Field(default=None, max_length=1024)
    guidance: str | None = Field(default=None, max_length=4000)

    @field_validator("aliases", "skus", "product_ids")
    @classmethod
    def _strip(cls, values: list[str], info: ValidationInfo) -> list[str]:
        return _clean_codes(info.field_name, values)

    @field_validator("guidance", "url")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return _text_or_none(value)

    @field_validator("confidence", mode="before")
    @classmethod
    def _fraction(cls, value: Any) -> Any:
        return _percent_is_refused(value)

    @field_validator("url")
    @classmethod
    def _a_web_link(cls, value: str | None) -> str | None:
        return _web_link_or_refuse(value)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not trim(value):
            raise ValueError("must not be blank")
        return trim(value)


class FeatureCreate(FeatureFields):
    key: str = Field(min_length=1, max_length=128, pattern=KEY_PATTERN)


class FeatureUpdate(_SentCodes):
    """Partial update: only the fields sent change; send null to clear an optional field."""

    model_config = ConfigDict(extra="forbid")

    key: str | None = Field(
        default=None,
        max_length=128,
        description="the feature's key as read back (keys do not change: the URL's, or left out)",
    )
    # (never null when sent, `_not_null`: the published schema says so, None only as "not sent")
    name: Annotated[str, Field(min_length=1, max_length=255)] | SkipJsonSchema[None] = None
    aliases: list[Alias] | None = Field(default=None, max_length=100)
    availability: Availability | SkipJsonSchema[None] = None
    target_date: RequestDate | None = None
    confidence: float | None = Field(default=None, ge=0, le=1)
    skus: list[str] | None = Field(default=None, max_length=500)
    product_ids: list[str] | None = Field(default=None, max_length=500)
    url: str | None = Field(default=None, max_length=1024)
    guidance: str | None = Field(default=None, max_length=4000)

    @field_validator("aliases", "skus", "product_ids")
    @classmethod
    def _strip(cls, values: list[str] | None, info: ValidationInfo) -> list[str] | None:
        return None if values is None else _clean_codes(info.field_name, values)

    @field_validator("guidance", "url")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return _text_or_none(value)

    @field_validator("confidence", mode="before")
    @classmethod
    def _fraction(cls, value: Any) -> Any:
        return _percent_is_refused(value)

    @field_validator("url")
    @classmethod
    def _a_web_link(cls, value: str | None) -> str | None:
        return _web_link_or_refuse(value)

    @field_validator("name", "availability")
    @classmethod
    def _not_null(cls, value):
        # Runs only for fields that were sent: a feature always has a name and availability.
        if value is None:
            raise ValueError("cannot be null")
        if isinstance(value, str) and not trim(value):
            raise ValueError("must not be blank")
        return (
            trim(value) if isinstance(value, str) and not isinstance(value, Availability) else value
        )


class FeaturePublic(Feature):
    source_id: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    editable: bool = False


class MappingOverlap(BaseModel):
    """One of the feature's own SKUs or product ids that a product mapping already names: the
    catalog adds the two up, so a deal selling the product references both. Not a refusal."""

    path: str = Field(description="where in the body: skus[i] or product_ids[i], as sent")
    message: str
    match_kind: str
    match_value: str = Field(description="the SKU or product id as the feature lists it")
    claimed_by: list[str] = Field(description="the features the product mapping names")
    deals_will_reference: list[str] = Field(
        description="what a deal selling the product references: the mapping's features, "
        "then the features claiming it among their own (this one included) it does not name"
    )


def to_public(row: FeatureRow) -> FeaturePublic:
    data = feature_from_row(row).model_dump()
    return FeaturePublic(
        **data,
        source_id=row.source_id,
        created_at=row.created_at.isoformat() if row.created_at else None,
        updated_at=row.updated_at.isoformat() if row.updated_at else None,
        editable=row.source == REGISTRY,
    )


def list_features(
    session: Session,
    *,
    q: str | None = None,
    availability: list[Availability] | None = None,
    source: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[int, list[FeatureRow]]:
    stmt = select(FeatureRow)
    if q:
        text = q.strip().lower()  # as SQL lower() folds (casefold made "ß" "ss": no match)
        dialect = session.get_bind().dialect.name  # lower() as str.lower folds (`search`)
        stmt = stmt.where(
            or_(
                contains_text(search_lower(FeatureRow.key, dialect), text),
                contains_text(search_lower(FeatureRow.name, dialect), text),
                _an_alias_contains(dialect, text),
            )
        )
    if availability:
        stmt = stmt.where(FeatureRow.availability.in_([a.value for a in availability]))
    if source:
        _refuse_unknown_source(session, source)
        stmt = stmt.where(FeatureRow.source == source)
    total = session.exec(select(func.count()).select_from(stmt.subquery())).one()
    rows = session.exec(stmt.order_by(FeatureRow.key).offset(offset).limit(limit)).all()
    return total, list(rows)


def _refuse_unknown_source(session: Session, source: str) -> None:
    """A `source` filter names a roadmap source, or one features are still listed under:
    `source=Jira` or `source=registy` answered an empty page, read as "no features there"
    rather than as the typo it was."""
    if session.get(RoadmapSource, source) is not None or source == REGISTRY:
        return
    if session.exec(select(FeatureRow.key).where(FeatureRow.source == source).limit(1)).first():
        return
    names = sorted(
        {REGISTRY, *session.exec(select(RoadmapSource.name))}
        | set(session.exec(select(FeatureRow.source).distinct()))
    )
    raise InvalidRequest.at(
        ("query", "source"),
        f"unknown roadmap source '{source}'{did_you_mean(source, names)} (one of: "
        + ", ".join(names)
        + ")",
        input=source,
    )


def _an_alias_contains(dialect: str, text: str):
    """SQL: one of the feature's aliases contains `text`. Each alias on its own, not the JSON
    column as text: that matched the JSON's own `", "` and brackets, and missed a non-ASCII
    alias SQLite stores escaped (`\\u00df`)."""
    if dialect == "postgresql":
        alias = func.json_array_elements_text(FeatureRow.aliases).table_valued("value").alias("a")
    else:
        alias = func.json_each(FeatureRow.aliases).table_valued("value").alias("a")
    return exists(
        select(literal(1))
        .select_from(alias)
        .where(contains_text(search_lower(alias.c.value, dialect), text))
    )


def get_row(session: Session, key: str, *, for_update: bool = False) -> FeatureRow:
    """The feature; `for_update` locks its row until the transaction ends (PostgreSQL; SQLite's
    writers are serialized already), so an If-Match check holds until the write."""
    row = session.get(FeatureRow, key, with_for_update=True if for_update else None)
    if row is None:
        raise NotFound(f"feature '{key}' does not exist{_key_in_another_case(session, key)}")
    return row


def _key_in_another_case(session: Session, key: str) -> str:
    """ "; did you mean 'sso'? (keys are case-sensitive)" when a feature's key is `key` in
    another case: GET /api/v1/features/SSO said only that 'SSO' does not exist. Keys are
    ASCII (KEY_PATTERN), which lower() folds alike on both databases."""
    if not key.isascii():
        return ""
    found = session.exec(
        select(FeatureRow.key).where(func.lower(FeatureRow.key) == key.lower()).limit(1)
    ).first()
    return f"; did you mean '{found}'? (keys are case-sensitive)" if found else ""


def etag(row: FeatureRow) -> str:
    """The feature's entity tag, quoted: a digest of what a read answers of it (`_json`), so
    every edit that changes the feature changes it."""
    text = json.dumps(_json(row), sort_keys=True, separators=(",", ":"))
    return '"' + hashlib.sha256(text.encode()).hexdigest()[:20] + '"'


def check_if_match(row: FeatureRow, if_match: str | None) -> None:
    """Optimistic concurrency for a read-modify-write, as on rules: with If-Match (the ETag a
    read answered; a list, or `*` for any), an edit or delete of a feature that changed since
    is a 412 naming its ETag now, and writes nothing. The header was ignored: two people
    adding an alias each (the whole list sent back) had the later silently drop the earlier's.
    Without If-Match, as before."""
    current = etag(row)
    if if_match_holds(current, if_match):
        return
    raise PreconditionFailed(
        f"feature '{row.key}' changed since it was read (its ETag is {current}, not the one "
        f"If-Match names: {if_match}); GET it again, apply the change to that and retry; "
        "nothing was written",
        details={"key": row.key, "etag": current, "if_match": if_match},
    )


def _editable(row: FeatureRow) -> None:
    if row.source != REGISTRY:
        raise Conflict(
            f"feature '{row.key}' is owned by roadmap source '{row.source}': change it there "
            f"(or its status mapping under /api/v1/roadmap/sources/{row.source}); "
            "the next refresh would overwrite an edit made here",
            details={"source": row.source},
        )


def _json(row: FeatureRow) -> dict:
    return feature_from_row(row).model_dump(mode="json")


def _refuse_name_clashes(
    session: Session, key: str, name: str, aliases: list[str], *, stored: FeatureRow | None = None
) -> None:
    """A feature's name must not read as another feature's name or alias, nor its alias as
    another's name: notes are matched by spelling-independent name (`term_key`), so both
    features would be referenced wherever one is written, and the wrong one can block the
    deal. Two features sharing an alias stay allowed on purpose: an ambiguous abbreviation
    ("SSO" for SAML and OIDC sign-on) is a dependency on both.

    An edit of `stored` is judged on what it brings: its name if renamed, the aliases it adds.
    A clash already stored (a roadmap source's feature named as this one, refreshed in after
    it) refused every later edit, even one adding an unrelated alias, pointing at the name."""
    mine: dict[str, tuple[str, str]] = {}
    for path, value in [("name", name), *((f"aliases[{i}]", a) for i, a in enumerate(aliases))]:
        mine.setdefault(term_key(value), (path, value))
    mine.pop("", None)
    if stored is not None:
        had = {term_key(t) for t in [stored.name, *(stored.aliases or [])]}
        mine = {
            term: found
            for term, found in mine.items()
            if term not in had or (found[0] == "name" and term != term_key(stored.name))
        }
    clashes = []
    rows = session.exec(
        select(FeatureRow.key, FeatureRow.name, FeatureRow.aliases).where(FeatureRow.key != key)
    )
    for other, other_name, other_aliases in rows:
        for kind, value in [("name", other_name), *(("alias", a) for a in other_aliases or [])]:
            found = mine.get(term_key(value))
            if found is not None and (found[0] == "name" or kind == "name"):
                clashes.append(
                    {
                        "path": found[0],
                        "message": f"'{found[1]}' reads as the {kind} '{value}' of feature "
                        f"'{other}'",
                        "feature": other,
                    }
                )
    if clashes:
        raise Conflict(
            "a name or alias would also match another feature in deal notes: "
            + "; ".join(c["message"] for c in clashes[:5])
            + (f" (and {len(clashes) - 5} more)" if len(clashes) > 5 else ""),
            details=clashes,
        )


def create_feature(
    session: Session, body: FeatureCreate, *, actor: str
) -> tuple[FeatureRow, FanOutResult]:
    existing = session.get(FeatureRow, body.key)
    if existing is not None:
        raise Conflict(
            f"feature '{body.key}' already exists (source '{existing.source}')",
            details={"key": body.key},
        )
    _refuse_name_clashes(session, body.key, body.name, body.aliases)
    now = utcnow()
    row = FeatureRow(**body.model_dump(), source=REGISTRY, created_at=now, updated_at=now)
    row.availability = body.availability.value
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="feature.create",
        entity_type="feature",
        entity_id=row.key,
        after=_json(row),
    )
    return row, fan_out(session, feature_scope(None, feature_from_row(row)))


def update_feature(
    session: Session, key: str, body: FeatureUpdate, *, actor: str, if_match: str | None = None
) -> tuple[FeatureRow, FanOutResult]:
    row = get_row(session, key, for_update=if_match is not None)
    _editable(row)
    check_if_match(row, if_match)
    before = feature_from_row(row)
    changes = body.model_dump(exclude_unset=True)
    sent_key = changes.pop("key", None)
    if sent_key is not None and sent_key != key:
        raise InvalidRequest.at(
            ("key",),
            f"'{sent_key}' differs from the feature's key '{key}' in the URL: keys do not "
            "change; leave key out or give the URL's",
            input=sent_key,
        )
    for list_field in ("aliases", "skus", "product_ids"):
        if list_field in changes and changes[list_field] is None:
            changes[list_field] = []
    if "availability" in changes:
        changes["availability"] = Availability(changes["availability"]).value
    if "name" in changes or "aliases" in changes:
        _refuse_name_clashes(
            session,
            key,
            changes.get("name", row.name),
            changes.get("aliases", row.aliases or []),
            stored=row,
        )
    for name, value in changes.items():
        setattr(row, name, value)
    after = feature_from_row(row)
    if after == before:
        return row, FanOutResult()
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="feature.update",
        entity_type="feature",
        entity_id=key,
        before=before.model_dump(mode="json"),
        after=after.model_dump(mode="json"),
    )
    return row, fan_out(session, feature_scope(before, after))


# --- overlap with product mappings --------------------------------------------------------------

_CODE_NAMES = {"sku": "SKU", "product_id": "product id"}


def mapping_overlaps(
    session: Session, row: FeatureRow, body: FeatureFields | FeatureUpdate
) -> list[dict[str, Any]]:
    """The SKUs and product ids the body sets on a (stored) feature that a product mapping
    already names: what a deal selling each will reference, as warnings {path, message,
    match_kind, match_value, claimed_by, deals_will_reference}. The API's create and edit
    answer with them; a roadmap refresh does not (it is not a RevOps edit)."""
    from app.services.mappings_service import own_claims  # what the catalog unions, in order

    sent: list[tuple[str, int, str, str]] = []  # (field, position, match kind, value)
    for name, kind in CODE_FIELDS.items():
        sent += [(name, i, kind, v) for i, v in enumerate(getattr(body, name) or [])]
    mapped: dict[tuple[str, str], ProductMapping] = {}
    for kind in CODE_FIELDS.values():
        keys = {mapping_match_key(v) for _, _, k, v in sent if k == kind}
        if keys:  # at most 500 values a field: within SQLite's bound-parameter cap
            stmt = select(ProductMapping).where(
                ProductMapping.match_kind == kind, ProductMapping.match_key.in_(sorted(keys))
            )
            mapped |= {(kind, m.match_key): m for m in session.exec(stmt)}
    if not mapped:
        return []
    claims = own_claims(session)
    warnings = []
    for name, position, kind, value in sent:
        mapping = mapped.get((kind, mapping_match_key(value)))
        if mapping is None:
            continue
        mapped_keys = list(mapping.feature_keys)
        claimants = claims.get((kind, mapping_match_key(value)), [row.key])
        references = [*mapped_keys, *(k for k in claimants if k not in mapped_keys)]
        maps = (
            f"mapping {mapping.id} already maps {kind} '{mapping.match_value}' to "
            f"{', '.join(mapped_keys)}"
        )
        if row.key in mapped_keys:
            message = (
                f"{maps}: this {_CODE_NAMES[kind]} repeats it; a deal selling it references "
                f"{', '.join(references)} either way"
            )
        else:
            without = [k for k in references if k != row.key]
            message = (
                f"{maps}; a feature's own {_CODE_NAMES[kind]}s add to what a mapping names, so "
                f"a deal selling it will reference {', '.join(references)}, not only "
                f"{', '.join(without)}"
            )
        warnings.append(
            {
                "path": f"{name}[{body.sent_index(name, position, value)}]",
                "message": message,
                "match_kind": kind,
                "match_value": value,
                "claimed_by": mapped_keys,
                "deals_will_reference": references,
            }
        )
    return warnings


def delete_feature(
    session: Session, key: str, *, actor: str, if_match: str | None = None
) -> FanOutResult:
    from app.services.mappings_service import (
        AUDIT_MAPPING_LIMIT,
        count_mappings_using,
        listed,
        mappings_using,
    )

    row = get_row(session, key, for_update=if_match is not None)
    _editable(row)
    check_if_match(row, if_match)
    # The count and the first few by id (all of them made an 11.8 MB answer for 150,000); the
    # rest are found with GET /api/v1/mappings?feature_key=... Counted only past the few.
    first = mappings_using(session, [key], limit=AUDIT_MAPPING_LIMIT)
    if first:
        total = (
            count_mappings_using(session, [key])
            if len(first) == AUDIT_MAPPING_LIMIT
            else len(first)
        )
        raise Conflict(
            f"feature '{key}' is used by {total} product mapping(s); remove it from them "
            f"first (GET /api/v1/mappings?feature_key={key} lists them)",
            details=listed(
                [
                    {"id": m.id, "match_kind": m.match_kind, "match_value": m.match_value}
                    for m in first
                ],
                total,
            ),
        )
    before = feature_from_row(row)
    session.delete(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="feature.delete",
        entity_type="feature",
        entity_id=key,
        before=before.model_dump(mode="json"),
    )
    return fan_out(session, feature_scope(before, None))
