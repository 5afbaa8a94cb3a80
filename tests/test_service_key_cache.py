"""The key cache: a checked key is trusted for at most KEY_CACHE_S, so a revoked key is
refused within a second while a poller's key costs one lookup a second."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from jobs.records import utcnow
from service.key_cache import KEY_CACHE_S, MAX_KEYS, KeyCache
from service.keys import KeyUse, revoke_key
from tests.api_client import Api


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _use(expires_in: timedelta | None = None) -> KeyUse:
    return KeyUse(lab_id="lab", prefix="p", expires_at=None if expires_in is None
                  else utcnow() + expires_in)


def test_a_check_is_kept_for_less_than_the_ttl_counted_from_before_the_query() -> None:
    clock = Clock()
    cache = KeyCache(clock=clock)
    use = _use()
    assert cache.get("tps_a_b") is None
    cache.put("tps_a_b", use, asked_at=99.5)  # the query began half a second ago
    assert cache.get("tps_a_b") is use
    clock.now = 100.499
    assert cache.get("tps_a_b") is use
    clock.now = 100.5  # a second after the query began: asked again
    assert cache.get("tps_a_b") is None
    assert cache.get("tps_a_c") is None  # another token is another key


def test_an_expiry_is_checked_on_every_hit() -> None:
    cache = KeyCache(clock=Clock())
    cache.put("tps_a_b", _use(expires_in=timedelta(seconds=-1)), asked_at=100.0)
    assert cache.get("tps_a_b") is None


def test_the_bound_on_staleness_and_size() -> None:
    with pytest.raises(ValueError, match="how late a revoked key"):
        KeyCache(ttl_s=KEY_CACHE_S + 0.1)
    clock = Clock()
    cache = KeyCache(ttl_s=0.0, clock=clock)  # 0: every request asks the database
    cache.put("tps_a_b", _use(), asked_at=clock.now)
    assert cache.get("tps_a_b") is None
    cache = KeyCache(clock=clock)
    for i in range(MAX_KEYS + 1):
        cache.put(f"tps_{i}_x", _use(), asked_at=clock.now)
    assert cache.get("tps_0_x") is None and cache.get(f"tps_{MAX_KEYS}_x") is not None


def _key_reads(engine: Engine) -> list[str]:
    reads: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.startswith("SELECT") and "FROM api_keys" in statement:
            reads.append(statement)

    sa.event.listen(engine, "before_cursor_execute", note)
    return reads


def test_a_poller_costs_one_key_lookup_a_second_and_a_revoked_key_is_refused(api: Api) -> None:
    app = api.client.app
    clock = Clock()
    app.state.tps.keys.clock = clock  # type: ignore[attr-defined]
    reads = _key_reads(app.state.tps.engine)  # type: ignore[attr-defined]
    for _ in range(20):
        assert api.client.get("/v1/me", headers=api.a()).status_code == 200
    assert len(reads) == 1
    with Session(app.state.tps.engine) as session:  # type: ignore[attr-defined]
        assert revoke_key(session, api.key_a) is not None
    del reads[:]  # revoke_key's own reads
    clock.now += KEY_CACHE_S - 0.01  # within the bound: the check made before still stands
    assert api.client.get("/v1/me", headers=api.a()).status_code == 200
    clock.now += 0.01
    refused = api.client.get("/v1/me", headers=api.a())
    assert refused.status_code == 401 and refused.json()["detail"] == "API key revoked"
    assert len(reads) == 1
    # Refusals are not remembered: each refused request asks again.
    assert api.client.get("/v1/me", headers=api.a()).status_code == 401
    assert len(reads) == 2


def test_revoked_with_the_real_clock_refused_within_a_second(api: Api) -> None:
    assert api.client.get("/v1/me", headers=api.a()).status_code == 200
    with Session(api.client.app.state.tps.engine) as session:  # type: ignore[attr-defined]
        revoke_key(session, api.key_a)
    revoked_at = time.monotonic()
    while api.client.get("/v1/me", headers=api.a()).status_code == 200:
        assert time.monotonic() - revoked_at < KEY_CACHE_S + 0.5, "still let in"
        time.sleep(0.05)
    assert time.monotonic() - revoked_at <= KEY_CACHE_S + 0.5
