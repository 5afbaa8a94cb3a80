"""How the API hands a job to a worker. Messages carry only the job id; the database is the record."""
from __future__ import annotations

from typing import Protocol

from jobs.queue import SCORE_QUEUE, SCORE_TASK


class BrokerUnavailable(Exception):
    """The broker cannot be reached."""


class Dispatcher(Protocol):
    def enqueue(self, job_id: str) -> None: ...


class CeleryDispatcher:
    """Sends the task by name, so the API never imports worker code."""

    def __init__(self, broker_url: str) -> None:
        import celery  # lazy: embedded mode does not need it

        self._app = celery.Celery("tps-api", broker=broker_url)

    def enqueue(self, job_id: str) -> None:
        self._app.send_task(SCORE_TASK, args=[job_id], queue=SCORE_QUEUE)

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
