"""Upload throughput against raw disk writes, and GET /v1/jobs/{id} under load.

Starts `tps serve` (embedded mode) on a free port with a fresh data directory, then prints:
- raw disk write MB/s (4 MiB blocks + fsync, same folder as the service's data),
- upload MB/s for a streamed body of the same size (hash + write + fsync + probe included),
- GET /v1/jobs/{id} at full speed: req/s and p50/p99 from wrk (Debian's `wrk` package),
- the same GET from N clients polling once a second each: p50/p99.

Every client runs in a process of its own (wrk, or a child Python process), so the figures
are the server's and not a client sharing its interpreter. On a shared machine pin the server
(`taskset`) and compare figures taken minutes apart, not across machines.

    .venv/bin/python benchmarks/service_api.py --mb 512 --pollers 100 --seconds 20
"""
from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
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


async def paced_latencies(url: str, key: str, job_id: str, pollers: int,
                          seconds: float) -> list[float]:
    """`pollers` clients, each polling once a second for `seconds`, as a lab's scripts do."""
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=pollers, max_keepalive_connections=pollers)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        async def poller(index: int) -> None:
            await asyncio.sleep(index / pollers)  # spread over the second, as real clients are
            for _ in range(int(seconds)):
                started = time.perf_counter()
                r = await client.get(f"/v1/jobs/{job_id}", headers={"X-API-Key": key})
                latencies.append(time.perf_counter() - started)
                r.raise_for_status()
                await asyncio.sleep(max(0.0, 1.0 - (time.perf_counter() - started)))

        await asyncio.gather(*(poller(i) for i in range(pollers)))
    return latencies


def _paced_in_child(url: str, key: str, job_id: str, pollers: int, seconds: float) -> list[float]:
    return asyncio.run(paced_latencies(url, key, job_id, pollers, seconds))


_WRK_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk_figures(url: str, key: str, job_id: str, connections: int,
                seconds: int) -> dict[str, float]:
    """req/s, p50 and p99 (ms) of GET /v1/jobs/{id} from wrk, 2 threads."""
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency",
         "-H", f"X-API-Key: {key}", f"{url}/v1/jobs/{job_id}"],
        check=True, capture_output=True, text=True).stdout
    figures = {"req_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}  # type: ignore[union-attr]
    for name, label in (("p50", "50%"), ("p99", "99%")):
        value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        figures[name] = float(value) * _WRK_MS[unit]
    if "Non-2xx" in out or "Socket errors" in out:
        figures["errors"] = 1.0
        print(out)
    return figures


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_api(data_dir: Path, lab: str,
                serve_args: tuple[str, ...] = ()) -> Iterator[tuple[str, str, int]]:
    """`tps serve` in embedded mode on a free port: yields its URL, a key of `lab`, its pid."""
    env = {**os.environ, "TPS_DATA_DIR": str(data_dir)}
    env.pop("TPS_BROKER_URL", None)
    tps = [sys.executable, "-m", "tps"]
    key = subprocess.run([*tps, "keys", "create", "--lab", lab], env=env, cwd=REPO,
                         check=True, capture_output=True, text=True).stdout.strip()
    port = _free_port()
    proc = subprocess.Popen([*tps, "serve", "--port", str(port), "--log-level", "warning",
                             *serve_args], env=env, cwd=REPO)
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
    parser.add_argument("--mb", type=int, default=512, help="upload size in MiB (0: skip)")
    parser.add_argument("--pollers", type=int, default=100, help="clients polling once a second")
    parser.add_argument("--seconds", type=int, default=20, help="length of each load")
    parser.add_argument("--connections", type=int, default=100, help="wrk's connections")
    parser.add_argument("--workers", type=int, default=1, help="tps serve --workers")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    with tempfile.TemporaryDirectory(dir=REPO) as tmp:
        folder = Path(tmp)
        serve_args = ("--workers", str(args.workers)) if args.workers > 1 else ()
        with running_api(folder / "data", "bench", serve_args) as (url, key, _pid):
            if args.mb > 0:
                raw = disk_write_mb_s(folder, args.mb)
                upload, status = upload_mb_s(url, key, args.mb)
                print(f"raw disk write  : {raw:8.1f} MB/s ({args.mb} MiB, fsync)")
                print(f"streamed upload : {upload:8.1f} MB/s ({args.mb} MiB, HTTP {status}: "
                      f"hash+write+fsync+probe) = {100 * upload / raw:.0f}% of disk")
            job_id = make_job(url, key, folder)
            wrk = wrk_figures(url, key, job_id, args.connections, args.seconds)
            print(f"GET /v1/jobs/{{id}}, wrk {args.connections} connections: "
                  f"{wrk['req_s']:.0f} req/s, p50 {wrk['p50']:.1f} ms, p99 {wrk['p99']:.1f} ms")
            with ProcessPoolExecutor(1) as child:
                lat = np.array(child.submit(_paced_in_child, url, key, job_id, args.pollers,
                                            args.seconds).result()) * 1000
            print(f"GET /v1/jobs/{{id}}, {args.pollers} clients polling once a second: "
                  f"{len(lat)} requests, p50 {np.percentile(lat, 50):.1f} ms, "
                  f"p99 {np.percentile(lat, 99):.1f} ms, max {lat.max():.1f} ms")


if __name__ == "__main__":
    main()
