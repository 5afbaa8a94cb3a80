"""Checked keys remembered for at most a second, so that a client polling a job many times a
second costs one key lookup a second, not one per request.

The bound is the price: a key revoked (`tps keys revoke`, another process) is refused within
KEY_CACHE_S, not from the very next request. An expiry time is checked on every request,
cached or not. Refusals are not remembered: a key made a moment ago works at once."""
from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from jobs.records import utcnow
from service.keys import KeyUse

KEY_CACHE_S = 1.0
# Past this many keys the cache starts afresh: a bound on memory whatever tokens arrive.
MAX_KEYS = 10_000


@dataclass(frozen=True)
class _Checked:
    use: KeyUse
    at: float  # the cache's clock when the database said yes


class KeyCache:
    """Keyed by the token's sha256: the secrets themselves are never kept. `clock` is
    monotonic seconds (injectable for tests)."""

    def __init__(self, ttl_s: float = KEY_CACHE_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not 0 <= ttl_s <= KEY_CACHE_S:
            raise ValueError(f"ttl_s must be within 0..{KEY_CACHE_S} s (how late a revoked "
                             "key may still be let in)")
        self.ttl_s = ttl_s
        self.clock = clock
        self._checked: dict[str, _Checked] = {}

    @staticmethod
    def _digest(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def get(self, token: str) -> KeyUse | None:
        """The key's last check when it is younger than the TTL and the key has not expired
        since; None: ask the database."""
        checked = self._checked.get(self._digest(token))
        if checked is None or self.clock() - checked.at >= self.ttl_s:
            return None
        expires_at = checked.use.expires_at
        if expires_at is not None and expires_at <= utcnow():
            return None
        return checked.use

    def put(self, token: str, use: KeyUse, asked_at: float) -> None:
        """Remember a check that began at `asked_at` (this cache's clock, read before the
        query): the TTL counts from then, so a revocation during the query is not missed."""
        if len(self._checked) >= MAX_KEYS:
            self._checked.clear()
        self._checked[self._digest(token)] = _Checked(use, asked_at)
