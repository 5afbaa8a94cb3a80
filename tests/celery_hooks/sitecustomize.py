"""Loaded by every Python process of the Celery tests (PYTHONPATH), never by the product.

- In `python -m worker.slide_guard` children, a slide whose name holds TPS_TEST_CRASH_MARK
  makes the process die by SIGSEGV, as a crashing slide decoder would.
- In Celery pool processes (after fork), score_slide is wrapped: each call appends
  `start|end <job> <pid> <time>` to TPS_TEST_CALLS so tests count and time real scorings;
  a slide name holding TPS_TEST_KILL_MARK kills the pool process mid-job (os._exit), and one
  holding TPS_TEST_SLOW_MARK takes TPS_TEST_SLOW_S longer, reporting progress meanwhile.
"""
from __future__ import annotations

import os
import signal
import sys
import time
from typing import Any

_crash = os.environ.get("TPS_TEST_CRASH_MARK")
if _crash and "worker.slide_guard" in sys.orig_argv and any(_crash in a for a in sys.orig_argv):
    os.kill(os.getpid(), signal.SIGSEGV)


def _record(event: str, job: str) -> None:
    line = f"{event} {job} {os.getpid()} {time.time():.3f}\n".encode()
    fd = os.open(os.environ["TPS_TEST_CALLS"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, line)  # one small O_APPEND write: whole lines even across processes
    finally:
        os.close(fd)


def _wrap_scoring(**_kwargs: object) -> None:
    from worker import job_runner

    real = job_runner.score_slide

    def counted(slide_path: Any, out_dir: Any, params: Any, progress: Any = None,
                stored: Any = None) -> Any:
        job = out_dir.name
        _record("start", job)
        name = str(slide_path.name)
        if os.environ.get("TPS_TEST_KILL_MARK", "\0") in name:
            os._exit(9)
        if os.environ.get("TPS_TEST_SLOW_MARK", "\0") in name:
            deadline = time.monotonic() + float(os.environ.get("TPS_TEST_SLOW_S", "5"))
            while time.monotonic() < deadline:
                if progress is not None:
                    progress(0, 1)
                time.sleep(0.2)
        result = real(slide_path, out_dir, params, progress=progress, stored=stored)
        _record("end", job)
        return result

    job_runner.score_slide = counted


if "TPS_TEST_CALLS" in os.environ:
    from celery.signals import worker_process_init

    worker_process_init.connect(_wrap_scoring, weak=False)
