"""GET /v1/jobs/{id}/fhir: a succeeded job's result as a FHIR R5 Bundle."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from fhir.resources.bundle import Bundle
from fhir.resources.device import Device
from fhir.resources.diagnosticreport import DiagnosticReport
from fhir.resources.observation import Observation
from sqlalchemy.orm import Session

from jobs.records import Job
from tests.api_client import Api, tiny_slide_bytes

FINISHED = datetime(2026, 11, 25, 18, 30, 43)
COUNTS = {"tumor_pos": 273, "tumor_neg": 508, "nontumor_pos": 154, "nontumor_neg": 479}


def _result(assay: str = "22C3", **changes: Any) -> dict[str, Any]:
    flags = {"inadequate": False, "near_cutoff": False, "no_tumor_cells": False,
             "not_ihc": False, "stain_disagrees": False}
    result = {
        "schema_version": "1", "tps": 34.955185659411015,
        "tps_ci95": [31.692062890829547, 38.36558412069404], "category": "1-49%",
        "categories": ["<1%", "1-49%", ">=50%"], "cutoffs": [1.0, 50.0], "counts": COUNTS,
        "tumor_cells": 781, "flags": flags,
        "slide": {"sha256": "ab" * 32, "width": 1, "height": 1, "mpp": 0.5,
                  "vendor": "generic-tiff"},
        "model": {"name": "pdl1-points", "version": "7", "sha256": "cd" * 32},
        "params": {"assay": assay, "threshold": 0.5, "mpp": None},
    }
    return result | changes


def _job(api: Api, tmp_path: Path, seed: int = 0, assay: str = "22C3") -> str:
    slide = api.upload(tiny_slide_bytes(tmp_path, seed), "Case 17 Doe.tiff").json()  # type: ignore[attr-defined]
    response = api.client.post("/v1/jobs", json={"slide_id": slide["id"], "assay": assay},
                               headers=api.a())
    job_id: str = response.json()["id"]
    return job_id


def _succeed(api: Api, job_id: str, result: dict[str, Any]) -> None:
    """Write the job row as a worker's success would (see tests/test_service_reports.py)."""
    engine = api.client.app.state.tps.engine  # type: ignore[attr-defined]
    with Session(engine) as session:
        job = session.get(Job, job_id)
        assert job is not None
        job.state, job.result, job.result_dir, job.finished_at = (
            "succeeded", result, "/nonexistent", FINISHED)
        session.commit()


def _bundle(api: Api, job_id: str) -> Bundle:
    response = api.client.get(f"/v1/jobs/{job_id}/fhir", headers=api.a())
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    return Bundle.model_validate_json(response.content)  # validates, as on construction


def _resources(bundle: Bundle) -> dict[str, Any]:
    """resources by fullUrl, the report under 'report'."""
    by_url = {e.fullUrl: e.resource for e in bundle.entry or []}
    reports = [r for r in by_url.values() if isinstance(r, DiagnosticReport)]
    assert len(reports) == 1
    return by_url | {"report": reports[0]}


def _observation(resources: dict[str, Any], text_start: str) -> Observation:
    report = resources["report"]
    found = [resources[ref.reference] for ref in report.result
             if resources[ref.reference].code.text.startswith(text_start)]
    assert len(found) == 1 and isinstance(found[0], Observation)
    return found[0]


def test_a_succeeded_jobs_bundle(api: Api, tmp_path: Path) -> None:
    job_id = _job(api, tmp_path)
    url = f"/v1/jobs/{job_id}/fhir"
    assert api.client.get(url, headers=api.a()).status_code == 409  # queued: no result yet
    _succeed(api, job_id, _result())
    assert api.client.get(url, headers=api.b()).status_code == 404  # another lab's job
    assert api.client.get("/v1/jobs/nope/fhir", headers=api.a()).status_code == 404

    bundle = _bundle(api, job_id)
    assert bundle.type == "collection"
    resources = _resources(bundle)
    report = resources["report"]
    assert report.status == "final"
    assert report.subject is None  # no patient identifiers in this service
    assert [(c.system, c.code) for c in report.code.coding] == [("http://loinc.org", "85147-7")]
    assert report.effectiveDateTime == report.issued
    assert report.issued.replace(tzinfo=None) == FINISHED
    assert [i.value for i in report.identifier] == [job_id]
    notes = " ".join(n.text for n in report.note or [])
    assert "ab" * 32 in notes  # the slide's sha256 ...
    assert "Doe" not in bundle.model_dump_json()  # ... never its label
    assert "TPS 35.0 %" in report.conclusion

    tps = _observation(resources, "PD-L1 tumour proportion score")
    assert tps.valueQuantity.value == Decimal("35.0")
    assert (tps.valueQuantity.system, tps.valueQuantity.code) == ("http://unitsofmeasure.org", "%")
    assert tps.dataAbsentReason is None and tps.note is None
    assert [(c.code.text.split()[-2], c.valueQuantity.value, c.valueQuantity.code)
            for c in tps.component] == [("lower", Decimal("31.7"), "%"),
                                        ("upper", Decimal("38.4"), "%")]
    assert "pdl1-points version 7" in tps.method.text and "cd" * 32 in tps.method.text

    category = _observation(resources, "PD-L1 TPS category")
    assert category.valueCodeableConcept.text == "1-49%"
    counts = _observation(resources, "Cells counted")
    assert {c.code.coding[0].code: c.valueInteger for c in counts.component} == COUNTS

    device = resources[tps.device.reference]
    assert isinstance(device, Device)
    assert (device.name[0].value, device.version[0].value) == ("pdl1-points", "7")
    assert device.identifier[0].value == "cd" * 32
    assert {o.device.reference for o in (tps, category, counts)} == {tps.device.reference}


def test_another_assay_has_no_loinc_code(api: Api, tmp_path: Path) -> None:
    job_id = _job(api, tmp_path, assay="SP263")
    _succeed(api, job_id, _result("SP263", flags=_result()["flags"] | {"near_cutoff": True}))
    resources = _resources(_bundle(api, job_id))
    code = resources["report"].code
    assert code.coding is None and "SP263" in code.text
    tps = _observation(resources, "PD-L1 tumour proportion score")
    assert [n.text for n in tps.note] == [
        "Near a cutoff: the 95 % interval straddles a category cutoff."]


def test_a_withheld_or_undefined_tps_has_no_value(api: Api, tmp_path: Path) -> None:
    flags = _result()["flags"]
    for seed, flag, reason in ((0, "not_ihc", "error"), (1, "no_tumor_cells", "not-applicable")):
        job_id = _job(api, tmp_path, seed)
        _succeed(api, job_id, _result(tps=None, tps_ci95=None, category=None,
                                      flags=flags | {flag: True}))
        resources = _resources(_bundle(api, job_id))
        for text in ("PD-L1 tumour proportion score", "PD-L1 TPS category"):
            observation = _observation(resources, text)
            assert observation.valueQuantity is None and observation.component is None
            assert observation.valueCodeableConcept is None
            assert [c.code for c in observation.dataAbsentReason.coding] == [reason]
        tps = _observation(resources, "PD-L1 tumour proportion score")
        assert len(tps.note) == 1
        assert _observation(resources, "Cells counted").component  # counts stay for review
