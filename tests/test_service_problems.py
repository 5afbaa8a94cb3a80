"""Every error is an RFC 9457 problem: application/problem+json with type, title, status,
detail and instance, whether a route, the request's validation or the router refused it."""
from __future__ import annotations

from pathlib import Path

from tests.api_client import Api, tiny_slide_bytes

FIELDS = {"type", "title", "status", "detail", "instance"}


def _problem(response: object, status: int, title: str, path: str) -> dict[str, object]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert set(body) == FIELDS
    assert body["type"] == "about:blank" and body["title"] == title
    assert body["status"] == status and body["instance"] == path
    return body


def test_named_errors(api: Api, tmp_path: Path) -> None:
    missing = _problem(api.client.get("/v1/slides"), 401, "Unauthorized", "/v1/slides")
    assert missing["detail"] == "missing API key: send X-API-Key or Authorization: Bearer"
    bad = api.client.get("/v1/me", headers={"X-API-Key": "tps_nope_secret"})
    assert _problem(bad, 401, "Unauthorized", "/v1/me")["detail"] == "invalid API key"
    assert bad.headers["www-authenticate"] == "Bearer"
    gone = api.client.get("/v1/jobs/nope", headers=api.a())
    assert _problem(gone, 404, "Not Found", "/v1/jobs/nope")["detail"] == "no job nope"

    slide_id = api.upload(tiny_slide_bytes(tmp_path)).json()["id"]
    job_id = api.client.post("/v1/jobs", json={"slide_id": slide_id}, headers=api.a()).json()["id"]
    early = api.client.get(f"/v1/jobs/{job_id}/result", headers=api.a())
    body = _problem(early, 409, "Conflict", f"/v1/jobs/{job_id}/result")
    assert body["detail"] == f"job {job_id} is queued; no result yet"
    other = api.client.get(f"/v1/jobs/{job_id}", headers=api.b())  # another lab's job
    assert _problem(other, 404, "Not Found", f"/v1/jobs/{job_id}")["detail"] == f"no job {job_id}"
    not_a_slide = api.upload(b"hello, not a slide")
    _problem(not_a_slide, 415, "Unsupported Media Type", "/v1/slides")


def test_validation_errors(api: Api) -> None:
    typo = api.client.post("/v1/jobs", json={"slide_id": "x", "treshold": 0.5}, headers=api.a())
    body = _problem(typo, 422, "Unprocessable Content", "/v1/jobs")
    assert body["detail"] == 'unknown field "treshold"'
    wrong_type = api.client.get("/v1/jobs?limit=many", headers=api.a())
    detail = _problem(wrong_type, 400, "Bad Request", "/v1/jobs")["detail"]
    assert str(detail).startswith("query.limit: ")
    broken = api.client.post("/v1/jobs", content=b"{", headers={
        **api.a(), "Content-Type": "application/json"})
    _problem(broken, 400, "Bad Request", "/v1/jobs")


def test_the_routers_own_refusals(api: Api) -> None:
    unknown = api.client.get("/v1/nothing-here", headers=api.a())
    body = _problem(unknown, 404, "Not Found", "/v1/nothing-here")
    assert body["detail"] == "no such path: /v1/nothing-here"
    wrong_method = api.client.patch("/v1/me", headers=api.a())
    body = _problem(wrong_method, 405, "Method Not Allowed", "/v1/me")
    assert body["detail"] == "PATCH is not allowed here; allowed: GET"
    assert wrong_method.headers["allow"] == "GET"


def test_an_unexpected_error_is_a_problem_without_internals(api: Api) -> None:
    from fastapi.testclient import TestClient

    def broken() -> None:
        raise RuntimeError("secret internals")

    api.client.app.add_api_route("/v1/broken", broken)  # type: ignore[attr-defined]
    with TestClient(api.client.app, raise_server_exceptions=False) as client:
        response = client.get("/v1/broken")
    body = _problem(response, 500, "Internal Server Error", "/v1/broken")
    assert "secret" not in str(body) and "log" in str(body["detail"])
