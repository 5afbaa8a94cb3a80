"""The few errors a route raises, and the one place that answers every error, a route's or the
framework's (unknown path, wrong method, malformed request), as an RFC 9457 problem."""
from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from pydantic_core import PydanticCustomError
from starlette.exceptions import HTTPException

PROBLEM_JSON = "application/problem+json"
# The pydantic error type of a well-formed request that names something the service does not
# know (see `unprocessable`).
_UNPROCESSABLE = "unprocessable"

log = logging.getLogger(__name__)


class Problem(BaseModel):
    """RFC 9457 problem details. `type` is always about:blank: the status says what kind of
    problem it is, `title` is its standard phrase and `detail` says what went wrong here."""

    type: str = Field(default="about:blank", examples=["about:blank"])
    title: str = Field(examples=["Not Found"])
    status: int = Field(examples=[404])
    detail: str = Field(examples=["no job 0f3a..."])
    instance: str = Field(description="the request's path", examples=["/v1/jobs/0f3a..."])


class ApiError(Exception):
    status = 500

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401


class NotFound(ApiError):
    """Also what a lab gets for another lab's objects: their existence is not revealed."""

    status = 404


class Conflict(ApiError):
    status = 409


class PayloadTooLarge(ApiError):
    status = 413


class UnsupportedMedia(ApiError):
    status = 415


class UnreadableSlide(ApiError):
    status = 422


_MEANINGS = {
    400: "malformed request (a parameter or body field of the wrong type, or missing)",
    401: "no API key, or one that is unknown, revoked or expired",
    404: "no such object for this lab (another lab's objects are not found either)",
    409: "the object is not in a state that allows this (a job still running or failed)",
    413: "the upload is larger than the service accepts",
    415: "the body is not a kind of file the service accepts",
    422: "well formed but cannot be acted on (an unknown field or assay, an unreadable slide)",
}


# RFC 9110's names; Python before 3.13 gives the older ones, which would change with Python.
_TITLES = {413: "Content Too Large", 422: "Unprocessable Content"}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route that can answer these error statuses, each a Problem."""
    schema = {"$ref": "#/components/schemas/Problem"}
    return {code: {"description": _MEANINGS.get(code, HTTPStatus(code).phrase),
                   "content": {PROBLEM_JSON: {"schema": schema}}} for code in codes}


def document_problems(openapi: dict[str, Any]) -> dict[str, Any]:
    """Add the Problem schema that `error_responses` refers to, and drop the validation error
    FastAPI documents by itself: it is never sent (`_invalid_request` sends a Problem, 400 or
    422, and a route documents those with `error_responses`)."""
    schemas = openapi.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = Problem.model_json_schema()
    for operations in openapi.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            default = responses.get("422", {}).get("content", {}).get("application/json", {})
            if default.get("schema", {}).get("$ref", "").endswith("/HTTPValidationError"):
                del responses["422"]
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return openapi


def problem(request: Request, status: int, detail: str,
            headers: Mapping[str, str] | None = None) -> JSONResponse:
    body = Problem(title=_TITLES.get(status) or HTTPStatus(status).phrase, status=status, detail=detail,
                   instance=request.url.path)
    return JSONResponse(body.model_dump(), status_code=status, headers=headers,
                        media_type=PROBLEM_JSON)


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
    return problem(request, exc.status, exc.detail, headers)


def unprocessable(message: str) -> PydanticCustomError:
    """For a request body's validator: the request is well formed but cannot be acted on (an
    unknown assay); the error handler answers it with 422 and `message` as it is."""
    return PydanticCustomError(_UNPROCESSABLE, "{message}", {"message": message})


def _problem_of(error: dict[str, Any]) -> tuple[int, str]:
    """The status and the words for one validation error. A malformed request is a plain 400;
    422 is for a well-formed one the service cannot act on: a field the body does not define
    (most often a misspelt one), something it names that does not exist (`unprocessable`)
    and, elsewhere, a slide that cannot be opened."""
    if error["type"] == "extra_forbidden":
        return 422, f'unknown field "{error["loc"][-1]}"'
    if error["type"] == _UNPROCESSABLE:
        return 422, str(error["msg"])
    return 400, f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [_problem_of(e) for e in exc.errors()]
    status = max(code for code, _ in problems) if problems else 400
    return problem(request, status, "; ".join(text for _, text in problems))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    """The router's own refusals: no route for the path (404), or not for the method (405)."""
    assert isinstance(exc, HTTPException)
    detail = exc.detail
    if exc.status_code == 404 and detail == HTTPStatus.NOT_FOUND.phrase:
        detail = f"no such path: {request.url.path}"
    elif exc.status_code == 405 and exc.headers and "Allow" in exc.headers:
        detail = f"{request.method} is not allowed here; allowed: {exc.headers['Allow']}"
    return problem(request, exc.status_code, detail, exc.headers)


async def _server_error(request: Request, exc: Exception) -> JSONResponse:
    # The traceback goes to the log (the server also logs it); the client gets no internals.
    log.error("unhandled error on %s %s: %r", request.method, request.url.path, exc)
    return problem(request, 500, "internal error; the server's log has the details")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _server_error)
