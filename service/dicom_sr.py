"""A succeeded job's result as a DICOM Comprehensive 3D SR holding a TID 1500 Measurement
Report, built with highdicom, which checks the templates as it builds them.

One measurement group (TID 1501) holds the TPS (UCUM %) and its Wilson 95 % interval bounds,
rounded as the PDF and the FHIR output print them; the PD-L1 positive and all viable tumour
cells (UCUM {cells}); the category and any flags as coded qualitative evaluations. A withheld
or undefined TPS has no number: its category evaluation says which. The model is the device
observer, and the algorithm (TID 4019) of the measurement group. Complete and final, as
the FHIR report is; unverified, since no person has signed it.

No standard code names a TPS, so the concepts are coded in a local scheme (a '99' designator,
as DICOM reserves for local codes), declared in the Coding Scheme Identification Sequence.
"""
from __future__ import annotations

from typing import Any

import highdicom as hd
from highdicom.coding_schemes import CodingSchemeIdentificationItem
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes

from jobs.records import Job
from scoring.pdf_report import FLAGS, flags_on, has_score, percent
from service.dicom_source import MANUFACTURER, derived_uid, finished_utc

SR_SERIES_NUMBER = 901
SCHEME = "99PDL1TPS"
CODING_SCHEME = CodingSchemeIdentificationItem(
    designator=SCHEME, name="PD-L1 TPS service local codes",
    responsible_organization=MANUFACTURER)
TPS = hd.sr.CodedConcept("TPS", SCHEME, "PD-L1 tumour proportion score")
TPS_LOW = hd.sr.CodedConcept("TPS-CI95-LOW", SCHEME, "TPS 95 % interval, lower bound")
TPS_HIGH = hd.sr.CodedConcept("TPS-CI95-HIGH", SCHEME, "TPS 95 % interval, upper bound")
POSITIVE_TUMOUR = hd.sr.CodedConcept("TUMOUR-POS", SCHEME,
                                     "PD-L1 positive viable tumour cells")
ALL_TUMOUR = hd.sr.CodedConcept("TUMOUR-ALL", SCHEME, "Viable tumour cells")
CATEGORY = hd.sr.CodedConcept("TPS-CATEGORY", SCHEME, "PD-L1 TPS category")
FLAG = hd.sr.CodedConcept("FLAG", SCHEME, "Result flag")
WITHHELD = hd.sr.CodedConcept("WITHHELD", SCHEME,
                              "TPS withheld: the slide does not look like IHC")
UNDEFINED = hd.sr.CodedConcept("UNDEFINED", SCHEME, "TPS undefined: no tumour cells")
PERCENT = codes.UCUM.Percent
CELLS = hd.sr.CodedConcept("{cells}", "UCUM", "cells")


def algorithm(result: dict[str, Any]) -> hd.AlgorithmIdentificationSequence:
    """The model, as the annotation groups name it (service/dicom_annotations.py)."""
    model = result.get("model") or {}
    return hd.AlgorithmIdentificationSequence(
        name=str(model.get("name")), version=str(model.get("version")),
        family=codes.DCM.ArtificialIntelligence, source=MANUFACTURER,
        parameters={k: str(v) for k, v in _parameters(result).items()})


def _parameters(result: dict[str, Any]) -> dict[str, object]:
    model, params = result.get("model") or {}, result.get("params") or {}
    return {"model sha256": model.get("sha256"), "assay": params.get("assay"),
            "threshold": params.get("threshold"),
            "cutoffs %": "/".join(f"{float(c):g}" for c in result.get("cutoffs") or ())}


def _algorithm_id(result: dict[str, Any]) -> hd.sr.AlgorithmIdentification:
    model = result.get("model") or {}
    return hd.sr.AlgorithmIdentification(
        name=str(model.get("name")), version=str(model.get("version")),
        parameters=[f"{k} {v}" for k, v in _parameters(result).items()])


def _coded(code: str, meaning: str) -> hd.sr.CodedConcept:
    # highdicom puts a code of over 16 characters (SH) in Long Code Value; a meaning is LO (64).
    return hd.sr.CodedConcept(code, SCHEME, meaning[:64])


def _score(result: dict[str, Any]) -> tuple[list[hd.sr.Measurement], hd.sr.CodedConcept]:
    """The TPS measurements and the category's coded value."""
    if not has_score(result):
        withheld = (result.get("flags") or {}).get("not_ihc")
        return [], WITHHELD if withheld else UNDEFINED
    cutoffs = [float(c) for c in result.get("cutoffs") or ()]
    found = [hd.sr.Measurement(TPS, float(percent(float(result["tps"]), cutoffs)), PERCENT)]
    if result.get("tps_ci95") is not None:
        low, high = (float(percent(float(v))) for v in result["tps_ci95"])
        found += [hd.sr.Measurement(TPS_LOW, low, PERCENT),
                  hd.sr.Measurement(TPS_HIGH, high, PERCENT)]
    category = str(result.get("category"))
    return found, _coded(category, f"TPS {category}")


def measurement_report(job: Job, source: Dataset) -> Dataset:
    """The SR of a succeeded job about `source` (service/dicom_source.py)."""
    result = job.result or {}
    model = result.get("model") or {}
    measurements, category = _score(result)
    counts = result.get("counts") or {}
    measurements += [
        hd.sr.Measurement(POSITIVE_TUMOUR, int(counts.get("tumor_pos", 0)), CELLS),
        hd.sr.Measurement(ALL_TUMOUR, int(result.get("tumor_cells") or 0), CELLS)]
    evaluations = [hd.sr.QualitativeEvaluation(CATEGORY, category)]
    evaluations += [hd.sr.QualitativeEvaluation(FLAG, _coded(name, f"Flag: {FLAGS[name][0]}"))
                    for name in flags_on(result) if name in FLAGS]
    group = hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(
            uid=derived_uid(job.id, "tps-finding"), identifier=f"PD-L1 TPS of job {job.id}"),
        algorithm_id=_algorithm_id(result), measurements=measurements,
        qualitative_evaluations=evaluations,
        source_images=[hd.sr.SourceImageForMeasurementGroup.from_source_image(source)])
    observer = hd.sr.ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=derived_uid("model", str(model.get("sha256"))), name=str(model.get("name")),
            manufacturer_name=MANUFACTURER, model_name=str(model.get("version"))))
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(observer_device_context=observer),
        procedure_reported=codes.SCT.ImmunohistochemistryProcedure,
        imaging_measurements=[group])
    when = finished_utc(job)
    sr = hd.sr.Comprehensive3DSR(
        evidence=[source], content=report[0], series_instance_uid=derived_uid(job.id, "sr-series"),
        series_number=SR_SERIES_NUMBER, sop_instance_uid=derived_uid(job.id, "sr"),
        instance_number=1, manufacturer=MANUFACTURER, is_complete=True, is_final=True,
        series_description="PD-L1 TPS measurement report", coding_schemes=[CODING_SCHEME],
        content_date=when.date(), content_time=when.time().replace(tzinfo=None))
    sr.TimezoneOffsetFromUTC = "+0000"
    return sr
