"""The torch view of point samples: augmented crops as float tensors, and their batching."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.utils.data import Dataset

from model.data.augment import GLASS, pad_to_multiple, random_flip, random_resized_crop
from model.data.degrade import Degradation, degrade
from model.data.he_render import random_he_render
from model.data.samples import PointSample
from model.data.stain import jitter_hed

Target = dict[str, torch.Tensor]


@dataclass(frozen=True)
class Augmentation:
    """crop_size None keeps whole images (evaluation); otherwise square random resized crops."""

    crop_size: int | None = 256
    scale_range: tuple[float, float] = (0.8, 1.25)
    unscaled: float = 0.0  # share of crops cut at scale 1, not resampled
    flips: bool = True
    stain_sigma: float = 0.0  # 0 turns the HED jitter off
    stain_bias: float = 0.0
    he_render: float = 0.0  # share of crops rendered as H&E (model/data/he_render.py)
    without_dab: tuple[int, ...] = ()  # class id -> its id once rendered; needed with he_render
    he_tint: float = 0.0  # the render's DAB tint, up to this share (model/data/he_render.py)
    # blur, sharpening, JPEG (model/data/degrade.py); none by default
    degradation: Degradation = field(default_factory=Degradation)


NO_AUGMENTATION = Augmentation(crop_size=None, flips=False)


class PointDataset(Dataset[tuple[torch.Tensor, Target]]):
    """Yields (image (3, H, W) float32 RGB 0..255, {"points": (N, 2) xy, "labels": (N,) long}).

    H and W are multiples of `multiple`, padded with glass at the right and bottom.
    """

    def __init__(self, samples: Sequence[PointSample], augmentation: Augmentation = NO_AUGMENTATION,
                 multiple: int = 32, seed: int | None = None) -> None:
        self.samples = list(samples)
        self.augmentation = augmentation
        self.multiple = multiple
        self.seed = seed

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, Target]:
        sample = self.augment(self.samples[index], self._rng(index))
        sample = pad_to_multiple(sample, self.multiple)
        image = torch.from_numpy(sample.image.transpose(2, 0, 1).astype(np.float32))  # (3, H, W)
        target = {"points": torch.from_numpy(sample.xy.astype(np.float32)).reshape(-1, 2),
                  "labels": torch.from_numpy(sample.labels.astype(np.int64))}
        return image, target

    def augment(self, sample: PointSample, rng: np.random.Generator) -> PointSample:
        aug = self.augmentation
        if aug.crop_size is not None:
            sample = random_resized_crop(sample, rng, aug.crop_size, aug.scale_range,
                                         aug.unscaled)
        if aug.flips:
            sample = random_flip(sample, rng)
        if aug.stain_sigma > 0 or aug.stain_bias > 0:
            sample = PointSample(jitter_hed(sample.image, rng, aug.stain_sigma, aug.stain_bias),
                                 sample.xy, sample.labels, sample.name)
        if aug.degradation != Degradation():
            sample = PointSample(degrade(sample.image, rng, aug.degradation), sample.xy,
                                 sample.labels, sample.name)
        if aug.he_render > 0 and rng.random() < aug.he_render:
            labels = np.asarray(aug.without_dab, np.int64)[sample.labels]
            image = random_he_render(sample.image, rng, tint_max=aug.he_tint)
            sample = PointSample(image, sample.xy, labels, sample.name)
        return sample

    def _rng(self, index: int) -> np.random.Generator:
        if self.seed is not None:  # the same crops every epoch: for tests and fixed views
            return np.random.default_rng((self.seed, index))
        # torch seeds each DataLoader worker differently; numpy's global state would repeat.
        return np.random.default_rng(int(torch.randint(0, 2**62, ()).item()))


def collate(batch: Sequence[tuple[torch.Tensor, Target]]) -> tuple[torch.Tensor, list[Target]]:
    """Stack images (padding smaller ones with glass to the batch's largest); targets stay a list."""
    height = max(image.shape[1] for image, _ in batch)
    width = max(image.shape[2] for image, _ in batch)
    images = torch.full((len(batch), 3, height, width), float(GLASS))  # (B, 3, H, W)
    for i, (image, _) in enumerate(batch):
        images[i, :, :image.shape[1], :image.shape[2]] = image
    return images, [target for _, target in batch]
