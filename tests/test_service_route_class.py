"""A sync route gives its pooled connection back in the thread that took it, not later on the
event loop, so a starved loop cannot pile up connections that finished routes still hold."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from sqlalchemy import event

from tests.api_client import Api, tiny_slide_bytes


def test_every_connection_is_returned_by_the_thread_that_took_it(api: Api,
                                                                 tmp_path: Path) -> None:
    slide_id = api.upload(tiny_slide_bytes(tmp_path)).json()["id"]  # type: ignore[attr-defined]
    engine = api.client.app.state.tps.engine  # type: ignore[attr-defined]
    taken: dict[int, int] = {}
    mismatched: list[tuple[int, int]] = []

    def on_checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        taken[id(record)] = threading.get_ident()

    def on_checkin(dbapi_connection: Any, record: Any) -> None:
        thread = taken.pop(id(record), threading.get_ident())
        if thread != threading.get_ident():
            mismatched.append((thread, threading.get_ident()))

    event.listen(engine, "checkout", on_checkout)
    event.listen(engine, "checkin", on_checkin)
    try:
        job = api.client.post("/v1/jobs", json={"slide_id": slide_id}, headers=api.a()).json()
        for _ in range(3):
            assert api.client.get(f"/v1/jobs/{job['id']}", headers=api.a()).status_code == 200
        assert api.client.get("/v1/jobs", headers=api.a()).status_code == 200
        assert api.client.get(f"/v1/slides/{slide_id}", headers=api.a()).status_code == 200
    finally:
        event.remove(engine, "checkout", on_checkout)
        event.remove(engine, "checkin", on_checkin)
    assert taken == {} and mismatched == []
