"""What a route may ask for: the settings, a database session, the dispatcher, the caller's lab."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from service.dispatch import Dispatcher
from service.errors import Unauthorized
from service.keys import lab_for_key
from service.settings import Settings


@dataclass
class ServiceState:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Any]
    dispatcher: Dispatcher


def get_state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.tps
    return state


State = Annotated[ServiceState, Depends(get_state)]


def get_session(state: State) -> Iterator[Session]:
    with state.sessions() as session:
        yield session


DbSession = Annotated[Session, Depends(get_session)]


def current_lab(
    session: DbSession,
    x_api_key: Annotated[str | None, Header()] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> str:
    token = x_api_key
    if token is None and authorization is not None:
        scheme, _, value = authorization.partition(" ")
        token = value.strip() if scheme.lower() == "bearer" else None
    if not token:
        raise Unauthorized("missing API key: send X-API-Key or Authorization: Bearer")
    lab_id = lab_for_key(session, token)
    if lab_id is None:
        raise Unauthorized("invalid API key")
    return lab_id


LabId = Annotated[str, Depends(current_lab)]
