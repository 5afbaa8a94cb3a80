from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from model.data.errors import DatasetError
from model.data.label_map import parse_label_map
from model.data.samples import PointSample, load_samples, resample

BCDATA_MAP = "pos_tumor=tumor_pos,neg_tumor=tumor_neg,positive=tumor_pos,negative=tumor_neg"


def _sample(width: int = 40, height: int = 20) -> PointSample:
    image = np.zeros((height, width, 3), np.uint8)
    xy = np.array([[0.0, 0.0], [9.0, 5.0], [39.0, 19.0]], np.float32)
    return PointSample(image, xy, np.array([0, 1, 0]), "s")


def test_quarter_to_half_micron_halves_the_image_and_maps_pixel_centres() -> None:
    out = resample(_sample(), 0.25 / 0.5)
    assert out.image.shape == (10, 20, 3)
    # Pixel centres scale about pixel corners: x -> (x + 0.5) / 2 - 0.5, so twice the old
    # coordinate of the new pixel (i) is the boundary 2i + 0.5 between old pixels 2i and 2i + 1.
    np.testing.assert_array_equal(out.xy, [[-0.25, -0.25], [4.25, 2.25], [19.25, 9.25]])
    np.testing.assert_array_equal(out.labels, [0, 1, 0])


def test_resampling_there_and_back_restores_the_points() -> None:
    sample = _sample()
    back = resample(resample(sample, 2.0), 0.5)
    assert back.image.shape == sample.image.shape
    np.testing.assert_allclose(back.xy, sample.xy, atol=1e-5)


def test_scale_one_is_a_no_op() -> None:
    sample = _sample()
    assert resample(sample, 1.0) is sample


def _dataset(tmp_path: Path) -> Path:
    image = np.full((40, 60, 3), 200, np.uint8)
    Image.fromarray(image).save(tmp_path / "a.png")
    (tmp_path / "p.csv").write_text("image,x,y,label\na.png,10,20,pos\na.png,30,4,junk\n"
                                    "a.png,59,39,neg\n")
    return tmp_path / "p.csv"


def test_load_maps_labels_drops_ignored_and_resamples(tmp_path: Path) -> None:
    label_map = parse_label_map("pos=tumor_pos,neg=tumor_neg,junk=ignore")
    (sample,) = load_samples(_dataset(tmp_path), label_map, data_mpp=0.25, model_mpp=0.5)
    assert sample.image.shape == (20, 30, 3) and sample.image.dtype == np.uint8
    np.testing.assert_array_equal(sample.labels, [0, 1])
    np.testing.assert_array_equal(sample.xy, [[4.75, 9.75], [29.25, 19.25]])
    (raw,) = load_samples(_dataset(tmp_path), label_map)
    np.testing.assert_array_equal(raw.xy, [[10, 20], [59, 39]])


def test_missing_image_is_named(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text("image,x,y,label\nnone.png,1,1,tumor_pos\n")
    with pytest.raises(DatasetError, match="none.png"):
        load_samples(tmp_path / "p.csv", parse_label_map(None))


def test_real_bcdata_sample_in_both_layouts(shared_data: Path) -> None:
    label_map = parse_label_map(BCDATA_MAP)
    root = shared_data / "bcdata-sample"
    for samples in (load_samples(root / "points.csv", label_map),
                    load_samples(root, label_map, data_format="bcdata")):
        labels = np.concatenate([s.labels for s in samples])
        assert len(samples) == 26 and len(labels) == 3019
        assert (labels == 0).sum() == 1371 and (labels == 1).sum() == 1648
        assert all(s.image.shape == (640, 640, 3) for s in samples)
        assert all(((s.xy >= 0) & (s.xy < 640)).all() for s in samples)


def test_real_deepliif_sample(shared_data: Path) -> None:
    samples = load_samples(shared_data / "deepliif-sample/points.csv",
                           parse_label_map("pos=tumor_pos,neg=tumor_neg"))
    assert len(samples) == 6 and sum(len(s.labels) for s in samples) == 600
    assert all(s.image.shape == (512, 512, 3) for s in samples)
