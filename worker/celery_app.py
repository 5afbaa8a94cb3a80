"""The Celery app of the GPU workers, built from WorkerSettings. Its settings are the ones that make
sure no job is lost or scored twice at once; the database lease (jobs.lease) does the rest.

Why each setting:
- task_acks_late: the message is acknowledged only when the task returns, so a worker that dies
  mid-job leaves it to be redelivered instead of dropping it.
- task_reject_on_worker_lost: when a pool process is killed (OOM, decoder crash) the message goes
  straight back to the queue rather than being acknowledged as done.
- worker_prefetch_multiplier=1: a worker holds one message per process, so a long slide does not
  keep other slides waiting behind it while a neighbour idles.
- task_ignore_result: results live in the database; no result backend to keep in sync.
- visibility_timeout: Redis hands an unacknowledged message to another worker after this long.
  It must outlast the hard time limit, or a slow but healthy job would be delivered twice. It is
  set for the broker and the result backend alike, since Celery reads it in both places.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from celery import Celery

from jobs.queue import SCORE_QUEUE, SCORE_TASK
from worker.purge_task import beat_schedule  # importing it registers the purge task too
from worker.settings import WorkerSettings, get_worker_settings

# A deploy (SIGTERM) lets a running job finish if it can within this; `tps worker --shutdown-grace`.
SOFT_SHUTDOWN_S = 30.0


def transport_options(settings: WorkerSettings) -> dict[str, Any]:
    return {"visibility_timeout": settings.visibility_timeout_s}


def make_celery(settings: WorkerSettings) -> Celery:
    if not settings.broker_url:
        raise ValueError("TPS_BROKER_URL is not set: Celery workers need a broker "
                         "(the API runs jobs itself in embedded mode)")
    app = Celery("tps", broker=settings.broker_url)
    options = transport_options(settings)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        result_backend=None,
        broker_transport_options=options,
        result_backend_transport_options=options,
        broker_connection_retry_on_startup=True,
        task_default_queue=SCORE_QUEUE,
        task_routes={SCORE_TASK: {"queue": SCORE_QUEUE}},
        task_serializer="json",
        accept_content=["json"],
        # A restarted worker should not run a task a second time just because the message
        # was delivered before the restart; the lease decides, so keep Celery's own state small.
        worker_send_task_events=False,
        worker_hijack_root_logger=False,
        # Soft shutdown: on SIGTERM a running job gets this long to finish; after that the
        # worker stops it, the job goes back to `queued` and the message back to the queue.
        worker_soft_shutdown_timeout=SOFT_SHUTDOWN_S,
        worker_enable_soft_shutdown_on_idle=True,
        beat_schedule=beat_schedule(settings),  # the retention purge: worker/purge_task.py
    )
    app.conf.tps_settings = settings
    from worker.tasks import register_tasks  # tasks need the app; the app names its tasks

    register_tasks(app, settings)
    return app


def settings_of(app: Celery) -> WorkerSettings:
    settings: WorkerSettings = app.conf.tps_settings
    return settings


@lru_cache(maxsize=1)
def default_app() -> Celery:
    return make_celery(get_worker_settings())


def __getattr__(name: str) -> Celery:
    # `celery -A worker.celery_app worker` looks up `app`; building it on first use keeps
    # settings from being read at import time.
    if name in ("app", "celery"):
        return default_app()
    raise AttributeError(name)
