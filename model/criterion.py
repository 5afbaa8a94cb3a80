"""The losses of eq. 3-7, as small functions, and the criterion that weights them into a total.

The total is built from the very dict of terms that is returned, each weighted by name, so a
term cannot be computed and then silently left out (P2PNet's regression loss never trained
because of a misspelt key).
"""
from __future__ import annotations

import torch

from model.config import TrainConfig
from model.matcher import Match
from model.sign_open import label_log_probability, membership


def regression_loss(points: torch.Tensor, target_points: torch.Tensor) -> torch.Tensor:
    """Eq. 3: mean over the N matched pairs of ||p_i - p*_i||^2. points, targets (N, 2)."""
    squared = ((points - target_points) ** 2).sum(dim=-1)  # (N,)
    return squared.sum() / max(points.shape[0], 1)


def detection_loss(det_logits: torch.Tensor, positive: torch.Tensor, beta: float) -> torch.Tensor:
    """Eq. 4: -(1/M) [sum_pos log p_obj + beta * sum_neg log p_bkg]. det_logits (M, 2) [bkg, obj],
    positive (M,) bool."""
    log_p = det_logits.log_softmax(dim=-1)  # (M, 2)
    per_proposal = torch.where(positive, log_p[:, 1], beta * log_p[:, 0])  # (M,)
    return -per_proposal.sum() / det_logits.shape[0]


def gce_loss(cls_logits: torch.Tensor, labels: torch.Tensor, q: float,
             gamma: float, members: torch.Tensor | None = None) -> torch.Tensor:
    """Eq. 5-6: sum over matched proposals of (1 - p_c^q) / q + gamma * ||p||_2.

    cls_logits (N, C), labels (N,) label ids, members (L, C) (model.sign_open). Tends to cross
    entropy (plus the gamma term) as q -> 0.
    """
    log_p = cls_logits.log_softmax(dim=-1)  # (N, C)
    members = torch.eye(cls_logits.shape[-1]) if members is None else members  # classes only
    log_p_true = label_log_probability(cls_logits, labels, members)  # (N,)
    # p^q as exp(q log p): p itself underflows to 0 for a confident wrong class, and the
    # gradient of p^q at 0 is 0 * inf = NaN; through the log it stays finite.
    p_true_q = (q * log_p_true).exp()  # (N,)
    loss: torch.Tensor = ((1.0 - p_true_q) / q + gamma * log_p.exp().norm(dim=-1)).sum()
    return loss


def ce_loss(cls_logits: torch.Tensor, labels: torch.Tensor,
            class_weights: torch.Tensor | None,
            members: torch.Tensor | None = None) -> torch.Tensor:
    """Weighted cross entropy, summed over matched proposals like GCE. (N, C), (N,) label ids,
    members (L, C). A sign-open label's term is -log of its classes' summed probability, with
    weight 1."""
    members = torch.eye(cls_logits.shape[-1]) if members is None else members  # classes only
    nll = -label_log_probability(cls_logits, labels, members)  # (N,)
    if class_weights is None:
        return nll.sum()
    weights = torch.cat([class_weights, class_weights.new_ones(members.shape[0]
                                                               - class_weights.shape[0])])
    return (weights[labels] * nll).sum()


def joint_loss(joint_logits: torch.Tensor, classes: torch.Tensor, beta: float) -> torch.Tensor:
    """Baseline (no IC): one (C + 1)-way cross entropy over all M proposals, the last class being
    background, negatives weighted by beta. joint_logits (M, C + 1), classes (M,) with C = bkg."""
    background = joint_logits.shape[-1] - 1
    log_p = joint_logits.log_softmax(dim=-1).gather(1, classes.unsqueeze(1)).squeeze(1)  # (M,)
    weight = torch.where(classes == background, beta, 1.0)  # (M,)
    return -(weight * log_p).sum() / joint_logits.shape[0]


class PointCriterion:
    def __init__(self, config: TrainConfig) -> None:
        self.config = config
        self.weights = {"loss_reg": config.lambda_reg, "loss_det": 1.0, "loss_cls": 1.0,
                        "loss_rescan": config.rescan_consistency}
        self.members = membership(tuple(config.classes))  # (L, C), for sign-open labels

    def terms(self, outputs: dict[str, torch.Tensor], targets: list[dict[str, torch.Tensor]],
              matches: list[Match]) -> dict[str, torch.Tensor]:
        points = outputs["points"]  # (B, M, 2)
        batch, m = points.shape[:2]
        batch_idx = torch.cat([torch.full_like(src, b) for b, (src, _) in enumerate(matches)])
        src_idx = torch.cat([src for src, _ in matches])  # (N_total,)
        target_points = torch.cat([t["points"][tgt] for t, (_, tgt) in zip(targets, matches)])
        target_labels = torch.cat([t["labels"][tgt] for t, (_, tgt) in zip(targets, matches)])
        positive = torch.zeros(batch, m, dtype=torch.bool, device=points.device)
        positive[batch_idx, src_idx] = True

        terms = {"loss_reg": regression_loss(points[batch_idx, src_idx],
                                             target_points.to(points.dtype))}
        if "det_logits" in outputs:
            terms["loss_det"] = detection_loss(outputs["det_logits"].reshape(batch * m, 2),
                                               positive.reshape(-1), self.config.beta)
            terms["loss_cls"] = self._classification(outputs["cls_logits"][batch_idx, src_idx],
                                                     target_labels)
        else:
            joint = outputs["joint_logits"]  # (B, M, C + 1)
            classes = torch.full((batch, m), joint.shape[-1] - 1, dtype=torch.long,
                                 device=points.device)
            classes[batch_idx, src_idx] = target_labels
            terms["loss_det"] = joint_loss(joint.reshape(batch * m, -1), classes.reshape(-1),
                                           self.config.beta)
        return terms

    def total(self, terms: dict[str, torch.Tensor]) -> torch.Tensor:
        """Eq. 7: lambda * L_reg + L_det + L_cls; an unknown term name is an error, not a skip."""
        return torch.stack([self.weights[name] * value for name, value in terms.items()]).sum()

    def _classification(self, cls_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if self.config.cls_loss == "gce":
            summed = gce_loss(cls_logits, labels, self.config.q, self.config.gamma, self.members)
        else:
            weights = (torch.tensor(self.config.class_weights, device=cls_logits.device)
                       if self.config.class_weights else None)
            summed = ce_loss(cls_logits, labels, weights, self.members)
        if self.config.cls_reduction == "mean":
            return summed / max(labels.shape[0], 1)
        return summed
