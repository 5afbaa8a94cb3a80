"""Run one job from the database: claim it under a lease, score it, record the outcome.

Both the embedded runner and the Celery task call `run_job`; the queue message is only a hint,
the lease in the database decides who scores a job.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from jobs import lease
from jobs.database import engine_for
from jobs.records import Job, Slide
from scoring.errors import TpsError
from scoring.pipeline import ScoreParams, score_slide
from scoring.slide_info import StoredSlide
from scoring.tps import DEFAULT_ASSAY
from worker.job_errors import job_error
from worker.settings import WorkerSettings

log = logging.getLogger(__name__)
PROGRESS_EVERY_S = 0.5  # progress writes are throttled: one row update per tile is too many


class LeaseLost(Exception):
    """Another worker took the job over (our lease expired); stop without writing anything."""


class Interrupted(Exception):
    """The process is shutting down; the job goes back to the queue."""


class _Heartbeat(threading.Thread):
    def __init__(self, engine: Engine, job_id: str, owner: str, lease_s: float) -> None:
        super().__init__(name=f"heartbeat-{job_id}", daemon=True)
        self._args = (engine, job_id, owner, lease_s)
        self.stopped = threading.Event()
        self.lost = threading.Event()

    def run(self) -> None:
        lease_s = self._args[3]
        while not self.stopped.wait(lease_s / 3):
            if not lease.heartbeat(*self._args):
                self.lost.set()
                return


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _params(job: Job, settings: WorkerSettings) -> ScoreParams:
    cutoffs = job.params.get("cutoffs")
    return ScoreParams(model_path=settings.model_path, threshold=job.params.get("threshold"),
                       mpp=job.params.get("mpp"), assay=job.params.get("assay", DEFAULT_ASSAY),
                       cutoffs=tuple(cutoffs) if cutoffs else None)


def run_job(job_id: str, settings: WorkerSettings,
            should_stop: Callable[[], bool] | None = None) -> None:
    """Score `job_id` if it can be claimed. TpsError (and bad parameters) fail the job for good;
    any other error puts it back in the queue, counting the attempt, and is re-raised. Once
    `should_stop()` is true the job goes back uncounted, whatever ended it, as Interrupted."""
    stopping = should_stop or (lambda: False)
    if stopping():
        raise Interrupted(job_id)  # never claimed: nothing to hand back
    engine = engine_for(settings.db_url)
    owner = _owner()
    if not lease.claim(engine, job_id, owner, settings.lease_seconds):
        log.info("job %s not claimable (taken, finished or out of attempts)", job_id)
        return
    with Session(engine) as session:
        job = session.get(Job, job_id)
        slide = session.get(Slide, job.slide_id) if job is not None else None
    if job is None or slide is None:
        lease.fail(engine, job_id, owner, "the job or its slide is gone from the database")
        return
    result_dir = settings.results_dir / job_id
    beat = _Heartbeat(engine, job_id, owner, settings.lease_seconds)
    beat.start()
    last_write = [0.0]

    def progress(done: int, total: int) -> None:
        if beat.lost.is_set():
            raise LeaseLost(job_id)
        if stopping():
            raise Interrupted(job_id)
        now = time.monotonic()
        if done >= total or now - last_write[0] >= PROGRESS_EVERY_S:
            last_write[0] = now
            lease.set_progress(engine, job_id, owner, done, total)

    slide_path = settings.slides_dir / slide.storage_name
    try:
        result_dir.mkdir(parents=True, exist_ok=True)
        result = score_slide(slide_path, result_dir, _params(job, settings), progress=progress,
                             stored=StoredSlide(sha256=slide.sha256, mpp=slide.mpp))
        lease.succeed(engine, job_id, owner, result, str(result_dir))
    except LeaseLost:
        log.warning("job %s: lease lost to another worker; stopped", job_id)
    except (Interrupted, KeyboardInterrupt, SystemExit):
        lease.requeue(engine, job_id, owner, refund_attempt=True)
        raise
    except Exception as exc:
        if stopping():
            # A shutdown tears down what the job runs on (tile readers, the database pool);
            # what that breaks is not the slide's fault, so it is never a failure of the job.
            lease.requeue(engine, job_id, owner, refund_attempt=True)
            raise Interrupted(job_id) from exc
        if not isinstance(exc, (TpsError, ValueError)):
            lease.requeue(engine, job_id, owner, refund_attempt=False)
            raise
        reason = job_error(slide.label, slide_path, str(exc) or type(exc).__name__)
        lease.fail(engine, job_id, owner, reason)
    finally:
        beat.stopped.set()
        beat.join()
