"""The `tps` command as a test runs it: a command to its end, or `tps serve` for as long as the
test needs it (loopback only, on a free port, stopped however the test ends)."""
from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def run(*args: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None,
        timeout_s: float = 300) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout_s, check=False)
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop(process: subprocess.Popen[bytes], grace_s: float = 30) -> None:
    """Ask the process to stop, then insist."""
    process.terminate()
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def serving(tps: Path, env: dict[str, str], cwd: Path, log: Path,
            start_s: float = 60) -> Iterator[str]:
    """`tps serve` on 127.0.0.1, its output in `log`; yields its base URL once /healthz
    answers."""
    base = f"http://127.0.0.1:{free_port()}"
    with log.open("wb") as out:
        process = subprocess.Popen([str(tps), "serve", "--host", "127.0.0.1", "--port",
                                    base.rsplit(":", 1)[1]], env=env, cwd=cwd, stdout=out,
                                   stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + start_s
        while True:
            assert process.poll() is None, f"tps serve exited:\n{log.read_text()}"
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"tps serve never answered:\n{log.read_text()}"
            time.sleep(0.2)
        yield base
    finally:
        stop(process)
