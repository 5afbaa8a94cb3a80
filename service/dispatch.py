"""How the API hands a job to a worker. Messages carry only the job id; the database is the record."""
from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Protocol

from jobs.queue import SCORE_QUEUE, SCORE_TASK

log = logging.getLogger(__name__)


class BrokerUnavailable(Exception):
    """The broker cannot be reached."""


class Dispatcher(Protocol):
    def enqueue(self, job_id: str) -> None: ...


class CeleryDispatcher:
    """Sends the task by name, so the API never imports worker code."""

    def __init__(self, broker_url: str) -> None:
        import celery  # lazy: embedded mode does not need it

        self._app = celery.Celery("tps-api", broker=broker_url)
        # Fail at once when the broker is down: the job is already recorded, and the
        # reconciler of the workers sends it when the broker is back (dispatch_committed).
        self._app.conf.task_publish_retry = False
        self._app.conf.broker_connection_timeout = 2.0

    def enqueue(self, job_id: str) -> None:
        from kombu.exceptions import OperationalError

        try:
            self._app.send_task(SCORE_TASK, args=[job_id], queue=SCORE_QUEUE)
        except (OperationalError, OSError) as exc:
            raise BrokerUnavailable(str(exc)) from exc

    def ping(self, timeout_s: float = 2.0) -> None:
        """Raise when the broker cannot be reached (used by /readyz)."""
        from kombu.exceptions import OperationalError

        try:
            with self._app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=timeout_s)
        except (OperationalError, OSError) as exc:
            raise BrokerUnavailable(str(exc)) from exc


class NullDispatcher:
    """Records job ids without running them: for tests and for an API with an external reconciler."""

    def __init__(self) -> None:
        self.enqueued: list[str] = []

    def enqueue(self, job_id: str) -> None:
        self.enqueued.append(job_id)


def dispatch_committed(dispatcher: Dispatcher, job_ids: Iterable[str]) -> None:
    """Send jobs whose rows are committed. The database is the record: a job the broker cannot
    take now stays queued, and the workers' reconciler sends it once the broker is back, so
    the request that made it still succeeds (202) and a client never retries into a duplicate."""
    for job_id in job_ids:
        try:
            dispatcher.enqueue(job_id)
        except BrokerUnavailable as exc:
            log.warning("job %s recorded; the broker is unavailable (%s): the reconciler will "
                        "send it", job_id, exc)
