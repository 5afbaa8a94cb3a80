"""A succeeded job's result as a FHIR R5 Bundle (type collection), built with `fhir.resources`,
whose models validate on construction, so a document that does not conform is never sent.

The Bundle holds a DiagnosticReport and what its `result` references: the TPS (a Quantity in %,
with its 95 % interval as two components), the category, and the cell counts per class; each
Observation names the model in `method.text` and references a Device for it.

No patient identifier exists in this service, so every `subject` is omitted; the lab's slide
label is left out too (a file name can hold a case number or a name: PHI). The slide is named
only by the sha256 of its file, in a note.
"""
from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from fhir.resources.annotation import Annotation
from fhir.resources.bundle import Bundle, BundleEntry
from fhir.resources.codeableconcept import CodeableConcept
from fhir.resources.coding import Coding
from fhir.resources.device import Device, DeviceName, DeviceVersion
from fhir.resources.diagnosticreport import DiagnosticReport
from fhir.resources.identifier import Identifier
from fhir.resources.observation import Observation, ObservationComponent
from fhir.resources.quantity import Quantity
from fhir.resources.reference import Reference

from jobs.records import Job
from scoring.pdf_layout import is_demonstration
from scoring.pdf_report import CLASS_NAMES, DEMO_WARNING, FLAGS, flags_on, has_score, percent

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
DATA_ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
# Local code systems of this service (FHIR allows any absolute URI for a local system).
JOB_SYSTEM = "urn:pdl1-tps:job"
CELL_CLASS_SYSTEM = "urn:pdl1-tps:cell-class"
MODEL_SHA256_SYSTEM = "urn:pdl1-tps:model-sha256"
# LOINC 85147-7, the overall report of PD-L1 by clone 22C3 (scale Doc); its long common name.
# There is no such term for the clone of every assay, so another assay's report is coded by
# text only rather than with a LOINC code that names the wrong antibody.
LOINC_22C3_REPORT = Coding(system=LOINC, code="85147-7",
                           display="PD-L1 by clone 22C3 in Tissue by Immune stain Report")
PATHOLOGY = Coding(system="http://terminology.hl7.org/CodeSystem/v2-0074", code="PAT",
                   display="Pathology (gross & histopath, not surgical)")


def _uuid(job: Job, part: str) -> str:
    """A stable urn:uuid per job and resource, so the same job always gives the same Bundle."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{JOB_SYSTEM}:{job.id}/{part}')}"


def _percent(value: float, cutoffs: list[float] | None = None) -> Quantity:
    # As the PDF prints it: one decimal, more where one would round across a cutoff.
    return Quantity(value=Decimal(percent(value, cutoffs or [])), unit="%", system=UCUM,
                    code="%")


def _text(text: str) -> CodeableConcept:
    return CodeableConcept(text=text)


def _absent_reason(result: dict[str, Any]) -> CodeableConcept:
    """Why the TPS (and category) has no value.

    - `error` for a withheld TPS (flags.not_ihc): a workflow error, an H&E slide sent for a
      PD-L1 test, makes the value unavailable; the value exists and scoring the IHC slide gives
      it. `not-applicable` would say the specimen can have no TPS, which is not so.
    - `not-applicable` for no tumour cells: the proportion of tumour cells is 0/0, there is no
      proper value for this specimen (the code's own definition), and nothing went wrong.
    """
    if (result.get("flags") or {}).get("not_ihc"):
        code, display = "error", "Error"
    else:
        code, display = "not-applicable", "Not Applicable"
    return CodeableConcept(coding=[Coding(system=DATA_ABSENT, code=code, display=display)])


def _method(result: dict[str, Any]) -> CodeableConcept:
    model = result.get("model") or {}
    threshold = (result.get("params") or {}).get("threshold")
    return _text(
        f"Automated cell detection and classification by the model {model.get('name')} "
        f"version {model.get('version')} (ONNX file sha256 {model.get('sha256')}); "
        + (f"PD-L1 positive at probability threshold {threshold}; " if threshold is not None
           else "")
        + "TPS = PD-L1 positive viable tumour cells / all viable tumour cells x 100, "
        "95 % interval by the Wilson score method.")


def _flag_notes(result: dict[str, Any]) -> list[Annotation]:
    return [Annotation(text=FLAGS.get(name, (name, f"Flag: {name}"))[1])
            for name in flags_on(result)]


def _observation(job: Job, result: dict[str, Any], when: datetime, code: CodeableConcept,
                 **fields: Any) -> Observation:
    return Observation(
        status="final", code=code, effectiveDateTime=when, issued=when,
        method=_method(result), device=Reference(reference=_uuid(job, "device")),
        **fields)


def _tps(job: Job, result: dict[str, Any], when: datetime) -> Observation:
    cutoffs = [float(c) for c in result.get("cutoffs") or ()]
    fields: dict[str, Any] = {}
    if has_score(result):
        fields["valueQuantity"] = _percent(float(result["tps"]), cutoffs)
        low_high = result.get("tps_ci95")
        if low_high is not None:
            low, high = low_high
            fields["component"] = [
                ObservationComponent(code=_text("TPS 95 % interval, lower bound"),
                                     valueQuantity=_percent(float(low))),
                ObservationComponent(code=_text("TPS 95 % interval, upper bound"),
                                     valueQuantity=_percent(float(high))),
            ]
    else:
        fields["dataAbsentReason"] = _absent_reason(result)
    notes = _flag_notes(result)
    return _observation(job, result, when,
                        _text("PD-L1 tumour proportion score (TPS), percent of viable tumour "
                              "cells with partial or complete membrane staining"),
                        note=notes or None, **fields)


def _category(job: Job, result: dict[str, Any], when: datetime) -> Observation:
    cutoffs = ", ".join(f"{c:g} %" for c in result.get("cutoffs") or ())
    code = _text(f"PD-L1 TPS category (cutoffs {cutoffs})")
    category = result.get("category")
    if has_score(result) and category:
        return _observation(job, result, when, code, valueCodeableConcept=_text(str(category)))
    return _observation(job, result, when, code, dataAbsentReason=_absent_reason(result))


def _counts(job: Job, result: dict[str, Any], when: datetime) -> Observation:
    components = [
        ObservationComponent(
            code=CodeableConcept(coding=[Coding(system=CELL_CLASS_SYSTEM, code=name)],
                                 text=CLASS_NAMES.get(name, name)),
            valueInteger=int(count))
        for name, count in (result.get("counts") or {}).items()]
    return _observation(job, result, when, _text("Cells counted by class"),
                        component=components or None)


def _device(result: dict[str, Any]) -> Device:
    model = result.get("model") or {}
    return Device(
        name=[DeviceName(value=str(model.get("name")), type="user-friendly-name")],
        version=[DeviceVersion(value=str(model.get("version")))],
        identifier=[Identifier(system=MODEL_SHA256_SYSTEM, value=str(model.get("sha256")))])


def _report_code(assay: str) -> CodeableConcept:
    if assay == "22C3":
        return CodeableConcept(coding=[LOINC_22C3_REPORT], text="PD-L1 (22C3) TPS report")
    return _text(f"PD-L1 ({assay}) TPS report")


def _conclusion(result: dict[str, Any]) -> str:
    if not has_score(result):
        withheld = (result.get("flags") or {}).get("not_ihc")
        return ("TPS withheld: the slide does not look like IHC." if withheld
                else "TPS undefined: no tumour cells were found.")
    cutoffs = [float(c) for c in result.get("cutoffs") or ()]
    text = f"TPS {percent(float(result['tps']), cutoffs)} %"
    if result.get("tps_ci95") is not None:
        low, high = result["tps_ci95"]
        text += f" (95 % interval {percent(float(low))}-{percent(float(high))} %)"
    return text + f", category {result.get('category')}."


def fhir_bundle(job: Job) -> Bundle:
    """The FHIR Bundle of a succeeded job (job.result and job.finished_at set)."""
    result = job.result or {}
    finished = job.finished_at or datetime.now(UTC)
    when = finished if finished.tzinfo else finished.replace(tzinfo=UTC)  # the store keeps UTC
    assay = str((result.get("params") or {}).get("assay") or job.params.get("assay") or "")
    observations = {"tps": _tps(job, result, when), "category": _category(job, result, when),
                    "counts": _counts(job, result, when)}
    slide_sha = (result.get("slide") or {}).get("sha256")
    notes = [Annotation(text=f"Slide image file sha256 {slide_sha}.")] if slide_sha else []
    if is_demonstration(result):
        notes.append(Annotation(text=DEMO_WARNING))
    report = DiagnosticReport(
        # subject omitted: this service holds no patient identifiers.
        identifier=[Identifier(system=JOB_SYSTEM, value=job.id)],
        status="final", category=[CodeableConcept(coding=[PATHOLOGY])],
        code=_report_code(assay), effectiveDateTime=when, issued=when,
        result=[Reference(reference=_uuid(job, part)) for part in observations],
        conclusion=_conclusion(result), note=notes or None)
    entries = [BundleEntry(fullUrl=_uuid(job, "report"), resource=report)]
    entries += [BundleEntry(fullUrl=_uuid(job, part), resource=resource)
                for part, resource in observations.items()]
    entries.append(BundleEntry(fullUrl=_uuid(job, "device"), resource=_device(result)))
    return Bundle(type="collection", timestamp=when,
                  identifier=Identifier(system=JOB_SYSTEM, value=job.id), entry=entries)
