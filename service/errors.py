"""The few errors a route raises, and the one place that maps them to HTTP responses."""
from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic_core import PydanticCustomError

# The pydantic error type of a well-formed request that names something the service does not
# know (see `unprocessable`).
_UNPROCESSABLE = "unprocessable"


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


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
    return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=headers)


def unprocessable(message: str) -> PydanticCustomError:
    """For a request body's validator: the request is well formed but cannot be acted on (an
    unknown assay); the error handler answers it with 422 and `message` as it is."""
    return PydanticCustomError(_UNPROCESSABLE, "{message}", {"message": message})


def _problem(error: dict[str, Any]) -> tuple[int, str]:
    """The status and the words for one validation error. A malformed request is a plain 400;
    422 is for a well-formed one the service cannot act on: a field the body does not define
    (most often a misspelt one), something it names that does not exist (`unprocessable`)
    and, elsewhere, a slide that cannot be opened."""
    if error["type"] == "extra_forbidden":
        return 422, f'unknown field "{error["loc"][-1]}"'
    if error["type"] == _UNPROCESSABLE:
        return 422, str(error["msg"])
    return 400, f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"


async def _invalid_request(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [_problem(e) for e in exc.errors()]
    status = max(code for code, _ in problems) if problems else 400
    return JSONResponse({"detail": "; ".join(text for _, text in problems)}, status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
