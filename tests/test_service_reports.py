from __future__ import annotations

from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from jobs import lease
from scoring.pdf_layout import find_unicode_font
from scoring.pdf_report import percent
from service.reports import COLUMNS, csv_cell, report_row, to_csv
from tests.api_client import Api, tiny_slide_bytes
from tests.marker_model import build_marker_model
from tests.test_scoring_pdf_report import pdf_pages, pdf_text, require_poppler
from tests.worker_slide_fixture import markers_image, write_pyramid_tiff


def test_formula_cells_are_escaped() -> None:
    for text in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx"):
        assert csv_cell(text) == "'" + text
    assert csv_cell("a=b") == "a=b"
    assert csv_cell(-3.5) == "'-3.5"  # numbers too: the rule is on the cell's text
    assert csv_cell(None) == ""
    assert csv_cell(["near_cutoff", "inadequate"]) == "near_cutoff;inadequate"


def test_csv_has_one_header_and_one_row_per_input() -> None:
    row = {column: None for column in COLUMNS} | {"label": "x", "tps": 1.0}
    lines = to_csv([row, row]).splitlines()
    assert lines[0] == ",".join(COLUMNS)
    assert len(lines) == 3 and lines[1].startswith("x,,,,1.0,")


def test_report_rows_give_tps_to_a_hundredth_of_a_percent() -> None:
    slide = SimpleNamespace(label="a.tiff", id="s1")
    job = SimpleNamespace(id="j1", state="succeeded", error=None, queued_at=None,
                          started_at=None, finished_at=None,
                          result={"tps": 36.54991000969127,
                                  "tps_ci95": [35.44675494186831, 37.66736398447843]})
    row = report_row(slide, job)  # type: ignore[arg-type]
    assert (row["tps"], row["ci95_low"], row["ci95_high"]) == (36.55, 35.45, 37.67)
    assert to_csv([row]).splitlines()[1].startswith("a.tiff,s1,j1,succeeded,36.55,35.45,37.67,")


@pytest.fixture(scope="module")
def scored_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A real result folder and result: a markers slide scored with the marker model."""
    from scoring.pipeline import ScoreParams, score_slide

    root = tmp_path_factory.mktemp("scored")
    image, _truth = markers_image(600, 500, seed=4, tissue_box=(32, 32, 570, 470))
    slide = write_pyramid_tiff(root / "s.tiff", image, mpp=0.5)
    folder = root / "result"
    folder.mkdir()
    result = score_slide(slide, folder, ScoreParams(model_path=build_marker_model(root / "m.onnx")))
    return folder, result


def _job(api: Api, tmp_path: Path, label: str, seed: int) -> str:
    slide = api.client.put("/v1/slides", content=tiny_slide_bytes(tmp_path, seed), headers={
        **api.a(), "Content-Type": "application/octet-stream",
        "X-Filename": label.encode()}).json()  # UTF-8 bytes, as curl sends them
    job: str = api.client.post("/v1/jobs", json={"slide_id": slide["id"]},
                               headers=api.a()).json()["id"]
    return job


def _label_as_printed(label: str) -> str:
    return label if find_unicode_font() else label.replace("Ωμέγα", "?????")


def test_a_jobs_pdf_report(api: Api, tmp_path: Path,
                           scored_folder: tuple[Path, dict[str, Any]]) -> None:
    folder, result = scored_folder
    label = "Präparat Ωμέγα.tiff"
    job_id = _job(api, tmp_path, label, seed=0)
    url = f"/v1/jobs/{job_id}/report.pdf"
    assert api.client.get(url, headers=api.a()).status_code == 409  # queued: no result yet
    engine = api.client.app.state.tps.engine  # type: ignore[attr-defined]
    assert lease.claim(engine, job_id, "w", 60)
    assert lease.succeed(engine, job_id, "w", result, str(folder))
    assert api.client.get(url, headers=api.b()).status_code == 404  # another lab's job
    assert api.client.get("/v1/jobs/nope/report.pdf", headers=api.a()).status_code == 404

    response = api.client.get(url, headers=api.a())
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    require_poppler()
    (tmp_path / "r.pdf").write_bytes(response.content)
    assert len(pdf_pages(tmp_path / "r.pdf", tmp_path / "pages")) == 1
    text = pdf_text(tmp_path / "r.pdf")
    assert _label_as_printed(label) in text  # the lab's label, not the storage name
    assert f"TPS {percent(result['tps'], result['cutoffs'])} %" in text
    assert f"Category: {result['category']}" in text
    finished = api.client.get(f"/v1/jobs/{job_id}", headers=api.a()).json()["finished_at"]
    assert datetime.fromisoformat(finished).strftime("%Y-%m-%d %H:%M UTC") in text


def test_a_batchs_pdf_report(api: Api, tmp_path: Path,
                             scored_folder: tuple[Path, dict[str, Any]]) -> None:
    folder, result = scored_folder
    done, broken = _job(api, tmp_path, "done.tiff", 0), _job(api, tmp_path, "broken.tiff", 1)
    engine = api.client.app.state.tps.engine  # type: ignore[attr-defined]
    for job_id in (done, broken):
        assert lease.claim(engine, job_id, "w", 60)
    assert lease.succeed(engine, done, "w", result, str(folder))
    assert lease.fail(engine, broken, "w", "broken.tiff: corrupt or truncated slide")
    assert api.client.get(f"/v1/jobs/{broken}/report.pdf", headers=api.a()).status_code == 409
    batch = api.client.post("/v1/batches", json={"job_ids": [done, broken]},
                            headers=api.a()).json()["id"]
    url = f"/v1/batches/{batch}/report.pdf"
    assert api.client.get(url, headers=api.b()).status_code == 404

    response = api.client.get(url, headers=api.a())
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    require_poppler()
    (tmp_path / "b.pdf").write_bytes(response.content)
    assert len(pdf_pages(tmp_path / "b.pdf", tmp_path / "pages")) == 1 + 1
    text = pdf_text(tmp_path / "b.pdf")
    assert "2 slides" in text and "done.tiff" in text
    assert "failed: broken.tiff: corrupt or truncated slide" in text
