"""write_slide: the TIFF OpenSlide sees, and truth that matches what was drawn."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import openslide
import pytest

from synth.markers import MARKER_RGB, TISSUE_RGB
from synth.population import SynthError
from synth.slide import write_slide
from synth.truth import read_cells, read_truth, truth_paths

WIDTH, HEIGHT = 1600, 1200


@pytest.fixture(scope="module")
def markers_slide(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("markers") / "m.tiff"
    write_slide(path, WIDTH, HEIGHT, tps=37.0, seed=4, mpp=0.25, style="markers")
    return path


@pytest.fixture(scope="module")
def ihc_slide(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ihc") / "s.tiff"
    write_slide(path, WIDTH, HEIGHT, tps=12.5, seed=9)
    return path


@pytest.mark.parametrize("which, mpp", [("markers_slide", 0.25), ("ihc_slide", 0.5)])
def test_openslide_reads_dimensions_levels_and_mpp(which: str, mpp: float,
                                                   request: pytest.FixtureRequest) -> None:
    path = request.getfixturevalue(which)
    slide = openslide.OpenSlide(path)
    assert slide.properties["openslide.vendor"] == "generic-tiff"
    assert slide.dimensions == (WIDTH, HEIGHT)
    # 1600 -> 800 -> 400: halved until the larger side is at most 512.
    assert slide.level_dimensions == ((1600, 1200), (800, 600), (400, 300))
    assert float(slide.properties["openslide.mpp-x"]) == pytest.approx(mpp)
    assert read_truth(path).levels == 3


def test_marker_squares_read_back_equal_truth(markers_slide: Path) -> None:
    rgb = np.asarray(openslide.OpenSlide(markers_slide).read_region((0, 0), 0, (WIDTH, HEIGHT)))[..., :3]
    xy, labels = read_cells(markers_slide)
    truth = read_truth(markers_slide)
    for class_id, colour in enumerate(MARKER_RGB):
        # Pure class colours appear only in markers; each marker is exactly 9 pixels.
        pixels = int(np.all(rgb == colour, axis=-1).sum())
        assert pixels == 9 * int((labels == class_id).sum())
        assert pixels // 9 == list(truth.counts.values())[class_id]
    centres = rgb[xy[:, 1], xy[:, 0]]
    assert np.array_equal(centres, MARKER_RGB[labels])
    assert np.all((xy % 16 >= 4) & (xy % 16 <= 11))
    blocks = set(map(tuple, xy // 16))
    assert len(blocks) == len(xy)  # at most one cell per 16x16 block


def test_marker_cells_lie_on_tissue_and_tissue_area_is_exact(markers_slide: Path) -> None:
    rgb = np.asarray(openslide.OpenSlide(markers_slide).read_region((0, 0), 0, (WIDTH, HEIGHT)))[..., :3]
    xy, _ = read_cells(markers_slide)
    tissue = np.all(rgb == TISSUE_RGB, axis=-1)
    # Each marker sits inside its block, so the ring around it is tissue colour.
    assert np.all(tissue[xy[:, 1] - 2, xy[:, 0]]) and np.all(tissue[xy[:, 1], xy[:, 0] + 2])
    glass = np.all(rgb == 255, axis=-1)
    assert glass.sum() > 0.2 * glass.size  # empty glass exists, so tissue detection matters
    marker_pixels = 9 * len(xy)
    area_px = read_truth(markers_slide).tissue_area_mm2 / (0.25 / 1000) ** 2
    assert area_px == pytest.approx(tissue.sum() + marker_pixels)


def test_tissue_comes_in_separate_fragments(markers_slide: Path) -> None:
    rgb = np.asarray(openslide.OpenSlide(markers_slide).read_region((0, 0), 2, (400, 300)))[..., :3]
    tissue_cols = np.flatnonzero((rgb != 255).any(axis=-1).any(axis=0))
    # Two fragments side by side: some glass column separates tissue columns.
    assert np.any(np.diff(tissue_cols) > 1)


@pytest.mark.parametrize("which, requested", [("markers_slide", 37.0), ("ihc_slide", 12.5)])
def test_tps_within_one_cell(which: str, requested: float, request: pytest.FixtureRequest) -> None:
    path = request.getfixturevalue(which)
    truth = read_truth(path)
    _, labels = read_cells(path)
    n_pos, n_neg = int((labels == 0).sum()), int((labels == 1).sum())
    assert truth.counts["tumor_pos"] == n_pos and truth.counts["tumor_neg"] == n_neg
    assert truth.tps == pytest.approx(100 * n_pos / (n_pos + n_neg))
    assert abs(n_pos - requested / 100 * (n_pos + n_neg)) <= 1.0
    assert n_pos + n_neg > 100


def test_truth_counts_equal_cells_table(ihc_slide: Path) -> None:
    truth = read_truth(ihc_slide)
    xy, labels = read_cells(ihc_slide)
    assert sum(truth.counts.values()) == len(labels)
    assert list(truth.counts.values()) == np.bincount(labels, minlength=4).tolist()
    assert truth.cells_file == truth_paths(ihc_slide)[1].name
    assert np.all((xy >= 0) & (xy < (WIDTH, HEIGHT)))
    assert 0 < truth.tissue_area_mm2 < WIDTH * HEIGHT * (0.5 / 1000) ** 2


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    def digest(name: str, seed: int) -> list[str]:
        path = tmp_path / name
        write_slide(path, 700, 600, tps=50.0, seed=seed)
        files = [path, *truth_paths(path)]
        return [hashlib.sha256(f.read_bytes()).hexdigest() for f in files[:1] + files[2:]]

    assert digest("a.tiff", 1) == digest("b.tiff", 1)
    assert digest("c.tiff", 2) != digest("a.tiff", 1)


def test_rejects_impossible_requests(tmp_path: Path) -> None:
    with pytest.raises(SynthError):
        write_slide(tmp_path / "x.tiff", 800, 800, tps=120.0, seed=0)
    with pytest.raises(SynthError):
        write_slide(tmp_path / "x.tiff", 800, 800, tps=10.0, seed=0, style="he")


@pytest.mark.parametrize("seed", range(6))
def test_no_tissue_piece_is_smaller_than_the_minimum(seed: int) -> None:
    from scipy import ndimage

    from synth.layout import GRID, MIN_FRAGMENT_MM2, make_layout

    layout = make_layout(2000, 1500, 0.5, np.random.default_rng(seed))
    labels, count = ndimage.label(layout.tissue > 0, structure=np.ones((3, 3), bool))
    areas_mm2 = np.bincount(labels.ravel())[1:] * (GRID * 0.5 / 1000) ** 2
    assert count >= 1
    assert areas_mm2.min() >= MIN_FRAGMENT_MM2
