from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
from PIL import Image

from model.data.errors import DatasetError
from model.data.point_readers import (
    guess_format,
    read_annotations,
    read_bcdata,
    read_geojson,
    read_points_csv,
)


def _png(path: Path, width: int = 8, height: int = 6) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.zeros((height, width, 3), np.uint8)).save(path)


def test_csv_groups_rows_by_image_relative_to_the_csv(tmp_path: Path) -> None:
    (tmp_path / "points.csv").write_text(
        "image,x,y,label\nimgs/b.png,1,2,pos\nimgs/a.png,3.5,4,neg\nimgs/b.png,5,6,neg\n")
    images = read_points_csv(tmp_path / "points.csv")
    assert [i.image_path for i in images] == [tmp_path / "imgs/b.png", tmp_path / "imgs/a.png"]
    np.testing.assert_array_equal(images[0].xy, [[1, 2], [5, 6]])
    assert images[0].labels == ("pos", "neg") and images[0].xy.dtype == np.float32
    np.testing.assert_array_equal(images[1].xy, [[3.5, 4]])


def test_csv_without_the_contract_columns_is_refused(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text("file,x,y\na.png,1,2\n")
    with pytest.raises(DatasetError, match="lacks columns"):
        read_points_csv(tmp_path / "p.csv")
    (tmp_path / "q.csv").write_text("image,x,y,label\na.png,one,2,pos\n")
    with pytest.raises(DatasetError, match="line 2"):
        read_points_csv(tmp_path / "q.csv")


def test_bcdata_reads_positive_then_negative_h5_in_xy_order(tmp_path: Path) -> None:
    for stem in ("0", "10", "2"):
        _png(tmp_path / "images/test" / f"{stem}.png")
        for label, coords in (("positive", [[int(stem), 1]]), ("negative", [[3, 4], [5, 6]])):
            path = tmp_path / "annotations/test" / label / f"{stem}.h5"
            path.parent.mkdir(parents=True, exist_ok=True)
            with h5py.File(path, "w") as h5:
                h5["coordinates"] = np.array(coords, np.int64)
    images = read_bcdata(tmp_path)
    assert [i.name for i in images] == ["0.png", "2.png", "10.png"]  # numeric order
    np.testing.assert_array_equal(images[2].xy, [[10, 1], [3, 4], [5, 6]])
    assert images[2].labels == ("positive", "negative", "negative")
    assert guess_format(tmp_path) == "bcdata"


def test_bcdata_missing_annotation_is_named(tmp_path: Path) -> None:
    _png(tmp_path / "images/test/0.png")
    with pytest.raises(DatasetError, match="positive/0.h5"):
        read_bcdata(tmp_path)


def test_geojson_points_and_multipoints_with_qupath_classes(tmp_path: Path) -> None:
    _png(tmp_path / "slide1.png")
    features = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [10.5, 20.5]},
         "properties": {"classification": {"name": "Positive", "color": [255, 0, 0]}}},
        {"type": "Feature", "geometry": {"type": "MultiPoint", "coordinates": [[1, 2], [3, 4]]},
         "properties": {"classification": {"name": "Negative"}}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [7, 7]}, "properties": {}},
        {"type": "Feature", "properties": {"classification": {"name": "Region"}},
         "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [5, 0], [5, 5], [0, 0]]]}},
    ]
    (tmp_path / "slide1.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": features}))
    (image,) = read_geojson(tmp_path)
    assert image.image_path == tmp_path / "slide1.png"
    # QuPath's origin is the corner of pixel (0, 0); ours is its centre.
    np.testing.assert_array_equal(image.xy, [[10, 20], [0.5, 1.5], [2.5, 3.5], [6.5, 6.5]])
    assert image.labels == ("Positive", "Negative", "Negative", "unclassified")
    assert read_annotations(tmp_path / "slide1.geojson")[0].labels == image.labels


def test_geojson_bare_feature_list_and_image_name_suffix(tmp_path: Path) -> None:
    _png(tmp_path / "tile.tif")
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [1.5, 1.5]},
               "properties": {"classification": {"name": "Tumor"}}}
    (tmp_path / "tile.tif.geojson").write_text(json.dumps([feature]))
    (image,) = read_geojson(tmp_path / "tile.tif.geojson")
    assert image.image_path == tmp_path / "tile.tif" and image.labels == ("Tumor",)


def test_geojson_without_an_image_beside_it_is_refused(tmp_path: Path) -> None:
    (tmp_path / "lost.geojson").write_text("[]")
    with pytest.raises(DatasetError, match="no image beside"):
        read_geojson(tmp_path / "lost.geojson")


def test_unknown_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="unknown data format"):
        read_annotations(tmp_path, "coco")


def test_geojson_with_malformed_coordinates_is_refused(tmp_path: Path) -> None:
    _png(tmp_path / "bad.png")
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": None}}
    (tmp_path / "bad.geojson").write_text(json.dumps([feature]))
    with pytest.raises(DatasetError, match="malformed coordinates"):
        read_geojson(tmp_path / "bad.geojson")
