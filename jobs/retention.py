"""The retention rule: a slide is purged `retention_days` after its upload, with every job of it
and their outputs. The one purge that `tps purge`, the workers' beat task and tps serve's timer
all run (worker/purge_task.py, tps/purge_cli.py).

Each slide goes in a transaction of its own, by the rule of jobs/removal.py (rows, then files),
so a purge stopped half way has removed whole slides only. A slide with a running job is kept
until a later purge finds it idle. Batches older than the cutoff that no job is left in go
too. Each removal is written to the audit log as a "purge" (no key made it); the audit log
itself is never purged. Slides are named by id: a label may carry a patient's name.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jobs.database import engine_for
from jobs.records import AuditEvent, Batch, BatchJob, Job, Lab, Slide, utcnow
from jobs.removal import JobRunning, delete_job_rows, remove_files, result_folders, slide_path
from jobs.settings import StoreSettings


@dataclass(frozen=True)
class PurgedSlide:
    slide_id: str
    lab: str  # the lab's name
    uploaded_at: datetime  # naive UTC
    job_ids: tuple[str, ...]


@dataclass
class PurgeReport:
    cutoff: datetime | None  # uploads before it are due; None: retention is off
    dry_run: bool
    removed: list[PurgedSlide] = field(default_factory=list)  # with dry_run: would be
    kept: list[tuple[str, str]] = field(default_factory=list)  # (slide id, why), due but kept
    batches: list[str] = field(default_factory=list)  # emptied batches removed


def _purge_event(lab_id: str, object_type: str, object_id: str) -> AuditEvent:
    return AuditEvent(lab_id=lab_id, key_prefix=None, action="purge", object_type=object_type,
                      object_id=object_id, client=None)


def _purge_slide(session: Session, settings: StoreSettings, slide_id: str,
                 dry_run: bool) -> tuple[list[str], list[Path]]:
    """Delete one slide's rows, committed; returns its jobs' ids and the paths to remove.
    Raises JobRunning (nothing deleted) or LookupError (gone meanwhile)."""
    slide = session.get(Slide, slide_id)
    if slide is None:
        raise LookupError(slide_id)
    jobs = list(session.scalars(select(Job).where(Job.slide_id == slide_id)))
    files = [slide_path(settings, slide)]
    files += [folder for job in jobs for folder in result_folders(settings, job)]
    running = next((job.id for job in jobs if job.state == "running"), None)
    if running is not None:
        raise JobRunning(running)
    if not dry_run:
        delete_job_rows(session, jobs)
        gone = session.connection().execute(delete(Slide).where(Slide.id == slide_id)).rowcount
        if gone != 1:
            raise LookupError(slide_id)
        session.add(_purge_event(slide.lab_id, "slide", slide_id))
        session.commit()
    return [job.id for job in jobs], files


def _purge_batches(session: Session, cutoff: datetime, dry_run: bool) -> list[str]:
    emptied = (select(Batch.id, Batch.lab_id).where(Batch.created_at < cutoff)
               .where(~exists().where(BatchJob.batch_id == Batch.id)).order_by(Batch.created_at))
    found = list(session.execute(emptied).tuples())
    if found and not dry_run:
        session.execute(delete(Batch).where(Batch.id.in_([batch_id for batch_id, _ in found])))
        session.add_all(_purge_event(lab_id, "batch", batch_id) for batch_id, lab_id in found)
        session.commit()
    return [batch_id for batch_id, _ in found]


def purge_expired(settings: StoreSettings, *, dry_run: bool = False,
                  now: datetime | None = None) -> PurgeReport:
    """Purge what the retention rule says is due at `now` (naive UTC; default: now). With
    `dry_run`, report the same and change nothing."""
    if not settings.retention_days:
        return PurgeReport(cutoff=None, dry_run=dry_run)
    cutoff = (now or utcnow()) - timedelta(days=settings.retention_days)
    report = PurgeReport(cutoff=cutoff, dry_run=dry_run)
    with Session(engine_for(settings.db_url), expire_on_commit=False) as session:
        due = list(session.execute(
            select(Slide.id, Lab.name, Slide.created_at).join(Lab, Lab.id == Slide.lab_id)
            .where(Slide.created_at < cutoff).order_by(Slide.created_at, Slide.id)).tuples())
        session.rollback()
        for slide_id, lab, uploaded_at in due:
            try:
                job_ids, files = _purge_slide(session, settings, slide_id, dry_run)
            except JobRunning as exc:
                report.kept.append((slide_id, str(exc)))
                continue
            except IntegrityError:  # a job was queued for it after its jobs were read
                report.kept.append((slide_id, "a job was queued for it meanwhile"))
                continue
            except LookupError:  # deleted meanwhile (by its lab, or another purge)
                continue
            finally:
                session.rollback()  # ends a dry run's reads or a refused delete
            if not dry_run:
                remove_files(files)
            report.removed.append(PurgedSlide(slide_id, lab, uploaded_at, tuple(job_ids)))
        report.batches = _purge_batches(session, cutoff, dry_run)
    return report
