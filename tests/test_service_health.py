from __future__ import annotations

from pathlib import Path

from service.dispatch import CeleryDispatcher
from service.settings import ApiSettings
from tests.api_client import Api, make_api, tiny_slide_bytes


def test_health_and_readiness(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    ready = api.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok"}


def test_readyz_fails_when_the_broker_is_down(tmp_path: Path) -> None:
    settings = ApiSettings(data_dir=tmp_path / "d", broker_url="redis://127.0.0.1:1/0")
    for fixture in make_api(settings):
        fixture.client.app.state.tps.dispatcher = CeleryDispatcher("redis://127.0.0.1:1/0")  # type: ignore[attr-defined]
        r = fixture.client.get("/readyz")
        assert r.status_code == 503 and r.json()["checks"]["broker"].startswith("error")


def test_metrics_count_requests_and_jobs(api: Api, tmp_path: Path) -> None:
    slide_id = api.upload(tiny_slide_bytes(tmp_path)).json()["id"]
    api.client.post("/v1/jobs", json={"slide_id": slide_id}, headers=api.a())
    text = api.client.get("/metrics").text
    assert 'tps_jobs{state="queued"} 1.0' in text
    assert 'tps_jobs{state="running"} 0.0' in text
    assert ('tps_http_request_duration_seconds_count{method="POST",route="/v1/jobs",'
            'status="202"} 1.0' in text)
    assert "tps_job_queue_wait_seconds_bucket" in text
    assert "tps_job_scoring_seconds_count 0.0" in text


def test_every_route_is_in_the_openapi_document(api: Api) -> None:
    paths = set(api.client.get("/openapi.json").json()["paths"])
    assert {"/v1/slides", "/v1/slides/{slide_id}", "/v1/jobs", "/v1/jobs/{job_id}",
            "/v1/jobs/{job_id}/result", "/v1/jobs/{job_id}/cells.geojson",
            "/v1/jobs/{job_id}/overlay.png", "/v1/batches", "/v1/batches/{batch_id}",
            "/v1/batches/{batch_id}/report.csv", "/v1/batches/{batch_id}/report.json"} <= paths


def test_a_job_is_accepted_while_the_broker_is_down_and_sent_later(tmp_path: Path) -> None:
    """The database is the record at the door: with the broker unreachable the job is still
    202 and queued, once, and a retry with its Idempotency-Key finds the same job."""
    settings = ApiSettings(data_dir=tmp_path / "d", broker_url="redis://127.0.0.1:1/0")
    for fixture in make_api(settings):
        fixture.client.app.state.tps.dispatcher = CeleryDispatcher("redis://127.0.0.1:1/0")  # type: ignore[attr-defined]
        slide_id = fixture.upload(tiny_slide_bytes(tmp_path)).json()["id"]
        headers = {**fixture.a(), "Idempotency-Key": "case-1"}
        first = fixture.client.post("/v1/jobs", json={"slide_id": slide_id}, headers=headers)
        again = fixture.client.post("/v1/jobs", json={"slide_id": slide_id}, headers=headers)
        assert first.status_code == again.status_code == 202
        assert first.json()["id"] == again.json()["id"] and first.json()["state"] == "queued"
        jobs = fixture.client.get("/v1/jobs", headers=fixture.a()).json()
        assert [j["id"] for j in jobs] == [first.json()["id"]]
        batch = fixture.client.post("/v1/batches", json={"slide_ids": [slide_id]},
                                    headers=fixture.a())
        assert batch.status_code == 201
