from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from jobs.database import init_db, make_engine
from jobs.records import ApiKey, Lab, utcnow
from service.key_cache import KEY_CACHE_S, KeyCache
from service.keys import create_key, lab_for_key
from tests.api_client import Api
from tps.cli import main as tps_main


def test_keys_are_stored_hashed_and_resolve_to_their_lab(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'k.sqlite3'}")
    init_db(engine)
    with Session(engine) as s:
        one, two = create_key(s, "lab-a"), create_key(s, "lab-a")
        other = create_key(s, "lab-b")
        labs = {lab.name: lab.id for lab in s.scalars(select(Lab))}
        rows = list(s.scalars(select(ApiKey)))
        assert len(labs) == 2 and len(rows) == 3
        assert all(one not in (r.key_hash, r.prefix) for r in rows)
        assert hashlib.sha256(one.encode()).hexdigest() in {r.key_hash for r in rows}
        assert lab_for_key(s, one) == lab_for_key(s, two) == labs["lab-a"]
        assert lab_for_key(s, other) == labs["lab-b"]
        assert lab_for_key(s, one[:-1] + ("A" if one[-1] != "A" else "B")) is None
        assert lab_for_key(s, "tps_nope_secret") is None
        assert lab_for_key(s, "") is None
    engine.dispose()


def _prefix(token: str) -> str:
    return token.split("_", 2)[1]


def _engine(api: Api) -> Engine:
    engine: Engine = api.client.app.state.tps.engine  # type: ignore[attr-defined]
    return engine


def _key(api: Api, token: str) -> ApiKey:
    with Session(_engine(api)) as s:
        return s.scalars(select(ApiKey).where(ApiKey.prefix == _prefix(token))).one()


def _set(api: Api, token: str, **values: object) -> None:
    with Session(_engine(api)) as s:
        s.execute(update(ApiKey).where(ApiKey.prefix == _prefix(token)).values(**values))
        s.commit()


def _a_second_later(api: Api) -> None:
    """Past the key cache's bound (service/key_cache.py): a key's revocation or new expiry is
    seen from here on. The cache's clock stands still afterwards."""
    cache: KeyCache = api.client.app.state.tps.keys  # type: ignore[attr-defined]
    later = cache.clock() + KEY_CACHE_S
    cache.clock = lambda: later


@pytest.fixture
def cli_env(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """`tps keys ...` on the API's own database."""
    monkeypatch.setenv("TPS_DATA_DIR", str(api.settings.data_dir))
    monkeypatch.delenv("TPS_DATABASE_URL", raising=False)


def test_a_revoked_key_is_refused_within_a_second(
        api: Api, cli_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert api.client.get("/v1/slides", headers=api.a()).status_code == 200
    prefix = _prefix(api.key_a)

    assert tps_main(["keys", "revoke", prefix]) == 0
    assert capsys.readouterr().out == (f"revoked key {prefix} of lab lab-a: refused within "
                                       "a second\n")
    _a_second_later(api)
    response = api.client.get("/v1/slides", headers=api.a())
    assert response.status_code == 401
    assert response.json()["detail"] == "API key revoked"
    assert api.client.get("/v1/me", headers=api.a()).status_code == 401
    assert api.client.get("/v1/slides", headers=api.b()).status_code == 200  # other keys work

    revoked_at = _key(api, api.key_a).revoked_at
    assert revoked_at is not None
    assert tps_main(["keys", "revoke", f"tps_{prefix}"]) == 0  # again: nothing changes
    assert capsys.readouterr().out == (
        f"key {prefix} of lab lab-a was already revoked at "
        f"{revoked_at:%Y-%m-%d %H:%M} UTC; nothing changed\n")
    assert _key(api, api.key_a).revoked_at == revoked_at
    assert tps_main(["keys", "revoke", "0123456789ab"]) == 1
    assert "no key with prefix 0123456789ab" in capsys.readouterr().out


def test_an_expired_key_is_refused(api: Api, cli_env: None,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    before = utcnow()
    assert tps_main(["keys", "create", "--lab", "lab-a", "--expires-days", "30"]) == 0
    token = capsys.readouterr().out.strip()
    expires_at = _key(api, token).expires_at
    assert expires_at is not None
    assert timedelta(days=30) <= expires_at - before < timedelta(days=30, minutes=1)
    me = api.client.get("/v1/me", headers={"X-API-Key": token})
    assert me.status_code == 200
    assert me.json()["expires_at"] == expires_at.replace(tzinfo=UTC).isoformat().replace(
        "+00:00", "Z")

    _set(api, token, expires_at=utcnow() - timedelta(seconds=1))
    _a_second_later(api)
    response = api.client.get("/v1/slides", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and response.json()["detail"] == "API key expired"
    # A wrong secret with the expired key's prefix learns nothing about the key.
    wrong = api.client.get("/v1/slides", headers={"X-API-Key": token[:-2] + "xx"})
    assert wrong.json()["detail"] == "invalid API key"

    with pytest.raises(SystemExit):
        tps_main(["keys", "create", "--lab", "lab-a", "--expires-days", "0"])


def test_last_used_is_recorded_at_most_once_a_minute(api: Api) -> None:
    assert _key(api, api.key_a).last_used_at is None  # made, never used
    writes: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        # The route's writes, not this test's own (_set, by prefix).
        if statement.startswith("UPDATE api_keys") and "api_keys.prefix" not in statement:
            writes.append(statement)

    sa.event.listen(_engine(api), "before_cursor_execute", count)
    before = utcnow()
    for _ in range(5):
        assert api.client.get("/v1/slides", headers=api.a()).status_code == 200
    first = _key(api, api.key_a).last_used_at
    assert first is not None and before <= first <= utcnow()
    assert len(writes) == 1  # five GETs, one write

    _set(api, api.key_a, last_used_at=utcnow() - timedelta(seconds=59))
    assert api.client.get("/v1/slides", headers=api.a()).status_code == 200
    assert len(writes) == 1  # 59 s old: left alone

    old = utcnow() - timedelta(seconds=61)
    _set(api, api.key_a, last_used_at=old)
    _a_second_later(api)  # the key's row is read again, at most once a second
    assert api.client.get("/v1/slides", headers=api.a()).status_code == 200
    assert len(writes) == 2
    latest = _key(api, api.key_a).last_used_at
    assert latest is not None and latest - old > timedelta(seconds=60)
    assert _key(api, api.key_b).last_used_at is None  # only the key that was used
    # A refused key is not recorded as used.
    _set(api, api.key_b, revoked_at=utcnow())
    assert api.client.get("/v1/slides", headers=api.b()).status_code == 401
    assert _key(api, api.key_b).last_used_at is None


def test_keys_list(api: Api, cli_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert tps_main(["keys", "create", "--lab", "lab-c", "--expires-days", "7"]) == 0
    token_c = capsys.readouterr().out.strip()
    _set(api, api.key_a, created_at=datetime(2024, 1, 2, 3, 4, 5),
         last_used_at=datetime(2024, 2, 3, 4, 5, 6), revoked_at=datetime(2024, 3, 4, 5, 6, 7))
    _set(api, api.key_b, created_at=datetime(2024, 1, 3, 0, 0, 0))
    _set(api, token_c, created_at=datetime(2024, 1, 4, 0, 0, 0),
         expires_at=datetime(2030, 1, 1, 12, 0, 0))

    assert tps_main(["keys", "list"]) == 0
    a, b, c = _prefix(api.key_a), _prefix(api.key_b), _prefix(token_c)
    listed = capsys.readouterr().out
    assert not any(t.split("_", 2)[2] in listed for t in (api.key_a, api.key_b, token_c))
    assert listed.splitlines() == [
        ("PREFIX        LAB    CREATED               LAST USED             EXPIRES"
         "               REVOKED"),
        (f"{a}  lab-a  2024-01-02 03:04 UTC  2024-02-03 04:05 UTC  never"
         "                 2024-03-04 05:06 UTC"),
        f"{b}  lab-b  2024-01-03 00:00 UTC  never                 never                 -",
        f"{c}  lab-c  2024-01-04 00:00 UTC  never                 2030-01-01 12:00 UTC  -",
    ]

    assert tps_main(["keys", "list", "--lab", "lab-b"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[1].startswith(f"{b}  lab-b")
    assert tps_main(["keys", "list", "--lab", "nobody"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "no keys for lab nobody"


def test_me(api: Api) -> None:
    response = api.client.get("/v1/me", headers=api.a())
    assert response.status_code == 200
    assert response.json() == {"lab": "lab-a", "key_prefix": _prefix(api.key_a),
                               "expires_at": None}
    assert api.client.get("/v1/me", headers=api.b()).json()["lab"] == "lab-b"
    missing = api.client.get("/v1/me")
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
