"""Eosin on training crops, so that pink is not read as DAB.

The first default model called every cell of an H&E slide PD-L1 positive: it had only seen
haematoxylin (negative) and DAB (positive), so any colour off the haematoxylin blue looked
positive. Two augmentations answer that:

- the wash adds eosin to a crop, labels unchanged: pink tissue does not change a cell's class;
- the H&E render moves a crop's DAB into haematoxylin and adds eosin, and every positive cell
  becomes negative: the same nuclei without DAB are negative, whatever else their colour is.
  Synthetic H&E tiles alone did not teach this on a real H&E slide (MODEL_CARD.md).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from model.config import CANONICAL_CLASSES
from model.data.dataset import Augmentation, PointDataset
from model.data.samples import PointSample
from model.data.stain import hed_to_rgb, rgb_to_hed

# Total optical density above which a pixel counts as tissue, not glass (glass stays white).
TISSUE_DENSITY = 0.15
TYPICAL_DENSITY = 0.6  # summed stain density of IHC tissue between the nuclei, roughly
# Class id of each canonical class once its DAB is gone: positives become their negatives.
WITHOUT_DAB = np.array([CANONICAL_CLASSES.index(name.replace("_pos", "_neg"))
                        for name in CANONICAL_CLASSES])


def eosin_wash(image: np.ndarray, amount: float, darken: float = 1.0) -> np.ndarray:
    """Add `amount` of eosin to the tissue pixels of an (H, W, 3) uint8 RGB image and scale its
    haematoxylin by `darken` (H&E nuclei are darker and more purple than an IHC counterstain)."""
    hed = rgb_to_hed(image)  # (H, W, 3)
    tissue = hed.sum(axis=-1) > TISSUE_DENSITY  # (H, W)
    hed[..., 1] += amount * tissue
    hed[..., 0] *= darken
    return hed_to_rgb(hed)


def render_as_he(image: np.ndarray, eosin: float, dab_share: float) -> np.ndarray:
    """The crop as if stained H&E: `dab_share` of its DAB turns to haematoxylin (a stained
    nucleus stays a dark nucleus), the rest is dropped, and tissue gains eosin, `eosin` at a
    typical density and up to twice that where it is dense (stroma and keratin stain deep red)."""
    hed = rgb_to_hed(image)  # (H, W, 3)
    density = hed.sum(axis=-1)  # (H, W), before the DAB goes
    weight = np.clip(density / TYPICAL_DENSITY, 0.0, 2.0) * (density > TISSUE_DENSITY)
    hed[..., 0] += dab_share * np.clip(hed[..., 2], 0.0, None)
    hed[..., 2] = 0.0
    hed[..., 1] += eosin * weight
    return hed_to_rgb(hed)


class EosinWashDataset(PointDataset):
    def __init__(self, samples: Sequence[PointSample], augmentation: Augmentation,
                 multiple: int = 32, eosin_max: float = 0.4, probability: float = 0.5,
                 he_render: float = 0.0) -> None:
        super().__init__(samples, augmentation, multiple)
        self.eosin_max = eosin_max
        self.probability = probability
        self.he_render = he_render  # share of crops rendered as H&E, every cell negative

    def augment(self, sample: PointSample, rng: np.random.Generator) -> PointSample:
        sample = super().augment(sample, rng)
        if self.eosin_max <= 0:
            return sample
        draw = rng.random()
        if draw < self.he_render:
            image = render_as_he(sample.image, float(rng.uniform(0.1, self.eosin_max)),
                                 float(rng.uniform(0.3, 1.0)))
            return PointSample(image, sample.xy, WITHOUT_DAB[sample.labels], sample.name)
        if draw >= self.he_render + self.probability * (1.0 - self.he_render):
            return sample
        amount = float(rng.uniform(0.05, self.eosin_max))
        darken = float(rng.uniform(1.0, 1.6))
        return PointSample(eosin_wash(sample.image, amount, darken), sample.xy, sample.labels, sample.name)
