from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.marker_model import MARKER_RGB, build_marker_model
from tps.cli import main

TISSUE = (175, 180, 205)
# Marker cells centred on integer pixels inside distinct 16x16 blocks, with their class ids.
CELLS = [(8, 8, 0), (40, 24, 1), (25, 56, 1), (88, 40, 0), (70, 70, 3)]


@pytest.fixture(scope="module")
def marker_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_marker_model(tmp_path_factory.mktemp("model") / "markers.onnx")


def _write_data(folder: Path, labels: list[str]) -> Path:
    image = np.full((96, 100, 3), TISSUE, np.uint8)  # not a multiple of 32: the model pads
    for x, y, cls in CELLS:
        image[y - 1:y + 2, x - 1:x + 2] = MARKER_RGB[cls]
    Image.fromarray(image).save(folder / "tile.png")
    rows = [f"tile.png,{x},{y},{label}" for (x, y, _), label in zip(CELLS, labels)]
    (folder / "points.csv").write_text("image,x,y,label\n" + "\n".join(rows) + "\n")
    return folder / "points.csv"


def test_exact_model_scores_one_and_writes_json(marker_model: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    data = _write_data(tmp_path, ["P", "N", "N", "P", "nontumor_neg"])
    out = tmp_path / "metrics.json"
    code = main(["evaluate", "--model", str(marker_model), "--data", str(data),
                 "--label-map", "P=tumor_pos,N=tumor_neg", "--out", str(out)])
    assert code == 0
    report = json.loads(out.read_text())
    assert report["detection"]["f1"] == 1.0 and report["detection"]["tp"] == 5
    assert report["classification"]["macro"]["f1"] == 1.0
    assert report["positive_fraction"]["mean_abs_error"] == 0.0
    assert report["radius_px"] == 12.0 and report["model"]["name"] == "marker-finder"
    assert "detection       P 1.000  R 1.000  F1 1.000" in capsys.readouterr().out


def test_wrong_truth_class_and_ignored_label_are_counted(marker_model: Path,
                                                         tmp_path: Path) -> None:
    data = _write_data(tmp_path, ["P", "P", "N", "P", "skip"])  # cell 2 truly tumor_neg
    out = tmp_path / "metrics.json"
    main(["evaluate", "--model", str(marker_model), "--data", str(data), "--out", str(out),
          "--label-map", "P=tumor_pos,N=tumor_neg,skip=ignore"])
    report = json.loads(out.read_text())
    assert (report["detection"]["tp"], report["detection"]["fp"]) == (4, 1)  # cell 5 unlabelled
    assert report["classification"]["per_class"]["tumor_pos"]["fn"] == 1
    assert report["per_image"][0]["positive_fraction_gt"] == 0.75
    assert report["per_image"][0]["positive_fraction_pred"] == 0.5


def test_radius_in_microns_at_a_finer_image_mpp(marker_model: Path, tmp_path: Path) -> None:
    data = _write_data(tmp_path, ["P", "N", "N", "P", "nontumor_neg"])
    out = tmp_path / "metrics.json"
    main(["evaluate", "--model", str(marker_model), "--data", str(data), "--out", str(out),
          "--mpp", "0.25", "--radius-um", "2", "--label-map", "P=tumor_pos,N=tumor_neg"])
    assert json.loads(out.read_text())["radius_px"] == 8.0  # 2 um at 0.25 um/px


def test_unmapped_label_is_a_clear_error(marker_model: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    data = _write_data(tmp_path, ["P", "N", "N", "P", "Q"])
    assert main(["evaluate", "--model", str(marker_model), "--data", str(data)]) == 2
    assert "--label-map" in capsys.readouterr().err


def test_the_stain_rule_is_evaluated_like_a_model(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from tests.test_scoring_stain_rule import _draw

    nuclei = [(30, 30, "H"), (80, 30, "D"), (130, 30, "H"), (30, 100, "D"), (100, 110, "D")]
    Image.fromarray(_draw(nuclei)).save(tmp_path / "drawn.png")
    rows = [f"drawn.png,{x},{y},{'P' if s == 'D' else 'N'}" for x, y, s in nuclei]
    (tmp_path / "points.csv").write_text("image,x,y,label\n" + "\n".join(rows) + "\n")
    out = tmp_path / "stain.json"
    args = ["evaluate", "--method", "stain", "--data", str(tmp_path / "points.csv"),
            "--label-map", "P=tumor_pos,N=tumor_neg", "--out", str(out)]
    assert main(args) == 2  # the rule has no scale of its own
    assert "--mpp" in capsys.readouterr().err
    assert main([*args, "--mpp", "0.5"]) == 0
    report = json.loads(out.read_text())
    assert report["model"]["name"] == "stain rule"
    assert report["detection"]["f1"] == 1.0 and report["classification"]["macro"]["f1"] == 1.0
    assert report["positive_fraction"]["pred"] == pytest.approx(3 / 5)
