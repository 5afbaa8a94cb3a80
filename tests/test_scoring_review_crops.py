"""Review crops: 512 x 512 px at the model's scale, every call drawn in its class colour, chosen
deterministically where a reviewer should look, listed in result.json; fewer on a small slide,
none without cells."""
from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from scoring.aggregate import TumorClassIds, count_cells, find_fragments
from scoring.cells import CELL_DTYPE
from scoring.class_colors import CLASS_RGB
from scoring.crop_candidates import near_cutoff_distance
from scoring.crop_choice import CropCandidate, choose_crops
from scoring.outputs import write_outputs
from scoring.pipeline import ScoreParams, score_slide
from scoring.review_crops import CROP_PX, write_review_crops
from scoring.stain_check import read_stain
from scoring.tissue_mask import TissueMask
from tests.marker_model import CLASSES, build_marker_model
from tests.scoring_inputs import (
    TissueReader,
    make_model,
    make_slide,
    make_tissue,
    placed_cells,
    write_cells,
)
from tests.worker_slide_fixture import markers_image, write_pyramid_tiff

PARAMS = {"threshold": 0.5, "assay": "22C3"}


def agreeing(cells: np.ndarray) -> np.ndarray:
    """The cells with a stain that agrees with every call: no "model and stain disagree" crop."""
    cells = cells.copy()
    cells["dab_nucleus"] = 0.0
    cells["dab_membrane"] = np.where(cells["cls"] % 2 == 0, 3.0, 0.0)  # classes 0, 2: positive
    return cells


@pytest.fixture(scope="module")
def marker_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_marker_model(tmp_path_factory.mktemp("model") / "markers.onnx")


def _write(out: Path, cells: np.ndarray, tissue: TissueMask | None = None,
           width: int = 7680, height: int = 5120) -> dict[str, Any]:
    tissue = make_tissue() if tissue is None else tissue
    out.mkdir(parents=True)
    return write_outputs(out, write_cells(out.parent / f"{out.name}.bin", cells), tissue,
                         make_slide(width, height), make_model(), PARAMS, {}, (1.0, 50.0),
                         read_stain(tissue), reader=TissueReader(tissue, width, height))


def test_crops_are_where_a_reviewer_should_look(tmp_path: Path) -> None:
    result = _write(tmp_path / "out", agreeing(placed_cells()))
    crops = result["review_crops"]
    assert json.loads((tmp_path / "out" / "result.json").read_text())["review_crops"] == crops
    # Windows slide by 64 px (an eighth of a crop); ties go to the top-most, then left-most.
    # Fragment B (1 positive, 60 negative: TPS 1.6 %) is near the 1 % cutoff; its densest
    # window holds the 60 negatives at x 5233-5262, y 3958-3971: origin (75, 55) x 64.
    # The densest tumour anywhere: the 30 positives at (881-910, 886-891) with the 70
    # negatives at (1137-1166, 1142-1157): origin (11, 11) x 64. The most positive: the 30
    # alone, first window holding them at (7, 6) x 64; it overlaps the densest by 19 %.
    assert crops[:3] == [
        {"file": "crop-1.png", "x": 4800, "y": 3520, "size_px": 512, "reason": "near a cutoff"},
        {"file": "crop-2.png", "x": 704, "y": 704, "size_px": 512, "reason": "densest tumour"},
        {"file": "crop-3.png", "x": 448, "y": 384, "size_px": 512,
         "reason": "most PD-L1 positive tumour"},
    ]
    assert 3 <= len(crops) <= 6
    for crop in crops:
        assert 0 <= crop["x"] <= 7680 - 512 and 0 <= crop["y"] <= 5120 - 512
        with Image.open(tmp_path / "out" / crop["file"]) as image:
            assert image.size == (CROP_PX, CROP_PX)
    again = _write(tmp_path / "again", agreeing(placed_cells())[::-1].copy())  # other cell order
    assert again["review_crops"] == crops


def test_the_densest_crop_really_is_the_densest(tmp_path: Path) -> None:
    cells = agreeing(placed_cells())
    tumour = cells[cells["cls"] <= 1]
    densest = next(c for c in _write(tmp_path / "out", cells)["review_crops"]
                   if c["reason"] == "densest tumour")

    def inside(x0: int, y0: int) -> int:
        return int(((tumour["x"] >= x0) & (tumour["x"] < x0 + 512) & (tumour["y"] >= y0)
                    & (tumour["y"] < y0 + 512)).sum())

    best = max(inside(x, y) for x in range(0, 7680 - 511, 16) for y in range(0, 5120 - 511, 16))
    assert inside(densest["x"], densest["y"]) == best == 100


def test_every_call_in_a_crop_is_in_its_class_colour(tmp_path: Path) -> None:
    cells = agreeing(placed_cells())
    result = _write(tmp_path / "out", cells)
    colours = [CLASS_RGB[name] for name in make_model().classes]
    checked = 0
    for crop in result["review_crops"]:
        with Image.open(tmp_path / "out" / crop["file"]) as image:
            pixels = np.asarray(image.convert("RGB"))
        x0, y0 = crop["x"], crop["y"]
        # Slide and model are both 0.5 um/px: crop pixel = level-0 pixel - origin.
        for x, y, c in zip(cells["x"], cells["y"], cells["cls"]):
            col, row = int(np.floor(x + 0.5 - x0)), int(np.floor(y + 0.5 - y0))
            if 0 <= col < CROP_PX and 0 <= row < CROP_PX:
                assert tuple(pixels[row, col]) == colours[c], (crop["file"], x, y)
                checked += 1
    assert checked >= 100 + 30 + 60


def test_a_small_slide_gets_fewer_crops_and_no_cells_none(tmp_path: Path) -> None:
    mask = np.ones((6, 7), bool)  # a 700 x 600 slide, all tissue
    tissue = TissueMask(mask, 100.0, np.full((6, 7, 3), (175, 180, 205), np.uint8))
    rng = np.random.default_rng(0)
    cells = np.zeros(300, CELL_DTYPE)
    cells["x"], cells["y"] = rng.uniform(0, 699, 300), rng.uniform(0, 599, 300)
    cells["cls"] = rng.integers(0, 4, 300)
    crops = _write(tmp_path / "small", cells, tissue, 700, 600)["review_crops"]
    assert len(crops) == 1 and crops[0]["x"] <= 700 - 512 and crops[0]["y"] <= 600 - 512
    assert _write(tmp_path / "none", cells[:0], tissue, 700, 600)["review_crops"] == []
    only_stroma = cells[cells["cls"] >= 2]
    crops = _write(tmp_path / "stroma", only_stroma, tissue, 700, 600)["review_crops"]
    assert [c["reason"] for c in crops] == ["most cells"]


def test_crops_are_read_at_the_models_scale(tmp_path: Path) -> None:
    """A 0.25 um/px slide: a 512 px crop at the model's 0.5 um/px is 1024 level-0 px."""
    tissue, model = make_tissue(), make_model()
    slide = make_slide()
    slide = type(slide)(**{**slide.__dict__, "mpp": 0.25})
    cells_path = write_cells(tmp_path / "cells.bin", agreeing(placed_cells()))
    fragments = find_fragments(tissue)
    counts = count_cells(cells_path, tissue, slide, 4, TumorClassIds.from_model(model),
                         fragments)
    reader = TissueReader(tissue)
    crops = write_review_crops(tmp_path, cells_path, reader, slide, model, counts, fragments,
                               tissue, (1.0, 50.0))
    assert crops and all(c["size_px"] == 1024 for c in crops)
    assert [(c["x"], c["y"], 1024, 1024) for c in crops] == [r[1:] for r in reader.reads]
    with Image.open(tmp_path / "crop-1.png") as image:
        assert image.size == (512, 512)


def test_choose_crops_takes_the_reasons_in_turn_and_skips_overlaps() -> None:
    def c(x: int, y: int, reason: str, score: float) -> CropCandidate:
        return CropCandidate(x, y, reason, score)

    candidates = [
        c(0, 0, "near a cutoff", -3.0), c(2000, 0, "near a cutoff", -1.0),
        c(0, 0, "densest tumour", 90), c(100, 100, "densest tumour", 80),
        c(3000, 0, "densest tumour", 80), c(600, 0, "densest tumour", 80),
        c(2100, 50, "most PD-L1 positive tumour", 7),
    ]
    chosen = choose_crops(candidates, side=512)
    # Queues, best first: near (2000, 0), (0, 0); densest (0, 0) 90, then the 80s top-most,
    # left-most: (600, 0), (3000, 0), (100, 100); positive (2100, 50).
    # Round 1: near (2000, 0); densest (0, 0); the positive one shares 412 x 462 px (73 %)
    # with (2000, 0): skipped. Round 2: near (0, 0) is the densest crop: skipped; densest
    # (600, 0). Round 3: (3000, 0). Round 4: (100, 100) shares 65 % with (0, 0): skipped.
    assert [(k.x, k.y, k.reason) for k in chosen] == [
        (2000, 0, "near a cutoff"), (0, 0, "densest tumour"), (600, 0, "densest tumour"),
        (3000, 0, "densest tumour")]
    shuffled = candidates[:]
    random.Random(4).shuffle(shuffled)
    assert choose_crops(sorted(shuffled, key=lambda k: ["near a cutoff", "densest tumour",
                                                        "most PD-L1 positive tumour"]
                               .index(k.reason)), side=512) == chosen
    assert choose_crops([], side=512) == []
    assert len(choose_crops(candidates, side=512, count=2)) == 2


def test_near_a_cutoff_means_the_interval_or_a_fifth_of_the_cutoff() -> None:
    assert near_cutoff_distance(1, 60, (1.0, 50.0)) == pytest.approx(100 / 61 - 1)
    assert near_cutoff_distance(42, 58, (1.0, 50.0)) == pytest.approx(8.0)  # within 10 of 50
    assert near_cutoff_distance(35, 72, (1.0, 50.0)) is None  # 32.7 %
    assert near_cutoff_distance(1, 5, (1.0, 50.0)) is None  # 6 tumour cells: too few


def test_pipeline_crops_show_every_call_of_a_markers_slide(marker_model: Path,
                                                           tmp_path: Path) -> None:
    image, truth = markers_image(1400, 1000, seed=5, tissue_box=(40, 40, 1360, 960))
    slide = write_pyramid_tiff(tmp_path / "s.tiff", image, mpp=0.5)
    result = score_slide(slide, tmp_path / "a", ScoreParams(marker_model))
    crops = result["review_crops"]
    assert 2 <= len(crops) <= 6 and crops[0]["reason"] in ("near a cutoff", "densest tumour")
    for crop in crops:
        assert crop["size_px"] == 512
        assert 0 <= crop["x"] <= 1400 - 512 and 0 <= crop["y"] <= 1000 - 512
        with Image.open(tmp_path / "a" / crop["file"]) as png:
            pixels = np.asarray(png.convert("RGB"))
        assert pixels.shape == (512, 512, 3)
        inside = [(x - crop["x"], y - crop["y"], c) for x, y, c in truth
                  if 0 <= x - crop["x"] < 512 and 0 <= y - crop["y"] < 512]
        assert inside
        for col, row, c in inside:
            assert tuple(pixels[row, col]) == CLASS_RGB[CLASSES[c]]
    again = score_slide(slide, tmp_path / "b", ScoreParams(marker_model))
    assert again["review_crops"] == crops
    for crop in crops:
        assert (tmp_path / "a" / crop["file"]).read_bytes() == (
            tmp_path / "b" / crop["file"]).read_bytes()


def test_where_model_and_stain_disagree_most_gets_a_crop(tmp_path: Path) -> None:
    """placed_cells gives every fifth tumour-negative call a DAB membrane: 14 of the 70 in
    fragment A's block at x 1137-1167, y 1142-1157 and 12 of the 60 in B's; A's window wins."""
    crops = _write(tmp_path / "out", placed_cells())["review_crops"]
    disagree = [c for c in crops if c["reason"] == "model and stain disagree"]
    assert disagree
    first = disagree[0]
    assert first["x"] <= 1137 and 1167 < first["x"] + 512
    assert first["y"] <= 1142 and 1157 < first["y"] + 512
    assert not any(c["reason"] == "model and stain disagree"
                   for c in _write(tmp_path / "agree", agreeing(placed_cells()))["review_crops"])
