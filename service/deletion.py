"""What the DELETE routes use of jobs/removal.py (rows first, then files; its docstring says
why), with a running job answered as the API's 409.

A slide stored as a folder (a DICOM series) goes whole, as a file does: remove_files takes
either. Deleting again finds no row and answers 404; another lab's id is 404 before anything
is read of it (routes_slides.lab_slide, routes_jobs.lab_job)."""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from jobs import removal
from jobs.records import Job
from jobs.removal import remove_files, result_folders, slide_path
from service.errors import Conflict

__all__ = ["delete_job_rows", "remove_files", "result_folders", "slide_path"]


def delete_job_rows(session: Session, jobs: Sequence[Job]) -> None:
    """removal.delete_job_rows, with 409 for a running job (nothing is deleted then)."""
    try:
        removal.delete_job_rows(session, jobs)
    except removal.JobRunning as exc:
        raise Conflict(str(exc)) from None
