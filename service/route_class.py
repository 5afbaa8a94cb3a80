"""Routes that give their database connection back in their own thread.

A sync route runs in a worker thread, but its session is closed by `get_session` on the event
loop after the response. When the loop is starved (the in-process worker scoring a slide
beside 100 pollers), finished routes keep their connections checked out until it gets to
them, and new requests then time out waiting for the pool. Closing the session as the route
returns, in the route's thread, ends that; the loop's close is then a no-op.
"""
from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from fastapi.routing import APIRoute
from sqlalchemy.orm import Session


def _closing_sessions(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(endpoint)  # FastAPI reads the signature through __wrapped__
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return endpoint(*args, **kwargs)
        finally:
            for value in kwargs.values():
                if isinstance(value, Session):
                    value.close()

    return call


class SessionReleasingRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):  # async routes already close on the loop
            endpoint = _closing_sessions(endpoint)
        super().__init__(path, endpoint, **kwargs)
