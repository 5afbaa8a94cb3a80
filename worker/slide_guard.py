"""Open a slide in a child process, with a time and a memory limit, before a worker scores it.

Slide decoders are C libraries fed files from outside; a corrupt file can crash them (SIGSEGV,
abort), hang them, or make them allocate without bound. Opening the slide here, in a child
process, turns each of those into a clear, final reason for that one job while the worker
process (which holds the GPU session) lives on. The child opens the slide and decodes its
coarsest level and a grid of level-0 regions: the places where broken headers and broken tile
tables show up. Damage deeper in the file that only full scoring meets still kills at most one
pool process; the task's attempt cap (jobs.lease.claim) then ends that job as failed.

A worker's shutdown stops the check (CheckStopped): the child closes the slide between two reads
and exits, so no handle is ever closed under a read.

Run as `python -m worker.slide_guard SLIDE` it is the child itself.
"""
from __future__ import annotations

import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

GUARD_TIMEOUT_S = 120.0
GUARD_MEMORY_BYTES = 4 * 1024**3
SAMPLE_GRID = 4  # SAMPLE_GRID x SAMPLE_GRID level-0 regions
SAMPLE_SIZE = 256
COARSE_MAX_PIXELS = 4096 * 4096
EXIT_UNREADABLE = 3
EXIT_OUT_OF_MEMORY = 4
EXIT_STOPPED = 5
POLL_S = 0.1  # how often the worker asks whether it is shutting down while the child runs


class CheckStopped(Exception):
    """The worker is shutting down: the check was stopped, the slide is neither good nor bad."""


def _open_and_sample(path: Path) -> None:
    import openslide

    slide = openslide.OpenSlide(str(path))
    try:
        level = slide.level_count - 1
        width, height = slide.level_dimensions[level]
        if width * height <= COARSE_MAX_PIXELS:
            slide.read_region((0, 0), level, (width, height))
        full_w, full_h = slide.dimensions
        for row in range(SAMPLE_GRID):
            for col in range(SAMPLE_GRID):
                x = (2 * col + 1) * full_w // (2 * SAMPLE_GRID) - SAMPLE_SIZE // 2
                y = (2 * row + 1) * full_h // (2 * SAMPLE_GRID) - SAMPLE_SIZE // 2
                slide.read_region((max(x, 0), max(y, 0)), 0, (SAMPLE_SIZE, SAMPLE_SIZE))
    finally:
        slide.close()


def _stop(_signum: int, _frame: FrameType | None) -> None:
    # Python runs this between two reads, never inside one: the `finally` closes the slide.
    raise SystemExit(EXIT_STOPPED)


def child_main(argv: list[str]) -> int:
    signal.signal(signal.SIGTERM, _stop)
    resource.setrlimit(resource.RLIMIT_AS, (int(argv[1]), int(argv[1])))
    import openslide

    try:
        _open_and_sample(Path(argv[0]))
    except openslide.OpenSlideError as exc:
        print(f"the slide decoder reports corrupt data: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    except MemoryError:
        return EXIT_OUT_OF_MEMORY
    return 0


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _run_child(command: list[str], timeout_s: float,
               should_stop: Callable[[], bool]) -> tuple[int, str] | None:
    """(exit code, stderr) of the child; None when it ran past `timeout_s` (then killed)."""
    deadline = time.monotonic() + timeout_s
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          stdin=subprocess.DEVNULL, text=True) as child:
        while True:
            try:
                _out, err = child.communicate(timeout=POLL_S)
                return child.returncode, err
            except subprocess.TimeoutExpired:
                pass
            if should_stop():
                child.terminate()  # it closes the slide between two reads and exits
                child.communicate()
                raise CheckStopped()
            if time.monotonic() > deadline:
                child.kill()
                child.communicate()
                return None


def check_slide(
    path: str, timeout_s: float = GUARD_TIMEOUT_S, memory_bytes: int = GUARD_MEMORY_BYTES,
    should_stop: Callable[[], bool] = lambda: False,
) -> str | None:
    """None when the slide opens cleanly; else the reason, fit to show the lab after the
    slide's label (worker.job_errors adds it). CheckStopped once `should_stop()` is true."""
    if not Path(path).is_file():
        return "the slide file is missing from storage"
    command = [sys.executable, "-m", "worker.slide_guard", path, str(memory_bytes)]
    done = _run_child(command, timeout_s, should_stop)
    if done is None:
        return f"opening the slide took longer than {timeout_s:.0f} s; the file is likely damaged"
    returncode, stderr = done
    if returncode == 0:
        return None
    if returncode < 0:
        return (f"the slide decoder crashed ({_signal_name(-returncode)}) while opening the "
                "slide; the file is damaged or in a variant the decoder cannot read")
    if returncode == EXIT_OUT_OF_MEMORY:
        return (f"opening the slide needed more than {memory_bytes / 1024**3:.1f} GiB of "
                "memory; the file is likely damaged")
    detail = stderr.strip().splitlines()[-1] if stderr.strip() else "no detail"
    return f"the slide cannot be read: {detail}"


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1:]))
