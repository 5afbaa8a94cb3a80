"""The point model: encoder, neck (PFA or top stage), anchors, and the three heads.

With `independent_cls` (IC) detection (p_bkg, p_obj) and classification (C classes) are
separate heads. Without it (the P2PNet-like baseline) one head scores C + 1 classes, the last
being background: p_obj = 1 - p_bkg and p_class is the C foreground probabilities renormalised.
"""
from __future__ import annotations

import torch
from torch import nn

from model.anchors import anchor_points
from model.backbone import build_backbone
from model.config import TrainConfig
from model.heads import Head
from model.input_lowpass import InputLowPass
from model.pfa import PyramidalAggregation, TopStageOnly

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
_EPS = 1e-6


class PointNet(nn.Module):
    mean: torch.Tensor  # (1, 3, 1, 1) buffers, in 0..255 units
    std: torch.Tensor
    offsets: torch.Tensor  # (K, 2) anchor offsets

    def __init__(self, config: TrainConfig) -> None:
        super().__init__()
        self.config = config
        self.lowpass = InputLowPass(config.input_lowpass_px)
        self.backbone = build_backbone(config.backbone, config.backbone_weights)
        channels = config.head_channels
        self.neck: nn.Module
        if config.pfa:
            self.neck = PyramidalAggregation(self.backbone.stage_channels,
                                             self.backbone.stage_strides, config.stride, channels)
        else:
            self.neck = TopStageOnly(self.backbone.stage_channels[-1], channels)
        k, c = config.num_anchors, config.num_classes
        self.regression = Head(channels, k, 2)
        self.detection = Head(channels, k, 2) if config.independent_cls else None
        self.classification = Head(channels, k, c if config.independent_cls else c + 1)
        # constants travel with the module (and into the ONNX graph), not in the state dict
        self.register_buffer("mean", 255.0 * torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1),
                             persistent=False)
        self.register_buffer("std", 255.0 * torch.tensor(IMAGENET_STD).view(1, 3, 1, 1),
                             persistent=False)
        self.register_buffer("offsets", torch.tensor(config.anchor_offsets), persistent=False)

    def forward(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        """image (B, 3, H, W) RGB 0..255, H and W multiples of 32 (the encoder's deepest stride).
        Returns, for the decode stride d and A = H*W*K/d^2:

        points (B, A, 2) xy in input pixels; p_obj (B, A); p_class (B, A, C) summing to 1;
        anchors (A, 2); and the logits the loss needs: det_logits (B, A, 2) [bkg, obj] and
        cls_logits (B, A, C) with IC, or joint_logits (B, A, C + 1) [classes..., bkg] without.
        """
        x = self.lowpass((image - self.mean) / self.std)
        features = self.neck(self.backbone(x))  # (B, channels, H / d, W / d)
        rows, cols = features.shape[-2], features.shape[-1]
        anchors = anchor_points(rows, cols, self.config.stride, self.offsets)  # (A, 2)
        offsets = self.regression(features) * self.config.offset_scale  # (B, A, 2)
        out = {"points": anchors.unsqueeze(0) + offsets, "anchors": anchors}  # eq. 1
        if self.detection is not None:
            det_logits = self.detection(features)  # (B, A, 2)
            cls_logits = self.classification(features)  # (B, A, C)
            out.update(det_logits=det_logits, cls_logits=cls_logits,
                       p_obj=det_logits.softmax(dim=-1)[..., 1],
                       p_class=cls_logits.softmax(dim=-1))
        else:
            joint_logits = self.classification(features)  # (B, A, C + 1)
            joint = joint_logits.softmax(dim=-1)
            p_obj = 1.0 - joint[..., -1]  # (B, A)
            out.update(joint_logits=joint_logits, p_obj=p_obj,
                       p_class=joint[..., :-1] / (p_obj.unsqueeze(-1) + _EPS))
        return out
