"""A non-editable install serves and scores with the bundled model, run from another directory.

The other tests import the source tree (editable install, repo on sys.path), so they cannot see
what a wheel leaves out: models/default.onnx and the other package data, a package missing from
[tool.setuptools.packages.find], or code that reads files relative to the repo. This test builds
the wheel, installs it alone into a fresh venv (the dependencies come from .venv through a plain
path line in a .pth, which does not run .venv's editable finder), and scores a synthetic slide
through `tps serve` with no TPS_MODEL_PATH, from a temporary working directory.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import httpx
import onnx

from tests.processes import stop

REPO = Path(__file__).resolve().parents[1]
BUNDLED = REPO / "models" / "default.onnx"
# Built from a copy: an in-tree build writes build/ into the shared tree, and setuptools never
# cleans build/lib, so modules deleted from the source could still ship.
COPY_IGNORE = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__",
                                     ".*_cache", "tps-data", "runs")


def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _install_wheel(tmp: Path) -> Path:
    """Build the wheel, install it without dependencies into a new venv; return the venv."""
    shutil.copytree(REPO, tmp / "src", ignore=COPY_IGNORE)
    pip = (sys.executable, "-m", "pip")
    _run(*pip, "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", tmp / "dist",
         tmp / "src", cwd=tmp)
    venv = tmp / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp)
    (wheel,) = (tmp / "dist").glob("pdl1_tps-*.whl")
    _run(*pip, "--python", venv / "bin" / "python", "install", "--no-deps", "--no-index", "-q",
         wheel, cwd=tmp)
    site = _run(venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()"
                "['purelib'])", cwd=tmp).strip()
    deps = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    (Path(site) / "zz_deps_from_dev_venv.pth").write_text("".join(f"{d}\n" for d in deps))
    return venv


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(client: httpx.Client, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, f"tps serve exited:\n{log.read_text()}"
        try:
            if client.get("/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"tps serve never answered /healthz:\n{log.read_text()}")


def test_wheel_install_serves_and_scores_with_bundled_model(tmp_path: Path) -> None:
    venv = _install_wheel(tmp_path)
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TPS_", "PYTHON"))}
    env["TPS_DATA_DIR"] = str(tmp_path / "data")
    py, tps = venv / "bin" / "python", venv / "bin" / "tps"

    where = json.loads(_run(py, "-c", "import json, scoring, service, scoring.bundled_model as b; "
                            "print(json.dumps([scoring.__file__, service.__file__, "
                            "str(b.bundled_model_path())]))", cwd=work, env=env))
    for path in map(Path, where):
        assert path.resolve().is_relative_to(venv.resolve()), f"{path} is not the installed copy"
    assert Path(where[2]).is_file(), "models/default.onnx is missing from the wheel"

    _run(tps, "synth", "slide", "--out", work / "s.tiff", "--width", "1500", "--height", "1200",
         "--tps", "30", "--seed", "1", cwd=work, env=env)
    key = _run(tps, "keys", "create", "--lab", "demo", cwd=work, env=env).strip().splitlines()[-1]

    log = tmp_path / "serve.log"
    port = _free_port()
    with log.open("wb") as out:
        server = subprocess.Popen([str(tps), "serve", "--host", "127.0.0.1", "--port", str(port)],
                                  cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"X-API-Key": key},
                          timeout=30) as client:
            _wait_for(client, server, log)
            slide = client.put("/v1/slides", content=(work / "s.tiff").read_bytes(),
                               headers={"X-Filename": "s.tiff",
                                        "Content-Type": "application/octet-stream"})
            assert slide.status_code == 201, slide.text
            job = client.post("/v1/jobs", json={"slide_id": slide.json()["id"]})
            assert job.status_code == 202, job.text
            url, deadline, state = f"/v1/jobs/{job.json()['id']}", time.monotonic() + 120, ""
            while time.monotonic() < deadline:
                body = client.get(url).json()
                if (state := body["state"]) in ("succeeded", "failed"):
                    break
                time.sleep(0.5)
            assert state == "succeeded", f"job is {state}: {body}\n{log.read_text()}"
            result = client.get(f"{url}/result").json()
    finally:
        stop(server)

    assert isinstance(result["tps"], (int, float)) and 0 <= result["tps"] <= 100
    meta = {p.key: p.value for p in onnx.load(str(BUNDLED)).metadata_props}
    assert result["model"]["name"] == meta["name"]
    assert result["model"]["version"] == meta["version"]
    assert result["model"]["sha256"] == hashlib.sha256(BUNDLED.read_bytes()).hexdigest()
