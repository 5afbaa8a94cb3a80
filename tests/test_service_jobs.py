from __future__ import annotations

from pathlib import Path

from jobs import lease
from tests.api_client import Api, tiny_slide_bytes


def _slide(api: Api, tmp_path: Path, seed: int = 0) -> str:
    r = api.upload(tiny_slide_bytes(tmp_path, seed), name=f"s{seed}.tiff")
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_post_job_queues_and_dispatches(api: Api, tmp_path: Path) -> None:
    slide_id = _slide(api, tmp_path)
    r = api.client.post("/v1/jobs", json={"slide_id": slide_id, "cutoffs": [1, 50]},
                        headers=api.a())
    assert r.status_code == 202
    job = r.json()
    assert job["state"] == "queued" and job["attempts"] == 0 and job["max_attempts"] == 3
    assert job["params"] == {"assay": "22C3", "cutoffs": [1.0, 50.0], "threshold": None,
                             "mpp": None}
    assert job["progress"] == {"done": 0, "total": 0}
    assert job["queued_at"].endswith("Z") or job["queued_at"].endswith("+00:00")
    assert api.dispatcher.enqueued == [job["id"]]
    got = api.client.get(f"/v1/jobs/{job['id']}", headers=api.a()).json()
    assert got == job
    assert [j["id"] for j in api.client.get("/v1/jobs", headers=api.a()).json()] == [job["id"]]


def test_idempotency_key_returns_the_same_job_or_409(api: Api, tmp_path: Path) -> None:
    slide_id = _slide(api, tmp_path)
    headers = {**api.a(), "Idempotency-Key": "run-1"}
    first = api.client.post("/v1/jobs", json={"slide_id": slide_id}, headers=headers)
    second = api.client.post("/v1/jobs", json={"slide_id": slide_id}, headers=headers)
    assert first.status_code == second.status_code == 202
    assert first.json()["id"] == second.json()["id"]
    assert len(api.dispatcher.enqueued) == 1  # the repeat did not queue again
    changed = api.client.post("/v1/jobs", json={"slide_id": slide_id, "threshold": 0.3},
                              headers=headers)
    assert changed.status_code == 409
    # Keys are per lab: lab B's identical key is a different job (for B's own slide).
    slide_b = api.upload(tiny_slide_bytes(tmp_path, 0), key=api.key_b).json()["id"]
    other = api.client.post("/v1/jobs", json={"slide_id": slide_b},
                            headers={**api.b(), "Idempotency-Key": "run-1"})
    assert other.status_code == 202 and other.json()["id"] != first.json()["id"]


def test_bad_bodies_are_400(api: Api, tmp_path: Path) -> None:
    slide_id = _slide(api, tmp_path)
    for body in ({}, {"slide_id": slide_id, "threshold": 2}, {"slide_id": slide_id,
                 "cutoffs": [50, 1]}, {"slide_id": slide_id, "cutoffs": [0]}):
        r = api.client.post("/v1/jobs", json=body, headers=api.a())
        assert r.status_code == 400, body
    r = api.client.post("/v1/jobs", content=b"{not json", headers={
        **api.a(), "Content-Type": "application/json"})
    assert r.status_code == 400


def test_other_labs_slides_and_jobs_are_404(api: Api, tmp_path: Path) -> None:
    slide_id = _slide(api, tmp_path)
    assert api.client.post("/v1/jobs", json={"slide_id": slide_id},
                           headers=api.b()).status_code == 404
    job_id = api.client.post("/v1/jobs", json={"slide_id": slide_id}, headers=api.a()).json()["id"]
    for suffix in ("", "/result", "/cells.geojson", "/overlay.png"):
        assert api.client.get(f"/v1/jobs/{job_id}{suffix}", headers=api.b()).status_code == 404
        assert api.client.get(f"/v1/jobs/{job_id}{suffix}").status_code == 401
    assert api.client.get("/v1/jobs/nope", headers=api.a()).status_code == 404
    assert api.client.get("/v1/jobs", headers=api.b()).json() == []


def test_results_only_when_finished(api: Api, tmp_path: Path) -> None:
    slide_id = _slide(api, tmp_path)
    job_id = api.client.post("/v1/jobs", json={"slide_id": slide_id}, headers=api.a()).json()["id"]
    for suffix in ("/result", "/cells.geojson", "/overlay.png"):
        r = api.client.get(f"/v1/jobs/{job_id}{suffix}", headers=api.a())
        assert r.status_code == 409 and "queued" in r.json()["detail"]
    engine = api.client.app.state.tps.engine  # type: ignore[attr-defined]
    out = api.settings.results_dir / job_id
    out.mkdir(parents=True)
    (out / "cells.geojson").write_text('{"type": "FeatureCollection", "features": []}')
    assert lease.claim(engine, job_id, "w", 60)
    assert lease.set_progress(engine, job_id, "w", 4, 9)
    running = api.client.get(f"/v1/jobs/{job_id}", headers=api.a()).json()
    assert running["state"] == "running" and running["progress"] == {"done": 4, "total": 9}
    assert running["attempts"] == 1 and running["started_at"] is not None
    assert lease.succeed(engine, job_id, "w", {"tps": 25.0}, str(out))
    assert api.client.get(f"/v1/jobs/{job_id}/result", headers=api.a()).json() == {"tps": 25.0}
    cells = api.client.get(f"/v1/jobs/{job_id}/cells.geojson", headers=api.a())
    assert cells.status_code == 200 and cells.json()["type"] == "FeatureCollection"
    assert cells.headers["content-type"] == "application/geo+json"
    missing = api.client.get(f"/v1/jobs/{job_id}/overlay.png", headers=api.a())
    assert missing.status_code == 404


def test_failed_job_shows_its_error(api: Api, tmp_path: Path) -> None:
    slide_id = _slide(api, tmp_path)
    job_id = api.client.post("/v1/jobs", json={"slide_id": slide_id}, headers=api.a()).json()["id"]
    engine = api.client.app.state.tps.engine  # type: ignore[attr-defined]
    assert lease.claim(engine, job_id, "w", 60)
    assert lease.fail(engine, job_id, "w", "no tissue found")
    job = api.client.get(f"/v1/jobs/{job_id}", headers=api.a()).json()
    assert (job["state"], job["error"]) == ("failed", "no tissue found")
    r = api.client.get(f"/v1/jobs/{job_id}/result", headers=api.a())
    assert r.status_code == 409 and "no tissue found" in r.json()["detail"]


def test_a_slide_without_mpp_needs_it_in_the_job_request(api: Api, tmp_path: Path) -> None:
    import numpy as np
    import tifffile

    path = tmp_path / "no-mpp.tiff"
    image = np.random.default_rng(3).integers(0, 255, (512, 512, 3), dtype=np.uint8)
    tifffile.imwrite(path, image, tile=(256, 256), photometric="rgb")
    r = api.upload(path.read_bytes(), name="no-mpp.tiff")
    assert r.status_code == 201 and r.json()["mpp"] is None
    slide_id = r.json()["id"]
    refused = api.client.post("/v1/jobs", json={"slide_id": slide_id}, headers=api.a())
    assert refused.status_code == 400
    assert "no-mpp.tiff" in refused.json()["detail"] and '"mpp"' in refused.json()["detail"]
    assert api.dispatcher.enqueued == []
    given = api.client.post("/v1/jobs", json={"slide_id": slide_id, "mpp": 0.25},
                            headers=api.a())
    assert given.status_code == 202 and given.json()["params"]["mpp"] == 0.25
    for absurd in (-1, 0, 1e9):
        bad = api.client.post("/v1/jobs", json={"slide_id": slide_id, "mpp": absurd},
                              headers=api.a())
        assert bad.status_code == 400
        assert f"{absurd:g} (from the job request) is outside" in bad.json()["detail"]
