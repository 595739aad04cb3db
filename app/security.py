"""API keys: 256-bit random, shown once, stored as SHA-256 (a slow hash buys nothing for keys
with this much entropy, and lookups stay O(1) by prefix)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.errors import Conflict
from app.models import ApiKey, utcnow

KEY_PREFIX = "rg_"


class Role(StrEnum):
    admin = "admin"
    revops = "revops"
    engineering = "engineering"
    viewer = "viewer"
    approver = "approver"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def generate_key() -> tuple[str, str]:
    """Returns (full key, lookup prefix)."""
    body = secrets.token_urlsafe(32)
    key = f"{KEY_PREFIX}{body}"
    return key, key[: len(KEY_PREFIX) + 8]


# A key's name is stored as the actor "<role>:<name>" in 255-character columns (the audit log,
# rule versions, approvals), and case-folded in `active_name`: a longer name made every write
# of its key fail on PostgreSQL. 200 leaves room for the longest role and for folding ("ß" is
# "ss" folded).
MAX_KEY_NAME = 200


def key_name_problem(name: str) -> str | None:
    """What is wrong with `name` as an API key's name, or None: 1-200 characters, not blank."""
    if not name.strip():
        return "must not be blank"
    if len(name.strip()) > MAX_KEY_NAME or len(fold_name(name)) > MAX_KEY_NAME:
        return f"must be at most {MAX_KEY_NAME} characters (it names the key in the audit log)"
    return None


def fold_name(name: str) -> str:
    """A key's name as names are compared: case-insensitively, without surrounding blanks."""
    return name.strip().casefold()


def active_key_named(session: Session, name: str) -> ApiKey | None:
    """The active (not revoked) key called `name`, compared case-insensitively and without
    surrounding blanks: the oldest, if keys created before names were unique share it."""
    wanted = fold_name(name)
    rows = session.exec(select(ApiKey).where(ApiKey.revoked_at.is_(None)).order_by(ApiKey.id))
    return next((r for r in rows if fold_name(r.name) == wanted), None)


def refuse_duplicate_name(session: Session, name: str) -> None:
    """409 when an active key already has this name: an approval says `approver: "dana"`,
    the audit log `approver:dana`, so two keys called dana could not be told apart. A revoked
    key's name is free again. Keys that already shared a name keep working."""
    existing = active_key_named(session, name)
    if existing is not None:
        raise Conflict(
            f"an active API key is already named {existing.name!r} (id {existing.id}, prefix "
            f"{existing.prefix}); approvals and the audit log name a key by its name, so choose "
            f"another name, or revoke key {existing.id} first",
            details={
                "existing_key_id": existing.id,
                "existing_prefix": existing.prefix,
                "existing_name": existing.name,
            },
        )


def create_api_key(
    session: Session, *, name: str, role: Role, created_by: str | None
) -> tuple[ApiKey, str]:
    """Store a new key and return it with the key itself (shown once). An active key with the
    same name is refused (409), also when it was created at the same moment by another request
    or process: the unique index on `active_name` decides the race, checked again here so the
    loser gets the same answer as a plain duplicate."""
    key, prefix = generate_key()
    row = ApiKey(
        name=name,
        role=role.value,
        prefix=prefix,
        key_hash=hash_key(key),
        created_by=created_by,
        active_name=fold_name(name),
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        refuse_duplicate_name(session, name)  # the winner is committed: its 409
        raise
    return row, key


def revoke_api_key(row: ApiKey, now: datetime | None = None) -> None:
    """Mark the key revoked: refused from now on, and its name free for a new key."""
    row.revoked_at = now or utcnow()
    row.active_name = None


def authenticate(session: Session, key: str) -> ApiKey | None:
    if not key.startswith(KEY_PREFIX) or len(key) < len(KEY_PREFIX) + 8:
        return None
    row = session.exec(select(ApiKey).where(ApiKey.prefix == key[: len(KEY_PREFIX) + 8])).first()
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.key_hash, hash_key(key)):
        return None
    return row


# last_used_at is "used within the last minute" precise: one write per key per minute at most,
# not one per request.
TOUCH_INTERVAL = timedelta(seconds=60)


def touch_due(last_used_at: datetime | None, now: datetime | None = None) -> bool:
    """Whether a key last used at `last_used_at` should have it written again now."""
    return last_used_at is None or last_used_at <= (now or utcnow()) - TOUCH_INTERVAL


def touch(session: Session, key_id: int, now: datetime | None = None) -> bool:
    """Set the key's last_used_at to now unless it was set within TOUCH_INTERVAL. A conditional
    UPDATE, so requests and replicas racing for the same key write it once. True if written."""
    now = now or utcnow()
    result = session.execute(
        update(ApiKey)
        .where(
            ApiKey.id == key_id,
            or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at <= now - TOUCH_INTERVAL),
        )
        .values(last_used_at=now)
    )
    return result.rowcount == 1
