"""A 1 GB streamed upload must not grow the API's memory: it goes to disk in blocks."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO_ROOT

GIB = 1024**3
CHUNK = 1024 * 1024


def _rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str, int]]:
    env = {**os.environ, "TPS_DATA_DIR": str(tmp_path / "data"), "TPS_PROBE_TIMEOUT_S": "30"}
    env.pop("TPS_BROKER_URL", None)
    tps = [sys.executable, "-m", "tps"]
    key = subprocess.run([*tps, "keys", "create", "--lab", "big"], env=env, cwd=REPO_ROOT,
                         check=True, capture_output=True, text=True).stdout.strip()
    port = _free_port()
    proc = subprocess.Popen([*tps, "serve", "--port", str(port), "--log-level", "warning"],
                            env=env, cwd=REPO_ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield url, key, proc.pid
    finally:
        proc.terminate()
        proc.wait(20)


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
