"""Per-slide outputs written from a hand-placed cell file: content, counts and no PHI."""
from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from scoring.cells import CELL_DTYPE
from scoring.class_colors import CLASS_RGB
from scoring.outputs import FILES, write_outputs
from scoring.result_schema import SCHEMA_PATH, Result, json_schema
from scoring.stain_check import read_stain
from tests.scoring_inputs import (
    MPP,
    TissueReader,
    make_model,
    make_slide,
    make_tissue,
    placed_cells,
    write_cells,
)

PARAMS = {"threshold": 0.5, "mpp": None, "assay": "22C3",
          "roi": Path("/cases/Doe_John/roi.geojson"), "model_path": Path("/models/test.onnx")}
PHI_KEYS = {"path", "filename", "file_name", "label", "macro", "date", "datetime", "properties",
            "patient", "name_of_file"}


def _score(out_dir: Path, cells: np.ndarray, cutoffs: tuple[float, ...] = (1.0, 50.0)
           ) -> dict[str, Any]:
    cells_path = write_cells(out_dir.parent / "cells.bin", cells)
    tissue = make_tissue()
    return write_outputs(out_dir, cells_path, tissue, make_slide(), make_model(), PARAMS,
                         {"inference_s": 2.0}, cutoffs, read_stain(tissue),
                         reader=TissueReader(tissue))


@pytest.fixture()
def out_dir(tmp_path: Path) -> Path:
    out = tmp_path / "slide-1"
    _score(out, placed_cells())
    return out


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def test_result_json_holds_the_scores(out_dir: Path) -> None:
    result = json.loads((out_dir / "result.json").read_text())
    Result.model_validate(result)
    assert result["schema_version"] == "1"
    assert result["counts"] == {"tumor_pos": 36, "tumor_neg": 132, "nontumor_pos": 4,
                                "nontumor_neg": 9}
    assert result["tps"] == pytest.approx(100 * 36 / 168)
    lo, hi = result["tps_ci95"]
    assert lo < result["tps"] < hi
    assert result["category"] == "1-49%"
    assert result["flags"] == {"inadequate": False, "near_cutoff": False,
                               "no_tumor_cells": False, "not_ihc": False,
                               "stain_disagrees": True}
    # The stain calls all 36 positive calls positive and 27 of the 132 negative ones (every
    # fifth cell of each placed group, scoring_inputs._stain_of): 63 / 168 = 37.5 % against the
    # model's 21.4 %, 16.1 points apart, beyond the 10-point margin, in the same category.
    check = result["cross_check"]
    assert check["cells"] == {"both_positive": 36, "model_only": 0, "stain_only": 27,
                              "both_negative": 105}
    assert check["stain_positive_share"] == pytest.approx(37.5)
    assert check["difference"] == pytest.approx(100 * 36 / 168 - 37.5)
    assert check["disagrees"] and not check["opposite_categories"]
    # Two 256-pixel mask pixels at 0.5 um are 0.128 mm squares: (48 + 104) * 0.016384 mm^2.
    assert result["tissue_area_mm2"] == pytest.approx(152 * 0.128 ** 2)
    assert result["slide"] == {"sha256": "cd" * 32, "width": 7680, "height": 5120, "mpp": MPP,
                               "vendor": "aperio"}
    assert result["model"] == {"name": "test-model", "version": "0.0.1", "sha256": "ab" * 32,
                               "positive_threshold": 0.5, "positive_nucleus_dab": None,
                               "min_distance_um": 0.0, "views": 1, "view_radius_um": 0.0}
    assert result["timings"]["inference_s"] == 2.0 and result["timings"]["outputs_s"] > 0
    crops = [c["file"] for c in result["review_crops"]]
    assert crops == [f"crop-{i}.png" for i in range(1, len(crops) + 1)] and crops
    assert sorted(p.name for p in out_dir.iterdir()) == sorted([*FILES.values(), *crops])
    # 0.1 mm tiles: 20 to 40 along the tissue's 3.3 mm, over the 3.84 x 2.56 mm slide.
    assert result["heatmap"] == {"grid_mm": 0.1, "shape": [26, 39]}


def test_fragments_sum_to_the_slide(out_dir: Path) -> None:
    result = json.loads((out_dir / "result.json").read_text())
    fragments = result["fragments"]
    assert [f["id"] for f in fragments] == [1, 2]
    for name, total in result["counts"].items():
        assert sum(f["counts"][name] for f in fragments) == total
    assert fragments[0]["bbox_px"] == [512, 512, 2560, 2048]
    assert fragments[1]["tps"] == pytest.approx(100 / 61)
    assert fragments[1]["flags"]["inadequate"]  # 61 tumour cells
    assert sum(f["area_mm2"] for f in fragments) == pytest.approx(result["tissue_area_mm2"])


def test_no_phi_anywhere(out_dir: Path) -> None:
    result = json.loads((out_dir / "result.json").read_text())
    assert not _keys(result) & PHI_KEYS
    assert result["params"]["roi"] is True and result["params"]["model_path"] is True
    texts = [(out_dir / "result.json").read_text(), (out_dir / "cells.geojson").read_text(),
             gzip.decompress((out_dir / "cells.csv.gz").read_bytes()).decode()]
    for text in texts:
        assert "Doe_John" not in text and "/slides/" not in text and "/cases/" not in text


def test_csv_rows_and_micron_coordinates(out_dir: Path) -> None:
    cells = placed_cells()
    with gzip.open(out_dir / "cells.csv.gz", "rt") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["x_px", "y_px", "x_um", "y_um", "class", "p_obj", "p_class"]
    assert len(rows) == len(cells) == 181
    x_px = np.array([float(r["x_px"]) for r in rows])
    x_um = np.array([float(r["x_um"]) for r in rows])
    y_um = np.array([float(r["y_um"]) for r in rows])
    np.testing.assert_allclose(x_px, cells["x"], atol=0.005)
    np.testing.assert_allclose(x_um, cells["x"] * MPP, atol=0.0005)
    np.testing.assert_allclose(y_um, cells["y"] * MPP, atol=0.0005)
    classes = make_model().classes
    assert [r["class"] for r in rows] == [classes[c] for c in cells["cls"]]


def test_geojson_is_a_qupath_feature_collection(out_dir: Path) -> None:
    cells = placed_cells()
    collection = json.loads((out_dir / "cells.geojson").read_text())
    assert collection["type"] == "FeatureCollection"
    features = collection["features"]
    assert len(features) == len(cells)
    names = make_model().classes
    for feature, cell in zip(features, cells):
        assert feature["geometry"]["type"] == "Point"
        assert feature["geometry"]["coordinates"] == pytest.approx([cell["x"], cell["y"]],
                                                                   abs=0.005)
        props = feature["properties"]
        assert props["objectType"] == "detection"
        name = names[cell["cls"]]
        assert props["classification"] == {"name": name, "color": list(CLASS_RGB[name])}
        assert props["measurements"]["p_obj"] == pytest.approx(float(cell["p_obj"]), abs=5e-5)


def test_zero_tumour_cells_give_a_null_tps(tmp_path: Path) -> None:
    cells = placed_cells()
    result = _score(tmp_path / "out", cells[cells["cls"] >= 2])
    assert result["tps"] is None and result["tps_ci95"] is None and result["category"] is None
    assert result["flags"] == {"inadequate": True, "near_cutoff": False, "no_tumor_cells": True,
                               "not_ihc": False, "stain_disagrees": False}
    assert result["cross_check"]["stain_positive_share"] is None
    assert '"tps": null' in (tmp_path / "out" / "result.json").read_text()


def test_empty_cell_file_still_writes_valid_files(tmp_path: Path) -> None:
    result = _score(tmp_path / "out", np.zeros(0, dtype=CELL_DTYPE))
    assert result["tumor_cells"] == 0 and result["tps"] is None
    assert result["review_crops"] == [] and not list((tmp_path / "out").glob("crop-*"))
    for name in ("overlay.png", "heatmap.png"):
        with Image.open(tmp_path / "out" / name) as image:
            assert image.height > 80  # the picture and its legend
    assert json.loads((tmp_path / "out" / "cells.geojson").read_text())["features"] == []
    text = gzip.decompress((tmp_path / "out" / "cells.csv.gz").read_bytes()).decode()
    assert list(csv.reader(io.StringIO(text))) == [
        ["x_px", "y_px", "x_um", "y_um", "class", "p_obj", "p_class"]]


def test_assay_cutoffs_change_the_category(tmp_path: Path) -> None:
    result = _score(tmp_path / "out", placed_cells(), cutoffs=(25.0,))  # TPS 21.4 %
    assert result["category"] == "<25%" and result["categories"] == ["<25%", ">=25%"]


def test_exported_json_schema_matches_the_models() -> None:
    assert json.loads(SCHEMA_PATH.read_text()) == json_schema()


def test_an_eosin_stained_slide_keeps_its_counts_but_gets_no_score(tmp_path: Path) -> None:
    tissue = make_tissue()
    tissue.thumbnail[tissue.mask] = (200, 150, 180)  # pink: H&E, not IHC
    cells_path = write_cells(tmp_path / "cells.bin", placed_cells())
    result = write_outputs(tmp_path / "out", cells_path, tissue, make_slide(), make_model(),
                           PARAMS, {"inference_s": 2.0}, (1.0, 50.0), read_stain(tissue),
                           reader=TissueReader(tissue))
    Result.model_validate(result)
    assert result["flags"]["not_ihc"] is True and result["stain"]["eosin"] > 0.12
    assert result["intake"]["stain"] == "he" and result["intake"]["modality"] == "brightfield"
    assert result["tps"] is None and result["tps_ci95"] is None and result["category"] is None
    assert result["flags"]["near_cutoff"] is False
    assert all(f["tps"] is None and f["category"] is None for f in result["fragments"])
    assert result["counts"]["tumor_pos"] == 36 and result["tumor_cells"] == 168
