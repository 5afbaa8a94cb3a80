"""What a route may ask for: the settings, a database session, the dispatcher, the caller's lab.

A request makes at most one thread hop: its sync route. Everything before it (state, session,
key) runs on the event loop, a key check from the database excepted (once a second a key)."""
from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from service.dispatch import Dispatcher
from service.errors import Unauthorized
from service.key_cache import KeyCache
from service.keys import KeyRefused, KeyUse, authenticate
from service.settings import ApiSettings


@dataclass
class ServiceState:
    settings: ApiSettings
    engine: Engine
    sessions: sessionmaker[Any]
    dispatcher: Dispatcher
    keys: KeyCache


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


_API_KEY = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="ApiKey",
                        description="a key from `tps keys create --lab NAME`")
_BEARER = HTTPBearer(auto_error=False, scheme_name="Bearer",
                     description="the same key as `Authorization: Bearer <key>`")


def _check_key(session: Session, token: str) -> KeyUse:
    try:
        return authenticate(session, token)
    except KeyRefused as exc:
        raise Unauthorized(str(exc)) from None
    finally:
        # End the read so its connection goes back to the pool before the route's own hop.
        session.rollback()


async def current_key(
    state: State, session: DbSession,
    x_api_key: Annotated[str | None, Security(_API_KEY)] = None,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)] = None,
) -> KeyUse:
    """The caller's key (X-API-Key, else Authorization: Bearer). async, so that a key checked
    less than a second ago (service/key_cache.py) costs no thread hop; only a fresh check
    goes to a thread for its query."""
    token = x_api_key or (bearer.credentials.strip() if bearer is not None else None)
    if not token:
        raise Unauthorized("missing API key: send X-API-Key or Authorization: Bearer")
    use = state.keys.get(token)
    if use is None:
        asked_at = state.keys.clock()
        use = await run_in_threadpool(_check_key, session, token)
        state.keys.put(token, use, asked_at)
    return use


CurrentKey = Annotated[KeyUse, Depends(current_key)]


async def current_lab(key: CurrentKey) -> str:
    # async: no I/O here, so no threadpool hop.
    return key.lab_id


LabId = Annotated[str, Depends(current_lab)]
