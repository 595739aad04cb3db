"""Rules RevOps configure: create, edit (every version kept), enable/disable, delete, validate,
and the default pack installed on first start (and kept up to the pack while nobody edits it).

A rule change applies to every open deal: they are queued (reason "roadmap": evaluated from the
stored snapshot, no CRM read) so a newly enabled block reaches the CRM without anyone touching
the deal. Simulate first (POST /api/v1/rules/simulate) to see what a change would do.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import unicodedata
from typing import Any

import structlog
from pydantic import ValidationError
from sqlalchemy import func, or_
from sqlalchemy import text as sql_text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.errors import (
    Conflict,
    DomainError,
    InvalidRequest,
    NotFound,
    json_path,
    validation_details,
)
from app.jobs.queue import enqueue_deals
from app.models import AuditLog, Deal, Rule, RuleVersion, utcnow
from app.rules.schema import (
    RESERVED_RULE_IDS,
    RuleDefinition,
    feature_key_literals,
    shape_warnings,
)
from app.services import audit

DEFAULTS_ACTOR = "system:default-rules"
log = structlog.get_logger("app.rules")
NEW_ID_ATTEMPTS = 20  # parallel creates of one name each take the next free numbered slug


def definition_json(definition: RuleDefinition, rule_id: str, enabled: bool) -> dict:
    data = definition.model_dump(mode="json", by_alias=True, exclude_none=True)
    data["id"] = rule_id
    data["enabled"] = enabled
    return data


def rule_public(row: Rule) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "enabled": row.enabled,
        "version": row.version,
        "builtin": row.builtin,
        "definition": row.definition,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def validation_errors(exc: ValidationError) -> list[dict[str, Any]]:
    return validation_details(exc.errors(), model=RuleDefinition)


# PostgreSQL takes at most 65,535 bound parameters in a statement, some SQLite builds 32,766.
_KEYS_PER_QUERY = 1000
MAX_KEY_WARNINGS = 100


def warnings(session: Session, definition: RuleDefinition | dict[str, Any]) -> list[dict]:
    """What is valid but probably not meant: feature keys the roadmap does not have (a typo
    makes a condition that never matches). Warned about, not refused: the roadmap may gain
    the feature, and a rule about a retired key stays harmless."""
    from app.models import Feature as FeatureRow

    raw = (
        definition.model_dump(mode="json", by_alias=True, exclude_none=True)
        if isinstance(definition, RuleDefinition)
        else definition
    )
    out = shape_warnings(raw) + _pipeline_warnings(session, raw) + _stage_warnings(session, raw)
    literals = feature_key_literals(raw)
    if not literals:
        return out
    wanted = sorted({key for _path, key, _negated in literals})
    known: set[str] = set()
    for start in range(0, len(wanted), _KEYS_PER_QUERY):  # bound parameters per statement
        chunk = wanted[start : start + _KEYS_PER_QUERY]
        known.update(session.exec(select(FeatureRow.key).where(FeatureRow.key.in_(chunk))))
    unknown = [(path, key, negated) for path, key, negated in literals if key not in known]
    every_key: list[str] = list(session.exec(select(FeatureRow.key))) if unknown else []
    out += [
        {"path": json_path(path), "message": _unknown_key_message(key, negated, every_key)}
        for path, key, negated in unknown[:MAX_KEY_WARNINGS]
    ]
    if len(unknown) > MAX_KEY_WARNINGS:
        out.append(
            {
                "path": json_path(unknown[MAX_KEY_WARNINGS][0]),
                "message": f"and {len(unknown) - MAX_KEY_WARNINGS} more feature keys not on "
                "the roadmap from here on",
            }
        )
    return out


def _pipeline_warnings(session: Session, raw: dict[str, Any]) -> list[dict]:
    """scope.pipelines ids no stored deal is in: a pipeline's label ("Sales Pipeline" for
    HubSpot's "default") or a case slip made a rule that never applied, without a word (stage
    ids were warned about, pipeline ids not). Not refused: a new pipeline may have no deal."""
    scope = raw.get("scope") if isinstance(raw.get("scope"), dict) else {}
    pipelines = scope.get("pipelines")
    if not isinstance(pipelines, list) or not pipelines:
        return []
    stored = session.exec(select(Deal.pipeline).group_by(Deal.pipeline)).all()
    if not stored:
        return []  # no deal stored yet: nothing to compare with
    seen = sorted(p for p in stored if p is not None)
    by_id = {p.casefold(): p for p in seen}
    known = set(seen)
    out = []
    unknown = [
        (i, pipeline)
        for i, pipeline in enumerate(pipelines)
        if isinstance(pipeline, str) and pipeline not in known
    ]
    for i, pipeline in unknown[:MAX_SCOPE_WARNINGS]:
        meant = by_id.get(pipeline.casefold())
        if meant is None:
            close = difflib.get_close_matches(pipeline, seen, n=1, cutoff=0.75)
            meant = close[0] if close else None
        hint = f" (did you mean '{meant}'?)" if meant else ""
        out.append(
            {
                "path": f"scope.pipelines[{i}]",
                "message": f"no stored deal is in pipeline '{pipeline}': scope.pipelines takes "
                "pipeline ids (HubSpot's 'default' or a number, not the pipeline's label; a "
                f"Salesforce opportunity has none), and this one may never apply{hint}",
            }
        )
    return out + _more_scope_warnings("pipelines", [i for i, _ in unknown])


# Warnings per scope list, as MAX_KEY_WARNINGS for feature keys: a read-only key's validate
# of 7 MB of scope ids answered 170 MB of warnings, after a minute of CPU and 800 MB of memory.
MAX_SCOPE_WARNINGS = 100
MAX_SCOPE_LISTED = 20  # scope.pipelines named in a stage's warning


def _more_scope_warnings(name: str, indexes: list[int]) -> list[dict]:
    """The one warning that stands for those past MAX_SCOPE_WARNINGS of scope.`name`."""
    if len(indexes) <= MAX_SCOPE_WARNINGS:
        return []
    return [
        {
            "path": f"scope.{name}[{indexes[MAX_SCOPE_WARNINGS]}]",
            "message": f"and {len(indexes) - MAX_SCOPE_WARNINGS} more {name} no stored deal is "
            "in from here on",
        }
    ]


def _stage_warnings(session: Session, raw: dict[str, Any]) -> list[dict]:
    """scope.stages ids no stored deal is in: a stage label or a case slip ("Negotiation" for
    "negotiation") makes a rule that never applies. Not refused: a new pipeline's stage may
    have no deal yet."""
    scope = raw.get("scope") if isinstance(raw.get("scope"), dict) else {}
    stages = scope.get("stages")
    if not isinstance(stages, list) or not stages:
        return []
    rows = session.exec(
        select(Deal.stage_id, Deal.pipeline, func.max(Deal.stage_label))
        .where(Deal.stage_id.is_not(None))
        .group_by(Deal.stage_id, Deal.pipeline)
    ).all()
    if not rows:
        return []  # no deal stored yet: nothing to compare with
    seen = {stage_id: label for stage_id, _pipeline, label in rows}
    pipelines_of: dict[str, set[str]] = {}
    for stage_id, pipeline, _label in rows:
        pipelines_of.setdefault(stage_id, set()).add(pipeline or "")
    scoped = scope.get("pipelines")
    scoped = (
        {p for p in scoped if isinstance(p, str)} if isinstance(scoped, list) and scoped else None
    )
    by_label = {str(label).casefold(): sid for sid, label in seen.items() if label}
    by_id = {sid.casefold(): sid for sid in seen}
    # named in each such warning: the first ones only (a long list was copied into every one)
    scoped_text = ""
    if scoped is not None:
        listed = sorted(scoped)
        scoped_text = str(listed[:MAX_SCOPE_LISTED])
        if len(listed) > MAX_SCOPE_LISTED:
            scoped_text = f"{scoped_text[:-1]}, ... ({len(listed) - MAX_SCOPE_LISTED} more)]"
    out = []
    warned: list[int] = []  # the indexes warned about; only the first MAX_SCOPE_WARNINGS said
    for i, stage in enumerate(stages):
        if not isinstance(stage, str):
            continue
        if stage in seen and (scoped is None or pipelines_of[stage] & scoped):
            continue
        warned.append(i)
        if len(warned) > MAX_SCOPE_WARNINGS:
            continue
        if stage in seen:
            if scoped is not None and not pipelines_of[stage] & scoped:
                # a stage of another pipeline than the rule's: "closedwon" of the default
                # pipeline under scope.pipelines ["enterprise"], whose won stage is another id
                out.append(
                    {
                        "path": f"scope.stages[{i}]",
                        "message": f"stage '{stage}' is a stage of pipeline "
                        f"{', '.join(repr(p) for p in sorted(pipelines_of[stage]))}, not of "
                        f"scope.pipelines {scoped_text}: no stored deal of those is in it, "
                        "and this one may never apply",
                    }
                )
            continue
        meant = by_id.get(stage.casefold()) or by_label.get(stage.casefold())
        if meant is None:
            close = difflib.get_close_matches(stage, list(seen), n=1, cutoff=0.75)
            meant = close[0] if close else None
        hint = f" (did you mean '{meant}'?)" if meant else ""
        out.append(
            {
                "path": f"scope.stages[{i}]",
                "message": f"no stored deal is in stage '{stage}': scope.stages takes stage ids, "
                f"and this one may never apply{hint}",
            }
        )
    return out + _more_scope_warnings("stages", warned)


def _unknown_key_message(key: str, negated: bool, every_key: list[str]) -> str:
    close = difflib.get_close_matches(key.strip().lower(), every_key, n=1, cutoff=0.75)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    if negated:  # `ne` / `not_in` / under `not`: true of every reference
        return f"'{key}' is not a feature key: this condition excludes nothing{hint}"
    return (
        f"'{key}' is not a feature key on the roadmap: this condition cannot match until a "
        f"feature with that key exists{hint}"
    )


def rules_naming_feature(session: Session, key: str) -> list[dict]:
    """Where the rules in force name feature `key` (a removed feature's rules cannot match),
    as warnings: {"rule_id", "path", "message"}."""
    rows = session.exec(
        select(Rule).where(Rule.enabled == True, Rule.deleted_at.is_(None)).order_by(Rule.id)  # noqa: E712
    )
    return [
        {
            "rule_id": row.id,
            "path": json_path(path),
            "message": f"rule '{row.id}' names feature '{key}' at {json_path(path)}: that "
            + (
                "condition excludes nothing until a feature with that key exists again"
                if negated
                else "condition cannot match until a feature with that key exists again"
            ),
        }
        for row in rows
        for path, literal, negated in feature_key_literals(row.definition)
        if literal == key
    ]


def validate(raw: Any) -> tuple[RuleDefinition | None, list[dict[str, Any]]]:
    try:
        # from_attributes: as FastAPI validates a body, so that a mistake is said here in the
        # words a create of the same body answers ("a valid dictionary or object to extract
        # fields from", not "... or instance of Condition", the name of a class of ours)
        return RuleDefinition.model_validate(raw, from_attributes=True), []
    except ValidationError as exc:
        return None, validation_errors(exc)


def _slug(name: str) -> str:
    # Accents dropped, not the letters ("Überprüfung" -> "uberprufung", not "berpr-fung").
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.casefold()).strip("-")[:56] or "rule"
    return slug if slug[0].isalnum() else f"r{slug}"


def _new_id(session: Session, name: str) -> str:
    base = _slug(name)
    candidate, n = base, 1
    while candidate in RESERVED_RULE_IDS or session.get(Rule, candidate) is not None:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _add_version(session: Session, row: Rule, actor: str) -> None:
    session.add(
        RuleVersion(
            rule_id=row.id,
            version=row.version,
            definition=row.definition,
            enabled=row.enabled,
            actor=actor,
            created_at=row.updated_at,
        )
    )


def _requeue_open_deals(session: Session) -> int:
    """Every open deal is evaluated again with the new rules, from its stored snapshot."""
    rows = session.exec(
        select(Deal.crm, Deal.deal_id).where(Deal.is_closed == False, Deal.tracked == True)  # noqa: E712
    ).all()
    by_crm: dict[str, list[str]] = {}
    for crm, deal_id in rows:
        by_crm.setdefault(crm, []).append(deal_id)
    total = 0
    # CRMs and ids sorted before chunking: queue rows are locked in (crm, deal id) order by
    # every writer (app/jobs/queue.py), else this and a worker recording outcomes deadlock.
    for crm, ids in sorted(by_crm.items()):
        ids.sort()
        for start in range(0, len(ids), 1000):
            total += enqueue_deals(session, crm, ids[start : start + 1000], reason="roadmap")
    return total


class PreconditionFailed(DomainError):
    """412: the write's If-Match names another version of the rule than the one stored."""

    status_code = 412
    code = "precondition_failed"


def etag(row: Rule) -> str:
    """The rule's entity tag: its version, quoted (`"3"`); a write changes it."""
    return f'"{row.version}"'


def if_match_holds(current: str, if_match: str | None) -> bool:
    """Whether a write to an entity whose ETag is `current` may go ahead under If-Match (the
    ETags a read answered: a list, `*` for any, a weak `W/` tag as its strong one): no header,
    `*`, or a tag equal to it. One reading for rules, features and mappings."""
    if if_match is None:
        return True
    tags = {t.strip().removeprefix("W/").strip('"') for t in if_match.split(",") if t.strip()}
    return "*" in tags or current.strip('"') in tags


def check_if_match(row: Rule, if_match: str | None) -> None:
    """Optimistic concurrency for a script's read-modify-write: with If-Match (the ETag a GET
    answered, `"3"`; a list, or `*` for any), a write to a rule that changed since is a 412
    naming the version stored, and writes nothing. Two scripts editing one rule each wrote a
    version, the later silently undoing the earlier's change. Without If-Match, as before."""
    if if_match_holds(etag(row), if_match):
        return
    raise PreconditionFailed(
        f"rule '{row.id}' is at version {row.version}, not the one If-Match names "
        f"({if_match}): it changed since it was read; GET it again (ETag {etag(row)}), apply "
        "the change to that and retry; nothing was written",
        details={"id": row.id, "version": row.version, "etag": etag(row), "if_match": if_match},
    )


def get_rule(session: Session, rule_id: str, *, for_update: bool = False) -> Rule:
    """The rule; `for_update` locks its row until the transaction ends (SELECT ... FOR UPDATE
    on PostgreSQL; SQLite writers are serialized already, app/db.py), so parallel edits bump
    its version one after the other, each reading the version the previous one wrote."""
    row = session.get(Rule, rule_id, with_for_update=True if for_update else None)
    if row is None:
        meant = rule_id.strip().lower()  # ids are lower-case slugs: "Never-Sold" meant one
        hint = (
            f"; did you mean '{meant}'? (rule ids are lower case)"
            if meant != rule_id and session.get(Rule, meant) is not None
            else ""
        )
        raise NotFound(f"rule '{rule_id}' does not exist{hint}")
    if row.deleted_at is not None:
        raise NotFound(deleted_message(rule_id))
    return row


def deleted_message(rule_id: str) -> str:
    """What every route says of a deleted rule (GET, PUT, enable, DELETE, a create or a
    simulated draft with its id)."""
    return f"rule '{rule_id}' was deleted (restore it with POST /api/v1/rules/{rule_id}/restore)"


def list_rules(
    session: Session,
    *,
    enabled: bool | None = None,
    deleted: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> tuple[int, list[Rule]]:
    """One page of the rules in force (not deleted), or with `deleted` of the deleted ones
    (the ones POST /api/v1/rules/{id}/restore takes), by id, and how many there are."""
    stmt = select(Rule).where(
        Rule.deleted_at.is_not(None) if deleted else Rule.deleted_at.is_(None)
    )
    if enabled is not None:
        stmt = stmt.where(Rule.enabled == enabled)
    total = session.exec(select(func.count()).select_from(stmt.subquery())).one()
    rows = session.exec(stmt.order_by(Rule.id).offset(offset).limit(limit)).all()
    return total, list(rows)


def deleted_by(session: Session, rule_ids: list[str]) -> dict[str, str]:
    """Who deleted each of these rules last: the actor of its latest `rule.delete` audit
    entry (a rule without one is left out)."""
    if not rule_ids:
        return {}
    rows = session.exec(
        select(AuditLog.entity_id, AuditLog.actor)
        .where(
            AuditLog.entity_type == "rule",
            AuditLog.entity_id.in_(rule_ids),
            AuditLog.action == "rule.delete",
        )
        .order_by(AuditLog.id)
    ).all()
    return dict(rows)  # the latest wins


def list_versions(
    session: Session, rule_id: str, *, limit: int = 50, offset: int = 0
) -> tuple[int, list[RuleVersion]]:
    """One page of a rule's versions, oldest first, and how many it has (a deleted rule's
    versions are kept and listed)."""
    if session.get(Rule, rule_id) is None:
        raise NotFound(f"rule '{rule_id}' does not exist")
    total = session.exec(
        select(func.count()).select_from(RuleVersion).where(RuleVersion.rule_id == rule_id)
    ).one()
    rows = session.exec(
        select(RuleVersion)
        .where(RuleVersion.rule_id == rule_id)
        .order_by(RuleVersion.version)
        .offset(offset)
        .limit(limit)
    ).all()
    return total, list(rows)


def _existing(row: Rule, definition: RuleDefinition) -> dict[str, Any]:
    """A 409's details: the stored rule in the way, and whether the body is the very rule
    stored (on or off aside): a retried create whose first attempt went through."""
    return {
        "existing": {
            "id": row.id,
            "name": row.name,
            "version": row.version,
            "enabled": row.enabled,
            "builtin": row.builtin,
        },
        "identical": _same_rule(row, definition),
    }


def _same_rule(row: Rule, definition: RuleDefinition) -> bool:
    """Whether `definition` is `row`'s, its id and on/off state aside."""
    return _without_enabled(definition_json(definition, row.id, row.enabled)) == _without_enabled(
        row.definition
    )


def _already_exists(row: Rule, definition: RuleDefinition) -> Conflict:
    same = (
        f" with this same definition (version {row.version}): nothing to create (a retried "
        "request whose first attempt went through?)"
        if _same_rule(row, definition)
        else f" (version {row.version}): choose another id, or PUT /api/v1/rules/{row.id} "
        "to change it"
    )
    return Conflict(f"rule '{row.id}' already exists{same}", details=_existing(row, definition))


def _lock_rule_name(session: Session, name: str) -> None:
    """Creates without an id of one name take turns until their transactions end (a
    PostgreSQL advisory lock; SQLite writers are serialized already): a retry sent while the
    timed-out first attempt was still running passed the identical-rule check beside it, and
    both were saved ("never-sold" and "never-sold-2"), every finding of theirs twice."""
    if session.get_bind().dialect.name != "postgresql":
        return
    digest = hashlib.sha256(f"roadmap-guard rule name\0{name}".encode()).digest()
    key = int.from_bytes(digest[:8], "big", signed=True)
    session.execute(sql_text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _identical_rule(session: Session, definition: RuleDefinition) -> Rule | None:
    """A rule in force (not deleted) whose definition is `definition`'s, its id and on/off
    state aside: a create without an id repeating it would double every finding it makes."""
    rows = session.exec(
        select(Rule)
        .where(Rule.name == definition.name, Rule.deleted_at.is_(None))
        .order_by(Rule.id)
    )
    return next((row for row in rows if _same_rule(row, definition)), None)


def create_rule(session: Session, definition: RuleDefinition, *, actor: str) -> tuple[Rule, int]:
    if definition.id:
        existing = session.get(Rule, definition.id)
        if existing is not None:
            if existing.deleted_at:
                raise Conflict(
                    f"{deleted_message(definition.id)}, then PUT the new definition, "
                    "or choose another id"
                )
            raise _already_exists(existing, definition)
        row = _insert_rule(session, definition, definition.id, actor=actor)
        if row is None:  # created by a parallel request since the check above
            existing = session.get(Rule, definition.id)
            if existing is None:
                raise Conflict(f"rule '{definition.id}' already exists; choose another id")
            raise _already_exists(existing, definition)
    else:
        # A create without an id is not idempotent by its id: a script retrying one whose
        # first attempt went through (a timeout) made a second, identical rule, and every deal
        # it applies to got each of its findings twice.
        _lock_rule_name(session, definition.name)
        if (same := _identical_rule(session, definition)) is not None:
            off = (
                f"; it is switched off: POST /api/v1/rules/{same.id}/enable"
                if definition.enabled and not same.enabled
                else ""
            )
            raise Conflict(
                f"rule '{same.id}' has this same definition (version {same.version}): nothing "
                "to create (a retried request whose first attempt went through?); edit that "
                f"one (PUT /api/v1/rules/{same.id}), or give the new rule another name{off}",
                details=_existing(same, definition),
            )
        # The slug of the name, numbered when taken; a parallel create may take the same
        # candidate first, then the next free one is tried.
        for _ in range(NEW_ID_ATTEMPTS):
            row = _insert_rule(session, definition, _new_id(session, definition.name), actor=actor)
            if row is not None:
                break
        else:
            raise Conflict(
                f"no free id for a rule named '{definition.name}' after {NEW_ID_ATTEMPTS} "
                "attempts (many created at once); retry, or give the rule an id"
            )
    audit.record(
        session,
        actor=actor,
        action="rule.create",
        entity_type="rule",
        entity_id=row.id,
        after={**row.definition, "version": row.version},
    )
    return row, _requeue_open_deals(session) if row.enabled else 0


def _insert_rule(
    session: Session,
    definition: RuleDefinition,
    rule_id: str,
    *,
    actor: str,
    builtin: bool = False,
) -> Rule | None:
    """Insert the rule and its version 1 in a savepoint; None if the id is taken (by a row
    this transaction cannot see yet: PostgreSQL waits for the other writer to commit)."""
    now = utcnow()
    row = Rule(
        id=rule_id,
        name=definition.name,
        enabled=definition.enabled,
        version=1,
        definition=definition_json(definition, rule_id, definition.enabled),
        builtin=builtin,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
            _add_version(session, row, actor)
            session.flush()
    except IntegrityError:
        return None
    return row


def update_rule(
    session: Session,
    rule_id: str,
    definition: RuleDefinition,
    *,
    actor: str,
    if_match: str | None = None,
) -> tuple[Rule, int]:
    row = get_rule(session, rule_id, for_update=True)
    check_if_match(row, if_match)
    if definition.id is not None and definition.id != rule_id:
        raise InvalidRequest.at(
            ("id",),
            f"'{definition.id}' differs from the rule's id '{rule_id}' in the URL: ids do not "
            "change; leave id out or give the URL's",
            input=definition.id,
        )
    # A body without "enabled" keeps the rule as it is: editing a switched-off rule's message
    # must not switch it on (enable/disable, or "enabled" given, change that).
    enabled = definition.enabled if "enabled" in definition.model_fields_set else row.enabled
    new = definition_json(definition, rule_id, enabled)
    if new == row.definition:
        return row, 0
    before = row.definition
    was_enabled = row.enabled
    row.definition = new
    row.name = definition.name
    row.enabled = enabled
    _new_version(session, row, actor=actor, action="rule.update", before=before)
    return row, _requeue_open_deals(session) if (was_enabled or row.enabled) else 0


def _new_version(
    session: Session, row: Rule, *, actor: str, action: str, before: dict | None
) -> None:
    """Record `row`'s changed definition as its next version, and audit it (`before`: the
    definition it replaces, None when there was none in force)."""
    row.version += 1
    row.updated_at = utcnow()
    session.add(row)
    _add_version(session, row, actor)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=action,
        entity_type="rule",
        entity_id=row.id,
        before=None if before is None else {**before, "version": row.version - 1},
        after={**row.definition, "version": row.version},
    )


def set_enabled(
    session: Session, rule_id: str, enabled: bool, *, actor: str, if_match: str | None = None
) -> tuple[Rule, int]:
    row = get_rule(session, rule_id, for_update=True)
    check_if_match(row, if_match)
    if row.enabled == enabled:
        return row, 0
    before = row.definition
    row.enabled = enabled
    row.definition = {**row.definition, "enabled": enabled}
    action = "rule.enable" if enabled else "rule.disable"
    _new_version(session, row, actor=actor, action=action, before=before)
    return row, _requeue_open_deals(session)


def delete_rule(session: Session, rule_id: str, *, actor: str, if_match: str | None = None) -> int:
    """Soft delete: the rule stops applying; its versions stay for the audit trail."""
    row = get_rule(session, rule_id, for_update=True)
    check_if_match(row, if_match)
    was_enabled = row.enabled
    row.deleted_at = row.updated_at = utcnow()
    row.enabled = False
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="rule.delete",
        entity_type="rule",
        entity_id=rule_id,
        before={**row.definition, "version": row.version},
    )
    return _requeue_open_deals(session) if was_enabled else 0


def restore_rule(session: Session, rule_id: str, *, actor: str) -> Rule:
    """Undo a delete. The rule comes back disabled, as a new version (its history stays
    whole): enable it once a simulation shows what it will do."""
    row = session.get(Rule, rule_id, with_for_update=True)
    if row is None:
        raise NotFound(f"rule '{rule_id}' does not exist")
    if row.deleted_at is None:
        raise Conflict(f"rule '{rule_id}' is not deleted")
    row.deleted_at = None
    row.enabled = False
    row.definition = {**row.definition, "enabled": False}
    # A new version: the history shows it came back, and disabled.
    _new_version(session, row, actor=actor, action="rule.restore", before=None)
    return row


def install_default_rules(session: Session) -> int:
    """Insert the default pack's rules that were never installed, and bring the ones nobody
    has changed up to the pack (`_follow_pack`); idempotent. A default rule RevOps edited,
    switched off or on, or deleted is left alone. Returns how many were inserted."""
    from app.rules.default_pack import DEFAULT_RULES

    installed = followed = 0
    for raw in DEFAULT_RULES:
        definition = RuleDefinition.model_validate(raw)
        rule_id = definition.id or _slug(definition.name)
        existing = session.get(Rule, rule_id)
        if existing is not None:
            followed += _follow_pack(session, existing, definition)
            continue
        # Several processes may start at once: the first one installs, the others skip.
        row = _insert_rule(session, definition, rule_id, actor=DEFAULTS_ACTOR, builtin=True)
        if row is None:
            continue
        audit.record(
            session,
            actor=DEFAULTS_ACTOR,
            action="rule.install_default",
            entity_type="rule",
            entity_id=rule_id,
            after={**row.definition, "version": row.version},
        )
        installed += 1
    session.flush()
    if followed:
        queued = _requeue_open_deals(session)
        log.info("default rules updated to this release's pack", rules=followed, queued=queued)
    return installed


def _without_enabled(definition: dict) -> dict:
    return {k: v for k, v in definition.items() if k != "enabled"}


def _follow_pack(session: Session, row: Rule, definition: RuleDefinition) -> int:
    """Update a default rule to this release's pack when nobody but the installer ever wrote
    a version of it: a rule installed by an earlier release keeps that release's wording
    otherwise ("tell them when it is planned" of a feature with no plan). Written as a new
    version by DEFAULTS_ACTOR, audited as `rule.update_default`; its on/off state is kept.
    1 if it was updated, else 0."""
    if not row.builtin or row.deleted_at is not None:
        return 0
    if _without_enabled(definition_json(definition, row.id, row.enabled)) == _without_enabled(
        row.definition
    ):
        return 0
    if _changed_by_someone(session, row.id):
        return 0
    # Parallel start-ups: the row lock orders them; the later one finds the pack in place.
    row = get_rule(session, row.id, for_update=True)
    session.refresh(row)
    new = definition_json(definition, row.id, row.enabled)
    if _without_enabled(new) == _without_enabled(row.definition):
        return 0
    before = row.definition
    row.definition = new
    row.name = definition.name
    _new_version(session, row, actor=DEFAULTS_ACTOR, action="rule.update_default", before=before)
    return 1


def _changed_by_someone(session: Session, rule_id: str) -> bool:
    """Whether any version of the rule was written by anyone but the default installer."""
    other = session.exec(
        select(RuleVersion.id)
        .where(
            RuleVersion.rule_id == rule_id,
            or_(RuleVersion.actor.is_(None), RuleVersion.actor != DEFAULTS_ACTOR),
        )
        .limit(1)
    ).first()
    return other is not None
