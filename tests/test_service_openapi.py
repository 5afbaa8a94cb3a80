"""The OpenAPI document tells the truth: for every /v1 operation, the error statuses it
documents are exactly those it answers to the probes of tests/openapi_probe.py, each error a
Problem; every operation names the API-key schemes; uploads and JSON results are typed."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from sqlalchemy import update
from sqlalchemy.orm import Session

from jobs.records import Job
from tests.api_client import Api, tiny_slide_bytes
from tests.openapi_probe import Objects, fill_path, probes

PROBLEM = {"$ref": "#/components/schemas/Problem"}


def _operations(api: Api) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, operation) of every /v1 route the app has, DELETEs last: they may
    remove the objects the other probes use."""
    doc = api.client.get("/openapi.json").json()
    found = []
    # The app's routes as served (FastAPI keeps an included router as one entry of app.routes).
    for route in iter_route_contexts(api.client.app.routes):  # type: ignore[attr-defined]
        if route.path_format.startswith("/v1/") and route.methods:
            for method in sorted(route.methods - {"HEAD"}):
                found.append((method, route.path_format,
                              doc["paths"][route.path_format][method.lower()]))
    assert len(found) > 20
    return sorted(found, key=lambda op: (op[0] == "DELETE", op[1], op[0]))


def _objects(api: Api, tmp_path: Path) -> Objects:
    slide = api.upload(tiny_slide_bytes(tmp_path)).json()["id"]
    job = api.client.post("/v1/jobs", json={"slide_id": slide}, headers=api.a()).json()["id"]
    batch = api.client.post("/v1/batches", json={"job_ids": [job]}, headers=api.a()).json()["id"]
    with Session(api.client.app.state.tps.engine) as session:  # type: ignore[attr-defined]
        session.execute(update(Job).where(Job.id == job).values(state="running"))
        session.commit()
    return Objects(slide=slide, job=job, batch=batch)


def _body_schema(doc: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any] | None:
    ref = (operation.get("requestBody", {}).get("content", {}).get("application/json", {})
           .get("schema", {}).get("$ref"))
    return doc["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else None


def test_documented_errors_are_the_ones_each_route_answers(api: Api, tmp_path: Path) -> None:
    objects = _objects(api, tmp_path)
    doc = api.client.get("/openapi.json").json()
    wrong = []
    for method, path, operation in _operations(api):
        documented = {int(code) for code in operation["responses"] if int(code) >= 400}
        seen: dict[int, str] = {}
        for probe in probes(operation, api.key_a, _body_schema(doc, operation), objects,
                            api.settings.max_upload_bytes):
            url = fill_path(path, operation.get("parameters", []),
                            objects if probe.path_ids == "running" else None)
            response = api.client.request(method, url, headers=probe.headers,
                                          params=probe.query, content=probe.content)
            if response.status_code >= 400:
                seen.setdefault(response.status_code, probe.why)
        if set(seen) != documented:
            wrong.append(f"{method} {path}: documents {sorted(documented)}, answered "
                         f"{sorted(seen.items())}")
    assert not wrong, "\n".join(wrong)


def test_every_error_is_documented_as_a_problem_and_every_operation_needs_a_key(
        api: Api) -> None:
    doc = api.client.get("/openapi.json").json()
    schemes = doc["components"]["securitySchemes"]
    assert schemes["ApiKey"] == {"type": "apiKey", "in": "header", "name": "X-API-Key",
                                 "description": schemes["ApiKey"]["description"]}
    assert schemes["Bearer"]["type"] == "http" and schemes["Bearer"]["scheme"] == "bearer"
    assert set(doc["components"]["schemas"]["Problem"]["properties"]) == {
        "type", "title", "status", "detail", "instance"}
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    for method, path, operation in _operations(api):
        assert {"ApiKey": []} in operation["security"], (method, path)
        assert {"Bearer": []} in operation["security"], (method, path)
        for code, response in operation["responses"].items():
            if int(code) >= 400:
                assert response["content"] == {"application/problem+json": {
                    "schema": PROBLEM}}, (method, path, code)


@pytest.mark.parametrize(("path", "schema"), [
    ("/v1/jobs/{job_id}/result", {"$ref": "#/components/schemas/Result"}),
    ("/v1/batches/{batch_id}/report.json",
     {"type": "array", "items": {"$ref": "#/components/schemas/ReportRow"},
      "title": "Response Report Json V1 Batches  Batch Id  Report Json Get"}),
    ("/v1/slides/{slide_id}/viewer.json", {"$ref": "#/components/schemas/ViewerInfo"}),
    ("/v1/jobs/{job_id}/cells", {"$ref": "#/components/schemas/CellRegion"}),
])
def test_json_results_are_typed(api: Api, path: str, schema: dict[str, Any]) -> None:
    ok = api.client.get("/openapi.json").json()["paths"][path]["get"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"] == schema


def test_the_upload_body_is_documented_as_raw_bytes(api: Api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]
    for method in ("put", "post"):
        body = paths["/v1/slides"][method]["requestBody"]
        assert body["required"] is True and "X-Filename" in body["description"]
        for media in ("application/octet-stream", "application/zip"):
            assert body["content"][media]["schema"] == {"type": "string", "format": "binary"}
