"""`tps keys create|list|revoke` and `tps db upgrade|init|current|revision`."""
from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy import Engine


def _store(migrate: bool = True) -> tuple[Engine, str | None]:
    """The job database, migrated to head unless `migrate` is False, and the revision it was
    at before (None: empty, or not migrated here)."""
    from jobs.database import make_engine
    from jobs.schema import upgrade
    from jobs.settings import StoreSettings

    settings = StoreSettings()
    if migrate:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.db_url)
    return engine, upgrade(engine) if migrate else None


def _create_key(args: argparse.Namespace) -> int:
    from sqlalchemy.orm import Session

    from service.keys import create_key

    engine, _before = _store()
    with Session(engine) as session:
        token = create_key(session, args.lab, args.expires_days)
    print(token)  # shown once: only its hash is stored
    return 0


def _when(moment: datetime | None, none: str = "-") -> str:
    return none if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


def _list_keys(args: argparse.Namespace) -> int:
    from sqlalchemy.orm import Session

    from service.keys import list_keys

    engine, _before = _store()
    with Session(engine) as session:
        keys = list_keys(session, args.lab)
    rows = [("PREFIX", "LAB", "CREATED", "LAST USED", "EXPIRES", "REVOKED")]
    rows += [(k.prefix, k.lab, _when(k.created_at), _when(k.last_used_at, "never"),
              _when(k.expires_at, "never"), _when(k.revoked_at)) for k in keys]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    if not keys:
        print("no keys" + (f" for lab {args.lab}" if args.lab else ""))
    return 0


def _revoke_key(args: argparse.Namespace) -> int:
    from sqlalchemy.orm import Session

    from service.keys import revoke_key

    engine, _before = _store()
    with Session(engine) as session:
        done = revoke_key(session, args.prefix)
    if done is None:
        print(f"no key with prefix {args.prefix}; `tps keys list` shows them")
        return 1
    key, revoked = done
    if revoked:
        print(f"revoked key {key.prefix} of lab {key.lab}: refused within a second")
    else:
        print(f"key {key.prefix} of lab {key.lab} was already revoked at "
              f"{_when(key.revoked_at)}; nothing changed")
    return 0


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be a whole number of days, at least 1")
    return value


def _db_upgrade(_args: argparse.Namespace) -> int:
    from jobs.schema import head_revision

    engine, before = _store()
    head = head_revision()
    done = "already at head" if before == head else f"upgraded from {before or 'empty'}"
    print(f"database at {head} (head), {done}: {engine.url.render_as_string()}")
    return 0


def _db_current(_args: argparse.Namespace) -> int:
    from pathlib import Path

    from jobs.schema import current_revision, head_revision

    engine, _before = _store(migrate=False)
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and not Path(database).exists():
        current = None  # not made yet (connecting would make the file)
    else:
        current = current_revision(engine)
    head = head_revision()
    state = "head" if current == head else f"head is {head}; run `tps db upgrade`"
    print(f"{current or 'none'} ({state})")
    return 0


def _db_revision(args: argparse.Namespace) -> int:
    from jobs.schema import new_revision

    print(f"wrote {new_revision(args.message)}; read it, then commit it with the model change")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    keys = sub.add_parser("keys", help="API keys of labs").add_subparsers(dest="keys_cmd",
                                                                           required=True)
    create = keys.add_parser("create", help="create a key for a lab (the lab is created if new)")
    create.add_argument("--lab", required=True, help="lab name")
    create.add_argument("--expires-days", type=_positive_int, default=None, metavar="N",
                        help="refuse the key from N days on (default: never expires)")
    create.set_defaults(handler=_create_key)
    listing = keys.add_parser("list", help="the keys (prefix, lab, created, last used, expires, "
                              "revoked); never their secrets")
    listing.add_argument("--lab", default=None, help="only this lab's keys")
    listing.set_defaults(handler=_list_keys)
    revoke = keys.add_parser("revoke", help="refuse a key: the API turns it away within a "
                             "second (running it again changes nothing)")
    revoke.add_argument("prefix", metavar="PREFIX", help="the key's prefix, as `tps keys list` "
                        "shows it")
    revoke.set_defaults(handler=_revoke_key)
    db = sub.add_parser("db", help="the job database").add_subparsers(dest="db_cmd", required=True)
    db.add_parser("upgrade", help="migrate the schema to the newest revision (`tps serve` does "
                  "this on start)").set_defaults(handler=_db_upgrade)
    db.add_parser("init", help="the same as upgrade").set_defaults(handler=_db_upgrade)
    db.add_parser("current", help="print the schema revision").set_defaults(handler=_db_current)
    revision = db.add_parser("revision", help="(development) write the migration for a change "
                             "to jobs/records.py, autogenerated")
    revision.add_argument("-m", "--message", required=True, help="what the change does")
    revision.set_defaults(handler=_db_revision)
