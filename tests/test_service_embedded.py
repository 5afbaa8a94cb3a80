"""End to end in embedded mode: upload a synthetic markers slide, score it, compare to truth."""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from service.app import create_app
from service.keys import create_key
from service.settings import ApiSettings
from tests.marker_model import build_marker_model
from worker.embedded import EmbeddedRunner
from worker.settings import WorkerSettings


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[tuple[TestClient, str, ApiSettings]]:
    settings = ApiSettings(data_dir=tmp_path / "data")
    runner = EmbeddedRunner(WorkerSettings(data_dir=settings.data_dir,
                                           model_path=build_marker_model(tmp_path / "marker.onnx")))
    app = create_app(settings, runner)
    with Session(app.state.tps.engine) as session:
        key = create_key(session, "lab-a")
    runner.start()
    try:
        with TestClient(app) as client:
            yield client, key, settings
    finally:
        runner.stop()
        app.state.tps.engine.dispose()


def _poll(client: TestClient, job_id: str, headers: dict[str, str]) -> dict[str, object]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job: dict[str, object] = client.get(f"/v1/jobs/{job_id}", headers=headers).json()
        if job["state"] in ("succeeded", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish: {job}")


def test_markers_slide_scores_to_its_truth(embedded: tuple[TestClient, str, ApiSettings],
                                           tmp_path: Path) -> None:
    from synth.slide import write_slide

    client, key, _settings = embedded
    headers = {"X-API-Key": key}
    truth = write_slide(tmp_path / "m.tiff", 1200, 900, tps=40.0, seed=5, style="markers")
    upload = client.put("/v1/slides", content=(tmp_path / "m.tiff").read_bytes(), headers={
        **headers, "X-Filename": "m.tiff", "Content-Type": "application/octet-stream"})
    assert upload.status_code == 201, upload.text
    posted = client.post("/v1/jobs", json={"slide_id": upload.json()["id"]}, headers=headers)
    assert posted.status_code == 202
    job = _poll(client, posted.json()["id"], headers)
    assert job["state"] == "succeeded", job["error"]
    assert job["attempts"] == 1
    progress = job["progress"]
    assert isinstance(progress, dict) and progress["done"] == progress["total"] > 0
    result = client.get(f"/v1/jobs/{job['id']}/result", headers=headers).json()
    assert result["counts"] == truth.counts
    assert result["tps"] == pytest.approx(truth.tps)
    on_disk = json.loads((tmp_path / "m.truth.json").read_text())
    assert result["counts"] == on_disk["counts"]
    cells = client.get(f"/v1/jobs/{job['id']}/cells.geojson", headers=headers).json()
    assert len(cells["features"]) == sum(truth.counts.values())
    overlay = client.get(f"/v1/jobs/{job['id']}/overlay.png", headers=headers)
    assert overlay.status_code == 200 and overlay.content[:8] == b"\x89PNG\r\n\x1a\n"
    batch = client.post("/v1/batches", json={"job_ids": [job["id"]]}, headers=headers).json()
    row = client.get(f"/v1/batches/{batch['id']}/report.json", headers=headers).json()[0]
    assert (row["tps"], row["tumor_pos"], row["model_version"]) == (
        round(truth.tps, 2), truth.counts["tumor_pos"], "1")  # reports round to 0.01 %


def test_an_unreadable_model_fails_the_job_with_its_reason(
        embedded: tuple[TestClient, str, ApiSettings], tmp_path: Path) -> None:
    client, key, _settings = embedded
    (tmp_path / "marker.onnx").write_bytes(b"not onnx")
    from tests.api_client import tiny_slide_bytes
    headers = {"X-API-Key": key}
    slide = client.put("/v1/slides", content=tiny_slide_bytes(tmp_path), headers={
        **headers, "X-Filename": "t.tiff", "Content-Type": "application/octet-stream"}).json()
    job_id = client.post("/v1/jobs", json={"slide_id": slide["id"]}, headers=headers).json()["id"]
    job = _poll(client, job_id, headers)
    assert job["state"] == "failed" and job["attempts"] == 1
    assert isinstance(job["error"], str) and job["error"]
