"""The API on the real PostgreSQL: the same routes and errors as on SQLite."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from service.settings import ApiSettings
from tests.api_client import Api, make_api, tiny_slide_bytes


@pytest.fixture
def pg_api(tmp_path: Path, pg_schema_url: str) -> Iterator[Api]:
    yield from make_api(ApiSettings(data_dir=tmp_path / "data", database_url=pg_schema_url,
                                 max_upload_bytes=2_000_000))


def test_flow_and_errors_on_postgres(pg_api: Api, tmp_path: Path) -> None:
    api = pg_api
    data = tiny_slide_bytes(tmp_path)
    first = api.upload(data)
    assert first.status_code == 201
    assert api.upload(data).status_code == 200
    assert api.upload(b"GIF89a" + bytes(200)).status_code == 415
    assert api.upload(data[:300], name="cut.tiff").status_code == 422
    assert api.upload(b"II*\x00" + bytes(2_000_000)).status_code == 413
    assert api.client.get("/v1/slides").status_code == 401
    slide_id = first.json()["id"]
    headers = {**api.a(), "Idempotency-Key": "k"}
    job = api.client.post("/v1/jobs", json={"slide_id": slide_id}, headers=headers)
    again = api.client.post("/v1/jobs", json={"slide_id": slide_id}, headers=headers)
    assert job.status_code == 202 and again.json()["id"] == job.json()["id"]
    assert api.client.post("/v1/jobs", json={"slide_id": slide_id, "assay": "28-8"},
                           headers=headers).status_code == 409
    assert api.client.post("/v1/jobs", json={"slide_id": 5}, headers=api.a()).status_code == 400
    job_id = job.json()["id"]
    assert api.client.get(f"/v1/jobs/{job_id}", headers=api.b()).status_code == 404
    assert api.client.get(f"/v1/jobs/{job_id}/result", headers=api.a()).status_code == 409
    batch = api.client.post("/v1/batches", json={"slide_ids": [slide_id]}, headers=api.a())
    assert batch.status_code == 201
    report = api.client.get(f"/v1/batches/{batch.json()['id']}/report.csv", headers=api.a())
    assert report.text.splitlines()[1].startswith("case.tiff,")
    assert api.client.get("/readyz").json()["checks"] == {"database": "ok"}
