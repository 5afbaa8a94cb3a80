"""Labels that leave a cell's sign open: "tumour, positive or negative" and the like.

Real IHC data often marks every nucleus and its kind (EndoNuke: epithelium, stroma) but not its
stain call. Where the stain itself is clear, the call is made from it; where it is not, forcing a
sign teaches the model noise. A sign-open label is one more label id after the classes: "<name>_any"
for each "<name>_pos" / "<name>_neg" pair. Its probability is the sum of its members', so the loss
(-log of it) and the matching cost reward the right kind of cell and leave the sign to the cells
whose stain is clear.
"""
from __future__ import annotations

import torch

ANY_SUFFIX = "_any"


def open_labels(classes: tuple[str, ...]) -> tuple[str, ...]:
    """The sign-open labels of `classes`, in class order: ("tumor_any", "nontumor_any")."""
    return tuple(name[: -len("_pos")] + ANY_SUFFIX for name in classes
                 if name.endswith("_pos") and name[: -len("_pos")] + "_neg" in classes)


def label_names(classes: tuple[str, ...]) -> tuple[str, ...]:
    """Every label id's name: the classes, then their sign-open labels."""
    return classes + open_labels(classes)


def membership(classes: tuple[str, ...]) -> torch.Tensor:
    """(L, C) float: row l has a 1 for each class label l allows (one-hot for a class)."""
    rows = torch.eye(len(classes))
    for name in open_labels(classes):
        stem = name[: -len(ANY_SUFFIX)]
        row = torch.zeros(len(classes))
        row[classes.index(stem + "_pos")] = row[classes.index(stem + "_neg")] = 1.0
        rows = torch.cat([rows, row[None]])
    return rows


def label_probability(p_class: torch.Tensor, labels: torch.Tensor,
                      members: torch.Tensor) -> torch.Tensor:
    """p_class (M, C), labels (N,) label ids, members (L, C) -> (M, N): the probability each
    proposal gives each label (a class's own for a class, its members' sum for an open one)."""
    return p_class @ members.to(p_class)[labels].T


def label_log_probability(cls_logits: torch.Tensor, labels: torch.Tensor,
                          members: torch.Tensor) -> torch.Tensor:
    """cls_logits (N, C), labels (N,) -> (N,) log p(label) of each matched proposal, computed
    in log space (logsumexp over the label's members) so a sure wrong call stays finite."""
    log_p = cls_logits.log_softmax(dim=-1)  # (N, C)
    allowed = members.to(log_p)[labels] > 0  # (N, C)
    return torch.logsumexp(log_p.masked_fill(~allowed, float("-inf")), dim=-1)
