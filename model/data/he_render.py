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
from model.sign_open import ANY_SUFFIX, open_labels

# Summed stain density above which a pixel is tissue, not glass (glass stays white).
TISSUE_DENSITY = 0.15
TYPICAL_DENSITY = 0.6  # summed stain density of IHC tissue between the nuclei, roughly
EOSIN_MAX = 0.8  # OD of eosin at a typical density; dense tissue gets up to twice that


def render_as_he(image: np.ndarray, eosin: float, dab_share: float,
                 tint: float = 0.0) -> np.ndarray:
    """(H, W, 3) uint8 RGB as if stained H&E: `dab_share` of its DAB turns to haematoxylin,
    the rest is dropped, and tissue gains `eosin` at a typical density and up to twice that
    where it is dense (stroma and keratin stain deep red).

    `tint` puts that share of the haematoxylin and eosin density back into the DAB channel.
    A real H&E slide's hues are not the reference vectors that colour deconvolution assumes,
    so part of its density reads as DAB, most of all in its darkest nuclei: on the CMU H&E
    slide DAB/(H + E) is about 0.35 in the darkest tenth of the tissue (0.64 over all of it).
    """
    hed = rgb_to_hed(image)  # (H, W, 3)
    density = hed.sum(axis=-1)  # (H, W), before the DAB goes
    weight = np.clip(density / TYPICAL_DENSITY, 0.0, 2.0) * (density > TISSUE_DENSITY)
    hed[..., 0] += dab_share * np.clip(hed[..., 2], 0.0, None)
    hed[..., 1] += eosin * weight
    hed[..., 2] = tint * np.clip(hed[..., 0] + hed[..., 1], 0.0, None)
    return hed_to_rgb(hed)


def random_he_render(image: np.ndarray, rng: np.random.Generator,
                     eosin_max: float = EOSIN_MAX, tint_max: float = 0.0) -> np.ndarray:
    eosin, dab_share = float(rng.uniform(0.1, eosin_max)), float(rng.uniform(0.3, 1.0))
    # drawn last and only when asked for, so renders without a tint draw as they always did
    tint = float(rng.uniform(0.0, tint_max)) if tint_max > 0 else 0.0
    return render_as_he(image, eosin, dab_share, tint)


def negatives_of(classes: tuple[str, ...]) -> tuple[int, ...]:
    """Label id -> the id it has without DAB: each "<name>_pos" and sign-open "<name>_any"
    (model/sign_open.py, after the classes) becomes "<name>_neg", other classes stay. A "_pos"
    class without its "_neg" cannot be rendered, and says so."""
    ids = []
    for name in classes:
        if not name.endswith("_pos"):
            ids.append(classes.index(name))
            continue
        negative = name[: -len("_pos")] + "_neg"
        if negative not in classes:
            raise DatasetError(f"the H&E render needs a {negative!r} class for {name!r}")
        ids.append(classes.index(negative))
    ids += [classes.index(name[: -len(ANY_SUFFIX)] + "_neg") for name in open_labels(classes)]
    return tuple(ids)
