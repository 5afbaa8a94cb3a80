"""Scored jobs for the DICOM output tests (tests/test_service_dicom_out.py): a hand-known
result and cell file, a DICOM WSI series to upload, and the objects fetched and taken apart."""
from __future__ import annotations

import subprocess
from io import BytesIO
from pathlib import Path
from typing import Any

import pydicom
from pydicom.dataset import Dataset

from tests.api_client import Api
from tests.viewer_jobs import picture, succeed, write_cells_rows
from tests.worker_slide_fixture import write_pyramid_tiff

# (x, y, class, p_obj, p_class) in level-0 pixels; distinct y, since the index sorts by y.
ROWS = [(100.25, 50.75, "tumor_pos", 0.9, 0.8), (200.0, 60.0, "tumor_pos", 0.9, 0.8),
        (300.5, 70.0, "tumor_pos", 0.9, 0.8), (110.0, 80.0, "tumor_neg", 0.9, 0.8),
        (120.0, 90.0, "tumor_neg", 0.9, 0.8), (130.0, 95.5, "nontumor_neg", 0.9, 0.8)]
COUNTS = {"tumor_pos": 3, "tumor_neg": 2, "nontumor_pos": 0, "nontumor_neg": 1}
# dciodvfy (dicom3tools 2022) says this of every 2D annotation group although the attribute
# is absent (checked where it is dropped); any other Error line fails.
ABSENT_Z_FALSE_ALARM = ("Error - Only valid for AnnotationCoordinateType of 3D - attribute "
                        "<CommonZCoordinateValue> = <>")


def result_of(**changes: Any) -> dict[str, Any]:
    flags = {"inadequate": True, "near_cutoff": False, "no_tumor_cells": False,
             "not_ihc": False, "stain_disagrees": False}
    result = {  # 3 of 5 tumour cells: TPS 60 %, Wilson 95 % interval 23.07-88.24 %
        "schema_version": "1", "tps": 60.0, "tps_ci95": [23.07, 88.24], "category": ">=50%",
        "categories": ["<1%", "1-49%", ">=50%"], "cutoffs": [1.0, 50.0], "counts": COUNTS,
        "tumor_cells": 5, "flags": flags,
        "slide": {"sha256": "ab" * 32, "width": 600, "height": 400, "mpp": 0.5,
                  "vendor": "generic-tiff"},
        "model": {"name": "pdl1-points", "version": "7", "sha256": "cd" * 32},
        "params": {"assay": "22C3", "threshold": 0.5, "mpp": None}}
    return result | changes


def new_job(api: Api, slide_id: str, **params: Any) -> str:
    response = api.client.post("/v1/jobs", json={"slide_id": slide_id, **params},
                               headers=api.a())
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def scored(api: Api, tmp_path: Path, job_id: str, result: dict[str, Any]) -> None:
    folder = tmp_path / f"result-{job_id}"
    write_cells_rows(folder, ROWS)
    succeed(api, job_id, folder, result)


def dciodvfy_errors(data: bytes, tmp_path: Path) -> list[str]:
    """dciodvfy's Error lines for the object."""
    path = tmp_path / "checked.dcm"
    path.write_bytes(data)
    done = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=60,
                          check=False)
    lines = [line for line in (done.stdout + done.stderr).splitlines() if "Error" in line]
    groups = pydicom.dcmread(path).get("AnnotationGroupSequence") or []
    if not any("CommonZCoordinateValue" in group for group in groups):
        lines = [line for line in lines if line != ABSENT_Z_FALSE_ALARM]
    return lines


def fetch(api: Api, job_id: str, kind: str) -> bytes:
    response = api.client.get(f"/v1/jobs/{job_id}/dicom/{kind}", headers=api.a())
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/dicom"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="job-{job_id}-{kind}.dcm"')
    return response.content


def get(api: Api, job_id: str, kind: str) -> Dataset:
    return pydicom.dcmread(BytesIO(fetch(api, job_id, kind)))


def sr_items(dataset: Dataset) -> dict[str, Dataset]:
    """Every SR content item under the root, by its concept's code value (the last one wins)."""
    found: dict[str, Dataset] = {}
    stack = list(dataset.ContentSequence)
    while stack:
        item = stack.pop()
        found[item.ConceptNameCodeSequence[0].CodeValue] = item
        stack += list(item.get("ContentSequence") or [])
    return found


def number(item: Dataset) -> tuple[float, str]:
    value = item.MeasuredValueSequence[0]
    return float(value.NumericValue), value.MeasurementUnitsCodeSequence[0].CodeValue


def withheld(api: Api, slide_id: str) -> str:
    """A job whose TPS is withheld (not IHC), with no cell file."""
    job_id = new_job(api, slide_id, threshold=0.7)
    flags = result_of()["flags"] | {"not_ihc": True, "inadequate": False}
    succeed(api, job_id, Path("/nonexistent"),
            result_of(tps=None, tps_ci95=None, category=None, flags=flags))
    return job_id


def dicom_job(api: Api, series: Path, tmp_path: Path) -> tuple[str, Dataset]:
    """A scored job on the series' level-0 instance, uploaded alone; and its header."""
    level0 = max(series.iterdir(), key=lambda p: p.stat().st_size)
    slide = api.upload(level0.read_bytes(), "case.dcm").json()  # type: ignore[attr-defined]
    job_id = new_job(api, slide["id"])
    scored(api, tmp_path, job_id, result_of())
    return job_id, pydicom.dcmread(level0, stop_before_pixels=True)


def write_series(root: Path) -> Path:
    """A DICOM WSI series folder (wsidicomizer, uncompressed) of a 600 x 400 px picture."""
    import wsidicomizer
    from wsidicom.codec import NumpySettings

    tiff = write_pyramid_tiff(root / "case.tiff", picture(600, 400), mpp=0.5)
    folder = root / "series"
    wsidicomizer.WsiDicomizer.convert(tiff, folder, encoding=NumpySettings(),
                                      include_label=False, include_overview=False,
                                      include_thumbnail=False)
    return folder
