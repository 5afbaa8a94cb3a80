"""Streaming counts per class, per fragment and per mm^2 on hand-placed cells."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scoring.aggregate import (
    TumorClassIds,
    count_cells,
    find_fragments,
    grid_shape,
    mask_pixel_of,
)
from scoring.tissue_mask import TissueMask
from tests.scoring_inputs import (
    MASK_SHAPE,
    make_model,
    make_slide,
    make_tissue,
    placed_cells,
    write_cells,
)


@pytest.fixture()
def cells_path(tmp_path: Path) -> Path:
    return write_cells(tmp_path / "cells.bin", placed_cells())


def test_two_fragments_with_areas_and_boxes() -> None:
    fragments = find_fragments(make_tissue())
    assert fragments.count == 2
    assert fragments.area_px.tolist() == [6 * 8, 8 * 13]
    assert fragments.bbox_mask == [(2, 2, 10, 8), (15, 10, 28, 18)]
    # Every pixel, glass included, points at a fragment.
    assert set(np.unique(fragments.nearest)) == {1, 2}


def test_diagonal_neighbours_are_one_fragment() -> None:
    mask = np.zeros((4, 4), dtype=bool)
    mask[0, 0] = mask[1, 1] = mask[3, 3] = True
    tissue = TissueMask(mask, 1.0, np.zeros((4, 4, 3), dtype=np.uint8))
    assert find_fragments(tissue).count == 2


def test_mask_pixel_uses_pixel_centres() -> None:
    tissue = make_tissue()
    # Level-0 pixel 255 is the last of mask column 0; 255.6 rounds to pixel 256, column 1.
    row, col = mask_pixel_of(np.array([255.0, 255.6, 1e9]), np.array([0.0, 0.0, -5.0]), tissue)
    assert col.tolist() == [0, 1, MASK_SHAPE[1] - 1]
    assert row.tolist() == [0, 0, 0]


def test_counts_match_the_hand_placed_cells(cells_path: Path) -> None:
    model, tissue = make_model(), make_tissue()
    fragments = find_fragments(tissue)
    counts = count_cells(cells_path, tissue, make_slide(), 4, TumorClassIds.from_model(model),
                         fragments)
    assert counts.class_counts.tolist() == [36, 132, 4, 9]
    # The 2 tumour-negative cells just off fragment A's edge belong to A.
    assert counts.fragment_counts.tolist() == [[35, 72, 4, 0], [1, 60, 0, 9]]
    assert counts.outside_counts.tolist() == [0, 0, 0, 0]


def test_fragment_and_grid_sums_equal_the_slide_totals(cells_path: Path) -> None:
    model, tissue = make_model(), make_tissue()
    tumor = TumorClassIds.from_model(model)
    counts = count_cells(cells_path, tissue, make_slide(), 4, tumor, find_fragments(tissue))
    assert (counts.fragment_counts.sum(axis=0) == counts.class_counts).all()
    assert tumor.split(counts.class_counts) == (36, 132)
    assert int(counts.grid_pos.sum()) == 36
    assert int(counts.grid_neg.sum()) == 132


def test_grid_squares_are_one_mm(cells_path: Path) -> None:
    model, tissue, slide = make_model(), make_tissue(), make_slide()
    (gh, gw), grid_px = grid_shape(slide)
    assert (gh, gw) == (3, 4) and grid_px == 2000.0
    counts = count_cells(cells_path, tissue, slide, 4, TumorClassIds.from_model(model),
                         find_fragments(tissue))
    pos = np.zeros((3, 4), dtype=np.int64)
    neg = np.zeros((3, 4), dtype=np.int64)
    pos[0, 0], pos[0, 1], pos[1, 2] = 30, 5, 1
    neg[0, 0], neg[1, 2], neg[1, 0] = 70, 60, 2
    assert (counts.grid_pos == pos).all()
    assert (counts.grid_neg == neg).all()


def test_counts_do_not_depend_on_chunk_size(cells_path: Path) -> None:
    model, tissue = make_model(), make_tissue()
    args = (cells_path, tissue, make_slide(), 4, TumorClassIds.from_model(model),
            find_fragments(tissue))
    one, many = count_cells(*args, chunk_cells=1 << 16), count_cells(*args, chunk_cells=3)
    assert (one.fragment_counts == many.fragment_counts).all()
    assert (one.grid_pos == many.grid_pos).all() and (one.grid_neg == many.grid_neg).all()


def test_no_tissue_puts_every_cell_outside(cells_path: Path) -> None:
    model, tissue = make_model(), make_tissue(empty=True)
    counts = count_cells(cells_path, tissue, make_slide(), 4, TumorClassIds.from_model(model),
                         find_fragments(tissue))
    assert counts.fragment_counts.shape == (0, 4)
    assert counts.outside_counts.tolist() == counts.class_counts.tolist() == [36, 132, 4, 9]


def test_class_ids_beyond_the_model_are_refused(tmp_path: Path) -> None:
    cells = placed_cells()[:3].copy()
    cells["cls"][1] = 7
    path = write_cells(tmp_path / "bad.bin", cells)
    tissue = make_tissue()
    with pytest.raises(ValueError, match="class ids"):
        count_cells(path, tissue, make_slide(), 4, TumorClassIds.from_model(make_model()),
                    find_fragments(tissue))


def test_tumour_classes_must_be_model_classes() -> None:
    model = make_model()
    bad = type(model)(**{**model.__dict__, "tumor_pos": ("tumour_positive",)})
    with pytest.raises(ValueError, match="tumour_positive"):
        TumorClassIds.from_model(bad)
