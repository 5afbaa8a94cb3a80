"""Retention: the one purge (jobs/retention.py) removes the slides uploaded before the cutoff with
their jobs, outputs and emptied batches, never a running job's slide, keeps the audit log, and
is the same from `tps purge`, the beat task and tps serve's timer. Deletion removes a slide
stored as a folder (a DICOM series) whole, once, for its own lab only."""
from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import cast

import httpx
import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from jobs import lease
from jobs.records import AuditEvent, Batch, Job, Lab, Slide, utcnow
from jobs.retention import purge_expired
from jobs.settings import StoreSettings
from tests.api_client import Api, tiny_slide_bytes
from tps.cli import main as tps_main
from worker.purge_task import PURGE_TASK, PurgeTimer
from worker.settings import WorkerSettings

NOW = datetime(2025, 3, 31, 12, 0)


def _engine(api: Api) -> Engine:
    engine: Engine = api.client.app.state.tps.engine  # type: ignore[attr-defined]
    return engine


def _slide(api: Api, tmp_path: Path, seed: int, age_days: float, key: str | None = None) -> str:
    response = cast(httpx.Response, api.upload(tiny_slide_bytes(tmp_path, seed), f"{seed}.tiff",
                                               key=key))
    assert response.status_code == 201, response.text
    slide_id: str = response.json()["id"]
    with Session(_engine(api)) as s:
        s.execute(update(Slide).where(Slide.id == slide_id)
                  .values(created_at=NOW - timedelta(days=age_days)))
        s.commit()
    return slide_id


def _folder_slide(api: Api, age_days: float) -> tuple[str, Path]:
    """A slide stored as a folder of files, as a DICOM series upload stores it."""
    with Session(_engine(api)) as s:
        lab = s.scalars(select(Lab).where(Lab.name == "lab-a")).one()
        slide = Slide(lab_id=lab.id, sha256="d" * 64, storage_name="series-1", label="series",
                      size_bytes=2, width=1, height=1, mpp=0.5, vendor="dicom",
                      created_at=NOW - timedelta(days=age_days))
        s.add(slide)
        s.commit()
        slide_id = slide.id
    folder = api.settings.slides_dir / "series-1"
    (folder / "nested").mkdir(parents=True)
    for name in ("a.dcm", "b.dcm", "nested/c.dcm"):
        (folder / name).write_bytes(b"x")
    return slide_id, folder


def _job(api: Api, slide_id: str, end: str | None) -> tuple[str, Path]:
    job_id = api.client.post("/v1/jobs", json={"slide_id": slide_id}, headers=api.a()).json()["id"]
    folder = api.settings.results_dir / job_id
    folder.mkdir(parents=True)
    assert lease.claim(_engine(api), job_id, "w", 60)
    if end == "succeeded":
        assert lease.succeed(_engine(api), job_id, "w", {"tps": 1.0}, str(folder))
    return job_id, folder


def _kept(api: Api, slide_ids: list[str]) -> list[str]:
    with Session(_engine(api)) as s:
        return list(s.scalars(select(Slide.id).where(Slide.id.in_(slide_ids))))


def _retention(api: Api, days: int | None) -> StoreSettings:
    return StoreSettings(data_dir=api.settings.data_dir, database_url=api.settings.database_url,
                         retention_days=days)


def test_the_purge_removes_what_is_due_and_keeps_the_rest(db_api: Api, tmp_path: Path) -> None:
    api = db_api
    old = _slide(api, tmp_path, 0, age_days=40)
    old_job, old_folder = _job(api, old, "succeeded")
    busy = _slide(api, tmp_path, 1, age_days=40)
    running, running_folder = _job(api, busy, None)
    young = _slide(api, tmp_path, 2, age_days=29)
    other_lab = _slide(api, tmp_path, 3, age_days=45, key=api.key_b)
    series, series_folder = _folder_slide(api, age_days=31)
    batch = api.client.post("/v1/batches", json={"job_ids": [old_job]}, headers=api.a()).json()
    with Session(_engine(api)) as s:
        s.execute(update(Batch).values(created_at=NOW - timedelta(days=40)))
        s.commit()
        audit_before = s.scalar(select(func.count()).select_from(AuditEvent))
    everything = [old, busy, young, other_lab, series]

    assert purge_expired(_retention(api, None), now=NOW).cutoff is None  # off: nothing
    assert purge_expired(_retention(api, 0), now=NOW).removed == []
    dry = purge_expired(_retention(api, 30), now=NOW, dry_run=True)
    assert [s.slide_id for s in dry.removed] == [other_lab, old, series]  # oldest first
    assert dry.kept == [(busy, f"job {running} is running; try again when it ends")]
    assert len(_kept(api, everything)) == 5
    assert old_folder.is_dir() and series_folder.is_dir()

    report = purge_expired(_retention(api, 30), now=NOW)
    assert [(s.slide_id, s.lab, s.job_ids) for s in report.removed] == [
        (other_lab, "lab-b", ()), (old, "lab-a", (old_job,)), (series, "lab-a", ())]
    assert report.batches == [batch["id"]]
    assert sorted(_kept(api, everything)) == sorted([busy, young])
    assert not old_folder.exists() and not series_folder.exists()
    assert running_folder.is_dir()
    with Session(_engine(api)) as s:
        assert s.get(Job, running) is not None and s.get(Job, old_job) is None
        purges = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "purge")))
        total = s.scalar(select(func.count()).select_from(AuditEvent))
    assert sorted((e.object_type, e.object_id, e.key_prefix) for e in purges) == sorted(
        [("slide", old, None), ("slide", other_lab, None), ("slide", series, None),
         ("batch", batch["id"], None)])
    assert total == (audit_before or 0) + 4  # the log only grew
    assert purge_expired(_retention(api, 30), now=NOW).removed == []  # again: nothing left


def test_tps_purge_prints_what_it_removed(api: Api, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TPS_DATA_DIR", str(api.settings.data_dir))
    monkeypatch.delenv("TPS_DATABASE_URL", raising=False)
    monkeypatch.delenv("TPS_RETENTION_DAYS", raising=False)
    assert tps_main(["purge"]) == 0
    assert "retention is off" in capsys.readouterr().out
    real_age = (NOW - utcnow()).days  # the command purges as of now, not NOW
    old = _slide(api, tmp_path, 0, age_days=40 + real_age)
    job_id, folder = _job(api, old, "succeeded")
    monkeypatch.setenv("TPS_RETENTION_DAYS", "30")

    assert tps_main(["purge", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"would remove slide {old} of lab lab-a" in out and f"  job {job_id}" in out
    assert "would remove 1 slide(s), 1 job(s), 0 batch(es)" in out and folder.is_dir()
    assert tps_main(["purge"]) == 0
    out = capsys.readouterr().out
    assert f"removed slide {old} of lab lab-a" in out and "removed 1 slide(s), 1 job(s)" in out
    assert not folder.exists() and _kept(api, [old]) == []


def test_the_beat_task_and_the_timer_run_the_same_purge(api: Api, tmp_path: Path) -> None:
    from worker.celery_app import make_celery

    first = _slide(api, tmp_path, 0, age_days=10_000)
    settings = WorkerSettings(data_dir=api.settings.data_dir, retention_days=30,
                              broker_url="redis://127.0.0.1:6379/15", purge_every_s=0.2)
    app = make_celery(settings)
    assert app.conf.beat_schedule["retention-purge"] == {"task": PURGE_TASK, "schedule": 0.2}
    done = app.tasks[PURGE_TASK].apply().get()  # in this process: no broker needed
    assert done == {"slides": 1, "kept": 0, "batches": 0} and _kept(api, [first]) == []

    second = _slide(api, tmp_path, 1, age_days=10_000)
    timer = PurgeTimer(settings)
    timer.start()
    try:
        deadline = time.monotonic() + 20
        while _kept(api, [second]) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        timer.stop()
    assert _kept(api, [second]) == []


def test_deleting_a_slide_stored_as_a_folder(api: Api) -> None:
    slide_id, folder = _folder_slide(api, age_days=0)
    url = f"/v1/slides/{slide_id}"
    assert api.client.delete(url, headers=api.b()).status_code == 404  # another lab's
    assert (folder / "nested" / "c.dcm").is_file()
    assert api.client.delete(url, headers=api.a()).status_code == 204
    assert not folder.exists() and api.settings.slides_dir.is_dir()
    assert api.client.delete(url, headers=api.a()).status_code == 404  # gone already
