"""The same crop as scanned and as rescanned, and a loss on the difference of their calls.

Trained on rescanned crops as one more augmentation (model/data/degrade.py `rescan`), each run
set its own reaction to resampled pixels: stride-16 networks gained or lost 3-12 % of their
tumour cells on a rescanned tile, in a direction no setting steered (MODEL_CARD.md, "Stride
16"). Here every crop of a batch gets a rescanned twin, and the network is taught to call the
twin as it calls the crop: the crop's calls are the target (no gradient through them), so the
twin is pulled towards the supervised view, not the other way round. At weight 1 it held
the read-back rescans of stride-16 networks within 2 % in two seeds, but no run passed its bar,
and weights 3 and 10 did worse (MODEL_CARD.md, "A loss between a crop and its rescanned twin"):
every recipe leaves it off.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

# how far a twin is rescanned, either way: from a scanner's own 0.5 % (the engine reads such a
# tile as it is, but its pixels were still interpolated) to 18 % (the engine resamples beyond 3 %)
SMALLEST, LARGEST = 1.005, 1.18


def rescan_factors(batch: int, generator: torch.Generator) -> torch.Tensor:
    """(batch,) factors f, log-uniform in [SMALLEST, LARGEST] and as often below 1 as above."""
    magnitude = torch.empty(batch).uniform_(math.log(SMALLEST), math.log(LARGEST),
                                            generator=generator)
    sign = torch.randint(0, 2, (batch,), generator=generator) * 2 - 1
    return torch.exp(magnitude * sign)


def rescanned_twin(images: torch.Tensor, factors: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) RGB 0..255 -> the same, each crop as a scanner at f times its um/px gives
    it (bicubic) and read back to its own grid the way scoring.resample does (bilinear, the
    same antialiasing as PIL), rounded to 8 bits. Size and cell centres are kept."""
    height, width = images.shape[-2:]
    twins = []
    for image, factor in zip(images, factors.tolist()):
        size = (max(1, round(height / factor)), max(1, round(width / factor)))
        scanned = F.interpolate(image[None], size=size, mode="bicubic", align_corners=False,
                                antialias=True).clamp(0, 255).round()
        back = F.interpolate(scanned, size=(height, width), mode="bilinear",
                             align_corners=False, antialias=True)
        twins.append(back.clamp(0, 255).round())
    return torch.cat(twins)


def consistency_loss(crop: dict[str, torch.Tensor],
                     twin: dict[str, torch.Tensor]) -> torch.Tensor:
    """KL from the crop's calls to the twin's, anchor by anchor: object or background over all
    B x A anchors (a mean, as the detection loss is), plus the class over the crop's objects,
    each anchor weighted by the crop's p_obj (a mean over that weight). Zero when the twin is
    called exactly as the crop; only the twin's outputs carry a gradient."""
    det = _kl(crop["det_logits"], twin["det_logits"]).mean()  # over (B, A)
    weight = crop["p_obj"].detach()  # (B, A)
    cls_kl = _kl(crop["cls_logits"], twin["cls_logits"])  # (B, A)
    cls = (weight * cls_kl).sum() / weight.sum().clamp_min(1.0)
    return det + cls


def _kl(target_logits: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """KL(p || q) over the last axis, p from the target's logits (no gradient), q from the
    others'."""
    return F.kl_div(logits.log_softmax(dim=-1), target_logits.detach().log_softmax(dim=-1),
                    reduction="none", log_target=True).sum(dim=-1)
