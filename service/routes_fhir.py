"""A succeeded job's result as a FHIR Bundle (service/fhir_report.py)."""
from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from service.audit import Audit
from service.deps import DbSession, LabId
from service.errors import NotFound, error_responses
from service.fhir_report import fhir_bundle
from service.route_class import SessionReleasingRoute
from service.routes_jobs import finished_job, lab_job
from service.schemas import media_response

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], route_class=SessionReleasingRoute)

FHIR_JSON = "application/fhir+json"


@router.get("/{job_id}/fhir", response_class=Response,
            responses={**media_response(FHIR_JSON), **error_responses(401, 404, 409)})
def get_fhir(job_id: str, session: DbSession, lab_id: LabId, audit: Audit) -> Response:
    """A FHIR R5 Bundle (collection): a DiagnosticReport, the Observations it references (TPS
    with its 95 % interval, category, counts per class) and the model as a Device. No patient
    is named (this service holds no patient identifiers) and no slide label."""
    job = finished_job(lab_job(session, lab_id, job_id))
    if job.result is None:
        raise NotFound(f"job {job_id} has no result to report")
    bundle = fhir_bundle(job)
    audit.record("download", "job", job_id)
    session.close()
    return Response(bundle.model_dump_json(), media_type=FHIR_JSON)
