"""The in-process worker of embedded mode: one background thread scoring jobs one at a time.

It implements the service's Dispatcher protocol. On start it queues every job the database
says is due (queued, or running on an expired lease), so a restart of `tps serve` loses nothing.
"""
from __future__ import annotations

import logging
import queue
import threading

from jobs import lease
from jobs.database import engine_for
from worker.job_runner import Interrupted, run_job
from worker.settings import WorkerSettings

log = logging.getLogger(__name__)
_STOP = ""


class EmbeddedRunner:
    def __init__(self, settings: WorkerSettings) -> None:
        self._settings = settings
        self._queue: queue.Queue[str] = queue.Queue()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tps-embedded-worker",
                                        daemon=True)

    def enqueue(self, job_id: str) -> None:
        self._queue.put(job_id)

    def start(self) -> None:
        self._settings.results_dir.mkdir(parents=True, exist_ok=True)
        for job_id in lease.due_jobs(engine_for(self._settings.db_url)):
            self.enqueue(job_id)
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Soft shutdown: the running job is handed back to the queue at its next tile."""
        self._stopping.set()
        self._queue.put(_STOP)
        self._thread.join(timeout_s)

    def idle(self) -> bool:
        return self._queue.unfinished_tasks == 0

    def _loop(self) -> None:
        while not self._stopping.is_set():
            job_id = self._queue.get()
            try:
                if job_id != _STOP:
                    self._run(job_id)
            finally:
                self._queue.task_done()

    def _run(self, job_id: str) -> None:
        try:
            run_job(job_id, self._settings, should_stop=self._stopping.is_set)
        except Interrupted:
            log.info("job %s handed back to the queue on shutdown", job_id)
        except Exception:
            # run_job already put the job back as queued (the attempt counted); try again,
            # and the attempt cap in lease.claim ends it as failed if it keeps failing.
            log.exception("job %s failed unexpectedly; retrying", job_id)
            if not self._stopping.is_set():
                self.enqueue(job_id)
