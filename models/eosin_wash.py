"""An eosin wash over the tissue of training crops, so that pink is not read as DAB.

The first default model called every cell of an H&E slide PD-L1 positive: it had only seen
haematoxylin (negative) and DAB (positive), so any colour off the haematoxylin blue looked
positive. Adding eosin to half of the crops, labels unchanged, teaches that only DAB is.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from model.data.dataset import Augmentation, PointDataset
from model.data.samples import PointSample
from model.data.stain import hed_to_rgb, rgb_to_hed

# Total optical density above which a pixel counts as tissue, not glass (glass stays white).
TISSUE_DENSITY = 0.15


def eosin_wash(image: np.ndarray, amount: float, darken: float = 1.0) -> np.ndarray:
    """Add `amount` of eosin to the tissue pixels of an (H, W, 3) uint8 RGB image and scale its
    haematoxylin by `darken` (H&E nuclei are darker and more purple than an IHC counterstain)."""
    hed = rgb_to_hed(image)  # (H, W, 3)
    tissue = hed.sum(axis=-1) > TISSUE_DENSITY  # (H, W)
    hed[..., 1] += amount * tissue
    hed[..., 0] *= darken
    return hed_to_rgb(hed)


class EosinWashDataset(PointDataset):
    def __init__(self, samples: Sequence[PointSample], augmentation: Augmentation,
                 multiple: int = 32, eosin_max: float = 0.4, probability: float = 0.5) -> None:
        super().__init__(samples, augmentation, multiple)
        self.eosin_max = eosin_max
        self.probability = probability

    def augment(self, sample: PointSample, rng: np.random.Generator) -> PointSample:
        sample = super().augment(sample, rng)
        if self.eosin_max <= 0 or rng.random() >= self.probability:
            return sample
        amount = float(rng.uniform(0.05, self.eosin_max))
        darken = float(rng.uniform(1.0, 1.6))
        return PointSample(eosin_wash(sample.image, amount, darken), sample.xy, sample.labels, sample.name)
