from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from jobs.database import init_db, make_engine
from jobs.records import ApiKey, Lab
from service.keys import create_key, lab_for_key


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
