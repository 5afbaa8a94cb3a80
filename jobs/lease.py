"""Job state transitions, each one conditional UPDATE, so that racing workers cannot both win.

A worker owns a running job while it holds the lease (`lease_owner`, `lease_expires_at`). Every
write after the claim checks the owner, so a worker whose lease was taken over cannot overwrite
the new owner's work. Only sqlalchemy here: both the API and the worker import this module.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, or_, select, update

from jobs.records import Job, utcnow


def _running_by(owner: str) -> Any:
    return and_(Job.state == "running", Job.lease_owner == owner)


def _claimable(now: datetime) -> Any:
    expired = and_(Job.state == "running", Job.lease_expires_at < now)
    return or_(Job.state == "queued", expired)


def claim(engine: Engine, job_id: str, owner: str, lease_s: float) -> bool:
    """Take the job if it is queued, or running on an expired lease, and has attempts left.

    A job that is claimable but has used up its attempts is marked failed instead; returns
    whether `owner` now holds the lease.
    """
    now = utcnow()
    with engine.begin() as conn:
        taken = conn.execute(
            update(Job)
            .where(Job.id == job_id, _claimable(now), Job.attempts < Job.max_attempts)
            .values(
                state="running", lease_owner=owner, lease_expires_at=now + timedelta(seconds=lease_s),
                heartbeat_at=now, started_at=now, attempts=Job.attempts + 1, error=None,
            )
        ).rowcount
        if taken == 1:
            return True
        attempts = conn.execute(
            select(Job.attempts).where(Job.id == job_id, _claimable(now))
        ).scalar_one_or_none()
        if attempts is not None:
            conn.execute(
                update(Job)
                .where(Job.id == job_id, _claimable(now), Job.attempts >= Job.max_attempts)
                .values(
                    state="failed", lease_owner=None, lease_expires_at=None, finished_at=now,
                    error=f"gave up after {attempts} attempts; the worker stopped each time "
                    "before finishing (crash, out of memory or time limit)",
                )
            )
    return False


def heartbeat(engine: Engine, job_id: str, owner: str, lease_s: float) -> bool:
    """Extend the lease; False means the lease was lost and the worker should stop."""
    now = utcnow()
    with engine.begin() as conn:
        return conn.execute(
            update(Job)
            .where(Job.id == job_id, _running_by(owner))
            .values(heartbeat_at=now, lease_expires_at=now + timedelta(seconds=lease_s))
        ).rowcount == 1


def set_progress(engine: Engine, job_id: str, owner: str, done: int, total: int) -> bool:
    with engine.begin() as conn:
        return conn.execute(
            update(Job)
            .where(Job.id == job_id, _running_by(owner))
            .values(progress_done=done, progress_total=total)
        ).rowcount == 1


def succeed(
    engine: Engine, job_id: str, owner: str, result: dict[str, Any], result_dir: str
) -> bool:
    with engine.begin() as conn:
        return conn.execute(
            update(Job)
            .where(Job.id == job_id, _running_by(owner))
            .values(
                state="succeeded", result=result, result_dir=result_dir, finished_at=utcnow(),
                lease_owner=None, lease_expires_at=None, error=None,
            )
        ).rowcount == 1


def fail(engine: Engine, job_id: str, owner: str, reason: str) -> bool:
    """A permanent failure: the reason is shown to the lab as it is."""
    with engine.begin() as conn:
        return conn.execute(
            update(Job)
            .where(Job.id == job_id, _running_by(owner))
            .values(
                state="failed", error=reason, finished_at=utcnow(),
                lease_owner=None, lease_expires_at=None,
            )
        ).rowcount == 1


def requeue(engine: Engine, job_id: str, owner: str, refund_attempt: bool = True) -> bool:
    """Give the job back to the queue, e.g. on a soft shutdown.

    With `refund_attempt` the interrupted attempt does not count against `max_attempts`, since
    the job did nothing wrong; without it (a transient error) it does.
    """
    attempts = Job.attempts - 1 if refund_attempt else Job.attempts
    with engine.begin() as conn:
        return conn.execute(
            update(Job)
            .where(Job.id == job_id, _running_by(owner))
            .values(
                state="queued", attempts=attempts, queued_at=utcnow(),
                lease_owner=None, lease_expires_at=None,
            )
        ).rowcount == 1


def due_jobs(engine: Engine, now: datetime | None = None) -> list[str]:
    """Ids of queued jobs and of running jobs whose lease has expired, oldest first."""
    moment = now if now is not None else utcnow()
    with engine.connect() as conn:
        rows = conn.execute(
            select(Job.id).where(_claimable(moment)).order_by(Job.queued_at)
        ).scalars()
        return list(rows)
