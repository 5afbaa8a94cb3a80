"""Removing slides and jobs: the rows in one transaction, then the files. One rule for the
DELETE routes (service/deletion.py) and the retention purge (jobs/retention.py).

The files go only after the rows' commit. A crash, or a file that cannot be removed, between
the two leaves at worst an orphan file that no row points at: disk to reclaim, never a wrong
answer. The other order could leave a row whose slide file or result folder is gone, and every
request for it would then fail in ways the API does not promise. Storage names and result
folders are never reused (new ids), so an orphan cannot be mistaken for a later object's file.
"""
from __future__ import annotations

import logging
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from jobs.records import BatchJob, Job, Slide
from jobs.settings import StoreSettings

log = logging.getLogger(__name__)


class JobRunning(Exception):
    """A job that is running is never deleted: its worker is writing its folder."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"job {job_id} is running; try again when it ends")
        self.job_id = job_id


def slide_path(settings: StoreSettings, slide: Slide) -> Path:
    """Where the slide is stored: a file, or a folder (a DICOM series). Only a path inside the
    slides folder is ever a slide's."""
    name = Path(slide.storage_name)
    if not name.parts or name.is_absolute() or ".." in name.parts:
        raise ValueError(f"slide {slide.id} names storage outside the slides folder")
    return settings.slides_dir / name  # not resolved: a link is removed, not its target


def result_folders(settings: StoreSettings, job: Job) -> list[Path]:
    """Where a job's outputs may be: the worker's folder for it (made when it starts, so also
    a failed or interrupted job's), and the folder its row records, when that is another one
    inside the results folder. Nothing outside the results folder is ever a job's to remove."""
    root = settings.results_dir.resolve()
    folders = [root / job.id]
    if job.result_dir:
        recorded = Path(job.result_dir).resolve()
        if recorded.is_relative_to(root) and recorded != root and recorded not in folders:
            folders.append(recorded)
    return folders


def delete_job_rows(session: Session, jobs: Sequence[Job]) -> None:
    """Delete these jobs' rows and their batch memberships, uncommitted. A running job raises
    JobRunning before anything is deleted; the DELETE checks the state again itself, so a
    worker that claims a job meanwhile either claims it first, and this raises (the session
    rolled back), or finds no row to claim."""
    for job in jobs:
        if job.state == "running":
            raise JobRunning(job.id)
    ids = [job.id for job in jobs]
    if not ids:
        return
    session.execute(delete(BatchJob).where(BatchJob.job_id.in_(ids)))
    gone = session.connection().execute(
        delete(Job).where(Job.id.in_(ids), Job.state != "running")).rowcount
    if gone != len(ids):
        claimed = session.scalars(
            select(Job.id).where(Job.id.in_(ids), Job.state == "running")).first()
        session.rollback()
        raise JobRunning(claimed or ids[0])


def remove_files(paths: Iterable[Path]) -> None:
    """Remove files and folders (a folder with all it holds) whose rows are already deleted and
    committed (see above); one that cannot be removed is logged and left, an orphan. A link is
    removed, never what it points at."""
    for path in paths:
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("left %s behind after deleting its rows: %s", path, exc)
