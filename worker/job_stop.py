"""How a deploy's SIGTERM reaches a running job: as a request to stop at the next tile, never as
a kill of something that holds a slide open.

Who gets the signal:
- `tini -g` (the worker image), `docker stop` and `kill -TERM -PGID` signal the worker's process
  group; `kill PID` signals the Celery main process alone. Either way the main process starts
  a warm shutdown and forwards SIGTERM to its pool processes (`forward_sigterm_to_pool`).
- Each pool process leads a process group of its own (`leave_worker_group`), so the processes
  a job starts (the slide check, the tile readers, each holding an OpenSlide handle) never get
  the deploy's signal. Killed mid-read, a tile reader would end the job as "damaged slide"
  instead of handing it back; the job stops them itself, and each closes its handle in the
  thread that opened it (OpenSlide aborts when a handle is closed while another thread reads).
- In the pool process, `JobStop` turns SIGTERM into a flag that the tile loop reads between
  batches; billiard's own handler (SystemExit wherever the job happens to be) is back after.
Celery already gives every pool process PR_SET_PDEATHSIG=SIGKILL: a pool process in a group of
its own still dies with the main process, so a `kill -9` of the worker leaves no orphan.
"""
from __future__ import annotations

import os
import signal
import threading
from types import FrameType, TracebackType
from typing import Any, Self


class JobStop:
    """While a job runs in this (pool) process, SIGTERM only sets `requested`."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._previous: Any = signal.SIG_DFL

    def requested(self) -> bool:
        return self._event.is_set()

    def _on_sigterm(self, _signum: int, _frame: FrameType | None) -> None:
        self._event.set()

    def __enter__(self) -> Self:
        self._previous = signal.signal(signal.SIGTERM, self._on_sigterm)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        signal.signal(signal.SIGTERM, self._previous)


def leave_worker_group() -> None:
    """Make this pool process the leader of a process group of its own (see the module doc)."""
    os.setpgid(0, 0)


def forward_sigterm_to_pool(**_kwargs: object) -> None:
    """In the main process, on shutdown: SIGTERM every pool process, so that a running job stops
    at its next tile and is handed back. The pool processes are in groups of their own, so
    this is the only way a deploy's signal reaches them; without it Celery's warm shutdown
    would wait for the job to run to its end."""
    from billiard import process

    for child in process.active_children():
        if child.pid is not None:
            try:
                os.kill(child.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass  # it has just exited
