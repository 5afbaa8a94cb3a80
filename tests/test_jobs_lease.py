from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from jobs import lease
from jobs.database import init_db, make_engine
from jobs.records import Job, utcnow
from tests.job_seed import seed_job


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
    return seed_job(engine, max_attempts=max_attempts)


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
        if lease.claim(engine, job_id, owner, 60):
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
    assert lease.claim(engine, job_id, "a", 60)
    assert not lease.claim(engine, job_id, "b", 60)  # lease still live
    assert not lease.heartbeat(engine, job_id, "b", 60)
    assert not lease.succeed(engine, job_id, "b", {"tps": 1.0}, "/x")
    assert lease.set_progress(engine, job_id, "a", 3, 10)
    assert lease.heartbeat(engine, job_id, "a", 60)
    assert lease.succeed(engine, job_id, "a", {"tps": 12.5}, "/results/j")
    job = _get(engine, job_id)
    assert (job.state, job.result, job.progress_done, job.progress_total) == (
        "succeeded", {"tps": 12.5}, 3, 10)
    assert job.lease_owner is None and job.finished_at is not None
    assert not lease.claim(engine, job_id, "c", 60)  # finished jobs stay finished
    assert lease.due_jobs(engine) == []


def test_expired_lease_is_reclaimed_and_the_old_owner_is_shut_out(engine: Engine) -> None:
    job_id = _job(engine)
    assert lease.claim(engine, job_id, "a", -1)  # a lease that is already over
    assert lease.due_jobs(engine) == [job_id]
    assert lease.claim(engine, job_id, "b", 60)
    assert not lease.heartbeat(engine, job_id, "a", 60)
    assert not lease.fail(engine, job_id, "a", "late")
    job = _get(engine, job_id)
    assert (job.lease_owner, job.attempts, job.state) == ("b", 2, "running")


def test_attempt_cap_marks_the_job_failed(engine: Engine) -> None:
    job_id = _job(engine, max_attempts=2)
    assert lease.claim(engine, job_id, "a", -1)
    assert lease.claim(engine, job_id, "b", -1)
    assert not lease.claim(engine, job_id, "c", 60)
    job = _get(engine, job_id)
    assert job.state == "failed" and job.attempts == 2
    assert job.error is not None and job.error.startswith("gave up after 2 attempts")
    assert lease.due_jobs(engine) == []


def test_requeue_refunds_the_attempt_only_when_asked(engine: Engine) -> None:
    job_id = _job(engine)
    assert lease.claim(engine, job_id, "a", 60)
    assert lease.requeue(engine, job_id, "a", refund_attempt=True)
    assert (_get(engine, job_id).state, _get(engine, job_id).attempts) == ("queued", 0)
    assert lease.claim(engine, job_id, "b", 60)
    assert lease.requeue(engine, job_id, "b", refund_attempt=False)
    assert _get(engine, job_id).attempts == 1
    assert lease.due_jobs(engine) == [job_id]


def test_fail_keeps_the_reason(engine: Engine) -> None:
    job_id = _job(engine)
    assert lease.claim(engine, job_id, "a", 60)
    assert lease.fail(engine, job_id, "a", "the slide states no microns per pixel")
    job = _get(engine, job_id)
    assert (job.state, job.error) == ("failed", "the slide states no microns per pixel")


def test_due_jobs_respects_the_given_moment(engine: Engine) -> None:
    job_id = _job(engine)
    assert lease.claim(engine, job_id, "a", 60)
    assert lease.due_jobs(engine, utcnow()) == []
    assert lease.due_jobs(engine, utcnow() + timedelta(seconds=120)) == [job_id]
