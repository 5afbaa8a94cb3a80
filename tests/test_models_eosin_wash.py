"""The eosin wash: glass stays glass, tissue turns pinker, points and labels never move."""
from __future__ import annotations

import numpy as np

from model.data.dataset import Augmentation
from model.data.samples import PointSample
from model.data.stain import rgb_to_hed
from models.eosin_wash import EosinWashDataset, eosin_wash


def _image() -> np.ndarray:
    image = np.full((32, 32, 3), 255, np.uint8)  # glass
    image[8:24, 8:24] = (120, 140, 200)  # a haematoxylin-blue patch
    return image


def test_glass_is_untouched_and_tissue_gains_eosin() -> None:
    image = _image()
    washed = eosin_wash(image, 0.3)
    assert np.array_equal(washed[:4, :4], image[:4, :4])
    before, after = rgb_to_hed(image)[16, 16], rgb_to_hed(washed)[16, 16]
    assert after[1] - before[1] > 0.25  # the eosin added, up to uint8 rounding
    assert abs(after[2] - before[2]) < 0.05  # DAB, which carries the label, barely moves


def test_darken_scales_haematoxylin() -> None:
    image = _image()
    h_before = rgb_to_hed(image)[16, 16, 0]
    h_after = rgb_to_hed(eosin_wash(image, 0.0, darken=1.5))[16, 16, 0]
    assert abs(h_after - 1.5 * h_before) < 0.05


def test_dataset_keeps_points_and_labels() -> None:
    sample = PointSample(_image(), np.array([[10.0, 12.0]], np.float32),
                         np.array([1], np.int64), "a")
    dataset = EosinWashDataset([sample], Augmentation(crop_size=None, flips=False),
                               eosin_max=0.4, probability=1.0)
    rng = np.random.default_rng(0)
    out = dataset.augment(sample, rng)
    assert np.array_equal(out.xy, sample.xy) and np.array_equal(out.labels, sample.labels)
    assert not np.array_equal(out.image, sample.image)
