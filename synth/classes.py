"""Canonical class ids and the cell kinds the renderer draws; kinds map onto classes."""
from __future__ import annotations

from typing import Final

CLASS_NAMES: Final = ("tumor_pos", "tumor_neg", "nontumor_pos", "nontumor_neg")
TUMOR_POS, TUMOR_NEG, NONTUMOR_POS, NONTUMOR_NEG = range(4)

# Drawn cell kinds. Positivity is a separate flag: a tumour cell is drawn the same way whether
# or not it carries a DAB membrane, so the class follows only from (kind, positive).
TUMOR, LYMPHOCYTE, MACROPHAGE, FIBROBLAST = range(4)
KIND_NAMES: Final = ("tumor", "lymphocyte", "macrophage", "fibroblast")


def class_of(kind: int, positive: bool) -> int:
    if kind == TUMOR:
        return TUMOR_POS if positive else TUMOR_NEG
    return NONTUMOR_POS if positive else NONTUMOR_NEG
