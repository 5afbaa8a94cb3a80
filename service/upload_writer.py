"""Writing an upload to disk: hashed and written in one pass, on a thread beside the event loop."""
from __future__ import annotations

import asyncio
import hashlib
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import anyio

_IN_FLIGHT = 4  # blocks received but not yet written: with 4 MiB blocks, ~16 MiB per upload
_WRITEBACK = 32 * 1024 * 1024  # how much is written before the disk is told to start on it


class BlockWriter:
    """Hashes and writes blocks, in order, on a thread of its own while the event loop receives
    the next ones: receiving, hashing and writing overlap instead of taking turns. At most
    `_IN_FLIGHT` blocks wait for it, so memory stays flat however large the upload."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="upload-writer")
        self._queued: deque[asyncio.Future[None]] = deque()
        self._written = self._flushed = 0
        self.digest = hashlib.sha256()

    async def put(self, chunks: list[bytes]) -> None:
        if len(self._queued) >= _IN_FLIGHT:
            await self._queued.popleft()
        loop = asyncio.get_running_loop()
        self._queued.append(loop.run_in_executor(self._thread, self._write, chunks))

    def _write(self, chunks: list[bytes]) -> None:
        total = 0
        for chunk in chunks:
            self.digest.update(chunk)  # hashed and written while it is still in the CPU's cache
            view = memoryview(chunk)
            while view:  # a short write (a signal, a full disk) writes the rest again
                view = view[os.write(self._fd, view):]
            total += len(chunk)
        self._written += total
        if self._written - self._flushed >= _WRITEBACK:
            # Start the disk writing what is already here, without waiting for it: the final
            # fsync then has little left to do instead of the whole file.
            os.posix_fadvise(self._fd, self._flushed, self._written - self._flushed,
                             os.POSIX_FADV_DONTNEED)
            self._flushed = self._written

    async def finish(self, durable: bool) -> None:
        """Everything written (and on disk when `durable`); raises what a write raised."""
        while self._queued:
            await self._queued.popleft()
        if durable:
            await asyncio.get_running_loop().run_in_executor(self._thread, os.fsync, self._fd)

    async def close(self) -> None:
        # Queued writes finish first, even when the request was cancelled (a client gone): the
        # file is never closed under a write in flight.
        with anyio.CancelScope(shield=True):
            await asyncio.gather(*self._queued, return_exceptions=True)
        self._thread.shutdown()
        os.close(self._fd)
