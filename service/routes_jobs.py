"""Jobs: start scoring a slide, list and follow jobs, delete one; and how every route that
serves a job's output (service/routes_job_files.py, routes_fhir, routes_dicom, routes_viewer)
finds the lab's job and refuses one that has not succeeded."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jobs.records import Job
from service.audit import Audit
from service.deletion import delete_job_rows, remove_files, result_folders
from service.deps import DbSession, LabId, State
from service.dispatch import dispatch_committed
from service.errors import BadRequest, Conflict, NotFound, error_responses
from service.request_bodies import JobCreate
from service.route_class import SessionReleasingRoute
from service.routes_slides import lab_slide
from service.schemas import JobOut, Progress, as_utc, json_response

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], route_class=SessionReleasingRoute)
# What a route serving a job's output can refuse: 401 (the key), 404 for a job the lab does
# not have (or an output the job did not write), 409 until the job succeeded (`finished_job`).
OUTPUT_ERRORS = error_responses(401, 404, 409)


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


@router.post("", response_model=JobOut, status_code=202,
             responses=error_responses(400, 401, 404, 409, 422))
def create_job(
    body: JobCreate, state: State, session: DbSession, lab_id: LabId, audit: Audit,
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
        audit.add(session, "job_create", job)
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


@router.get("", response_model=list[JobOut], responses=error_responses(400, 401))
def list_jobs(session: DbSession, lab_id: LabId, limit: int = 100) -> list[JobOut]:
    query = select(Job).where(Job.lab_id == lab_id).order_by(Job.created_at.desc())
    return [job_out(j) for j in session.scalars(query.limit(min(max(limit, 1), 1000)))]


def lab_job(session: Session, lab_id: str, job_id: str) -> Job:
    job = session.get(Job, job_id)
    if job is None or job.lab_id != lab_id:
        raise NotFound(f"no job {job_id}")
    return job


@router.get("/{job_id}", response_model=JobOut, responses=error_responses(401, 404))
def get_job(job_id: str, session: DbSession, lab_id: LabId) -> Response:
    """What every polling client asks for, so it is answered as it is built (a Response skips
    the framework's second validation of the model)."""
    return json_response(job_out(lab_job(session, lab_id, job_id)))


@router.delete("/{job_id}", status_code=204, response_class=Response,
               responses=error_responses(401, 404, 409))
def delete_job(job_id: str, state: State, session: DbSession, lab_id: LabId,
               audit: Audit) -> Response:
    """The job's result folder, its row and its batch memberships (the slide stays); 409 while
    it is running. A second DELETE is 404: it is gone."""
    job = lab_job(session, lab_id, job_id)
    folders = result_folders(state.settings, job)
    delete_job_rows(session, [job])
    audit.add(session, "delete", job)
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
