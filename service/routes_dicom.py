"""A succeeded job as DICOM: its measurement report (service/dicom_sr.py) and its cells as
bulk annotations (service/dicom_annotations.py), both about the slide's image
(service/dicom_source.py). Each download is recorded in the audit log."""
from __future__ import annotations

from io import BytesIO
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import Response
from pydicom.dataset import Dataset

from jobs.records import Job, Slide
from service import cell_index
from service.audit import Audit
from service.deps import DbSession, LabId, State
from service.dicom_annotations import cell_annotations
from service.dicom_source import source_image
from service.dicom_sr import measurement_report
from service.errors import NotFound
from service.route_class import SessionReleasingRoute
from service.routes_jobs import OUTPUT_ERRORS, finished_job, lab_job
from service.schemas import media_response

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], route_class=SessionReleasingRoute)

DICOM = "application/dicom"
_RESPONSES = {**media_response(DICOM), **OUTPUT_ERRORS}


def _scored_job(state: State, session: DbSession, lab_id: str,
                job_id: str) -> tuple[Job, Path]:
    """The lab's succeeded job and its slide's path; the session is closed: no connection
    while the slide's headers and the cells are read."""
    job = finished_job(lab_job(session, lab_id, job_id))
    if job.result is None:
        raise NotFound(f"job {job_id} has no result to report")
    slide = session.get(Slide, job.slide_id)
    storage_name = slide.storage_name if slide is not None else ""
    session.close()  # the job's loaded attributes stay readable
    return job, state.settings.slides_dir / storage_name


def _download(dataset: Dataset, filename: str, audit: Audit, job_id: str) -> Response:
    """The object as a .dcm file, recorded as a download of the job once its bytes are made
    (an object that cannot be made is not a download) and before they go out."""
    out = BytesIO()
    dataset.save_as(out, enforce_file_format=True)  # with the file meta, as a .dcm file
    audit.record("download", "job", job_id)
    return Response(out.getvalue(), media_type=DICOM,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/{job_id}/dicom/sr", response_class=Response, responses=_RESPONSES)
def get_dicom_sr(job_id: str, state: State, session: DbSession, lab_id: LabId,
                 audit: Audit) -> Response:
    """A Comprehensive 3D SR (TID 1500 measurement report): TPS in % with its 95 % interval,
    category, PD-L1 positive and all viable tumour cells, the model as algorithm and device
    observer. In the DICOM slide's study, referencing its level-0 image; for any other slide,
    in a study of the job's own with no patient data."""
    job, slide_path = _scored_job(state, session, lab_id, job_id)
    report = measurement_report(job, source_image(slide_path, job))
    return _download(report, f"job-{job_id}-sr.dcm", audit, job_id)


@router.get("/{job_id}/dicom/ann", response_class=Response, responses=_RESPONSES)
def get_dicom_ann(job_id: str, state: State, session: DbSession, lab_id: LabId,
                  audit: Audit) -> Response:
    """Microscopy Bulk Simple Annotations: every cell as a 2D point in the level-0 pixel
    matrix, one annotation group per cell class that has cells."""
    job, slide_path = _scored_job(state, session, lab_id, job_id)
    folder = Path(job.result_dir or "")
    if not job.result_dir or not (folder / cell_index.CSV_NAME).is_file():
        raise NotFound(f"job {job_id} has no {cell_index.CSV_NAME}")
    known = list(((job.result or {}).get("counts") or {}).keys())  # the model's classes
    index = cell_index.open_index(folder, known)
    annotations = cell_annotations(job, source_image(slide_path, job), index.classes,
                                   index.cells)
    return _download(annotations, f"job-{job_id}-ann.dcm", audit, job_id)
