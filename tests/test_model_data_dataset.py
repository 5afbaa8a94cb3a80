from __future__ import annotations

import numpy as np
import torch

from model.data.augment import GLASS
from model.data.dataset import Augmentation, PointDataset, collate
from model.data.samples import PointSample


def _sample(height: int, width: int, n: int) -> PointSample:
    rng = np.random.default_rng(n)
    image = rng.integers(0, 256, (height, width, 3)).astype(np.uint8)
    xy = rng.uniform(0, min(height, width) - 1, (n, 2)).astype(np.float32)
    return PointSample(image, xy, rng.integers(0, 4, n), f"s{n}")


def test_whole_images_come_back_padded_to_32_as_float_rgb() -> None:
    sample = _sample(50, 70, 5)
    image, target = PointDataset([sample])[0]
    assert image.shape == (3, 64, 96) and image.dtype == torch.float32
    assert torch.equal(image[:, :50, :70], torch.from_numpy(sample.image).permute(2, 0, 1).float())
    assert (image[:, 50:] == GLASS).all()
    assert torch.equal(target["points"], torch.from_numpy(sample.xy))
    assert target["labels"].dtype == torch.long and target["labels"].tolist() == sample.labels.tolist()


def test_augmented_crops_have_the_crop_size_and_seeded_runs_repeat() -> None:
    samples = [_sample(100, 120, 30), _sample(90, 90, 20)]
    augmentation = Augmentation(crop_size=64, stain_sigma=0.05, stain_bias=0.01)
    dataset = PointDataset(samples, augmentation, seed=7)
    image, target = dataset[1]
    assert image.shape == (3, 64, 64)
    assert target["points"].shape == (len(target["labels"]), 2)
    assert ((target["points"] >= -0.5) & (target["points"] < 63.5)).all()
    again, again_target = PointDataset(samples, augmentation, seed=7)[1]
    assert torch.equal(image, again) and torch.equal(target["points"], again_target["points"])


def test_collate_pads_to_the_largest_and_keeps_point_lists_apart() -> None:
    dataset = PointDataset([_sample(30, 30, 3), _sample(70, 40, 0)])
    images, targets = collate([dataset[0], dataset[1]])
    assert images.shape == (2, 3, 96, 64)
    assert (images[0, :, 32:, :] == GLASS).all()
    assert [len(t["labels"]) for t in targets] == [3, 0]
    assert targets[1]["points"].shape == (0, 2)
