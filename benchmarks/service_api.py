"""Upload throughput against raw disk writes, and GET /v1/jobs/{id} latency under 100 pollers.

Starts `tps serve` (embedded mode) on a free port with a fresh data directory, then prints:
- raw disk write MB/s (4 MiB blocks + fsync, same folder as the service's data),
- upload MB/s for a streamed body of the same size (hash + write + fsync + probe included),
- p50/p99 latency of GET /v1/jobs/{id} with N concurrent pollers.

    .venv/bin/python benchmarks/service_api.py --mb 512 --pollers 100 --requests 20
"""
from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import tifffile

BLOCK = 4 * 1024 * 1024
REPO = Path(__file__).resolve().parents[1]


def disk_write_mb_s(folder: Path, total_mb: int) -> float:
    block = bytes(BLOCK)
    path = folder / "raw-write.bin"
    started = time.perf_counter()
    with open(path, "wb") as handle:
        handle.writelines(block for _ in range(total_mb * 1024 * 1024 // BLOCK))
        handle.flush()
        os.fsync(handle.fileno())
    seconds = time.perf_counter() - started
    path.unlink()
    return total_mb / seconds


def upload_mb_s(url: str, key: str, total_mb: int) -> tuple[float, int]:
    chunk = bytes(1024 * 1024)

    def body() -> Iterator[bytes]:
        yield b"II*\x00" + chunk[4:]
        for _ in range(total_mb - 1):
            yield chunk

    started = time.perf_counter()
    r = httpx.put(f"{url}/v1/slides", content=body(), timeout=600, headers={
        "X-API-Key": key, "X-Filename": "bench.tiff", "Content-Type": "application/octet-stream"})
    return total_mb / (time.perf_counter() - started), r.status_code


def make_job(url: str, key: str, folder: Path) -> str:
    path = folder / "small.tiff"
    tifffile.imwrite(path, np.full((512, 512, 3), 200, np.uint8), tile=(256, 256),
                     photometric="rgb", resolution=(20000.0, 20000.0), resolutionunit="CENTIMETER")
    headers = {"X-API-Key": key}
    slide = httpx.put(f"{url}/v1/slides", content=path.read_bytes(), headers={
        **headers, "X-Filename": "small.tiff", "Content-Type": "application/octet-stream"})
    slide.raise_for_status()
    job = httpx.post(f"{url}/v1/jobs", json={"slide_id": slide.json()["id"]}, headers=headers)
    job.raise_for_status()
    return str(job.json()["id"])


async def poll_latencies(url: str, key: str, job_id: str, pollers: int,
                         requests: int) -> list[float]:
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=pollers, max_keepalive_connections=pollers)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        async def poller() -> None:
            for _ in range(requests):
                started = time.perf_counter()
                r = await client.get(f"/v1/jobs/{job_id}", headers={"X-API-Key": key})
                latencies.append(time.perf_counter() - started)
                r.raise_for_status()

        await asyncio.gather(*(poller() for _ in range(pollers)))
    return latencies


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_api(data_dir: Path, lab: str) -> Iterator[tuple[str, str, int]]:
    """`tps serve` in embedded mode on a free port: yields its URL, a key of `lab`, its pid."""
    env = {**os.environ, "TPS_DATA_DIR": str(data_dir)}
    env.pop("TPS_BROKER_URL", None)
    tps = [sys.executable, "-m", "tps"]
    key = subprocess.run([*tps, "keys", "create", "--lab", lab], env=env, cwd=REPO,
                         check=True, capture_output=True, text=True).stdout.strip()
    port = _free_port()
    proc = subprocess.Popen([*tps, "serve", "--port", str(port), "--log-level", "warning"],
                            env=env, cwd=REPO)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=512, help="upload size in MiB")
    parser.add_argument("--pollers", type=int, default=100)
    parser.add_argument("--requests", type=int, default=20, help="GETs per poller")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=REPO) as tmp:
        folder = Path(tmp)
        with running_api(folder / "data", "bench") as (url, key, _pid):
            raw = disk_write_mb_s(folder, args.mb)
            upload, status = upload_mb_s(url, key, args.mb)
            print(f"raw disk write  : {raw:8.1f} MB/s ({args.mb} MiB, fsync)")
            print(f"streamed upload : {upload:8.1f} MB/s ({args.mb} MiB, HTTP {status}: "
                  f"hash+write+fsync+probe) = {100 * upload / raw:.0f}% of disk")
            job_id = make_job(url, key, folder)
            lat = np.array(asyncio.run(poll_latencies(url, key, job_id, args.pollers,
                                                      args.requests))) * 1000
            print(f"GET /v1/jobs/{{id}}: {args.pollers} pollers x {args.requests}: "
                  f"p50 {np.percentile(lat, 50):.1f} ms, p99 {np.percentile(lat, 99):.1f} ms, "
                  f"max {lat.max():.1f} ms")


if __name__ == "__main__":
    main()
