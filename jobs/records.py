"""The job record: labs, keys, slides, jobs and batches. The database, not the queue, is the record.

The API writes these rows and the workers read and update them; neither owns them.

Timestamps are naive UTC everywhere so that SQLite and PostgreSQL compare them the same way.
"""
from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

JOB_STATES = ("queued", "running", "succeeded", "failed")
# What the audit log records (service/audit.py, jobs/retention.py): "download" is any read of
# a result, report or output file; "view" opens a slide in the viewer; "purge" is a deletion
# by the retention rule, not by a key.
AUDIT_ACTIONS = ("upload", "job_create", "download", "view", "delete", "purge", "key_create",
                 "key_revoke")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def new_id() -> str:
    return uuid.uuid4().hex


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, datetime: DateTime(timezone=False)}


class Lab(Base):
    __tablename__ = "labs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKey(Base):
    """Only a sha256 of the key is kept; `prefix` finds the row without revealing the secret.

    A key is refused once `revoked_at` is set or `expires_at` has passed; `last_used_at` is
    written at most once a minute (service/keys.py)."""

    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    lab_id: Mapped[str] = mapped_column(ForeignKey("labs.id"), index=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Slide(Base):
    __tablename__ = "slides"
    __table_args__ = (UniqueConstraint("lab_id", "sha256"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    lab_id: Mapped[str] = mapped_column(ForeignKey("labs.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_name: Mapped[str] = mapped_column(String(100))  # server-generated, never the label
    label: Mapped[str] = mapped_column(String(200))  # the client's filename, sanitised
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    mpp: Mapped[float | None] = mapped_column(Float, nullable=True)
    vendor: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (UniqueConstraint("lab_id", "idempotency_key"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    lab_id: Mapped[str] = mapped_column(ForeignKey("labs.id"), index=True)
    slide_id: Mapped[str] = mapped_column(ForeignKey("slides.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    result_dir: Mapped[str | None] = mapped_column(String(500), nullable=True)


class Batch(Base):
    __tablename__ = "batches"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    lab_id: Mapped[str] = mapped_column(ForeignKey("labs.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BatchJob(Base):
    """Membership: a batch is a list of jobs, one per slide, in the order given."""

    __tablename__ = "batch_jobs"
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id"), primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)


class AuditEvent(Base):
    """One thing a lab's key did to a lab's data, or the retention purge did to it. Append-only:
    no code updates or deletes a row, and revision 0003's triggers refuse it in the database.

    `id` grows with every row, so it orders the log and is the cursor of GET /v1/audit; the
    object's id is kept as written, after the object itself is deleted."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_lab_id_id", "lab_id", "id"),)
    # BIGINT on PostgreSQL; SQLite numbers rows only for a column spelt INTEGER PRIMARY KEY.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"),
                                    primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    lab_id: Mapped[str] = mapped_column(ForeignKey("labs.id"))
    key_prefix: Mapped[str | None] = mapped_column(String(16), nullable=True)  # None: the purge
    action: Mapped[str] = mapped_column(String(32))
    object_type: Mapped[str] = mapped_column(String(16))
    object_id: Mapped[str] = mapped_column(String(32))
    client: Mapped[str | None] = mapped_column(String(100), nullable=True)  # the peer address
