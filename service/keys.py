"""API keys: a random token shown once; the database keeps only its sha256 and a lookup prefix."""
from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from jobs.records import ApiKey, Lab

KEY_SCHEME = "tps"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_key(session: Session, lab_name: str) -> str:
    """Create the lab if new, add a key to it, and return the token (never stored)."""
    lab = session.scalars(select(Lab).where(Lab.name == lab_name)).one_or_none()
    if lab is None:
        lab = Lab(name=lab_name)
        session.add(lab)
        session.flush()
    prefix = secrets.token_hex(6)
    token = f"{KEY_SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
    session.add(ApiKey(lab_id=lab.id, prefix=prefix, key_hash=_digest(token)))
    session.commit()
    return token


def lab_for_key(session: Session, token: str) -> str | None:
    """The lab id a token belongs to, or None. The secret part is compared in constant time."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_SCHEME:
        return None
    row = session.scalars(select(ApiKey).where(ApiKey.prefix == parts[1])).one_or_none()
    if row is None or not hmac.compare_digest(row.key_hash, _digest(token)):
        return None
    return row.lab_id
