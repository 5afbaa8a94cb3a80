from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from scoring.errors import RoiError
from scoring.roi import apply_roi, load_roi, rasterise
from scoring.tissue_mask import TissueMask

SQUARE_WITH_HOLE = [[[0, 0], [400, 0], [400, 400], [0, 400], [0, 0]],
                    [[100, 100], [300, 100], [300, 300], [100, 300], [100, 100]]]


def _write(tmp_path: Path, doc: object) -> Path:
    path = tmp_path / "roi.geojson"
    path.write_text(json.dumps(doc))
    return path


def test_qupath_feature_list_with_hole_rasterises(tmp_path: Path) -> None:
    doc = [{"type": "Feature", "properties": {"objectType": "annotation"},
            "geometry": {"type": "Polygon", "coordinates": SQUARE_WITH_HOLE}}]
    mask = rasterise(load_roi(_write(tmp_path, doc)), (10, 10), downsample=50.0)
    expected = np.zeros((10, 10), bool)
    expected[:8, :8] = True
    expected[2:6, 2:6] = False
    np.testing.assert_array_equal(mask, expected)


def test_multipolygon_in_feature_collection(tmp_path: Path) -> None:
    doc = {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {
        "type": "MultiPolygon", "coordinates": [[[[0, 0], [100, 0], [100, 100], [0, 100]]],
                                                [[[400, 400], [500, 400], [500, 500]]]]}}]}
    assert len(load_roi(_write(tmp_path, doc))) == 2


def test_roi_restricts_the_tissue_mask(tmp_path: Path) -> None:
    tissue = TissueMask(np.ones((10, 10), bool), 50.0, np.zeros((10, 10, 3), np.uint8))
    doc = {"type": "Polygon", "coordinates": [[[0, 0], [250, 0], [250, 500], [0, 500]]]}
    restricted = apply_roi(tissue, _write(tmp_path, doc))
    assert restricted.mask.sum() == 5 * 10 and restricted.mask[:, :5].all()


@pytest.mark.parametrize("doc", [{"type": "Point", "coordinates": [1, 2]}, [], "text",
                                 {"type": "Polygon", "coordinates": [[1, 2]]}])
def test_no_polygon_is_a_roi_error(tmp_path: Path, doc: object) -> None:
    with pytest.raises(RoiError):
        load_roi(_write(tmp_path, doc))


def test_unreadable_file_is_a_roi_error(tmp_path: Path) -> None:
    path = tmp_path / "roi.geojson"
    path.write_text("{ not json")
    with pytest.raises(RoiError, match="unreadable"):
        load_roi(path)
