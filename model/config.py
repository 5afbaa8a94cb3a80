"""Every hyper-parameter of the point model in one dataclass, saved inside each checkpoint.

Defaults are the paper's settings (Shui et al., MICCAI 2022). The ablation rows are configs:
baseline = `pfa=False, independent_cls=False`; +PFA = `pfa=True, independent_cls=False`;
+PFA+IC = the default; CE versus GCE = `cls_loss="ce"` or `q` in 0.1..0.9.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from model.data.errors import DatasetError
from model.data.he_render import negatives_of

CANONICAL_CLASSES = ("tumor_pos", "tumor_neg", "nontumor_pos", "nontumor_neg")
PAPER_OFFSETS = ((0.0, 0.0), (-8.0, -8.0), (-8.0, 8.0), (8.0, 8.0), (8.0, -8.0))
NETWORK_PARTS = ("backbone", "neck", "regression", "detection", "classification")


def paper_anchors(stride: int) -> dict[str, object]:
    """The paper's five anchors per region, and the regression scale (a quarter of the
    stride), at `stride`: the config overrides for it."""
    scale = stride / 32
    return {"stride": stride, "offset_scale": 8.0 * scale,
            "anchor_offsets": tuple((x * scale, y * scale) for x, y in PAPER_OFFSETS)}


class ConfigError(ValueError):
    """A config value or override that cannot be used."""


@dataclass
class TrainConfig:
    # identity, written into the exported model
    name: str = "pdl1-point"
    version: str = "0.1.0"
    # network
    backbone: str = "vgg16_bn"  # "vgg16_bn" (paper) or "small" (CPU-friendly)
    backbone_weights: str = ""  # local torchvision vgg16_bn state dict; never downloaded
    pfa: bool = True  # pyramidal feature aggregation
    independent_cls: bool = True  # IC: separate detection and classification heads
    head_channels: int = 256
    # sigma in px at `mpp` of a fixed Gaussian low-pass on the input (model/input_lowpass.py);
    # 0 is none
    input_lowpass_px: float = 0.0
    # regression outputs are multiplied by this so that a unit-scale conv output spans a
    # quarter of the anchor stride; the paper's eq. 1 is unchanged (x^ = x + dx)
    offset_scale: float = 8.0
    # anchors: one set of offsets per stride x stride region, around the region centre
    stride: int = 32
    anchor_offsets: tuple[tuple[float, float], ...] = PAPER_OFFSETS
    # classes
    classes: tuple[str, ...] = CANONICAL_CLASSES
    tumor_pos: tuple[str, ...] = ("tumor_pos",)
    tumor_neg: tuple[str, ...] = ("tumor_neg",)
    mpp: float = 0.5
    threshold: float = 0.5
    # matching and losses
    alpha: float = 0.05  # eq. 2: weight of the distance in the matching cost
    beta: float = 0.6  # eq. 4: weight of negatives in the detection loss
    cls_loss: str = "gce"  # "gce" (eq. 5-6) or "ce"
    q: float = 0.4
    gamma: float = 0.1
    class_weights: tuple[float, ...] = ()  # for cls_loss="ce"; empty = all ones
    # eq. 5 sums over the matched proposals, so the class term grows with the cells in a batch
    # (about 100x the detection term on dense crops); "mean" divides it by their number
    cls_reduction: str = "sum"
    lambda_reg: float = 2e-3  # eq. 7
    # weight of the loss between each crop's calls and its rescanned twin's
    # (model/rescan_consistency.py); 0 makes no twin
    rescan_consistency: float = 0.0
    # optimisation
    lr: float = 1e-4
    # "cosine" decays lr to 0 over the whole run (set from the step, so a resume is exact)
    lr_schedule: str = "constant"
    weight_decay: float = 1e-4
    batch_size: int = 8
    crop_size: int = 256
    # augmentation: random resized crops and flips; HED stain jitter is off when sigma is 0
    scale_range: tuple[float, float] = (0.8, 1.25)
    flips: bool = True
    stain_sigma: float = 0.0
    stain_bias: float = 0.0
    # share of crops rendered as H&E with every positive cell made negative (needs a "_neg"
    # class for each "_pos" one); 0.25 helped the default model on real IHC
    he_render: float = 0.0
    # the rendered crops' density read as DAB, a share up to this (a real H&E slide reads so)
    he_tint: float = 0.0
    epochs: int = 100
    # the parts trained; empty trains all. ("classification",) trains the class head alone on
    # a network read back from its ONNX file (model/onnx_weights.py): its cells stay where they
    # were, only their calls move
    trainable: tuple[str, ...] = ()
    seed: int = 0
    num_workers: int = 0
    log_every: int = 10  # steps
    checkpoint_every: int = 200  # steps; a checkpoint is also written when training ends
    device: str = "auto"  # "auto", "cpu" or "cuda"

    def __post_init__(self) -> None:
        self.anchor_offsets = tuple((float(x), float(y)) for x, y in self.anchor_offsets)
        self.classes = tuple(self.classes)
        self.tumor_pos = tuple(self.tumor_pos)
        self.tumor_neg = tuple(self.tumor_neg)
        self.class_weights = tuple(float(w) for w in self.class_weights)
        self.trainable = tuple(self.trainable)
        self.scale_range = (float(self.scale_range[0]), float(self.scale_range[1]))
        self.validate()

    def validate(self) -> None:
        if self.backbone not in ("vgg16_bn", "small"):
            raise ConfigError(f"backbone must be 'vgg16_bn' or 'small', not {self.backbone!r}")
        if self.cls_loss not in ("gce", "ce"):
            raise ConfigError(f"cls_loss must be 'gce' or 'ce', not {self.cls_loss!r}")
        if self.cls_reduction not in ("sum", "mean"):
            raise ConfigError(f"cls_reduction must be 'sum' or 'mean', not {self.cls_reduction!r}")
        if self.lr_schedule not in ("constant", "cosine"):
            raise ConfigError(f"lr_schedule must be 'constant' or 'cosine', not {self.lr_schedule!r}")
        if not 0.0 < self.q <= 1.0:
            raise ConfigError(f"q must be in (0, 1], not {self.q}")
        if not 0.0 <= self.input_lowpass_px <= 4.0:
            raise ConfigError(f"input_lowpass_px is a sigma in pixels in [0, 4], not "
                              f"{self.input_lowpass_px}")
        if self.rescan_consistency < 0:
            raise ConfigError(f"rescan_consistency is a loss weight >= 0, not "
                              f"{self.rescan_consistency}")
        if self.rescan_consistency and not self.independent_cls:
            raise ConfigError("rescan_consistency compares the detection and class heads: "
                              "it needs independent_cls")
        if self.stride not in (16, 32):
            raise ConfigError(f"stride must be 16 or 32, not {self.stride}")
        if self.stride != 32 and not self.pfa:
            raise ConfigError("without PFA the features are the top stage's, at stride 32")
        unknown = [c for c in self.tumor_pos + self.tumor_neg if c not in self.classes]
        if unknown:
            raise ConfigError(f"tumour classes not among the classes: {unknown}")
        if self.class_weights and len(self.class_weights) != len(self.classes):
            raise ConfigError("class_weights needs one weight per class")
        if not 0.0 <= self.he_render < 1.0:
            raise ConfigError(f"he_render is a share of crops in [0, 1), not {self.he_render}")
        if not 0.0 <= self.he_tint <= 1.0:
            raise ConfigError(f"he_tint is a share of density in [0, 1], not {self.he_tint}")
        if self.he_tint > 0 and self.he_render == 0:
            raise ConfigError("he_tint tints the H&E render, which is off: set he_render too")
        if self.he_render > 0:
            try:  # each "_pos" class needs the "_neg" one the render turns it into
                negatives_of(self.classes)
            except DatasetError as exc:
                raise ConfigError(str(exc)) from exc
        unknown_parts = sorted(set(self.trainable) - set(NETWORK_PARTS))
        if unknown_parts:
            raise ConfigError(f"trainable names parts the network lacks: {unknown_parts}; "
                              f"its parts are {list(NETWORK_PARTS)}")
        if self.crop_size % self.stride:
            raise ConfigError(f"crop_size must be a multiple of the stride {self.stride}")

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def num_anchors(self) -> int:
        """Anchor points per stride x stride region."""
        return len(self.anchor_offsets)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown config keys: {unknown}")
        return cls(**data)

    def with_overrides(self, overrides: dict[str, str]) -> TrainConfig:
        """Apply `key=value` strings; values are JSON when they parse, plain strings otherwise."""
        data = self.to_dict()
        for key, raw in overrides.items():
            if key not in data:
                raise ConfigError(f"unknown config key {key!r}")
            try:
                data[key] = json.loads(raw)
            except json.JSONDecodeError:
                data[key] = raw
        return TrainConfig.from_dict(data)


def parse_overrides(text: str) -> dict[str, str]:
    """`"lr=3e-4;epochs=5"` -> {"lr": "3e-4", "epochs": "5"}. `;` separates, as values may hold commas."""
    pairs: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(";"))):
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"override {item!r} is not key=value")
        pairs[key.strip()] = value.strip()
    return pairs
