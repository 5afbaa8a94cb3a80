"""The one Celery task, `tps.score_job(job_id)`, and what each pool process sets up after fork.

The message carries only the job id. Before scoring, the slide is opened in a child process
(worker.slide_guard) so a decoder that crashes or runs away fails that job for good with a
clear reason while this process lives on. Scoring itself is worker.job_runner.run_job, which
claims the job's lease, so a redelivered or duplicate message never scores a job twice at once.
"""
from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from celery import Celery, Task
from celery.exceptions import Reject
from celery.signals import worker_process_init, worker_shutting_down
from sqlalchemy import select

from jobs import lease
from jobs.database import engine_for
from jobs.queue import SCORE_TASK
from jobs.records import Job, Slide
from worker.job_errors import job_error
from worker.job_stop import JobStop, forward_sigterm_to_pool, leave_worker_group
from worker.settings import WorkerSettings

log = logging.getLogger(__name__)


def _warm_up(settings: WorkerSettings) -> None:
    """Create the onnxruntime session now, in the pool process: CUDA does not survive a fork,
    so it must never be created in the parent, and the first job should not pay for it."""
    from scoring.errors import ModelError
    from scoring.inference import get_runner

    try:
        runner = get_runner(settings.model_path)
    except ModelError as exc:
        # Jobs will fail with this same message; the worker itself stays up for the next model.
        log.error("model not loaded at start: %s", exc)
        return
    log.info("pool process %d: model %s on %s", os.getpid(), runner.info.name, runner.provider)


@dataclass(frozen=True)
class PendingSlide:
    path: Path  # where the server stores it, under a name of its own
    label: str  # the lab's name for it, which is what a job's error shows


def _pending_slide(settings: WorkerSettings, job_id: str) -> PendingSlide | None:
    """The slide of a job that still needs scoring; None when the job is finished or gone."""
    with engine_for(settings.db_url).connect() as conn:
        row = conn.execute(
            select(Job.state, Slide.storage_name, Slide.label)
            .join(Slide, Job.slide_id == Slide.id).where(Job.id == job_id)
        ).one_or_none()
    if row is None or row.state in ("succeeded", "failed"):
        return None
    return PendingSlide(settings.slides_dir / row.storage_name, row.label)


def _fail_unreadable(settings: WorkerSettings, job_id: str, slide: PendingSlide,
                     reason: str) -> None:
    """A slide the decoder cannot open will never open: fail the job now, not after N crashes."""
    owner = f"guard:{socket.gethostname()}:{os.getpid()}"
    engine = engine_for(settings.db_url)
    if lease.claim(engine, job_id, owner, settings.lease_seconds):
        error = job_error(slide.label, slide.path, reason)
        lease.fail(engine, job_id, owner, error)
        log.warning("job %s failed: %s", job_id, error)


def score_job(task: Task, job_id: str) -> None:
    settings: WorkerSettings = task.app.conf.tps_settings
    from worker import slide_guard
    from worker.job_runner import Interrupted, run_job

    slide = _pending_slide(settings, job_id)
    if slide is None:
        log.info("job %s is finished or gone; a duplicate message", job_id)
        return
    # During the job SIGTERM only asks it to stop (worker.job_stop); billiard's handler,
    # SystemExit wherever the job happens to be, is back once the job is over.
    with JobStop() as stop:
        try:
            problem = slide_guard.check_slide(str(slide.path), should_stop=stop.requested)
            if problem is not None:
                _fail_unreadable(settings, job_id, slide, problem)
                return
            run_job(job_id, settings, should_stop=stop.requested)
        except (Interrupted, slide_guard.CheckStopped):
            # The job is `queued` again (run_job refunds the attempt; a job stopped before it
            # ran was never claimed); the message goes back too, and should it be lost in the
            # shutdown the reconciler finds the job.
            raise Reject("worker shutting down", requeue=True) from None


def register_tasks(app: Celery, settings: WorkerSettings) -> None:
    app.task(
        name=SCORE_TASK,
        bind=True,
        soft_time_limit=settings.task_soft_time_limit_s,
        time_limit=settings.task_hard_time_limit_s,
        acks_late=True,
        reject_on_worker_lost=True,
    )(score_job)

    worker_shutting_down.connect(forward_sigterm_to_pool, weak=False)

    @worker_process_init.connect(weak=False)  # type: ignore[untyped-decorator]
    def _init_pool_process(**_kwargs: object) -> None:
        leave_worker_group()
        _warm_up(settings)
