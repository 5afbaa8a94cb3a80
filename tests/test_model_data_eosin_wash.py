"""The recipe's eosin wash: glass stays glass, tissue turns pinker, points and labels never move;
and the recipe's own draw of the H&E render (tested itself in test_model_data_he_render.py)."""
from __future__ import annotations

import numpy as np

from model.data.dataset import Augmentation
from model.data.eosin_wash import WITHOUT_DAB, EosinWashDataset, eosin_wash
from model.data.samples import PointSample
from model.data.stain import rgb_to_hed


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


def _dab_image() -> np.ndarray:
    image = _image()
    image[12:20, 12:20] = (110, 70, 30)  # a brown DAB-stained nucleus inside the patch
    return image


def test_canonical_classes_lose_their_dab_to_their_negatives() -> None:
    assert WITHOUT_DAB.tolist() == [1, 1, 3, 3, 1, 3]


def test_dataset_renders_as_he_and_relabels() -> None:
    labels = np.array([0, 1, 2, 3], np.int64)
    xy = np.array([[14.0, 14.0], [10.0, 10.0], [16.0, 17.0], [20.0, 9.0]], np.float32)
    sample = PointSample(_dab_image(), xy, labels, "a")
    dataset = EosinWashDataset([sample], Augmentation(crop_size=None, flips=False),
                               eosin_max=0.4, he_render=1.0)
    out = dataset.augment(sample, np.random.default_rng(0))
    assert np.array_equal(out.xy, xy) and out.labels.tolist() == [1, 1, 3, 3]
    assert abs(rgb_to_hed(out.image)[16, 16, 2]) < 0.05


def test_no_render_draws_the_same_crops_as_before_it_existed() -> None:
    # he_render 0 must not change the random stream: the 0.2.0 recipe stays reproducible
    sample = PointSample(_dab_image(), np.array([[14.0, 14.0]], np.float32),
                         np.array([0], np.int64), "a")
    plain = EosinWashDataset([sample], Augmentation(crop_size=None, flips=False), eosin_max=0.4)
    images = [plain.augment(sample, np.random.default_rng(seed)).image for seed in range(8)]
    rng_draws = [np.random.default_rng(seed).random() for seed in range(8)]
    washed = [not np.array_equal(image, sample.image) for image in images]
    assert washed == [draw < 0.5 for draw in rng_draws]
