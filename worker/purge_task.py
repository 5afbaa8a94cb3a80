"""The retention purge (jobs/retention.py) run on a schedule: as a Celery beat task in broker
mode, on a timer thread in embedded mode (tps serve). Both run `purge_expired`, which does
nothing while `retention_days` is unset.

Beat sends the task every `purge_every_s`; exactly one process must run beat (one worker host
with `celery -A worker.celery_app beat`, or one worker started as `celery -A
worker.celery_app worker -B`), or the purge is sent once per beat. Two purges at once are harmless all the same: each slide goes in a transaction
of its own, and a slide the other purge removed is skipped.
"""
from __future__ import annotations

import logging
import threading
from typing import Any

from celery import Task, shared_task
from sqlalchemy.exc import SQLAlchemyError

from jobs.retention import PurgeReport, purge_expired
from jobs.settings import StoreSettings
from worker.settings import WorkerSettings

PURGE_TASK = "tps.purge_expired"
log = logging.getLogger(__name__)


def run_purge(settings: StoreSettings) -> PurgeReport:
    report = purge_expired(settings)
    if report.removed or report.kept or report.batches:
        log.info("retention purge: %d slide(s) removed (%d job(s)), %d batch(es); %d kept "
                 "while a job runs", len(report.removed),
                 sum(len(s.job_ids) for s in report.removed), len(report.batches),
                 len(report.kept))
    return report


@shared_task(name=PURGE_TASK, bind=True, ignore_result=True)  # type: ignore[untyped-decorator]
def purge_expired_task(task: Task) -> dict[str, int]:
    report = run_purge(task.app.conf.tps_settings)
    return {"slides": len(report.removed), "kept": len(report.kept),
            "batches": len(report.batches)}


def beat_schedule(settings: WorkerSettings) -> dict[str, dict[str, Any]]:
    """The Celery beat entry of the purge (worker/celery_app.py)."""
    return {"retention-purge": {"task": PURGE_TASK, "schedule": settings.purge_every_s}}


class PurgeTimer:
    """Embedded mode's beat: a daemon thread that purges at start and every `purge_every_s`."""

    def __init__(self, settings: WorkerSettings) -> None:
        self._settings = settings
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tps-retention-purge",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        self._stopping.set()
        self._thread.join(timeout_s)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                run_purge(self._settings)
            except (SQLAlchemyError, OSError) as exc:
                # A database or disk that is away now may be back at the next round.
                log.error("retention purge failed; trying again in %.0f s: %s",
                          self._settings.purge_every_s, exc)
            self._stopping.wait(self._settings.purge_every_s)
