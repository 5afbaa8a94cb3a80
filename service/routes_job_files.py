"""A succeeded job's own outputs: result.json, the cells, the pictures the worker wrote and
the PDF report drawn from them. Each download is recorded in the audit log."""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, JSONResponse, Response
from sqlalchemy.orm import Session

from jobs.records import Slide
from scoring.pdf_report import slide_report_pdf
from scoring.result_schema import Result
from service.audit import Audit
from service.deps import DbSession, LabId
from service.errors import NotFound
from service.reports import pdf_entry
from service.route_class import SessionReleasingRoute
from service.routes_jobs import OUTPUT_ERRORS, finished_job, lab_job
from service.schemas import media_response

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], route_class=SessionReleasingRoute)
_PNG = {**media_response("image/png"), **OUTPUT_ERRORS}


@router.get("/{job_id}/result", response_model=Result, responses=OUTPUT_ERRORS)
def get_result(job_id: str, session: DbSession, lab_id: LabId, audit: Audit) -> Response:
    """result.json (scoring's Result schema), sent as stored: a result of an older schema
    version is still served."""
    result = finished_job(lab_job(session, lab_id, job_id)).result
    audit.record("download", "job", job_id)
    return JSONResponse(result or {})


def _output_file(session: Session, lab_id: str, job_id: str, name: str, audit: Audit) -> Path:
    job = finished_job(lab_job(session, lab_id, job_id))
    path = Path(job.result_dir or "") / name
    if not job.result_dir or not path.is_file():
        raise NotFound(f"job {job_id} has no {name}")
    audit.record("download", "job", job_id)
    return path


@router.get("/{job_id}/cells.geojson", response_class=FileResponse,
            responses={**media_response("application/geo+json"), **OUTPUT_ERRORS})
def get_cells(job_id: str, session: DbSession, lab_id: LabId,
              audit: Audit) -> FileResponse:
    path = _output_file(session, lab_id, job_id, "cells.geojson", audit)
    return FileResponse(path, media_type="application/geo+json")


@router.get("/{job_id}/overlay.png", response_class=FileResponse, responses=_PNG)
def get_overlay(job_id: str, session: DbSession, lab_id: LabId,
                audit: Audit) -> FileResponse:
    return FileResponse(_output_file(session, lab_id, job_id, "overlay.png", audit),
                        media_type="image/png")


@router.get("/{job_id}/heatmap.png", response_class=FileResponse, responses=_PNG)
def get_heatmap(job_id: str, session: DbSession, lab_id: LabId,
                audit: Audit) -> FileResponse:
    return FileResponse(_output_file(session, lab_id, job_id, "heatmap.png", audit),
                        media_type="image/png")


@router.get("/{job_id}/tissue.png", response_class=FileResponse, responses=_PNG)
def get_tissue_outline(job_id: str, session: DbSession, lab_id: LabId,
                       audit: Audit) -> FileResponse:
    """The analysed tissue's edge on a transparent background, the whole slide at the
    overview's scale (heatmap.png's geometry without its legend): a layer for a viewer."""
    return FileResponse(_output_file(session, lab_id, job_id, "tissue.png", audit),
                        media_type="image/png")


@router.get("/{job_id}/crops/{n:int}.png", response_class=FileResponse, responses=_PNG)
def get_review_crop(job_id: str, n: int, session: DbSession, lab_id: LabId,
                    audit: Audit) -> FileResponse:
    """The n-th (from 1) of result.json's `review_crops`; only a file named there is served."""
    crops = (finished_job(lab_job(session, lab_id, job_id)).result or {}).get("review_crops") or []
    name = crops[n - 1].get("file") if 1 <= n <= len(crops) else None
    if not isinstance(name, str) or Path(name).name != name or not name.endswith(".png"):
        raise NotFound(f"job {job_id} has no review crop {n}")
    return FileResponse(_output_file(session, lab_id, job_id, name, audit), media_type="image/png")


@router.get("/{job_id}/report.pdf", response_class=Response,
            responses={**media_response("application/pdf"), **OUTPUT_ERRORS})
def get_report_pdf(job_id: str, session: DbSession, lab_id: LabId, audit: Audit) -> Response:
    """The one-page PDF report, drawn on request from the result, its folder's pictures and the
    slide's label (so it never disagrees with them)."""
    job = finished_job(lab_job(session, lab_id, job_id))
    slide = session.get(Slide, job.slide_id)
    if job.result is None or slide is None:
        raise NotFound(f"job {job_id} has no result to report")
    entry = pdf_entry(slide, job)
    audit.record("download", "job", job_id)
    session.close()  # drawing the PDF needs no database connection
    return Response(slide_report_pdf(entry), media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="job-{job_id}.pdf"'})
