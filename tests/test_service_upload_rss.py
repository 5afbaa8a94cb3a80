"""A 1 GB streamed upload must not grow the API's memory: it goes to disk in blocks."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from benchmarks.service_api import running_api

GIB = 1024**3
CHUNK = 1024 * 1024


def _rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str, int]]:
    with running_api(tmp_path / "data", "big") as api:
        yield api


def test_1gb_upload_keeps_rss_growth_under_100mb(served: tuple[str, str, int]) -> None:
    url, key, pid = served
    zeros = bytes(CHUNK)

    def body() -> Iterator[bytes]:
        yield b"II*\x00" + zeros[4:]
        for _ in range(GIB // CHUNK - 1):
            yield zeros

    before = _rss_bytes(pid)
    peak = [before]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.05):
            peak[0] = max(peak[0], _rss_bytes(pid))

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        r = httpx.put(f"{url}/v1/slides", content=body(), timeout=300, headers={
            "X-API-Key": key, "X-Filename": "big.tiff",
            "Content-Type": "application/octet-stream"})
    finally:
        stop.set()
        sampler.join()
    # Valid magic, garbage after it: stored in full, then refused by the slide probe.
    assert r.status_code == 422, r.text
    growth = peak[0] - before
    print(f"rss before {before / 1024**2:.0f} MB, growth {growth / 1024**2:.1f} MB")
    assert growth < 100 * 1024**2, f"RSS grew by {growth / 1024**2:.1f} MB"
