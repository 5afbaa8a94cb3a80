"""Open a slide in a child process, with a time and a memory limit, before a worker scores it.

Slide decoders are C libraries fed files from outside; a corrupt file can crash them (SIGSEGV,
abort), hang them, or make them allocate without bound. Opening the slide here, in a child
process, turns each of those into a clear, final reason for that one job while the worker
process (which holds the GPU session) lives on. The child opens the slide and decodes its
coarsest level and a grid of level-0 regions: the places where broken headers and broken tile
tables show up. Damage deeper in the file that only full scoring meets still kills at most one
pool process; the task's attempt cap (jobs.lease.claim) then ends that job as failed.

Run as `python -m worker.slide_guard SLIDE` it is the child itself.
"""
from __future__ import annotations

import resource
import signal
import subprocess
import sys
from pathlib import Path

GUARD_TIMEOUT_S = 120.0
GUARD_MEMORY_BYTES = 4 * 1024**3
SAMPLE_GRID = 4  # SAMPLE_GRID x SAMPLE_GRID level-0 regions
SAMPLE_SIZE = 256
COARSE_MAX_PIXELS = 4096 * 4096
EXIT_UNREADABLE = 3
EXIT_OUT_OF_MEMORY = 4


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


def child_main(argv: list[str]) -> int:
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


def check_slide(
    path: str, timeout_s: float = GUARD_TIMEOUT_S, memory_bytes: int = GUARD_MEMORY_BYTES
) -> str | None:
    """None when the slide opens cleanly; else the reason, fit to show the lab after the
    slide's label (worker.job_errors adds it)."""
    if not Path(path).is_file():
        return "the slide file is missing from storage"
    command = [sys.executable, "-m", "worker.slide_guard", path, str(memory_bytes)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s,
                              check=False, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return f"opening the slide took longer than {timeout_s:.0f} s; the file is likely damaged"
    if done.returncode == 0:
        return None
    if done.returncode < 0:
        return (f"the slide decoder crashed ({_signal_name(-done.returncode)}) while opening the "
                "slide; the file is damaged or in a variant the decoder cannot read")
    if done.returncode == EXIT_OUT_OF_MEMORY:
        return (f"opening the slide needed more than {memory_bytes / 1024**3:.1f} GiB of "
                "memory; the file is likely damaged")
    detail = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "no detail"
    return f"the slide cannot be read: {detail}"


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1:]))
