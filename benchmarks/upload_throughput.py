"""Upload throughput against a raw disk write of the same bytes.

Starts `tps serve` (uvicorn, its own process) with a fresh data directory beside the repo, makes
a readable tiled TIFF of --mb MiB, and streams it from this process (httpx with a generator of
1 MiB pieces, or `curl -T`). For each of --repeat rounds it prints, in MB/s (10^6 bytes/s):
- raw write: the slide's bytes written to the same folder in 4 MiB blocks, then fsync (dd-like),
- new upload: a slide the lab has not sent (hash + write + fsync + the slide probe; 201),
- again: the same bytes again (hash + write + fsync, then found by its sha256; 200): the
  streaming path alone, without the probe's fixed cost (a child process, ~0.2 s),
and the ratio of each to the raw write, with the server's CPU seconds for the second upload
(all its threads): a figure that another process's load does not change, where the MB/s do.
Then the medians (the machine may be shared).

    .venv/bin/python benchmarks/upload_throughput.py --mb 320 --repeat 3 [--client curl]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import tifffile

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
BLOCK = 4 * 1024 * 1024
PIECE = 1024 * 1024


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process, all its threads (the upload's writer too)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def make_slide(path: Path, total_mb: int) -> None:
    """A generic tiled TIFF at 0.5 um/px of about `total_mb` MiB, incompressible pixels."""
    side = int((total_mb * 1024 * 1024 / 3) ** 0.5) // 256 * 256 + 256
    pixels = np.random.default_rng(0).integers(0, 256, (side, side, 3), dtype=np.uint8)
    tifffile.imwrite(path, pixels, tile=(256, 256), photometric="rgb",
                     resolution=(20000.0, 20000.0), resolutionunit="CENTIMETER")


def raw_write_mb_s(data: bytes, folder: Path) -> float:
    path = folder / "raw-write.bin"
    view = memoryview(data)
    started = time.perf_counter()
    with open(path, "wb", buffering=0) as handle:
        handle.writelines(view[start:start + BLOCK] for start in range(0, len(view), BLOCK))
        os.fsync(handle.fileno())
    seconds = time.perf_counter() - started
    path.unlink()
    return len(data) / seconds / 1e6


def upload_mb_s(url: str, key: str, data: bytes, slide: Path, client: str) -> tuple[float, int]:
    headers = {"X-API-Key": key, "X-Filename": "bench.tiff",
               "Content-Type": "application/octet-stream"}
    started = time.perf_counter()
    if client == "curl":
        out = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-T",
                              str(slide), *(f"-H{k}: {v}" for k, v in headers.items()),
                              f"{url}/v1/slides"], check=True, capture_output=True, text=True)
        status = int(out.stdout)
    else:
        view = memoryview(data)

        def body() -> Iterator[bytes]:
            for start in range(0, len(view), PIECE):
                yield bytes(view[start:start + PIECE])

        status = httpx.put(f"{url}/v1/slides", content=body(), headers=headers,
                           timeout=600).status_code
    return len(data) / (time.perf_counter() - started) / 1e6, status


def main() -> None:
    from benchmarks.service_api import running_api

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=320, help="slide size in MiB (300 or more)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--client", choices=("httpx", "curl"), default="httpx")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=REPO) as tmp:
        folder = Path(tmp)
        slide = folder / "bench.tiff"
        make_slide(slide, args.mb)
        data = bytearray(slide.read_bytes())
        rows: list[tuple[float, float, float, float]] = []
        with running_api(folder / "data", "bench") as (url, key, pid):
            for round_ in range(args.repeat):
                data[len(data) // 2 + round_] ^= 0xFF  # other pixels: a slide not sent yet
                slide.write_bytes(data)
                body = bytes(data)
                os.sync()  # each figure starts with no dirty pages of an earlier step
                raw = raw_write_mb_s(body, folder)
                os.sync()
                new, new_status = upload_mb_s(url, key, body, slide, args.client)
                os.sync()
                before = cpu_s(pid)
                again, again_status = upload_mb_s(url, key, body, slide, args.client)
                server_cpu = cpu_s(pid) - before
                assert (new_status, again_status) == (201, 200), (new_status, again_status)
                rows.append((raw, new, again, server_cpu))
                print(f"round {round_ + 1}: raw write {raw:7.1f} MB/s | new upload {new:7.1f} "
                      f"MB/s ({new / raw:.2f}) | again {again:7.1f} MB/s ({again / raw:.2f}), "
                      f"server CPU {server_cpu:.2f} s")
        raw, new, again, cpu = (statistics.median(column) for column in zip(*rows, strict=True))
        print(f"median of {args.repeat} ({len(data) / 1e6:.0f} MB, {args.client}): raw write "
              f"{raw:.1f} MB/s; new upload {new:.1f} MB/s = {new / raw:.2f} of raw; "
              f"again (streaming alone) {again:.1f} MB/s = {again / raw:.2f} of raw; the "
              f"server's CPU for it {cpu:.2f} s ({len(data) / 1e6 / cpu:.0f} MB per CPU-second)")


if __name__ == "__main__":
    main()
