"""`tps keys create --lab NAME` and `tps db init`."""
from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from jobs.settings import StoreSettings


def _settings_engine() -> tuple[StoreSettings, Engine]:
    from jobs.database import init_db, make_engine
    from jobs.settings import StoreSettings

    settings = StoreSettings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.db_url)
    init_db(engine)
    return settings, engine


def _create_key(args: argparse.Namespace) -> int:
    from sqlalchemy.orm import Session

    from service.keys import create_key

    _settings, engine = _settings_engine()
    with Session(engine) as session:
        token = create_key(session, args.lab)
    print(token)  # shown once: only its hash is stored
    return 0


def _db_init(_args: argparse.Namespace) -> int:
    settings, _engine = _settings_engine()
    print(f"database ready: {settings.db_url}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    keys = sub.add_parser("keys", help="API keys of labs").add_subparsers(dest="keys_cmd",
                                                                           required=True)
    create = keys.add_parser("create", help="create a key for a lab (the lab is created if new)")
    create.add_argument("--lab", required=True, help="lab name")
    create.set_defaults(handler=_create_key)
    db = sub.add_parser("db", help="the job database").add_subparsers(dest="db_cmd", required=True)
    db.add_parser("init", help="create the tables").set_defaults(handler=_db_init)
