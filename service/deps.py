"""What a route may ask for: the settings, a database session, the dispatcher, the caller's lab."""
from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from service.dispatch import Dispatcher
from service.errors import Unauthorized
from service.keys import KeyRefused, KeyUse, authenticate
from service.settings import ApiSettings


@dataclass
class ServiceState:
    settings: ApiSettings
    engine: Engine
    sessions: sessionmaker[Any]
    dispatcher: Dispatcher


async def get_state(request: Request) -> ServiceState:
    # async: it does no I/O, and a sync dependency would cost a threadpool hop per request.
    state: ServiceState = request.app.state.tps
    return state


State = Annotated[ServiceState, Depends(get_state)]


async def get_session(state: State) -> AsyncIterator[Session]:
    # Opened and closed on the event loop, so closing needs no threadpool hop: a request must
    # never hold a pooled connection while it queues for a thread, or 100 pollers exhaust the
    # pool while the threads that would free it wait for a connection (seen: a deadlock).
    session = state.sessions()
    try:
        yield session
    finally:
        session.close()


DbSession = Annotated[Session, Depends(get_session)]


def current_key(
    session: DbSession,
    x_api_key: Annotated[str | None, Header()] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> KeyUse:
    """The caller's key, checked against its row on every request: a revoked or expired key is
    refused at once."""
    token = x_api_key
    if token is None and authorization is not None:
        scheme, _, value = authorization.partition(" ")
        token = value.strip() if scheme.lower() == "bearer" else None
    if not token:
        raise Unauthorized("missing API key: send X-API-Key or Authorization: Bearer")
    try:
        return authenticate(session, token)
    except KeyRefused as exc:
        raise Unauthorized(str(exc)) from None
    finally:
        # End the read so its connection goes back to the pool before the route's own hop.
        session.rollback()


CurrentKey = Annotated[KeyUse, Depends(current_key)]


async def current_lab(key: CurrentKey) -> str:
    # async: no I/O here, so no threadpool hop.
    return key.lab_id


LabId = Annotated[str, Depends(current_lab)]
