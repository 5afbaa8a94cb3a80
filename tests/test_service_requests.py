"""What a job or batch request is refused for, and how a slide's label is kept."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jobs import lease
from jobs.records import Batch, Job
from service.uploads import sanitise_label
from tests.api_client import Api, tiny_slide_bytes

KNOWN = "known: 22C3, 28-8, SP263"


def _slide(api: Api, tmp_path: Path, name: str = "a.tiff", seed: int = 0) -> str:
    headers = {**api.a(), "Content-Type": "application/octet-stream"}
    r = api.client.put("/v1/slides", content=tiny_slide_bytes(tmp_path, seed),
                       headers={**headers, "X-Filename": name.encode()})  # UTF-8, as curl sends
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _count(api: Api, model: type[Job | Batch]) -> int:
    with Session(api.client.app.state.tps.engine) as s:  # type: ignore[attr-defined]
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_an_unknown_field_in_a_job_is_422_naming_it(api: Api, tmp_path: Path) -> None:
    slide_id = _slide(api, tmp_path)
    r = api.client.post("/v1/jobs", json={"slide_id": slide_id, "treshold": 0.3},
                        headers=api.a())
    assert r.status_code == 422
    assert r.json()["detail"] == 'unknown field "treshold"'
    # A misspelt required field: both problems are named, and it is still 422.
    r = api.client.post("/v1/jobs", json={"slide": slide_id}, headers=api.a())
    assert r.status_code == 422
    assert r.json()["detail"] == 'body.slide_id: Field required; unknown field "slide"'
    assert _count(api, Job) == 0 and api.dispatcher.enqueued == []


def test_an_unknown_field_in_a_batch_is_422_naming_it(api: Api, tmp_path: Path) -> None:
    slide_id = _slide(api, tmp_path)
    for body, field in (({"slide_ids": [slide_id], "cutof": [1, 50]}, "cutof"),
                        ({"slide_ids": [slide_id], "slide_id": slide_id}, "slide_id")):
        r = api.client.post("/v1/batches", json=body, headers=api.a())
        assert r.status_code == 422, body
        assert r.json()["detail"] == f'unknown field "{field}"'
    assert _count(api, Batch) == 0 and _count(api, Job) == 0
    assert api.dispatcher.enqueued == []


def test_other_bad_bodies_stay_400(api: Api, tmp_path: Path) -> None:
    slide_id = _slide(api, tmp_path)
    r = api.client.post("/v1/jobs", json={"slide_id": slide_id, "threshold": "high"},
                        headers=api.a())
    assert r.status_code == 400 and r.json()["detail"].startswith("body.threshold: ")
    r = api.client.post("/v1/jobs", json=[slide_id], headers=api.a())
    assert r.status_code == 400
    assert api.dispatcher.enqueued == []


def test_an_unknown_assay_is_422_naming_the_known_ones(api: Api, tmp_path: Path) -> None:
    slide_id = _slide(api, tmp_path)
    r = api.client.post("/v1/jobs", json={"slide_id": slide_id, "assay": "SP142"},
                        headers=api.a())
    assert r.status_code == 422
    assert r.json()["detail"] == f"unknown assay 'SP142'; {KNOWN}; or give cutoffs"
    r = api.client.post("/v1/batches", json={"slide_ids": [slide_id], "assay": "22c3"},
                        headers=api.a())
    assert r.status_code == 422 and KNOWN in r.json()["detail"]
    assert _count(api, Job) == 0 and _count(api, Batch) == 0
    assert api.dispatcher.enqueued == []


def test_an_unknown_assay_with_cutoffs_is_scored_at_those_cutoffs(api: Api, tmp_path: Path) -> None:
    slide_id = _slide(api, tmp_path)
    r = api.client.post("/v1/jobs", json={"slide_id": slide_id, "assay": "SP142",
                                          "cutoffs": [5, 10]}, headers=api.a())
    assert r.status_code == 202, r.text
    assert r.json()["params"]["assay"] == "SP142"
    assert r.json()["params"]["cutoffs"] == [5.0, 10.0]
    batch = api.client.post("/v1/batches", json={"slide_ids": [slide_id], "assay": "in-house",
                                                 "cutoffs": [20]}, headers=api.a())
    assert batch.status_code == 201, batch.text
    assert api.dispatcher.enqueued == [r.json()["id"], *batch.json()["job_ids"]]
    # cutoffs that are themselves wrong are a malformed request, whatever the assay
    bad = api.client.post("/v1/jobs", json={"slide_id": slide_id, "assay": "SP142",
                                            "cutoffs": [50, 1]}, headers=api.a())
    assert bad.status_code == 400


@pytest.mark.parametrize(("name", "label"), [
    ("Präparat_東京.svs", "Präparat_東京.svs"),
    ("Ñandú 1.tiff", "Ñandú 1.tiff"),
    ("N\u0303andu\u0301 1.tiff", "Ñandú 1.tiff"),  # decomposed: NFC makes it the same label
    ("Случай №7 (повтор).ndpi", "Случай №7 (повтор).ndpi"),
    ("../../etc/passwd", "passwd"),
    ("C:\\scans\\2024\\b 12.svs", "b 12.svs"),
    ("scans/2024\\", "slide"),
    ("a\x00b\tc\r\nd\x1b[31m.svs", "abcd[31m.svs"),
    ("invoice\u202eexe.svs", "invoiceexe.svs"),  # a right-to-left override is format (Cf)
    ("line\u2028break.svs", "linebreak.svs"),
    ("  .. hidden.svs. . ", "hidden.svs"),
    ("..", "slide"),
    ("\x00\x01", "slide"),
    ("", "slide"),
])
def test_sanitise_label(name: str, label: str) -> None:
    assert sanitise_label(name) == label


def test_a_label_is_at_most_200_characters() -> None:
    assert sanitise_label("東" * 300 + ".svs") == "東" * 200
    assert sanitise_label("a" * 199 + " " + "b" * 10) == "a" * 199  # no trailing space left


def test_unicode_file_names_arrive_as_labels(api: Api, tmp_path: Path) -> None:
    headers = {**api.a(), "Content-Type": "application/octet-stream"}
    # X-Filename as curl sends it: the name's UTF-8 bytes
    r = api.client.put("/v1/slides", content=tiny_slide_bytes(tmp_path, 1), headers={
        **headers, "X-Filename": "Präparat_東京.svs".encode()})
    assert r.status_code == 201, r.text
    assert r.json()["label"] == "Präparat_東京.svs"
    # Content-Disposition's RFC 8187 form is preferred to its plain filename
    r = api.client.put("/v1/slides", content=tiny_slide_bytes(tmp_path, 2), headers={
        **headers, "Content-Disposition":
            "attachment; filename=\"fallback.tiff\"; filename*=UTF-8''%C3%91and%C3%BA%201.tiff"})
    assert r.status_code == 201, r.text
    assert r.json()["label"] == "Ñandú 1.tiff"
    # a Latin-1 byte that is not UTF-8 is read as Latin-1
    r = api.client.put("/v1/slides", content=tiny_slide_bytes(tmp_path, 3), headers={
        **headers, "X-Filename": "Pr\xe4parat.svs".encode("latin-1")})
    assert r.status_code == 201 and r.json()["label"] == "Präparat.svs"
    labels = {s["label"] for s in api.client.get("/v1/slides", headers=api.a()).json()}
    assert labels == {"Präparat_東京.svs", "Ñandú 1.tiff", "Präparat.svs"}


def test_a_label_that_reads_as_a_formula_is_escaped_in_the_csv_report(
        api: Api, tmp_path: Path) -> None:
    slide_id = _slide(api, tmp_path, name='=SUM(A1;A2) 東京.tiff')
    batch = api.client.post("/v1/batches", json={"slide_ids": [slide_id]}, headers=api.a())
    assert batch.status_code == 201
    engine = api.client.app.state.tps.engine  # type: ignore[attr-defined]
    (job_id,) = batch.json()["job_ids"]
    assert lease.claim(engine, job_id, "w", 60)
    assert lease.fail(engine, job_id, "w", '=SUM(A1;A2) 東京.tiff: corrupt')
    batch_id = batch.json()["id"]
    rows = api.client.get(f"/v1/batches/{batch_id}/report.json", headers=api.a()).json()
    assert rows[0]["label"] == '=SUM(A1;A2) 東京.tiff'  # JSON keeps it as it is
    text = api.client.get(f"/v1/batches/{batch_id}/report.csv", headers=api.a()).text
    (row,) = csv.DictReader(io.StringIO(text))
    assert row["label"] == '\'=SUM(A1;A2) 東京.tiff'
    assert row["error"] == '\'=SUM(A1;A2) 東京.tiff: corrupt'
