"""Eosin on training crops, so that pink is not read as DAB.

The first default model called every cell of an H&E slide PD-L1 positive: it had only seen
haematoxylin (negative) and DAB (positive), so any colour off the haematoxylin blue looked
positive. Two augmentations answer that:

- the wash adds eosin to a crop, labels unchanged: pink tissue does not change a cell's class;
- the H&E render (model/data/he_render.py) moves a crop's DAB into haematoxylin and adds
  eosin, and every positive cell becomes negative. This dataset draws it in its own order,
  so that the shipped model's recipe stays reproducible; `tps train` offers it as
  `he_render`, with its tint as `he_tint`.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from model.config import CANONICAL_CLASSES
from model.data.dataset import Augmentation, PointDataset
from model.data.he_render import TISSUE_DENSITY, negatives_of, random_he_render
from model.data.samples import PointSample
from model.data.stain import hed_to_rgb, rgb_to_hed

# Class id of each canonical class once its DAB is gone: positives become their negatives.
WITHOUT_DAB = np.array(negatives_of(CANONICAL_CLASSES))


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
                 multiple: int = 32, eosin_max: float = 0.4, probability: float = 0.5,
                 he_render: float = 0.0, he_tint: float = 0.0) -> None:
        super().__init__(samples, augmentation, multiple)
        self.eosin_max = eosin_max
        self.probability = probability
        self.he_render = he_render  # share of crops rendered as H&E, every cell negative
        self.he_tint = he_tint  # their density read as DAB (model/data/he_render.py)

    def augment(self, sample: PointSample, rng: np.random.Generator) -> PointSample:
        sample = super().augment(sample, rng)
        if self.eosin_max <= 0:
            return sample
        draw = rng.random()
        if draw < self.he_render:
            image = random_he_render(sample.image, rng, self.eosin_max, self.he_tint)
            return PointSample(image, sample.xy, WITHOUT_DAB[sample.labels], sample.name)
        # of the crops not rendered, `probability` are washed; one draw decides both, so with
        # no render the wash draws exactly as it did before the render existed
        if draw >= self.he_render + self.probability * (1.0 - self.he_render):
            return sample
        amount = float(rng.uniform(0.05, self.eosin_max))
        darken = float(rng.uniform(1.0, 1.6))
        return PointSample(eosin_wash(sample.image, amount, darken), sample.xy, sample.labels, sample.name)
