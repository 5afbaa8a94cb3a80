"""The audit log of the caller's lab, newest first, a page at a time."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import select

from jobs.records import AuditEvent
from service.deps import DbSession, LabId
from service.errors import error_responses
from service.route_class import SessionReleasingRoute
from service.schemas import as_utc

router = APIRouter(prefix="/v1", tags=["audit"], route_class=SessionReleasingRoute)


class AuditEventOut(BaseModel):
    id: int
    time: datetime
    key_prefix: str | None  # null: no key acted (the retention purge, `tps keys`)
    action: str
    object_type: str
    object_id: str
    client: str | None  # the peer address; null: not a request (the purge, `tps keys`)


class AuditPage(BaseModel):
    events: list[AuditEventOut]
    # Pass as `before` for the next (older) page; null when this page is the last.
    next_before: int | None


@router.get("/audit", response_model=AuditPage, responses=error_responses(400, 401))
def list_audit_events(
    session: DbSession, lab_id: LabId,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before: Annotated[int | None, Query(ge=1, description="only events older than this id")]
    = None,
) -> AuditPage:
    """What the lab's keys did (upload, job_create, download, view, delete), what the
    retention purge removed (purge) and the lab's keys made and revoked on the server
    (key_create, key_revoke), newest first. Another lab's events are never listed."""
    query = select(AuditEvent).where(AuditEvent.lab_id == lab_id)
    if before is not None:
        query = query.where(AuditEvent.id < before)
    rows = list(session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit)))
    events = [AuditEventOut(id=e.id, time=as_utc(e.created_at), key_prefix=e.key_prefix,
                            action=e.action, object_type=e.object_type, object_id=e.object_id,
                            client=e.client) for e in rows]
    return AuditPage(events=events, next_before=events[-1].id if len(events) == limit else None)
