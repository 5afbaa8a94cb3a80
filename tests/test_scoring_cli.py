from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.marker_model import build_marker_model
from tests.worker_slide_fixture import markers_image, write_pyramid_tiff
from tps.cli import main


@pytest.fixture(scope="module")
def marker_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_marker_model(tmp_path_factory.mktemp("model") / "markers.onnx")


def test_score_reports_bad_files_and_still_scores_the_next(
        marker_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image, truth = markers_image(600, 500, seed=4, tissue_box=(32, 32, 570, 470))
    good = write_pyramid_tiff(tmp_path / "good.tiff", image, mpp=0.5)
    data = good.read_bytes()
    (tmp_path / "cut.tiff").write_bytes(data[: len(data) // 4])
    (tmp_path / "text.svs").write_text("not a slide")
    slides = [tmp_path / "text.svs", tmp_path / "cut.tiff", tmp_path / "absent.ndpi", good]
    code = main(["score", *map(str, slides), "--model", str(marker_model),
                 "--out", str(tmp_path / "out")])
    out, err = capsys.readouterr()
    assert code == 1
    assert "text.svs: error: " in err and "cut.tiff: error: " in err
    assert "absent.ndpi: error: " in err and "Traceback" not in err
    assert "good.tiff  " in err and "tiles" in err and "ETA" in err
    assert out.startswith("good.tiff: TPS ") and len(out.splitlines()) == 1
    result = json.loads((tmp_path / "out" / "good" / "result.json").read_text())
    assert sum(result["counts"].values()) == len(truth)


def test_score_all_good_exits_zero_and_missing_mpp_says_so(
        marker_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image, _ = markers_image(300, 300, seed=5, tissue_box=(0, 0, 300, 300))
    slide = write_pyramid_tiff(tmp_path / "nompp.tiff", image, mpp=None)
    args = ["score", str(slide), "--model", str(marker_model), "--out", str(tmp_path / "o")]
    assert main(args) == 1
    assert "--mpp" in capsys.readouterr().err
    assert main([*args, "--mpp", "0.5"]) == 0


def test_detect_writes_one_row_per_cell(marker_model: Path, tmp_path: Path) -> None:
    image = np.full((64, 64, 3), (175, 180, 205), np.uint8)
    image[19:22, 36:39] = (255, 0, 0)
    Image.fromarray(image).save(tmp_path / "a.png")
    (tmp_path / "b.png").write_text("not an image")
    out = tmp_path / "cells.csv"
    code = main(["detect", str(tmp_path / "a.png"), str(tmp_path / "b.png"), "--model",
                 str(marker_model), "--mpp", "0.5", "--out", str(out)])
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert code == 1
    assert [(r["x"], r["y"], r["class"]) for r in rows] == [("37.00", "20.00", "tumor_pos")]


@pytest.mark.parametrize(("flags", "expected"), [
    ({"not_ihc": True, "no_tumor_cells": False}, "x.svs: TPS withheld (the stain is not IHC)"),
    ({"not_ihc": False, "no_tumor_cells": True}, "x.svs: TPS undefined (no tumour cells)"),
])
def test_a_missing_score_says_why(flags: dict[str, bool], expected: str, tmp_path: Path) -> None:
    from scoring.cli import summary_line

    result = {"tps": None, "tps_ci95": None, "category": None, "flags": flags,
              "counts": {"tumor_pos": 3, "tumor_neg": 1}, "tumor_cells": 4}
    assert summary_line("x.svs", result, tmp_path).startswith(expected)


def test_score_refuses_an_unknown_assay_or_bad_cutoffs_before_any_slide(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    slide = tmp_path / "never-read.tiff"
    for extra, needle in ((["--assay", "SP142"], "unknown assay 'SP142'"),
                          (["--cutoffs", "50", "1"], "cutoffs must increase")):
        code = main(["score", str(slide), "--out", str(tmp_path / "out"), *extra])
        err = capsys.readouterr().err
        assert code == 2 and needle in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()
