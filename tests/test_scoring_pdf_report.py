"""The PDF reports, read back as a person would: pdftoppm renders the pages, pdftotext reads them."""
from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

import scoring.pdf_report
from scoring.bundled_model import bundled_model_path
from scoring.errors import TpsError
from scoring.pdf_layout import find_unicode_font
from scoring.pdf_report import (
    SlideEntry,
    batch_report_pdf,
    percent,
    write_batch_report,
    write_slide_report,
)
from tests.marker_model import build_marker_model
from tests.worker_slide_fixture import markers_image, write_pyramid_tiff
from tps.cli import main

POPPLER = bool(shutil.which("pdftotext") and shutil.which("pdftoppm"))
NO_POPPLER = "poppler-utils (pdftotext, pdftoppm) is not installed; .ci/run installs it on Debian"
needs_poppler = pytest.mark.skipif(not POPPLER, reason=NO_POPPLER)
LABEL = "Präparat Ωμέγα 東京.tiff"  # Latin-1, Greek (DejaVu has it), CJK (DejaVu has not)


def pdf_text(path: Path) -> str:
    done = subprocess.run(["pdftotext", "-raw", "-enc", "UTF-8", str(path), "-"],
                          capture_output=True, check=True)
    return " ".join(done.stdout.decode("utf-8").split())  # drawing order, wrapped lines joined


def pdf_pages(path: Path, folder: Path) -> list[Path]:
    """Each page rendered to PNG at 50 dpi, which also proves the PDF can be drawn."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["pdftoppm", "-png", "-r", "50", str(path), str(folder / "page")], check=True)
    pages = sorted(folder.glob("page-*.png"))
    for page in pages:
        with Image.open(page) as image:
            width, height = image.size
            assert abs(width - 413) <= 1 and abs(height - 585) <= 1  # A4 portrait at 50 dpi
    return pages


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`tps score` of a real markers slide with the marker model: the published result folder."""
    root = tmp_path_factory.mktemp("scored")
    model = build_marker_model(root / "markers.onnx")
    image, _truth = markers_image(600, 500, seed=4, tissue_box=(32, 32, 570, 470))
    slide = write_pyramid_tiff(root / LABEL, image, mpp=0.5)
    assert main(["score", str(slide), "--model", str(model), "--out", str(root / "out")]) == 0
    return root / "out" / slide.stem


def _result(folder: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((folder / "result.json").read_text())
    return result


def require_poppler() -> None:
    """Skip the rest of a test (what came before it still counts) when poppler is absent."""
    if not POPPLER:
        pytest.skip(NO_POPPLER)


def test_tps_score_writes_a_one_page_report_beside_result_json(scored: Path,
                                                              tmp_path: Path) -> None:
    report, result = scored / "report.pdf", _result(scored)
    assert report.read_bytes().startswith(b"%PDF-")
    require_poppler()
    assert len(pdf_pages(report, tmp_path)) == 1
    text = pdf_text(report)
    low, high = result["tps_ci95"]
    assert f"TPS {percent(result['tps'], result['cutoffs'])} %" in text
    assert f"95 % interval: {low:.1f}-{high:.1f} %" in text
    assert f"Category: {result['category']}" in text
    assert "Präparat" in text and ".tiff" in text  # the label: the slide's file name
    for name, line in (("tumor_pos", "Tumour cells, PD-L1 positive"),
                       ("nontumor_neg", "Other cells, PD-L1 negative")):
        assert f"{line} {result['counts'][name]:,}" in text
    assert "Assay: 22C3" in text and "Cutoffs: 1 %, 50 %" in text
    assert f"Model: {result['model']['name']} {result['model']['version']}" in text
    assert result["model"]["sha256"] in text
    assert "Demonstration model" not in text  # the marker model is not the bundled one
    assert "not available" not in text  # overlay.png and heatmap.png were drawn


def test_a_report_that_cannot_be_written_fails_the_slide_cleanly(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    def no_room(*args: Any) -> None:
        raise TpsError("cannot write report.pdf (No space left on device)")

    monkeypatch.setattr(scoring.pdf_report, "write_slide_report", no_room)
    slide = tmp_path / "s.tiff"
    write_pyramid_tiff(slide, markers_image(300, 300, 5, (0, 0, 300, 300))[0], mpp=0.5)
    model = build_marker_model(tmp_path / "m.onnx")
    assert main(["score", str(slide), "--model", str(model), "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert "s.tiff: error: cannot write report.pdf (No space left on device)" in err
    assert "Traceback" not in err and os.listdir(tmp_path / "o") == []  # nothing half published


@needs_poppler
def test_the_bundled_model_gets_the_demonstration_warning(scored: Path, tmp_path: Path) -> None:
    result = _result(scored)
    result["model"] = {"name": "pdl1-point-default", "version": "0.5.0",
                       "sha256": hashlib.sha256(bundled_model_path().read_bytes()).hexdigest()}
    write_slide_report(scored, result, "case.svs", tmp_path / "demo.pdf")
    text = pdf_text(tmp_path / "demo.pdf")
    assert "Demonstration model, not a clinical tool" in text
    assert "synthetic PD-L1-like tiles and real Ki-67 images" in text


@needs_poppler
@pytest.mark.parametrize(("flags", "words"), [
    ({"not_ihc": True}, ["TPS withheld", "Not IHC: the stain looks like H&E"]),
    ({"no_tumor_cells": True, "inadequate": True},
     ["TPS undefined", "No tumour cells were found", "Fewer than 100 viable tumour cells"]),
])
def test_a_missing_tps_reads_as_such_and_never_as_a_number(
        scored: Path, tmp_path: Path, flags: dict[str, bool], words: list[str]) -> None:
    result = _result(scored)
    result.update(tps=None, tps_ci95=None, category=None)
    result["flags"].update(flags)
    write_slide_report(scored, result, "he.svs", tmp_path / "r.pdf")
    text = pdf_text(tmp_path / "r.pdf")
    assert all(w in text for w in words), text
    assert "95 % interval: none" in text and "Category: none" in text
    assert not re.search(r"TPS \d", text)


@needs_poppler
def test_flags_in_words_and_review_crops_of_the_folder_only(scored: Path, tmp_path: Path) -> None:
    folder = tmp_path / "result"
    shutil.copytree(scored, folder)
    Image.new("RGB", (64, 64), (200, 40, 40)).save(folder / "crop-1.png")
    (tmp_path / "secret.png").write_bytes((folder / "crop-1.png").read_bytes())
    result = _result(folder)
    result["flags"]["near_cutoff"] = True
    result["review_crops"] = [
        {"file": "crop-1.png", "x": 120, "y": 340, "size_px": 64, "reason": "highest TPS"},
        {"file": "../secret.png", "x": 1, "y": 2, "size_px": 64, "reason": "outside"},
        {"file": "crop-9.png", "x": 3, "y": 4, "size_px": 64, "reason": "gone"}]
    write_slide_report(folder, result, "c.svs", tmp_path / "r.pdf")
    assert len(pdf_pages(tmp_path / "r.pdf", tmp_path / "pages")) == 1
    text = pdf_text(tmp_path / "r.pdf")
    assert "Near a cutoff: the 95 % interval straddles a category cutoff." in text
    assert "REGIONS TO REVIEW" in text and "highest TPS (x 120, y 340)" in text
    assert "outside (x 1, y 2): not available" in text  # a path out of the folder is not read
    assert "gone (x 3, y 4): not available" in text


@needs_poppler
def test_a_unicode_label_round_trips_with_a_unicode_font(scored: Path, tmp_path: Path) -> None:
    if find_unicode_font() is None:
        pytest.skip("no Unicode TrueType font on this machine (Debian: fonts-dejavu-core)")
    write_slide_report(scored, _result(scored), LABEL, tmp_path / "r.pdf")
    text = pdf_text(tmp_path / "r.pdf")
    # A character the font lacks (CJK in DejaVu Sans) is '?', never a crash or a blank.
    assert "Präparat Ωμέγα 東京.tiff" in text or "Präparat Ωμέγα ??.tiff" in text


@needs_poppler
def test_without_a_unicode_font_the_core_font_prints_question_marks(
        scored: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scoring.pdf_report, "find_unicode_font", lambda: None)
    write_slide_report(scored, _result(scored), LABEL, tmp_path / "r.pdf")
    assert "Präparat ????? ??.tiff" in pdf_text(tmp_path / "r.pdf")  # Latin-1 is kept


@needs_poppler
def test_a_batch_is_a_summary_page_then_a_page_per_scored_slide(scored: Path,
                                                               tmp_path: Path) -> None:
    result = _result(scored)
    withheld = copy.deepcopy(result) | {"tps": None, "tps_ci95": None, "category": None}
    withheld["flags"] = result["flags"] | {"not_ihc": True}
    entries = [SlideEntry("first.svs", "succeeded", result, scored),
               SlideEntry("broken.svs", "failed", error="broken.svs: corrupt or truncated slide"),
               SlideEntry("waiting.svs", "queued"),
               SlideEntry("h&e.svs", "succeeded", withheld, scored)]
    write_batch_report(entries, tmp_path / "batch.pdf")
    assert len(pdf_pages(tmp_path / "batch.pdf", tmp_path / "pages")) == 1 + 2
    text = pdf_text(tmp_path / "batch.pdf")
    summary = text[:text.index("PD-L1 tumour proportion score (TPS)")]  # page 1 only
    assert "4 slides" in summary and "first.svs" in summary and "waiting.svs - - - - - queued" in summary
    assert f"{percent(result['tps'], result['cutoffs'])} %" in summary
    assert "failed: broken.svs: corrupt or truncated slide" in summary
    assert "withheld" in summary and "not IHC" in summary
    assert text.count("PD-L1 tumour proportion score (TPS)") == 2


@needs_poppler
def test_a_long_batch_runs_the_summary_over_pages(tmp_path: Path) -> None:
    entries = [SlideEntry(f"slide-{i}.svs", "failed", error="no such file") for i in range(120)]
    (tmp_path / "b.pdf").write_bytes(batch_report_pdf(entries))
    pages = pdf_pages(tmp_path / "b.pdf", tmp_path / "pages")
    assert len(pages) > 1 and "slide-119.svs" in pdf_text(tmp_path / "b.pdf")


def test_a_printed_tps_never_rounds_across_a_cutoff() -> None:
    assert percent(36.549, (1.0, 50.0)) == "36.5"
    assert percent(49.96, (1.0, 50.0)) == "49.96"  # not 50.0 beside the category 1-49%
    assert percent(49.9996, (1.0, 50.0)) == "49.9996"
    assert percent(0.97, (1.0, 50.0)) == "0.97"
    assert percent(50.0, (1.0, 50.0)) == "50.0"
