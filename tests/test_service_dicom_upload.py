"""A DICOM WSI series uploaded as one zip: stored as one folder slide, scored like the folder
itself; hostile zips are refused with nothing left on disk. The series are written by
wsidicomizer, uncompressed, as in tests/test_scoring_dicom.py."""
from __future__ import annotations

import io
import json
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from scoring.slide_reader import file_sha256
from service.app import create_app
from service.keys import create_key
from service.settings import ApiSettings
from tests.api_client import Api
from tests.marker_model import build_marker_model
from tests.worker_slide_fixture import markers_image, write_pyramid_tiff
from worker.embedded import EmbeddedRunner
from worker.settings import WorkerSettings

REPO = Path(__file__).resolve().parents[1]
LIMIT = 12_000_000  # one test series unpacks to ~4.7 MB, two to ~9.4 MB


@pytest.fixture(scope="module")
def two_series(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two series folders of one slide (each conversion gets UIDs of its own)."""
    wsidicomizer = pytest.importorskip("wsidicomizer")
    from wsidicom.codec import NumpySettings

    root = tmp_path_factory.mktemp("dicom")
    image, _ = markers_image(1024, 768, seed=3, tissue_box=(32, 32, 990, 730))
    tiff = write_pyramid_tiff(root / "case.tiff", image, mpp=0.5)
    for name in ("case-dicom", "again-dicom"):
        wsidicomizer.WsiDicomizer.convert(tiff, root / name, encoding=NumpySettings(),
                                          include_label=False, include_overview=False,
                                          include_thumbnail=False)
    return root / "case-dicom", root / "again-dicom"


def zip_of(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as zipped:
        for name, data in members.items():
            zipped.writestr(name, data)
    return out.getvalue()


def series_members(folder: Path, prefix: str = "") -> dict[str, bytes]:
    return {f"{prefix}{p.name}": p.read_bytes() for p in sorted(folder.iterdir())}


def put_zip(client: TestClient, key: str, data: bytes, name: str = "case.zip") -> Any:
    return client.put("/v1/slides", content=data, headers={
        "X-API-Key": key, "X-Filename": name, "Content-Type": "application/zip"})


@pytest.fixture
def settings(tmp_path: Path) -> ApiSettings:  # the `api` fixture's, with room for two series
    return ApiSettings(data_dir=tmp_path / "data", max_upload_bytes=LIMIT, probe_timeout_s=20)


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[tuple[TestClient, str, ApiSettings, Path]]:
    model = build_marker_model(tmp_path / "marker.onnx")
    settings = ApiSettings(data_dir=tmp_path / "data")
    runner = EmbeddedRunner(WorkerSettings(data_dir=settings.data_dir, model_path=model))
    app = create_app(settings, runner)
    with Session(app.state.tps.engine) as session:
        key = create_key(session, "lab-a")
    runner.start()
    try:
        with TestClient(app) as client:
            yield client, key, settings, model
    finally:
        runner.stop()
        app.state.tps.engine.dispose()


def _finished(client: TestClient, job_id: str, key: str) -> dict[str, object]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job: dict[str, object] = client.get(f"/v1/jobs/{job_id}",
                                            headers={"X-API-Key": key}).json()
        if job["state"] in ("succeeded", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish")


def test_a_series_zip_is_one_slide_that_scores_like_its_folder(
        embedded: tuple[TestClient, str, ApiSettings, Path], two_series: tuple[Path, Path],
        tmp_path: Path) -> None:
    client, key, settings, model = embedded
    folder = two_series[0]
    # As labs zip it: inside a folder, with a README and macOS's resource forks beside it.
    members = {**series_members(folder, "case-dicom/"), "case-dicom/README.txt": b"scan 7",
               "__MACOSX/case-dicom/._x.dcm": b"\x00\x05\x16\x07" + bytes(200)}
    r = put_zip(client, key, zip_of(members))
    assert r.status_code == 201, r.text
    slide = r.json()
    assert slide["sha256"] == file_sha256(folder)  # the rule `tps score` uses for a folder
    assert (slide["width"], slide["height"], slide["mpp"], slide["vendor"]) == (
        1024, 768, 0.5, "dicom")
    assert slide["size_bytes"] == sum(p.stat().st_size for p in folder.iterdir())
    stored = settings.slides_dir / slide["id"]
    assert sorted(p.name for p in stored.iterdir()) == sorted(p.name for p in folder.iterdir())
    assert list(settings.incoming_dir.iterdir()) == []
    # The same files zipped another way are the same slide.
    again = put_zip(client, key, zip_of(series_members(folder), zipfile.ZIP_STORED))
    assert again.status_code == 200 and again.json()["id"] == slide["id"]
    # The viewer opens the folder as the engine does.
    dzi = client.get(f"/v1/slides/{slide['id']}/viewer.dzi", headers={"X-API-Key": key})
    assert dzi.status_code == 200 and 'Width="1024"' in dzi.text, dzi.text

    posted = client.post("/v1/jobs", json={"slide_id": slide["id"]},
                         headers={"X-API-Key": key})
    job = _finished(client, posted.json()["id"], key)
    assert job["state"] == "succeeded", job["error"]
    result = client.get(f"/v1/jobs/{job['id']}/result", headers={"X-API-Key": key}).json()
    done = subprocess.run([sys.executable, "-m", "tps", "score", str(folder), "--out",
                           str(tmp_path / "cli"), "--model", str(model)], cwd=REPO,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    direct = json.loads((tmp_path / "cli" / folder.name / "result.json").read_text())
    assert result["counts"] == direct["counts"] and result["tps"] == direct["tps"]
    assert result["slide"]["sha256"] == direct["slide"]["sha256"] == slide["sha256"]
    assert result["tumor_cells"] > 100


def _link(name: str, target: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zipped:
        info = zipfile.ZipInfo(name)
        info.external_attr = 0o120777 << 16  # S_IFLNK: how zip -y stores a symbolic link
        zipped.writestr(info, target)
    return out.getvalue()


def _hostile(case: str, series: tuple[Path, Path]) -> bytes:
    a, b = series
    instance = next(iter(series_members(a).values()))
    bodies = {
        "zip-slip": lambda: zip_of({**series_members(a), "../../outside.dcm": instance}),
        "symlink": lambda: _link("level.dcm", "/etc/passwd"),
        # 13 MB of DICOM-looking zeros in a zip of a few kB
        "bomb": lambda: zip_of({"huge.dcm": bytes(128) + b"DICM" + bytes(13_000_000)}),
        "empty": lambda: zip_of({}),
        "no-dicom": lambda: zip_of({"README.txt": b"the scans are on the other disk"}),
        "two-series": lambda: zip_of({**series_members(a, "a/"), **series_members(b, "b/")}),
        "one-name-twice": lambda: zip_of({"a/x.dcm": instance, "b/x.dcm": instance}),
        "bzip2": lambda: zip_of(series_members(a), zipfile.ZIP_BZIP2),
        "not-a-zip": lambda: b"II*\x00" + bytes(400),
        "truncated": lambda: (whole := zip_of(series_members(a)))[: len(whole) // 2],
        "corrupt": lambda: (whole := zip_of(series_members(a)))[:5000] + bytes(5000)
        + whole[10_000:],
    }
    return bodies[case]()


@pytest.mark.parametrize(("case", "status", "words"), [
    ("zip-slip", 422, "a path that leads outside it ('../../outside.dcm')"),
    ("symlink", 422, "the zip holds a symbolic link ('level.dcm')"),
    ("bomb", 413, "the zip unpacks to 13000132 bytes, over the upload limit of 12000000 bytes"),
    ("empty", 422, "the zip holds no DICOM whole-slide image (WSI) files"),
    ("no-dicom", 422, "the zip holds no DICOM whole-slide image (WSI) files"),
    ("two-series", 422, "the zip holds 2 DICOM WSI series; a slide is one series"),
    ("one-name-twice", 422, "the zip holds two files named 'x.dcm'"),
    ("bzip2", 415, "compressed in a way not read here"),
    ("not-a-zip", 415, "not a zip archive (magic bytes)"),
    ("truncated", 422, "the zip archive is damaged or incomplete"),
    ("corrupt", 422, "the zip archive is damaged or incomplete"),
])
def test_a_hostile_zip_is_refused_and_leaves_nothing(
        api: Api, two_series: tuple[Path, Path], case: str, status: int, words: str) -> None:
    r = put_zip(api.client, api.key_a, _hostile(case, two_series))
    assert r.status_code == status, r.text
    assert words in r.json()["detail"]
    assert list(api.settings.slides_dir.iterdir()) == []
    assert list(api.settings.incoming_dir.iterdir()) == []
    assert not (api.settings.data_dir.parent / "outside.dcm").exists()
    assert api.client.get("/v1/slides", headers=api.a()).json() == []


def test_too_many_entries_is_413(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from service import dicom_upload

    monkeypatch.setattr(dicom_upload, "MAX_MEMBERS", 3)
    r = put_zip(api.client, api.key_a, zip_of({f"{i}.txt": b"" for i in range(4)}))
    assert r.status_code == 413 and r.json()["detail"] == "the zip holds 4 entries; at most 3"
    assert list(api.settings.incoming_dir.iterdir()) == []


def test_a_series_slide_is_deleted_whole(api: Api, two_series: tuple[Path, Path]) -> None:
    slide = put_zip(api.client, api.key_a, zip_of(series_members(two_series[0]))).json()
    assert (api.settings.slides_dir / slide["id"]).is_dir()
    assert api.client.delete(f"/v1/slides/{slide['id']}", headers=api.a()).status_code == 204
    assert list(api.settings.slides_dir.iterdir()) == []
