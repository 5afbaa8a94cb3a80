from __future__ import annotations

import csv
import gzip
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from scoring.errors import SlideError, UnscorableSlide
from scoring.pipeline import ScoreParams, score_slide
from tests.marker_model import CLASSES, build_marker_model
from tests.worker_slide_fixture import markers_image, write_pyramid_tiff

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def marker_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_marker_model(tmp_path_factory.mktemp("model") / "markers.onnx")


def _cells(out_dir: Path) -> set[tuple[float, float, str]]:
    with gzip.open(out_dir / "cells.csv.gz", "rt", newline="") as text:
        return {(float(r["x_px"]), float(r["y_px"]), r["class"]) for r in csv.DictReader(text)}


def test_fixture_slide_cells_are_exactly_the_truth(marker_model: Path, tmp_path: Path) -> None:
    image, truth = markers_image(900, 700, seed=7, tissue_box=(64, 48, 840, 660))
    slide = write_pyramid_tiff(tmp_path / "s.tiff", image, mpp=0.5)
    result = score_slide(slide, tmp_path / "out", ScoreParams(marker_model, tile_size=256,
                                                              halo=32))
    assert _cells(tmp_path / "out") == {(float(x), float(y), CLASSES[c]) for x, y, c in truth}
    pos = sum(c == 0 for *_, c in truth)
    neg = sum(c == 1 for *_, c in truth)
    assert result["tps"] == pytest.approx(100 * pos / (pos + neg))
    assert not (tmp_path / "out" / "cells.bin").exists()


# Seed 3 at 2000x1500 once grew a tissue speck below the detector's minimum area.
@pytest.mark.parametrize(("width", "height", "seed"), [(1600, 1200, 11), (2000, 1500, 3)])
def test_synthetic_markers_slide_gives_true_counts_and_tps(
    marker_model: Path, tmp_path: Path, width: int, height: int, seed: int
) -> None:
    from synth.slide import write_slide

    truth = write_slide(tmp_path / "m.tiff", width, height, tps=30.0, seed=seed, style="markers")
    result = score_slide(tmp_path / "m.tiff", tmp_path / "out", ScoreParams(marker_model))
    assert result["counts"] == truth.counts
    assert result["tps"] == pytest.approx(truth.tps)


def test_two_tile_sizes_give_the_same_cells(marker_model: Path, tmp_path: Path) -> None:
    from synth.slide import write_slide

    write_slide(tmp_path / "m.tiff", 1100, 900, tps=60.0, seed=12, style="markers")
    score_slide(tmp_path / "m.tiff", tmp_path / "a", ScoreParams(marker_model, tile_size=192,
                                                                 halo=32))
    score_slide(tmp_path / "m.tiff", tmp_path / "b", ScoreParams(marker_model, tile_size=512,
                                                                 halo=64, batch_size=3))
    cells = _cells(tmp_path / "a")
    assert cells and cells == _cells(tmp_path / "b")


def test_roi_keeps_only_cells_inside(marker_model: Path, tmp_path: Path) -> None:
    image, truth = markers_image(640, 640, seed=8, tissue_box=(0, 0, 640, 640))
    slide = write_pyramid_tiff(tmp_path / "s.tiff", image, mpp=0.5)
    roi = tmp_path / "roi.geojson"
    roi.write_text(json.dumps({"type": "Polygon", "coordinates": [
        [[0, 0], [320, 0], [320, 640], [0, 640], [0, 0]]]}))
    score_slide(slide, tmp_path / "out", ScoreParams(marker_model, roi=roi))
    expected = {(float(x), float(y), CLASSES[c]) for x, y, c in truth if x < 320}
    assert _cells(tmp_path / "out") == expected


def test_non_slide_is_a_slide_error(marker_model: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.svs"
    bad.write_bytes(b"\x00" * 1000)
    with pytest.raises(SlideError):
        score_slide(bad, tmp_path / "out", ScoreParams(marker_model))


def test_importing_scoring_does_not_import_torch() -> None:
    code = "import sys, scoring.pipeline, scoring.cli; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "False"


def test_real_slides_give_a_valid_result(marker_model: Path, shared_data: Path,
                                         tmp_path: Path) -> None:
    from scoring.result_schema import Result

    slides = sorted((shared_data / "slides").glob("*.*"))
    assert slides
    for slide in slides:
        result = score_slide(slide, tmp_path / slide.stem, ScoreParams(marker_model))
        Result.model_validate(result)
        assert result["slide"]["mpp"] == pytest.approx(0.499, abs=1e-3)
        assert 0 < result["tissue_area_mm2"] < 2220 * 2967 * 0.499**2 / 1e6


def test_params_resolve_the_assay_cutoffs_once_where_they_enter(tmp_path: Path) -> None:
    model = tmp_path / "m.onnx"
    assert ScoreParams(model_path=model).cutoffs == (1.0, 50.0)
    assert ScoreParams(model_path=model, assay="SP263").cutoffs == (25.0,)
    assert ScoreParams(model_path=model, assay="SP263", cutoffs=(5, 10)).cutoffs == (5.0, 10.0)
    for bad in [{"cutoffs": (50.0, 1.0)}, {"cutoffs": (0.0,)}, {"assay": "SP142"}]:
        with pytest.raises(ValueError):
            ScoreParams(model_path=model, **bad)  # type: ignore[arg-type]


def test_a_slide_far_coarser_than_the_model_is_refused_naming_both(marker_model: Path,
                                                                    tmp_path: Path) -> None:
    image, _ = markers_image(400, 300, seed=2, tissue_box=(32, 32, 360, 260))
    slide = write_pyramid_tiff(tmp_path / "coarse.tiff", image, mpp=2.0)  # model: 0.5 um/px
    with pytest.raises(UnscorableSlide, match=r"2 um/px, 4 times coarser than the 0.5 um/px"):
        score_slide(slide, tmp_path / "out", ScoreParams(marker_model))
    assert not (tmp_path / "out" / "result.json").exists()
    # twice as coarse is still read (upsampled)
    score_slide(slide, tmp_path / "ok", ScoreParams(marker_model, mpp=1.0))


def test_an_absurd_mpp_is_refused_naming_the_value_and_its_source(marker_model: Path,
                                                                   tmp_path: Path) -> None:
    for bad in (1e9, 0.0, -1.0):
        pattern = f"pixel {re.escape(format(bad, 'g'))} \\(from the mpp given\\)"
        with pytest.raises(ValueError, match=pattern):
            ScoreParams(marker_model, mpp=bad)
    image, _ = markers_image(300, 300, seed=2, tissue_box=(32, 32, 260, 260))
    slide = write_pyramid_tiff(tmp_path / "huge-mpp.tiff", image, mpp=1e6)
    with pytest.raises(UnscorableSlide, match=r"1e\+06 \(from the slide file\)"):
        score_slide(slide, tmp_path / "out", ScoreParams(marker_model))


def test_a_fluorescence_slide_gets_no_score(marker_model: Path, tmp_path: Path) -> None:
    image = np.zeros((600, 600, 3), np.uint8)  # black background
    image[8::16, 8::16] = (40, 80, 230)  # blue nuclei
    slide = write_pyramid_tiff(tmp_path / "dapi.tiff", image, mpp=0.5)
    with pytest.raises(UnscorableSlide, match="fluorescence"):
        score_slide(slide, tmp_path / "out", ScoreParams(marker_model))
    assert not (tmp_path / "out" / "result.json").exists()


def test_the_same_tissue_gives_the_same_cells_within_three_percent_of_scale(
        marker_model: Path, tmp_path: Path) -> None:
    """0.49-0.51 um/px are all read as the model's 0.5: no resampling blur for some and not
    for others, so the counts cannot jump with a 0.2 % change of the stated scale."""
    image, truth = markers_image(700, 600, seed=9, tissue_box=(40, 40, 660, 560))
    slide = write_pyramid_tiff(tmp_path / "s.tiff", image, mpp=0.5)
    cells = {}
    for mpp in (0.49, 0.499, 0.5, 0.51):
        score_slide(slide, tmp_path / str(mpp), ScoreParams(marker_model, mpp=mpp))
        cells[mpp] = _cells(tmp_path / str(mpp))
    assert all(found == cells[0.5] for found in cells.values())
    assert len(cells[0.5]) == len(truth)


def test_a_scale_near_a_pyramid_level_reads_that_level_as_it_is() -> None:
    from scoring.resample import snapped_scale

    levels = (1.0, 2.0, 4.0)
    assert snapped_scale(0.5 / 0.2527, levels) == 2.0  # a 40x Aperio scan: level 1 as it is
    assert snapped_scale(0.5 / 0.499, levels) == 1.0
    assert snapped_scale(0.5 / 0.45, levels) == pytest.approx(1.1111, abs=1e-4)  # resampled
    assert snapped_scale(3.0, levels) == 3.0


def test_a_nucleus_floor_turns_brown_negatives_positive_on_a_slide(marker_model: Path,
                                                                   tmp_path: Path) -> None:
    from scoring.optical_density import UNIT_STAINS, rgb_from_density
    from tps.calibrate_cli import write_metadata

    floored = tmp_path / "floored.onnx"
    write_metadata(marker_model, floored, {"positive_threshold": 0.5, "positive_nucleus_dab": 1.0})
    image, truth = markers_image(900, 700, seed=7, tissue_box=(64, 48, 840, 660))
    xy = np.array([(x, y) for x, y, _ in truth], float)
    apart = [i for i, (x, y, c) in enumerate(truth) if c == 1 and
             np.sort(np.hypot(*(xy - (x, y)).T))[1] > 12][::2]  # every other lone negative
    assert len(apart) >= 3
    yy, xx = np.mgrid[:image.shape[0], :image.shape[1]]
    for i in apart:
        x, y, _ = truth[i]
        disk = np.hypot(xx - x, yy - y) <= 5
        marker = image[y - 1:y + 2, x - 1:x + 2].copy()
        image[disk] = rgb_from_density(2.5 * UNIT_STAINS[2])
        image[y - 1:y + 2, x - 1:x + 2] = marker
    slide = write_pyramid_tiff(tmp_path / "s.tiff", image, mpp=0.5)
    result = score_slide(slide, tmp_path / "out", ScoreParams(floored, tile_size=256, halo=32))
    expected = {(float(x), float(y), CLASSES[0 if i in apart else c])
                for i, (x, y, c) in enumerate(truth)}
    assert _cells(tmp_path / "out") == expected
    assert result["model"]["positive_nucleus_dab"] == 1.0
