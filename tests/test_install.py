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
import sys
import sysconfig
import time
from pathlib import Path

import httpx
import onnx

from tests.served import run, serving

REPO = Path(__file__).resolve().parents[1]
BUNDLED = REPO / "models" / "default.onnx"
# Built from a copy: an in-tree build writes build/ into the shared tree, and setuptools never
# cleans build/lib, so modules deleted from the source could still ship.
COPY_IGNORE = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__",
                                     ".*_cache", "tps-data", "runs")


def _install_wheel(tmp: Path) -> Path:
    """Build the wheel, install it without dependencies into a new venv; return the venv."""
    shutil.copytree(REPO, tmp / "src", ignore=COPY_IGNORE)
    pip = (sys.executable, "-m", "pip")
    run(*pip, "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", tmp / "dist",
         tmp / "src", cwd=tmp)
    venv = tmp / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp)
    (wheel,) = (tmp / "dist").glob("pdl1_tps-*.whl")
    run(*pip, "--python", venv / "bin" / "python", "install", "--no-deps", "--no-index", "-q",
         wheel, cwd=tmp)
    site = run(venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()"
                "['purelib'])", cwd=tmp).strip()
    deps = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    (Path(site) / "zz_deps_from_dev_venv.pth").write_text("".join(f"{d}\n" for d in deps))
    return venv


def test_wheel_install_serves_and_scores_with_bundled_model(tmp_path: Path) -> None:
    venv = _install_wheel(tmp_path)
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TPS_", "PYTHON"))}
    env["TPS_DATA_DIR"] = str(tmp_path / "data")
    py, tps = venv / "bin" / "python", venv / "bin" / "tps"

    where = json.loads(run(py, "-c", "import json, scoring, service, scoring.bundled_model as b; "
                            "print(json.dumps([scoring.__file__, service.__file__, "
                            "str(b.bundled_model_path())]))", cwd=work, env=env))
    for path in map(Path, where):
        assert path.resolve().is_relative_to(venv.resolve()), f"{path} is not the installed copy"
    assert Path(where[2]).is_file(), "models/default.onnx is missing from the wheel"

    run(tps, "synth", "slide", "--out", work / "s.tiff", "--width", "1500", "--height", "1200",
         "--tps", "30", "--seed", "1", cwd=work, env=env)
    key = run(tps, "keys", "create", "--lab", "demo", cwd=work, env=env).strip().splitlines()[-1]

    with serving(tps, env, work, tmp_path / "serve.log") as base, httpx.Client(
            base_url=base, headers={"X-API-Key": key}, timeout=30) as client:
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
        log = (tmp_path / "serve.log").read_text()
        assert state == "succeeded", f"job is {state}: {body}\n{log}"
        result = client.get(f"{url}/result").json()

    assert isinstance(result["tps"], (int, float)) and 0 <= result["tps"] <= 100
    meta = {p.key: p.value for p in onnx.load(str(BUNDLED)).metadata_props}
    assert result["model"]["name"] == meta["name"]
    assert result["model"]["version"] == meta["version"]
    assert result["model"]["sha256"] == hashlib.sha256(BUNDLED.read_bytes()).hexdigest()
