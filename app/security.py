"""API keys: 256-bit random, shown once, stored as SHA-256 (a slow hash buys nothing for keys
with this much entropy, and lookups stay O(1) by prefix)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from enum import StrEnum

from sqlmodel import Session, select

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


def create_api_key(
    session: Session, *, name: str, role: Role, created_by: str | None
) -> tuple[ApiKey, str]:
    key, prefix = generate_key()
    row = ApiKey(
        name=name, role=role.value, prefix=prefix, key_hash=hash_key(key), created_by=created_by
    )
    session.add(row)
    session.flush()
    return row, key


def authenticate(session: Session, key: str) -> ApiKey | None:
    if not key.startswith(KEY_PREFIX) or len(key) < len(KEY_PREFIX) + 8:
        return None
    row = session.exec(select(ApiKey).where(ApiKey.prefix == key[: len(KEY_PREFIX) + 8])).first()
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.key_hash, hash_key(key)):
        return None
    return row


def touch(session: Session, row: ApiKey) -> None:
    row.last_used_at = utcnow()
    session.add(row)
