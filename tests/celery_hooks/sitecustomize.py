"""Loaded by every Python process of the Celery tests (PYTHONPATH), never by the product.

- With TPS_TEST_PROCS set, every Python process appends `start <pid> <argv>` when it starts and
  `exit <pid>` when its interpreter exits; a process killed by a signal (or os._exit) leaves no
  `exit` line, which is how tests count crashed slide checks and tile readers.
- In `python -m worker.slide_guard` children, a slide whose name holds TPS_TEST_CRASH_MARK
  makes the process die by SIGSEGV, as a crashing slide decoder would.
- In Celery pool processes (after fork), score_slide is wrapped: each call appends
  `start|end <job> <pid> <time>` to TPS_TEST_CALLS so tests count and time real scorings;
  a slide name holding TPS_TEST_KILL_MARK kills the pool process mid-job (os._exit), and one
  holding TPS_TEST_SLOW_MARK takes TPS_TEST_SLOW_S longer, reporting progress meanwhile; the
  first progress report of each scoring (its tile loop under way) is appended to TPS_TEST_TILES.
"""
from __future__ import annotations

import os
import signal
import sys
import time
from typing import Any


def _append(path: str, line: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, line.encode())  # one small O_APPEND write: whole lines even across processes
    finally:
        os.close(fd)


def _exited(path: str, pid: int) -> None:
    if os.getpid() == pid:  # not in a forked child (Celery's pool), which inherits the hook
        _append(path, f"exit {pid}\n")


_procs = os.environ.get("TPS_TEST_PROCS")
if _procs:
    import atexit

    _append(_procs, f"start {os.getpid()} {' '.join(sys.orig_argv)[:200]}\n")
    atexit.register(_exited, _procs, os.getpid())

_crash = os.environ.get("TPS_TEST_CRASH_MARK")
if _crash and "worker.slide_guard" in sys.orig_argv and any(_crash in a for a in sys.orig_argv):
    os.kill(os.getpid(), signal.SIGSEGV)


def _record(event: str, job: str) -> None:
    _append(os.environ["TPS_TEST_CALLS"], f"{event} {job} {os.getpid()} {time.time():.3f}\n")


def _first_tile_recorded(job: str, progress: Any) -> Any:
    """`progress` that appends `<job> <pid> <time>` to TPS_TEST_TILES on its first call: the
    moment the tile loop has run its first batch."""
    path = os.environ.get("TPS_TEST_TILES")
    if progress is None or not path:
        return progress
    seen: list[bool] = []

    def first_recorded(done: int, total: int) -> None:
        if not seen:
            seen.append(True)
            _append(path, f"{job} {os.getpid()} {time.time():.3f}\n")
        progress(done, total)

    return first_recorded


def _wrap_scoring(**_kwargs: object) -> None:
    from worker import job_runner

    real = job_runner.score_slide

    def counted(slide_path: Any, out_dir: Any, params: Any, progress: Any = None,
                stored: Any = None) -> Any:
        job = out_dir.name
        _record("start", job)
        progress = _first_tile_recorded(job, progress)
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
