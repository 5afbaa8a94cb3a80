"""Tiles are read, decoded and resampled in worker processes ahead of the model.

A reader is `python -m scoring.prefetch` (a fresh interpreter: nothing of the caller's state,
threads or open files is inherited, and the caller's main module is not imported again); it
talks over two pipes. Each reader opens the slide itself and closes it before it exits (an
OpenSlide handle never crosses a process). Batch i goes to reader i % n, and each reader answers its batches
in order over a pipe of its own, so batches come back in order with one copy and no pickling
of pixels. At most `ahead` batches per reader are in flight: memory holds a bounded number of
tiles whatever the slide's area.
"""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType
from typing import Self

import numpy as np

from scoring.errors import DamagedSlide, TpsError
from scoring.slide_info import SlideInfo, StoredSlide
from scoring.slide_reader import SlideReader
from scoring.tile_source import TileSource
from scoring.tiling import TileGrid

JOIN_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class _Task:
    scale: float
    tile: int
    origins: np.ndarray  # (B, 2)


def _serve(tasks: Connection, results: Connection, nice: int) -> None:
    """A reader process: open the slide, answer tasks until told to stop, close the slide."""
    os.nice(nice)
    try:
        slide: SlideInfo = tasks.recv()
        stored = StoredSlide(sha256=slide.sha256, mpp=slide.mpp)  # the file is not hashed again
        with SlideReader(slide.path, slide.mpp, stored) as reader:
            sources: dict[tuple[float, int], TileSource] = {}
            while (task := tasks.recv()) is not None:
                key = (task.scale, task.tile)
                source = sources.setdefault(key, TileSource(reader, task.scale, task.tile))
                try:
                    batch = source.read_batch(task.origins)
                except (TpsError, OSError, ValueError) as exc:  # the tile loop raises it
                    results.send(("error", exc))
                    continue
                results.send(("tiles", batch.shape))
                results.send_bytes(batch.data.cast("B"))
    except TpsError as exc:  # the slide did not open here
        results.send(("error", exc))
    except (EOFError, OSError):
        return  # the tile loop has gone: nobody is left to tell


class TileReaders:
    """`workers` reader processes for one slide, started at once so they open it while the
    caller does other work; `batches` then streams a grid's tiles in order."""

    def __init__(self, slide: SlideInfo, workers: int, ahead: int = 2, nice: int = 0) -> None:
        self.slide, self.ahead = slide, ahead
        self._tasks: list[Connection] = []
        self._results: list[Connection] = []
        self._procs: list[subprocess.Popen[bytes]] = []
        # The child finds this package where the caller did, installed or not.
        env = os.environ | {"PYTHONPATH": os.pathsep.join(
            filter(None, [str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH")]))}
        for _ in range(max(1, workers)):
            task_in, task_out = os.pipe()
            result_in, result_out = os.pipe()
            proc = subprocess.Popen([sys.executable, "-m", "scoring.prefetch", str(task_in),
                                     str(result_out), str(nice)],
                                    pass_fds=(task_in, result_out), env=env)
            os.close(task_in)  # the child holds these ends; closing ours lets a death show as EOF
            os.close(result_out)
            self._tasks.append(Connection(task_out, readable=False))
            self._results.append(Connection(result_in, writable=False))
            self._procs.append(proc)
            self._tasks[-1].send(slide)

    def batches(self, grid: TileGrid, batch_size: int) -> Iterator[np.ndarray]:
        """(B, tile, tile, 3) uint8 batches of the grid's tiles, in the grid's order."""
        chunks = [grid.origins[i:i + batch_size] for i in range(0, len(grid), batch_size)]
        n = len(self._procs)
        sent = 0
        for index in range(len(chunks)):
            while sent < len(chunks) and sent < index + self.ahead * n:
                try:
                    self._tasks[sent % n].send(_Task(grid.scale, grid.tile, chunks[sent]))
                except OSError:  # that reader has died; its pipe says why, or its exit code
                    while True:
                        self._receive(sent % n)
                sent += 1
            yield self._receive(index % n)

    def _receive(self, worker: int) -> np.ndarray:
        conn = self._results[worker]
        try:
            kind, payload = conn.recv()
            if kind != "error":
                batch = np.empty(payload, np.uint8)
                conn.recv_bytes_into(batch.data.cast("B"))
        # EOFError: the reader died between messages; OSError: in the middle of one
        except (EOFError, OSError):
            code = self._procs[worker].wait(JOIN_TIMEOUT_S)
            raise DamagedSlide(f"a tile reader process stopped while decoding the slide "
                               f"(exit code {code}); the file may be damaged") from None
        if kind == "error":
            raise payload
        return batch

    def peak_rss_mb(self) -> float:
        """The largest reader's peak resident memory (Linux /proc; 0 elsewhere)."""
        peaks = [0.0]
        for proc in self._procs:
            try:
                status = Path(f"/proc/{proc.pid}/status").read_text()
            except OSError:
                continue
            peaks += [int(line.split()[1]) / 1024 for line in status.splitlines()
                      if line.startswith("VmHWM:")]
        return max(peaks)

    def close(self) -> None:
        for conn in self._tasks:
            try:
                conn.send(None)
            except OSError:
                pass  # that reader has already gone
            conn.close()
        for conn in self._results:
            conn.close()  # a reader still sending gets a broken pipe and ends
        for proc in self._procs:
            try:
                proc.wait(JOIN_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._tasks, self._results, self._procs = [], [], []

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


if __name__ == "__main__":
    _serve(Connection(int(sys.argv[1]), writable=False),
           Connection(int(sys.argv[2]), readable=False), int(sys.argv[3]))
