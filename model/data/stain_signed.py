"""Points that say what kind of cell, but not its stain call: the sign read from the stain.

EndoNuke (ER/PR, a nuclear DAB stain) marks every nucleus as stroma, epithelium or other and
leaves positive/negative to the stain, as its authors measured it. Here the mean DAB optical
density in the nucleus (scoring.stain_rule.nucleus_dab, the cross-check's own measure) makes the
call where it is clear, and leaves the sign open (model/sign_open.py) where it is not, so the
model learns the kind of cell everywhere and the sign only from unambiguous cells.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from model.data.label_map import LabelMap
from model.data.point_readers import read_annotations
from model.data.samples import PointSample, read_rgb, resample
from scoring.stain_rule import nucleus_dab

# Nuclear DAB (natural-log OD along the unit DAB vector, mean over a 2 um disk) on the 26,067
# EndoNuke points has a valley between 0.6 and 1.05 (about 700 nuclei per 0.15 bin against
# 3,200 at the positive mode of 2.1 and 940 at the negative one of 0.3): below NEGATIVE_BELOW a
# nucleus is negative, above POSITIVE_ABOVE positive, and in the valley its sign stays open.
NEGATIVE_BELOW = 0.7
POSITIVE_ABOVE = 1.2

# EndoNuke's kinds: epithelium stands for tumour (the cells a TPS counts), the rest is not.
ENDONUKE_KINDS = {"epithelium": "tumor", "stroma": "nontumor", "other": "nontumor"}


def sign_labels(kinds: list[str], nucleus_dab: np.ndarray,
                kind_map: Mapping[str, str]) -> list[str]:
    """Model label names ("tumor_pos", "nontumor_any", ...) from each point's kind and DAB."""
    signs = np.where(nucleus_dab > POSITIVE_ABOVE, "pos",
                     np.where(nucleus_dab < NEGATIVE_BELOW, "neg", "any"))
    return [f"{kind_map[kind]}_{sign}" for kind, sign in zip(kinds, signs)]


def load_stain_signed(points: Path, label_map: LabelMap, data_mpp: float, model_mpp: float,
                      kind_map: Mapping[str, str] = ENDONUKE_KINDS,
                      sign_from_stain: bool = True) -> list[PointSample]:
    """Each image of an `image,x,y,kind` CSV as a sample whose labels carry the stain's sign
    (measured at the data's own resolution), or leave every sign open (`sign_from_stain`
    False: the stain is not the model's, e.g. a nuclear stain for a membrane model); then
    resampled to the model's resolution."""
    samples = []
    for item in read_annotations(points, "csv"):
        image = read_rgb(item.image_path)
        dab = (nucleus_dab(image, item.xy.astype(np.float64), data_mpp) if sign_from_stain
               else np.full(len(item.xy), (NEGATIVE_BELOW + POSITIVE_ABOVE) / 2))
        labels = label_map.class_ids(sign_labels(list(item.labels), dab, kind_map))
        sample = PointSample(image, item.xy.astype(np.float32), labels, item.name)
        samples.append(resample(sample, data_mpp / model_mpp))
    return samples
