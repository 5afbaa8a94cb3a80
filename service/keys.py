"""API keys: a random token shown once; the database keeps only its sha256 and a lookup prefix.

A key is checked against its row here; the API keeps a check for at most a second
(service/key_cache.py), so a revoked key is refused within a second. Its `last_used_at` is
written at most once a minute, so that polling with GETs does not make every request a
database write.

Making and revoking a key are recorded in the lab's audit log in the same transaction, with no
acting key and no client address: `tps keys` runs on the server's host, not as a request."""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from jobs.records import ApiKey, AuditEvent, Lab, utcnow

KEY_SCHEME = "tps"
# last_used_at is only rewritten when the stored value is at least this old.
LAST_USED_EVERY = timedelta(seconds=60)

log = logging.getLogger(__name__)


class KeyRefused(Exception):
    """The token is not a key, or its key is revoked or expired; the message says which."""


@dataclass(frozen=True)
class KeyUse:
    """What a request learns about the key it came with."""

    lab_id: str
    prefix: str
    expires_at: datetime | None  # naive UTC


@dataclass(frozen=True)
class KeyListing:
    prefix: str
    lab: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _key_event(action: str, lab_id: str, prefix: str) -> AuditEvent:
    return AuditEvent(lab_id=lab_id, key_prefix=None, action=action, object_type="key",
                      object_id=prefix, client=None)


def create_key(session: Session, lab_name: str, expires_days: int | None = None) -> str:
    """Create the lab if new, add a key to it, and return the token (never stored). With
    `expires_days` the key is refused from that many days on."""
    if expires_days is not None and expires_days < 1:
        raise ValueError("expires_days must be at least 1")
    lab = session.scalars(select(Lab).where(Lab.name == lab_name)).one_or_none()
    if lab is None:
        lab = Lab(name=lab_name)
        session.add(lab)
        session.flush()
    prefix = secrets.token_hex(6)
    token = f"{KEY_SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
    expires_at = None if expires_days is None else utcnow() + timedelta(days=expires_days)
    session.add(ApiKey(lab_id=lab.id, prefix=prefix, key_hash=_digest(token),
                       expires_at=expires_at))
    session.add(_key_event("key_create", lab.id, prefix))
    session.commit()
    return token


def _note_use(session: Session, key_id: str, last_used_at: datetime | None,
              now: datetime) -> None:
    """Record that the key was used, unless that was recorded less than a minute ago. The
    UPDATE is conditional too, so of requests racing past the first check one writes. A
    database too busy to take the write does not refuse the request: it is bookkeeping."""
    if last_used_at is not None and now - last_used_at < LAST_USED_EVERY:
        return
    stale = or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at <= now - LAST_USED_EVERY)
    try:
        session.execute(update(ApiKey).where(ApiKey.id == key_id, stale)
                        .values(last_used_at=now).execution_options(synchronize_session=False))
        session.commit()
    except OperationalError as exc:
        session.rollback()
        log.warning("could not record the use of an API key: %s", exc)


def authenticate(session: Session, token: str) -> KeyUse:
    """The key a token is, checked against its row now; raises KeyRefused. The secret part is
    compared in constant time, and whether a key is revoked or expired is only told to a caller
    who has shown the whole key."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_SCHEME:
        raise KeyRefused("invalid API key")
    row = session.scalars(select(ApiKey).where(ApiKey.prefix == parts[1])).one_or_none()
    if row is None or not hmac.compare_digest(row.key_hash, _digest(token)):
        raise KeyRefused("invalid API key")
    now = utcnow()
    if row.revoked_at is not None:
        raise KeyRefused("API key revoked")
    if row.expires_at is not None and row.expires_at <= now:
        raise KeyRefused("API key expired")
    use = KeyUse(lab_id=row.lab_id, prefix=row.prefix, expires_at=row.expires_at)
    _note_use(session, row.id, row.last_used_at, now)
    return use


def lab_for_key(session: Session, token: str) -> str | None:
    """The lab id a token belongs to, or None (not a key, revoked or expired)."""
    try:
        return authenticate(session, token).lab_id
    except KeyRefused:
        return None


def _listing(key: ApiKey, lab: str) -> KeyListing:
    return KeyListing(prefix=key.prefix, lab=lab, created_at=key.created_at,
                      last_used_at=key.last_used_at, expires_at=key.expires_at,
                      revoked_at=key.revoked_at)


def list_keys(session: Session, lab_name: str | None = None) -> list[KeyListing]:
    """Every key (or one lab's), oldest first; the secrets are not stored, so not shown."""
    query = (select(ApiKey, Lab.name).join(Lab, Lab.id == ApiKey.lab_id)
             .order_by(ApiKey.created_at, ApiKey.prefix))
    if lab_name is not None:
        query = query.where(Lab.name == lab_name)
    return [_listing(key, lab) for key, lab in session.execute(query).tuples()]


def revoke_key(session: Session, prefix: str) -> tuple[KeyListing, bool] | None:
    """Revoke the key with this prefix (`tps_` before it, or the whole key, also do); returns
    the key and whether this call revoked it (False: it was already revoked), or None when no
    key has that prefix. A second call changes nothing."""
    if prefix.startswith(f"{KEY_SCHEME}_"):
        prefix = prefix.split("_", 2)[1]
    found = session.execute(select(ApiKey, Lab.name).join(Lab, Lab.id == ApiKey.lab_id)
                            .where(ApiKey.prefix == prefix)).tuples().one_or_none()
    if found is None:
        return None
    key, lab = found
    now = utcnow()
    # Conditional, so that two revocations at once keep the first time.
    revoked = session.connection().execute(
        update(ApiKey).where(ApiKey.id == key.id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=now)).rowcount == 1
    if revoked:  # a second revocation changes nothing, so it is no event
        session.add(_key_event("key_revoke", key.lab_id, key.prefix))
    session.commit()
    session.refresh(key)
    return _listing(key, lab), revoked
