from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from service import jobstate
from service.db import Job, Lab, Slide, init_db, make_engine, utcnow
from tests.service_fixtures import pg_schema_url  # noqa: F401


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_schema_url")
    made = make_engine(url)
    init_db(made)
    yield made
    made.dispose()


def _job(engine: Engine, max_attempts: int = 3) -> str:
    with Session(engine) as s:
        lab = Lab(name="lab")
        s.add(lab)
        s.flush()
        slide = Slide(lab_id=lab.id, sha256="0" * 64, storage_name="x.tiff", label="x",
                      size_bytes=1, width=1, height=1, mpp=0.5, vendor="generic-tiff")
        s.add(slide)
        s.flush()
        job = Job(lab_id=lab.id, slide_id=slide.id, params={}, max_attempts=max_attempts)
        s.add(job)
        s.commit()
        return job.id


def _get(engine: Engine, job_id: str) -> Job:
    with Session(engine) as s:
        job = s.get(Job, job_id)
        assert job is not None
        return job


def test_two_claims_at_once_one_wins(engine: Engine) -> None:
    job_id = _job(engine)
    wins: list[str] = []
    barrier = threading.Barrier(8)

    def race(owner: str) -> None:
        barrier.wait()
        if jobstate.claim(engine, job_id, owner, 60):
            wins.append(owner)

    threads = [threading.Thread(target=race, args=(f"w{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    job = _get(engine, job_id)
    assert (job.state, job.lease_owner, job.attempts) == ("running", wins[0], 1)


def test_only_the_owner_writes_and_a_live_lease_blocks(engine: Engine) -> None:
    job_id = _job(engine)
    assert jobstate.claim(engine, job_id, "a", 60)
    assert not jobstate.claim(engine, job_id, "b", 60)  # lease still live
    assert not jobstate.heartbeat(engine, job_id, "b", 60)
    assert not jobstate.succeed(engine, job_id, "b", {"tps": 1.0}, "/x")
    assert jobstate.set_progress(engine, job_id, "a", 3, 10)
    assert jobstate.heartbeat(engine, job_id, "a", 60)
    assert jobstate.succeed(engine, job_id, "a", {"tps": 12.5}, "/results/j")
    job = _get(engine, job_id)
    assert (job.state, job.result, job.progress_done, job.progress_total) == (
        "succeeded", {"tps": 12.5}, 3, 10)
    assert job.lease_owner is None and job.finished_at is not None
    assert not jobstate.claim(engine, job_id, "c", 60)  # finished jobs stay finished
    assert jobstate.due_jobs(engine) == []


def test_expired_lease_is_reclaimed_and_the_old_owner_is_shut_out(engine: Engine) -> None:
    job_id = _job(engine)
    assert jobstate.claim(engine, job_id, "a", -1)  # a lease that is already over
    assert jobstate.due_jobs(engine) == [job_id]
    assert jobstate.claim(engine, job_id, "b", 60)
    assert not jobstate.heartbeat(engine, job_id, "a", 60)
    assert not jobstate.fail(engine, job_id, "a", "late")
    job = _get(engine, job_id)
    assert (job.lease_owner, job.attempts, job.state) == ("b", 2, "running")


def test_attempt_cap_marks_the_job_failed(engine: Engine) -> None:
    job_id = _job(engine, max_attempts=2)
    assert jobstate.claim(engine, job_id, "a", -1)
    assert jobstate.claim(engine, job_id, "b", -1)
    assert not jobstate.claim(engine, job_id, "c", 60)
    job = _get(engine, job_id)
    assert job.state == "failed" and job.attempts == 2
    assert job.error is not None and job.error.startswith("gave up after 2 attempts")
    assert jobstate.due_jobs(engine) == []


def test_requeue_refunds_the_attempt_only_when_asked(engine: Engine) -> None:
    job_id = _job(engine)
    assert jobstate.claim(engine, job_id, "a", 60)
    assert jobstate.requeue(engine, job_id, "a", refund_attempt=True)
    assert (_get(engine, job_id).state, _get(engine, job_id).attempts) == ("queued", 0)
    assert jobstate.claim(engine, job_id, "b", 60)
    assert jobstate.requeue(engine, job_id, "b", refund_attempt=False)
    assert _get(engine, job_id).attempts == 1
    assert jobstate.due_jobs(engine) == [job_id]


def test_fail_keeps_the_reason(engine: Engine) -> None:
    job_id = _job(engine)
    assert jobstate.claim(engine, job_id, "a", 60)
    assert jobstate.fail(engine, job_id, "a", "the slide states no microns per pixel")
    job = _get(engine, job_id)
    assert (job.state, job.error) == ("failed", "the slide states no microns per pixel")


def test_due_jobs_respects_the_given_moment(engine: Engine) -> None:
    job_id = _job(engine)
    assert jobstate.claim(engine, job_id, "a", 60)
    assert jobstate.due_jobs(engine, utcnow()) == []
    assert jobstate.due_jobs(engine, utcnow() + timedelta(seconds=120)) == [job_id]
