"""Writing the audit log (jobs/records.py AuditEvent): what a lab's key did, from where.

A change (upload, job, delete) adds its event to the route's own session, so the event commits
with the change or not at all; a read (a download) has no change to commit with, so its event
is written at once, in a transaction of its own, before the bytes go out: a download the log
cannot record is refused (500), never served unrecorded.

`client` is the peer address the server sees: behind a reverse proxy, that is the proxy's,
unless uvicorn runs with --proxy-headers and the proxy is in --forwarded-allow-ips.

Events that no request makes are written beside their change by their own module: a key made
or revoked (`tps keys`) by service/keys.py, the retention purge by jobs/retention.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from jobs.records import AUDIT_ACTIONS, AuditEvent, Batch, Job, Slide
from service.deps import CurrentKey, State

_OBJECT_TYPES: dict[type[Slide | Job | Batch], str] = {Slide: "slide", Job: "job",
                                                        Batch: "batch"}


@dataclass(frozen=True)
class AuditTrail:
    """The acting request: its lab, its key's prefix and its peer address."""

    lab_id: str
    key_prefix: str
    client: str | None
    sessions: sessionmaker[Any]

    def _event(self, action: str, object_type: str, object_id: str) -> AuditEvent:
        if action not in AUDIT_ACTIONS:
            raise ValueError(f"unknown audit action {action!r}")
        return AuditEvent(lab_id=self.lab_id, key_prefix=self.key_prefix, action=action,
                          object_type=object_type, object_id=object_id, client=self.client)

    def add(self, session: Session, action: str, *rows: Slide | Job | Batch) -> None:
        """Events for these rows, committed by the caller's next commit with its change. Rows
        not yet flushed are flushed first: their ids are made then (an IntegrityError of the
        change may therefore come from here, before the commit)."""
        if any(row.id is None for row in rows):
            session.flush()
        session.add_all(self._event(action, _OBJECT_TYPES[type(row)], row.id) for row in rows)

    def record(self, action: str, object_type: str, object_id: str) -> None:
        """One event, committed now (for a read, which commits nothing else)."""
        with self.sessions() as session:
            session.add(self._event(action, object_type, object_id))
            session.commit()


async def audit_trail(request: Request, key: CurrentKey, state: State) -> AuditTrail:
    # async: no I/O here. The key is the one the route's LabId came from (FastAPI resolves a
    # dependency once per request).
    client = request.client.host if request.client is not None else None
    return AuditTrail(key.lab_id, key.prefix, client, state.sessions)


Audit = Annotated[AuditTrail, Depends(audit_trail)]
