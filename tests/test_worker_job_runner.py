from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy.orm import Session

from jobs import lease
from jobs.database import engine_for, init_db
from jobs.records import Job, Slide
from scoring.errors import SlideError
from tests.job_seed import seed_job
from worker import job_runner
from worker.embedded import EmbeddedRunner
from worker.settings import WorkerSettings


@pytest.fixture
def settings(tmp_path: Path) -> WorkerSettings:
    made = WorkerSettings(data_dir=tmp_path / "data", lease_seconds=0.3)
    made.data_dir.mkdir()
    init_db(engine_for(made.db_url))
    return made


def _job(settings: WorkerSettings, params: dict[str, Any] | None = None) -> str:
    return seed_job(engine_for(settings.db_url), params or {"assay": "SP263"})


def _get(settings: WorkerSettings, job_id: str) -> Job:
    with Session(engine_for(settings.db_url)) as s:
        job = s.get(Job, job_id)
        assert job is not None
        return job


def test_success_records_result_progress_and_params(settings: WorkerSettings,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def fake(slide_path: Path, out_dir: Path, params: Any, progress: Any,
             stored: Any = None) -> dict[str, Any]:
        seen.update(path=slide_path, out=out_dir, params=params, stored=stored)
        time.sleep(0.5)  # longer than the lease: only the heartbeat keeps it
        progress(7, 7)
        return {"tps": 10.0}

    monkeypatch.setattr(job_runner, "score_slide", fake)
    job_id = _job(settings, {"assay": "SP263", "cutoffs": [5, 25], "threshold": 0.4})
    job_runner.run_job(job_id, settings)
    job = _get(settings, job_id)
    assert (job.state, job.result, job.progress_done, job.attempts) == (
        "succeeded", {"tps": 10.0}, 7, 1)
    assert seen["path"] == settings.slides_dir / "s.tiff"
    assert seen["out"] == settings.results_dir / job_id == Path(job.result_dir or "")
    assert (seen["params"].assay, seen["params"].cutoffs, seen["params"].threshold) == (
        "SP263", (5.0, 25.0), 0.4)
    # the upload's facts travel with the job: no second hash, no second mpp rule
    assert (seen["stored"].sha256, seen["stored"].mpp, seen["params"].mpp) == ("1" * 64, 0.5, None)


def test_tps_error_fails_for_good(settings: WorkerSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: Any, **_kw: Any) -> dict[str, Any]:
        raise SlideError("the slide is truncated")

    monkeypatch.setattr(job_runner, "score_slide", broken)
    job_id = _job(settings)
    job_runner.run_job(job_id, settings)
    job = _get(settings, job_id)
    assert (job.state, job.error, job.attempts) == ("failed", "s: the slide is truncated", 1)


def test_unexpected_error_requeues_counting_the_attempt(
        settings: WorkerSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    def flaky(*_args: Any, **_kw: Any) -> dict[str, Any]:
        raise MemoryError("out of memory")

    monkeypatch.setattr(job_runner, "score_slide", flaky)
    job_id = _job(settings)
    for attempt in (1, 2, 3):
        with pytest.raises(MemoryError):
            job_runner.run_job(job_id, settings)
        assert (_get(settings, job_id).state, _get(settings, job_id).attempts) == (
            "queued", attempt)
    job_runner.run_job(job_id, settings)  # the cap: no fourth attempt
    job = _get(settings, job_id)
    assert job.state == "failed" and (job.error or "").startswith("gave up after 3 attempts")


def test_lost_lease_stops_without_writing(settings: WorkerSettings,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    job_id = _job(settings)
    engine = engine_for(settings.db_url)

    def stolen(_p: Path, _o: Path, _params: Any, progress: Any,
               stored: Any = None) -> dict[str, Any]:
        with Session(engine) as s:  # another worker takes over
            s.get(Job, job_id).lease_owner = "thief"  # type: ignore[union-attr]
            s.commit()
        time.sleep(0.3)  # one heartbeat notices
        progress(1, 2)
        return {"tps": 99.0}

    monkeypatch.setattr(job_runner, "score_slide", stolen)
    job_runner.run_job(job_id, settings)
    job = _get(settings, job_id)
    assert (job.state, job.lease_owner, job.result) == ("running", "thief", None)


def test_embedded_runner_picks_up_due_jobs_on_start_and_hands_back_on_stop(
        settings: WorkerSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[str] = []

    def slow(_p: Path, _o: Path, _params: Any, progress: Any,
             stored: Any = None) -> dict[str, Any]:
        started.append("x")
        for done in range(1000):
            progress(done, 1000)
            time.sleep(0.01)
        return {}

    monkeypatch.setattr(job_runner, "score_slide", slow)
    job_id = _job(settings)  # queued before the runner exists, as after a restart
    runner = EmbeddedRunner(settings)
    runner.start()
    deadline = time.monotonic() + 10
    while not started and time.monotonic() < deadline:
        time.sleep(0.05)
    runner.stop()
    job = _get(settings, job_id)
    assert started and (job.state, job.attempts, job.lease_owner) == ("queued", 0, None)
    assert lease.due_jobs(engine_for(settings.db_url)) == [job_id]


def test_a_job_uses_the_uploads_facts_and_opens_the_slide_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The slide states no mpp; the job scores it at the stored 0.5 um/px without hashing the
    file, and opens it once (the crash guard's child open is the Celery task's, not this)."""
    import openslide

    from scoring import slide_reader
    from tests.marker_model import build_marker_model
    from tests.worker_slide_fixture import markers_image, write_pyramid_tiff

    settings = WorkerSettings(data_dir=tmp_path / "data",
                              model_path=build_marker_model(tmp_path / "m.onnx"))
    settings.slides_dir.mkdir(parents=True)
    init_db(engine_for(settings.db_url))
    image, truth = markers_image(600, 500, seed=5, tissue_box=(40, 40, 560, 460))
    write_pyramid_tiff(settings.slides_dir / "s.tiff", image, mpp=None)
    job_id = seed_job(engine_for(settings.db_url), {}, mpp=0.5)

    def no_hash(_path: Path) -> str:
        raise AssertionError("the worker hashed the slide again")

    opened: list[str] = []

    class CountingSlide(openslide.OpenSlide):
        def __init__(self, filename: str) -> None:
            opened.append(filename)
            super().__init__(filename)

    monkeypatch.setattr(slide_reader, "file_sha256", no_hash)
    monkeypatch.setattr(openslide, "OpenSlide", CountingSlide)
    job_runner.run_job(job_id, settings)
    job = _get(settings, job_id)
    assert job.state == "succeeded", job.error
    assert job.result is not None
    assert job.result["slide"]["mpp"] == 0.5 and job.result["slide"]["sha256"] == "1" * 64
    assert job.result["tumor_cells"] == sum(c in (0, 1) for *_, c in truth)
    assert len(opened) == 1


def test_a_slide_without_mpp_fails_naming_both_ways_to_give_it(settings: WorkerSettings) -> None:
    job_id = seed_job(engine_for(settings.db_url), {}, mpp=None)
    (settings.slides_dir).mkdir(parents=True, exist_ok=True)
    from tests.worker_slide_fixture import markers_image, write_pyramid_tiff

    write_pyramid_tiff(settings.slides_dir / "s.tiff", markers_image(300, 300, seed=1, tissue_box=(20, 20, 280, 280))[0], None)
    job_runner.run_job(job_id, settings)
    job = _get(settings, job_id)
    assert job.state == "failed"
    assert job.error is not None and '"mpp" in the job request' in job.error
    assert "--mpp" in job.error


def _label_slide(settings: WorkerSettings, job_id: str, label: str) -> None:
    with Session(engine_for(settings.db_url)) as s:
        job = s.get(Job, job_id)
        assert job is not None
        slide = s.get(Slide, job.slide_id)
        assert slide is not None
        slide.label = label
        s.commit()


def test_a_failed_job_names_the_label_not_the_storage_file(
        settings: WorkerSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    storage = "0f3a9c1e5b7d4e2a8c6b1d3f5a7e9c0b.tiff"
    job_id = seed_job(engine_for(settings.db_url), {}, storage_name=storage)
    _label_slide(settings, job_id, "Präparat 7.svs")

    def corrupt(slide_path: Path, *_args: Any, **_kw: Any) -> dict[str, Any]:
        # as scoring.slide_reader words it, and with the full path as a decoder may give it
        raise SlideError(f"{slide_path.name}: corrupt or truncated generic-tiff slide "
                         f"(TIFFReadTile failed in {slide_path})")

    monkeypatch.setattr(job_runner, "score_slide", corrupt)
    job_runner.run_job(job_id, settings)
    job = _get(settings, job_id)
    assert job.state == "failed"
    assert job.error == ("Präparat 7.svs: corrupt or truncated generic-tiff slide "
                         "(TIFFReadTile failed in Präparat 7.svs)")
    assert "0f3a9c1e" not in job.error and str(settings.slides_dir) not in job.error


def test_the_crash_guards_reason_names_the_label_not_the_storage_file(
        settings: WorkerSettings) -> None:
    """The Celery task's guard finds the slide file missing (no child process is started for
    that) and fails the job with the guard's reason, told in the lab's words."""
    from worker import tasks

    job_id = seed_job(engine_for(settings.db_url), {}, storage_name="9d8c7b6a.svs")
    _label_slide(settings, job_id, "Ñandú 1.svs")
    task = SimpleNamespace(app=SimpleNamespace(conf=SimpleNamespace(tps_settings=settings)))
    tasks.score_job(task, job_id)  # type: ignore[arg-type]
    job = _get(settings, job_id)
    assert (job.state, job.error) == (
        "failed", "Ñandú 1.svs: the slide file is missing from storage")
    assert tasks._pending_slide(settings, job_id) is None  # finished: a duplicate message is a no-op
