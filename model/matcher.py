"""Hungarian matching of proposals to annotated points, per image (eq. 2).

E_ij = alpha * ||p_i - p*_j||_2 - p_obj_i - p_class_i[c*_j]. Every annotated point gets one
proposal, so M >= N must hold; proposals left over are negatives. A sign-open label
(model/sign_open.py) counts the sum of its classes' probabilities as p_class_i[c*_j].
"""
from __future__ import annotations

import torch
from scipy.optimize import linear_sum_assignment

from model.sign_open import label_probability


class TooFewProposalsError(ValueError):
    """An image has more annotated points than the model has proposals (anchor points)."""


class DivergedError(FloatingPointError):
    """The network's outputs are no longer finite numbers: training has diverged."""


Match = tuple[torch.Tensor, torch.Tensor]  # (proposal indices (N,), target indices (N,)), long


def matching_cost(points: torch.Tensor, p_obj: torch.Tensor, p_class: torch.Tensor,
                  target_points: torch.Tensor, target_labels: torch.Tensor,
                  alpha: float, members: torch.Tensor | None = None) -> torch.Tensor:
    """points (M, 2), p_obj (M,), p_class (M, C), target_points (N, 2), labels (N,) -> (M, N).
    members (L, C) (model.sign_open.membership) when labels may be sign-open."""
    distance = torch.cdist(points, target_points.to(points.dtype))  # (M, N)
    p_label = (p_class[:, target_labels] if members is None
               else label_probability(p_class, target_labels, members))  # (M, N)
    return alpha * distance - p_obj.unsqueeze(1) - p_label


@torch.no_grad()
def match_image(points: torch.Tensor, p_obj: torch.Tensor, p_class: torch.Tensor,
                target_points: torch.Tensor, target_labels: torch.Tensor,
                alpha: float, members: torch.Tensor | None = None) -> Match:
    m, n = points.shape[0], target_points.shape[0]
    empty = torch.zeros(0, dtype=torch.long, device=points.device)
    if n == 0:
        return empty, empty.clone()
    if m < n:
        raise TooFewProposalsError(
            f"{n} annotated points but only {m} proposals; use a larger input or more anchors "
            "per region (annotated points are never dropped)")
    cost = matching_cost(points, p_obj, p_class, target_points, target_labels, alpha, members)
    if not torch.isfinite(cost).all():
        raise DivergedError("the matching cost holds NaN or inf: training diverged; "
                            "lower the learning rate or resume from an earlier checkpoint")
    rows, cols = linear_sum_assignment(cost.detach().cpu().float().numpy())
    return (torch.as_tensor(rows, dtype=torch.long, device=points.device),
            torch.as_tensor(cols, dtype=torch.long, device=points.device))


def match_batch(outputs: dict[str, torch.Tensor], targets: list[dict[str, torch.Tensor]],
                alpha: float, members: torch.Tensor | None = None) -> list[Match]:
    """outputs: points (B, M, 2), p_obj (B, M), p_class (B, M, C); targets[b]: points (N_b, 2),
    labels (N_b,). Returns one (proposal indices, target indices) pair per image."""
    return [match_image(outputs["points"][b], outputs["p_obj"][b], outputs["p_class"][b],
                        target["points"], target["labels"], alpha, members)
            for b, target in enumerate(targets)]
