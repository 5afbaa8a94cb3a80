"""Jobs: start scoring a slide, follow it, fetch what the worker wrote."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.responses import FileResponse, Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jobs.records import Job, Slide
from scoring.pdf_report import slide_report_pdf
from service.deletion import delete_job_rows, remove_files, result_folders
from service.deps import DbSession, LabId, State
from service.dispatch import dispatch_committed
from service.errors import BadRequest, Conflict, NotFound
from service.reports import pdf_entry
from service.route_class import SessionReleasingRoute
from service.routes_slides import lab_slide
from service.schemas import JobCreate, JobOut, Progress, as_utc

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], route_class=SessionReleasingRoute)


def job_out(job: Job) -> JobOut:
    return JobOut(
        id=job.id, slide_id=job.slide_id, state=job.state, params=job.params,  # type: ignore[arg-type]
        progress=Progress(done=job.progress_done, total=job.progress_total),
        attempts=job.attempts, max_attempts=job.max_attempts, error=job.error,
        created_at=as_utc(job.created_at), queued_at=as_utc(job.queued_at),
        started_at=as_utc(job.started_at), finished_at=as_utc(job.finished_at),
    )


def new_job(session: Session, lab_id: str, slide_id: str, params: dict[str, Any],
            max_attempts: int, idempotency_key: str | None = None) -> Job:
    """Add a queued job (not yet committed) for a slide the lab owns and can be scored at a
    known scale."""
    slide = lab_slide(session, lab_id, slide_id)
    if slide.mpp is None and params.get("mpp") is None:
        raise BadRequest(f"slide {slide.label} states no microns per pixel; give it with "
                         "\"mpp\" in the job request")
    job = Job(lab_id=lab_id, slide_id=slide_id, params=params, state="queued",
              max_attempts=max_attempts, idempotency_key=idempotency_key)
    session.add(job)
    return job


def _by_key(session: Session, lab_id: str, key: str) -> Job | None:
    query = select(Job).where(Job.lab_id == lab_id, Job.idempotency_key == key)
    return session.scalars(query).one_or_none()


def _same_request(job: Job, body: JobCreate) -> Job:
    if job.slide_id != body.slide_id or job.params != body.as_params():
        raise Conflict("this Idempotency-Key was already used with a different request body")
    return job


@router.post("", response_model=JobOut, status_code=202)
def create_job(
    body: JobCreate, state: State, session: DbSession, lab_id: LabId,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JobOut:
    """Queue a scoring job. Repeating the POST with the same Idempotency-Key returns the same job."""
    if idempotency_key is not None:
        earlier = _by_key(session, lab_id, idempotency_key)
        if earlier is not None:
            return job_out(_same_request(earlier, body))
    job = new_job(session, lab_id, body.slide_id, body.as_params(),
                  state.settings.max_attempts, idempotency_key)
    try:
        session.commit()
    except IntegrityError:
        # A concurrent POST with the same key committed first.
        session.rollback()
        earlier = _by_key(session, lab_id, idempotency_key or "")
        if earlier is None:
            raise
        return job_out(_same_request(earlier, body))
    dispatch_committed(state.dispatcher, [job.id])
    return job_out(job)


@router.get("", response_model=list[JobOut])
def list_jobs(session: DbSession, lab_id: LabId, limit: int = 100) -> list[JobOut]:
    query = select(Job).where(Job.lab_id == lab_id).order_by(Job.created_at.desc())
    return [job_out(j) for j in session.scalars(query.limit(min(max(limit, 1), 1000)))]


def lab_job(session: Session, lab_id: str, job_id: str) -> Job:
    job = session.get(Job, job_id)
    if job is None or job.lab_id != lab_id:
        raise NotFound(f"no job {job_id}")
    return job


@router.get("/{job_id}", response_model=JobOut)
def get_job(job_id: str, session: DbSession, lab_id: LabId) -> JobOut:
    return job_out(lab_job(session, lab_id, job_id))


@router.delete("/{job_id}", status_code=204, response_class=Response)
def delete_job(job_id: str, state: State, session: DbSession, lab_id: LabId) -> Response:
    """The job's result folder, its row and its batch memberships (the slide stays); 409 while
    it is running. A second DELETE is 404: it is gone."""
    job = lab_job(session, lab_id, job_id)
    folders = result_folders(state.settings, job)
    delete_job_rows(session, [job])
    session.commit()
    session.close()
    remove_files(folders)  # after the commit: see service/deletion.py
    return Response(status_code=204)


def finished_job(job: Job) -> Job:
    if job.state == "failed":
        raise Conflict(f"job {job.id} failed: {job.error}")
    if job.state != "succeeded":
        raise Conflict(f"job {job.id} is {job.state}; no result yet")
    return job


@router.get("/{job_id}/result")
def get_result(job_id: str, session: DbSession, lab_id: LabId) -> dict[str, Any]:
    result = finished_job(lab_job(session, lab_id, job_id)).result
    return result or {}


def _output_file(session: Session, lab_id: str, job_id: str, name: str) -> Path:
    job = finished_job(lab_job(session, lab_id, job_id))
    path = Path(job.result_dir or "") / name
    if not job.result_dir or not path.is_file():
        raise NotFound(f"job {job_id} has no {name}")
    return path


@router.get("/{job_id}/cells.geojson", response_class=FileResponse)
def get_cells(job_id: str, session: DbSession, lab_id: LabId) -> FileResponse:
    path = _output_file(session, lab_id, job_id, "cells.geojson")
    return FileResponse(path, media_type="application/geo+json")


@router.get("/{job_id}/overlay.png", response_class=FileResponse)
def get_overlay(job_id: str, session: DbSession, lab_id: LabId) -> FileResponse:
    return FileResponse(_output_file(session, lab_id, job_id, "overlay.png"),
                        media_type="image/png")


@router.get("/{job_id}/heatmap.png", response_class=FileResponse)
def get_heatmap(job_id: str, session: DbSession, lab_id: LabId) -> FileResponse:
    return FileResponse(_output_file(session, lab_id, job_id, "heatmap.png"),
                        media_type="image/png")


@router.get("/{job_id}/tissue.png", response_class=FileResponse)
def get_tissue_outline(job_id: str, session: DbSession, lab_id: LabId) -> FileResponse:
    """The analysed tissue's edge on a transparent background, the whole slide at the
    overview's scale (heatmap.png's geometry without its legend): a layer for a viewer."""
    return FileResponse(_output_file(session, lab_id, job_id, "tissue.png"),
                        media_type="image/png")


@router.get("/{job_id}/crops/{n:int}.png", response_class=FileResponse)
def get_review_crop(job_id: str, n: int, session: DbSession, lab_id: LabId) -> FileResponse:
    """The n-th (from 1) of result.json's `review_crops`; only a file named there is served."""
    crops = (finished_job(lab_job(session, lab_id, job_id)).result or {}).get("review_crops") or []
    name = crops[n - 1].get("file") if 1 <= n <= len(crops) else None
    if not isinstance(name, str) or Path(name).name != name or not name.endswith(".png"):
        raise NotFound(f"job {job_id} has no review crop {n}")
    return FileResponse(_output_file(session, lab_id, job_id, name), media_type="image/png")


@router.get("/{job_id}/report.pdf", response_class=Response)
def get_report_pdf(job_id: str, session: DbSession, lab_id: LabId) -> Response:
    """The one-page PDF report, drawn on request from the result, its folder's pictures and the
    slide's label (so it never disagrees with them)."""
    job = finished_job(lab_job(session, lab_id, job_id))
    slide = session.get(Slide, job.slide_id)
    if job.result is None or slide is None:
        raise NotFound(f"job {job_id} has no result to report")
    entry = pdf_entry(slide, job)
    session.close()  # drawing the PDF needs no database connection
    return Response(slide_report_pdf(entry), media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="job-{job_id}.pdf"'})
