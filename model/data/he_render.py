"""A crop rendered as if stained H&E, every positive cell relabelled negative.

The class of a cell is its DAB. Taking the DAB away from a crop (moving it into haematoxylin,
so a stained nucleus stays a dark nucleus) and adding eosin makes a crop in which every cell
is negative; trained on such crops, a model must follow the DAB and not a nucleus's darkness
or the pink around it. For the default model this raised the real Ki-67 pos/neg F1 from
0.672 to 0.733 (models/MODEL_CARD.md).
"""
from __future__ import annotations

import numpy as np

from model.data.errors import DatasetError
from model.data.stain import hed_to_rgb, rgb_to_hed

# Summed stain density above which a pixel is tissue, not glass (glass stays white).
TISSUE_DENSITY = 0.15
TYPICAL_DENSITY = 0.6  # summed stain density of IHC tissue between the nuclei, roughly
EOSIN_MAX = 0.8  # OD of eosin at a typical density; dense tissue gets up to twice that


def render_as_he(image: np.ndarray, eosin: float, dab_share: float) -> np.ndarray:
    """(H, W, 3) uint8 RGB as if stained H&E: `dab_share` of its DAB turns to haematoxylin,
    the rest is dropped, and tissue gains `eosin` at a typical density and up to twice that
    where it is dense (stroma and keratin stain deep red)."""
    hed = rgb_to_hed(image)  # (H, W, 3)
    density = hed.sum(axis=-1)  # (H, W), before the DAB goes
    weight = np.clip(density / TYPICAL_DENSITY, 0.0, 2.0) * (density > TISSUE_DENSITY)
    hed[..., 0] += dab_share * np.clip(hed[..., 2], 0.0, None)
    hed[..., 2] = 0.0
    hed[..., 1] += eosin * weight
    return hed_to_rgb(hed)


def random_he_render(image: np.ndarray, rng: np.random.Generator,
                     eosin_max: float = EOSIN_MAX) -> np.ndarray:
    return render_as_he(image, float(rng.uniform(0.1, eosin_max)), float(rng.uniform(0.3, 1.0)))


def negatives_of(classes: tuple[str, ...]) -> tuple[int, ...]:
    """Class id -> the id it has without DAB: each "<name>_pos" becomes "<name>_neg", other
    classes stay. A "_pos" class without its "_neg" cannot be rendered, and says so."""
    ids = []
    for name in classes:
        if not name.endswith("_pos"):
            ids.append(classes.index(name))
            continue
        negative = name[: -len("_pos")] + "_neg"
        if negative not in classes:
            raise DatasetError(f"the H&E render needs a {negative!r} class for {name!r}")
        ids.append(classes.index(negative))
    return tuple(ids)
