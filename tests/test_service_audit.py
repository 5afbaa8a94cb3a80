"""The audit log: a lab's session (upload, job, downloads, view, deletes) is recorded in order,
newest first, page by page, seen by that lab alone; so are its DICOM downloads and its keys
made and revoked by `tps keys`; refused requests record nothing; no code updates or deletes an
audit row, and the database refuses it."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from jobs import lease
from jobs.records import AuditEvent
from tests.api_client import Api, tiny_slide_bytes
from tests.conftest import REPO_ROOT
from tests.dicom_out_jobs import result_of, scored
from tests.viewer_jobs import picture_job
from tps.cli import main as tps_main


def _engine(api: Api) -> Engine:
    engine: Engine = api.client.app.state.tps.engine  # type: ignore[attr-defined]
    return engine


def _upload(api: Api, tmp_path: Path, seed: int) -> str:
    response = cast(httpx.Response, api.upload(tiny_slide_bytes(tmp_path, seed), f"c{seed}.tiff"))
    assert response.status_code == 201, response.text
    slide_id: str = response.json()["id"]
    return slide_id


def _finished_job(api: Api, slide_id: str) -> str:
    response = api.client.post("/v1/jobs", json={"slide_id": slide_id}, headers=api.a())
    assert response.status_code == 202, response.text
    job_id: str = response.json()["id"]
    folder = api.settings.results_dir / job_id
    folder.mkdir(parents=True)
    (folder / "cells.geojson").write_text('{"type": "FeatureCollection", "features": []}')
    assert lease.claim(_engine(api), job_id, "w", 60)
    assert lease.succeed(_engine(api), job_id, "w", {"tps": 12.5}, str(folder))
    return job_id


def _log(api: Api, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = api.client.get("/v1/audit", headers=headers, params=params)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def _prefix(token: str) -> str:
    return token.split("_", 2)[1]


def _key_made(token: str) -> tuple[str, str, str]:
    """The event `tps keys create` (or tests/api_client.py, through the same function) wrote."""
    return ("key_create", "key", _prefix(token))


def _count(api: Api) -> int:
    with Session(_engine(api)) as s:
        return s.scalar(select(func.count()).select_from(AuditEvent)) or 0


def test_a_session_is_recorded_for_its_lab_only(db_api: Api, tmp_path: Path) -> None:
    api = db_api
    slide_id = _upload(api, tmp_path, 0)
    job_id = _finished_job(api, slide_id)
    batch = api.client.post("/v1/batches", json={"slide_ids": [slide_id]}, headers=api.a())
    batch_id, batch_job = batch.json()["id"], batch.json()["job_ids"][0]
    for url in (f"/v1/jobs/{job_id}/result", f"/v1/jobs/{job_id}/cells.geojson",
                f"/v1/batches/{batch_id}/report.csv", f"/v1/slides/{slide_id}/viewer.dzi"):
        assert api.client.get(url, headers=api.a()).status_code == 200, url
    for url in (f"/v1/jobs/{job_id}", f"/v1/batches/{batch_id}", f"/v1/slides/{slide_id}"):
        assert api.client.delete(url, headers=api.a()).status_code == 204, url

    events = _log(api, api.a())["events"]
    seen = [(e["action"], e["object_type"], e["object_id"]) for e in reversed(events)]
    assert seen == [
        _key_made(api.key_a), ("upload", "slide", slide_id), ("job_create", "job", job_id),
        ("job_create", "job", batch_job),
        ("download", "job", job_id), ("download", "job", job_id),
        ("download", "batch", batch_id), ("view", "slide", slide_id),
        ("delete", "job", job_id), ("delete", "batch", batch_id), ("delete", "slide", slide_id),
    ]
    # The key's own making was not a request: no acting key, no client address.
    assert {(e["key_prefix"], e["client"]) for e in events[:-1]} == {
        (_prefix(api.key_a), "testclient")}
    assert (events[-1]["key_prefix"], events[-1]["client"]) == (None, None)
    ids = [e["id"] for e in events]
    assert ids == sorted(ids, reverse=True)  # newest first
    times = [e["time"] for e in events]
    assert times == sorted(times, reverse=True)
    assert times[0].endswith("Z") or times[0].endswith("+00:00")  # UTC, said so
    lab_b = _log(api, api.b())
    assert [(e["action"], e["object_type"], e["object_id"]) for e in lab_b["events"]] == [
        _key_made(api.key_b)]


def test_pages_walk_the_log_once(api: Api, tmp_path: Path) -> None:
    # The key's making, then four uploads: five events, pages of two.
    objects = [_prefix(api.key_a)] + [_upload(api, tmp_path, seed) for seed in range(4)]
    pages, before = [], None
    while True:
        page = _log(api, api.a(), limit=2, **({"before": before} if before else {}))
        pages.append([e["object_id"] for e in page["events"]])
        before = page["next_before"]
        if before is None:
            break
    assert pages == [objects[4:2:-1], objects[2:0:-1], objects[:1]]
    assert _log(api, api.a(), limit=5)["next_before"] is not None  # a full page: maybe more
    assert _log(api, api.a(), limit=6)["next_before"] is None
    assert _log(api, api.a(), limit=5, before=1)["events"] == []
    for bad in ({"limit": 0}, {"limit": 1001}, {"before": 0}):
        assert api.client.get("/v1/audit", headers=api.a(), params=bad).status_code == 400
    assert api.client.get("/v1/audit").status_code == 401


def test_refused_requests_record_nothing(api: Api, tmp_path: Path) -> None:
    slide_id = _upload(api, tmp_path, 0)
    job_id = _finished_job(api, slide_id)
    before = _count(api)
    assert cast(httpx.Response, api.upload(b"%PDF-1.4 not a slide", "x.pdf")).status_code == 415
    assert api.client.delete(f"/v1/slides/{slide_id}", headers=api.b()).status_code == 404
    assert api.client.get(f"/v1/jobs/{job_id}/result", headers=api.b()).status_code == 404
    assert api.client.get(f"/v1/jobs/{job_id}/overlay.png", headers=api.a()).status_code == 404
    again = cast(httpx.Response, api.upload(tiny_slide_bytes(tmp_path, 0), "again.tiff"))
    assert again.status_code == 200  # bytes the lab has: nothing stored, nothing recorded
    running = api.client.post("/v1/jobs", json={"slide_id": slide_id}, headers=api.a())
    assert lease.claim(_engine(api), running.json()["id"], "w", 60)
    assert api.client.delete(f"/v1/slides/{slide_id}", headers=api.a()).status_code == 409
    assert _count(api) == before + 1  # the queued job's creation only


def test_the_database_refuses_to_rewrite_the_log(db_api: Api, tmp_path: Path) -> None:
    api = db_api
    _upload(api, tmp_path, 0)
    for statement in (update(AuditEvent).values(action="delete"), delete(AuditEvent)):
        with Session(_engine(api)) as s, pytest.raises(DBAPIError, match="append-only"):
            s.execute(statement)
            s.commit()
    assert [e["action"] for e in _log(api, api.a())["events"]] == ["upload", "key_create"]


def test_no_code_updates_or_deletes_audit_rows() -> None:
    """Every package's source: AuditEvent is only ever added and selected."""
    writes = re.compile(r"\b(update|delete)\(\s*AuditEvent\b|audit_events\b.*\b(UPDATE|DELETE)\b")
    found = [f"{path.relative_to(REPO_ROOT)}:{n}"
             for package in ("jobs", "service", "worker", "tps", "scoring")
             for path in sorted((REPO_ROOT / package).rglob("*.py"))
             if "migrations" not in path.parts
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if writes.search(line)]
    assert found == []


def test_dicom_downloads_are_recorded(api: Api, tmp_path: Path) -> None:
    job_id = picture_job(api, tmp_path)
    before = _count(api)
    for kind in ("sr", "ann"):  # refused (queued; another lab's): nothing recorded
        assert api.client.get(f"/v1/jobs/{job_id}/dicom/{kind}", headers=api.a()).status_code == 409
    scored(api, tmp_path, job_id, result_of())
    for kind in ("sr", "ann"):
        assert api.client.get(f"/v1/jobs/{job_id}/dicom/{kind}", headers=api.b()).status_code == 404
    assert _count(api) == before
    for kind in ("sr", "ann"):
        assert api.client.get(f"/v1/jobs/{job_id}/dicom/{kind}", headers=api.a()).status_code == 200
    latest = _log(api, api.a(), limit=2)["events"]
    assert [(e["action"], e["object_type"], e["object_id"], e["key_prefix"]) for e in latest] == [
        ("download", "job", job_id, _prefix(api.key_a))] * 2
    assert _count(api) == before + 2


@pytest.fixture
def cli_env(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """`tps keys ...` on the API's own database."""
    monkeypatch.setenv("TPS_DATA_DIR", str(api.settings.data_dir))
    monkeypatch.delenv("TPS_DATABASE_URL", raising=False)


def test_keys_made_and_revoked_are_recorded_for_their_lab(
        api: Api, cli_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert tps_main(["keys", "create", "--lab", "lab-a"]) == 0
    made = capsys.readouterr().out.strip()
    assert tps_main(["keys", "revoke", _prefix(made)]) == 0
    assert tps_main(["keys", "revoke", _prefix(made)]) == 0  # again: nothing changed, no event
    assert tps_main(["keys", "revoke", "0123456789ab"]) == 1  # no such key: no event
    assert tps_main(["keys", "create", "--lab", "lab-new"]) == 0
    new_lab_key = capsys.readouterr().out.splitlines()[-1]

    events = _log(api, api.a())["events"]
    assert [(e["action"], e["object_type"], e["object_id"], e["key_prefix"], e["client"])
            for e in events] == [
        ("key_revoke", "key", _prefix(made), None, None),
        ("key_create", "key", _prefix(made), None, None),
        (*_key_made(api.key_a), None, None)]
    assert [e["object_id"] for e in _log(api, {"X-API-Key": new_lab_key})["events"]] == [
        _prefix(new_lab_key)]  # a new lab's log starts with its first key
    assert all(e["object_id"] != _prefix(made) for e in _log(api, api.b())["events"])
