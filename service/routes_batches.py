"""Batches: many slides (or existing jobs) followed together, with a one-row-per-slide report."""
from __future__ import annotations

from collections import Counter
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from jobs.records import Batch, BatchJob, Job, Slide
from scoring.pdf_report import batch_report_pdf
from service.audit import Audit
from service.deps import DbSession, LabId, State
from service.dispatch import dispatch_committed
from service.errors import NotFound, error_responses
from service.reports import pdf_entry, report_row, to_csv
from service.request_bodies import BatchCreate
from service.route_class import SessionReleasingRoute
from service.routes_jobs import lab_job, new_job
from service.schemas import BatchOut, ReportRow, as_utc, media_response

router = APIRouter(prefix="/v1/batches", tags=["batches"], route_class=SessionReleasingRoute)


def _members(session: Session, batch_id: str) -> list[Job]:
    query = (select(Job).join(BatchJob, BatchJob.job_id == Job.id)
             .where(BatchJob.batch_id == batch_id).order_by(BatchJob.position))
    return list(session.scalars(query))


def _batch_out(batch: Batch, jobs: list[Job]) -> BatchOut:
    by_state = Counter(j.state for j in jobs)
    return BatchOut(
        id=batch.id, created_at=as_utc(batch.created_at), total=len(jobs),
        by_state={s: by_state.get(s, 0) for s in ("queued", "running", "succeeded", "failed")},
        done=all(j.state in ("succeeded", "failed") for j in jobs),
        job_ids=[j.id for j in jobs],
    )


@router.post("", response_model=BatchOut, status_code=201,
             responses=error_responses(400, 401, 404, 422))
def create_batch(body: BatchCreate, state: State, session: DbSession, lab_id: LabId,
                 audit: Audit) -> BatchOut:
    """With slide_ids, a job is queued for each slide; with job_ids, existing jobs are grouped."""
    if body.slide_ids is not None:
        params = body.as_params()
        jobs = [new_job(session, lab_id, sid, params, state.settings.max_attempts)
                for sid in dict.fromkeys(body.slide_ids)]
        audit.add(session, "job_create", *jobs)
        fresh = True
    else:
        jobs = [lab_job(session, lab_id, jid) for jid in dict.fromkeys(body.job_ids or [])]
        fresh = False
    batch = Batch(lab_id=lab_id)
    session.add(batch)
    session.flush()
    session.add_all(BatchJob(batch_id=batch.id, job_id=j.id, position=i)
                    for i, j in enumerate(jobs))
    session.commit()
    if fresh:
        dispatch_committed(state.dispatcher, [job.id for job in jobs])
    return _batch_out(batch, jobs)


def _lab_batch(session: Session, lab_id: str, batch_id: str) -> Batch:
    batch = session.get(Batch, batch_id)
    if batch is None or batch.lab_id != lab_id:
        raise NotFound(f"no batch {batch_id}")
    return batch


@router.get("/{batch_id}", response_model=BatchOut, responses=error_responses(401, 404))
def get_batch(batch_id: str, session: DbSession, lab_id: LabId) -> BatchOut:
    batch = _lab_batch(session, lab_id, batch_id)
    return _batch_out(batch, _members(session, batch.id))


@router.delete("/{batch_id}", status_code=204, response_class=Response,
               responses=error_responses(401, 404))
def delete_batch(batch_id: str, session: DbSession, lab_id: LabId, audit: Audit) -> Response:
    """The batch and its list of jobs; the jobs themselves, their slides and results stay. A
    second DELETE is 404: it is gone."""
    batch = _lab_batch(session, lab_id, batch_id)
    session.execute(delete(BatchJob).where(BatchJob.batch_id == batch.id))
    session.execute(delete(Batch).where(Batch.id == batch.id))
    audit.add(session, "delete", batch)
    session.commit()
    return Response(status_code=204)


def _slides_and_jobs(session: Session, lab_id: str, batch_id: str) -> list[tuple[Slide, Job]]:
    batch = _lab_batch(session, lab_id, batch_id)
    jobs = _members(session, batch.id)
    slides = {s.id: s for s in session.scalars(
        select(Slide).where(Slide.id.in_({j.slide_id for j in jobs})))}
    return [(slides[j.slide_id], j) for j in jobs]


def _rows(session: Session, lab_id: str, batch_id: str, audit: Audit) -> list[dict[str, Any]]:
    rows = [report_row(slide, job) for slide, job in _slides_and_jobs(session, lab_id, batch_id)]
    audit.record("download", "batch", batch_id)
    return rows


@router.get("/{batch_id}/report.json", response_model=list[ReportRow],
            responses=error_responses(401, 404))
def report_json(batch_id: str, session: DbSession, lab_id: LabId,
                audit: Audit) -> list[dict[str, Any]]:
    return _rows(session, lab_id, batch_id, audit)


@router.get("/{batch_id}/report.csv", response_class=Response,
            responses={**media_response("text/csv"), **error_responses(401, 404)})
def report_csv(batch_id: str, session: DbSession, lab_id: LabId, audit: Audit) -> Response:
    return Response(to_csv(_rows(session, lab_id, batch_id, audit)), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="batch-{batch_id}.csv"'})


@router.get("/{batch_id}/report.pdf", response_class=Response,
            responses={**media_response("application/pdf"), **error_responses(401, 404)})
def report_pdf(batch_id: str, session: DbSession, lab_id: LabId, audit: Audit) -> Response:
    """A summary page (one row per slide, as in report.csv), then a page per succeeded slide."""
    entries = [pdf_entry(slide, job) for slide, job in _slides_and_jobs(session, lab_id, batch_id)]
    audit.record("download", "batch", batch_id)
    session.close()  # drawing the PDF needs no database connection
    return Response(batch_report_pdf(entries), media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="batch-{batch_id}.pdf"'})
