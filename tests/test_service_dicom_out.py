"""GET /v1/jobs/{id}/dicom/sr and /dicom/ann: a succeeded job as a DICOM SR measurement report
and as bulk annotations of its cells, read back for hand-known values and checked by
dicom3tools' dciodvfy."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from service.dicom_source import dicom_source
from tests.api_client import Api
from tests.dicom_out_jobs import (
    COUNTS,
    ROWS,
    dciodvfy_errors,
    dicom_job,
    fetch,
    get,
    new_job,
    number,
    result_of,
    scored,
    sr_items,
    withheld,
    write_series,
)
from tests.viewer_jobs import picture_job, upload_picture


@pytest.fixture(scope="module")
def series(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("wsidicomizer")
    return write_series(tmp_path_factory.mktemp("dicom-out"))


def test_a_tiff_jobs_report_and_cells(api: Api, tmp_path: Path) -> None:
    job_id = picture_job(api, tmp_path)
    for kind in ("sr", "ann"):
        url = f"/v1/jobs/{job_id}/dicom/{kind}"
        assert api.client.get(url, headers=api.a()).status_code == 409  # queued: no result
    scored(api, tmp_path, job_id, result_of())
    for kind in ("sr", "ann"):
        url = f"/v1/jobs/{job_id}/dicom/{kind}"
        assert api.client.get(url, headers=api.b()).status_code == 404  # another lab's job
        assert api.client.get(f"/v1/jobs/nope/dicom/{kind}", headers=api.a()).status_code == 404

    sr = get(api, job_id, "sr")
    assert sr.SOPClassUID == "1.2.840.10008.5.1.4.1.1.88.34"  # Comprehensive 3D SR
    assert sr.ContentTemplateSequence[0].TemplateIdentifier == "1500"
    assert (sr.PatientName, sr.PatientID, sr.PatientBirthDate) == ("", "", "")
    items = sr_items(sr)
    assert number(items["TPS"]) == (60.0, "%")
    assert number(items["TPS-CI95-LOW"]) == (23.1, "%")
    assert number(items["TPS-CI95-HIGH"]) == (88.2, "%")
    assert number(items["TUMOUR-POS"]) == (3.0, "{cells}")
    assert number(items["TUMOUR-ALL"]) == (5.0, "{cells}")
    assert items["TPS-CATEGORY"].ConceptCodeSequence[0].CodeValue == ">=50%"
    assert items["FLAG"].ConceptCodeSequence[0].CodeValue == "inadequate"
    assert (items["111001"].TextValue, items["111003"].TextValue) == ("pdl1-points", "7")
    assert items["121013"].TextValue == "pdl1-points"  # the device observer's name
    image = items["121112"].ReferencedSOPSequence[0]  # the measurements' source image

    ann = get(api, job_id, "ann")
    assert ann.AnnotationCoordinateType == "2D" and ann.Modality == "ANN"
    assert (ann.PatientName, ann.PatientID) == ("", "")
    groups = {g.AnnotationGroupLabel: g for g in ann.AnnotationGroupSequence}
    assert {name: int(g.NumberOfAnnotations) for name, g in groups.items()} == {
        name: n for name, n in COUNTS.items() if n}  # a class without cells has no group
    points = np.frombuffer(groups["tumor_pos"].PointCoordinatesData, np.float32).reshape(-1, 2)
    assert points[0].tolist() == [100.75, 51.25]  # DICOM's pixel centre is at +0.5
    assert groups["tumor_pos"].GraphicType == "POINT"
    algorithm = groups["tumor_pos"].AnnotationGroupAlgorithmIdentificationSequence[0]
    assert (algorithm.AlgorithmName, algorithm.AlgorithmVersion) == ("pdl1-points", "7")

    # One study per job, the same every time, and both objects about the same image.
    assert ann.StudyInstanceUID == sr.StudyInstanceUID
    assert ann.ReferencedImageSequence[0].ReferencedSOPInstanceUID == (
        image.ReferencedSOPInstanceUID)
    again = get(api, job_id, "sr")
    assert (again.StudyInstanceUID, again.SOPInstanceUID) == (sr.StudyInstanceUID,
                                                              sr.SOPInstanceUID)
    slide_id = api.client.get(f"/v1/jobs/{job_id}", headers=api.a()).json()["slide_id"]
    other = new_job(api, slide_id, threshold=0.6)  # the same slide, another job
    scored(api, tmp_path, other, result_of())
    assert get(api, other, "sr").StudyInstanceUID != sr.StudyInstanceUID


def test_a_withheld_tps_has_no_number(api: Api, tmp_path: Path) -> None:
    slide_id, _ = upload_picture(api, tmp_path)
    job_id = withheld(api, slide_id)
    items = sr_items(get(api, job_id, "sr"))
    assert not {"TPS", "TPS-CI95-LOW", "TPS-CI95-HIGH"} & items.keys()
    assert items["TPS-CATEGORY"].ConceptCodeSequence[0].CodeValue == "WITHHELD"
    assert items["FLAG"].ConceptCodeSequence[0].CodeValue == "not_ihc"
    assert number(items["TUMOUR-ALL"]) == (5.0, "{cells}")  # counts stay for review
    response = api.client.get(f"/v1/jobs/{job_id}/dicom/ann", headers=api.a())
    assert response.status_code == 404 and "cells.csv.gz" in response.text


def test_the_source_is_the_series_level_0_image(series: Path, tmp_path: Path) -> None:
    source = dicom_source(series)
    assert source is not None
    assert (source.TotalPixelMatrixColumns, source.TotalPixelMatrixRows) == (600, 400)
    assert len(list(series.iterdir())) == 3  # levels 600, 300 and 150 px wide
    tiff = tmp_path / "plain.tiff"
    tiff.write_bytes(b"II*\x00" + bytes(200))
    assert dicom_source(tiff) is None


def test_a_dicom_sources_objects_join_its_study(api: Api, series: Path,
                                               tmp_path: Path) -> None:
    job_id, source = dicom_job(api, series, tmp_path)
    sr = get(api, job_id, "sr")
    assert sr.StudyInstanceUID == source.StudyInstanceUID
    evidence = sr.CurrentRequestedProcedureEvidenceSequence[0]
    assert evidence.StudyInstanceUID == source.StudyInstanceUID
    assert evidence.ReferencedSeriesSequence[0].SeriesInstanceUID == source.SeriesInstanceUID
    referenced = evidence.ReferencedSeriesSequence[0].ReferencedSOPSequence[0]
    assert referenced.ReferencedSOPInstanceUID == source.SOPInstanceUID
    image = sr_items(sr)["121112"].ReferencedSOPSequence[0]
    assert image.ReferencedSOPInstanceUID == source.SOPInstanceUID
    assert sr.SeriesInstanceUID != source.SeriesInstanceUID  # a series of its own

    ann = get(api, job_id, "ann")
    assert ann.StudyInstanceUID == source.StudyInstanceUID
    assert ann.ReferencedSeriesSequence[0].SeriesInstanceUID == source.SeriesInstanceUID
    assert ann.ReferencedImageSequence[0].ReferencedSOPInstanceUID == source.SOPInstanceUID
    assert sum(int(g.NumberOfAnnotations) for g in ann.AnnotationGroupSequence) == len(ROWS)


def test_every_object_passes_dciodvfy(api: Api, series: Path, tmp_path: Path) -> None:
    if shutil.which("dciodvfy") is None:
        pytest.skip("dciodvfy is not installed (Debian package dicom3tools)")
    slide_id, _ = upload_picture(api, tmp_path)
    tiff_job = new_job(api, slide_id)
    scored(api, tmp_path, tiff_job, result_of())
    dicom_scored, _source = dicom_job(api, series, tmp_path)
    objects = [(tiff_job, "sr"), (tiff_job, "ann"), (withheld(api, slide_id), "sr"),
               (dicom_scored, "sr"), (dicom_scored, "ann")]
    for job_id, kind in objects:
        assert dciodvfy_errors(fetch(api, job_id, kind), tmp_path) == [], (job_id, kind)
