from __future__ import annotations

import pytest

from model.config import ConfigError, TrainConfig, parse_overrides


def test_defaults_are_the_papers_settings() -> None:
    c = TrainConfig()
    assert (c.alpha, c.beta, c.q, c.gamma, c.lambda_reg) == (0.05, 0.6, 0.4, 0.1, 2e-3)
    assert (c.lr, c.weight_decay, c.stride, c.mpp, c.threshold) == (1e-4, 1e-4, 32, 0.5, 0.5)
    assert c.anchor_offsets == ((0, 0), (-8, -8), (-8, 8), (8, 8), (8, -8))
    assert c.pfa and c.independent_cls and c.cls_loss == "gce" and c.backbone == "vgg16_bn"


def test_round_trip_through_a_dict() -> None:
    c = TrainConfig(backbone="small", q=0.7, anchor_offsets=[[0, 0], [4, 4]])
    assert TrainConfig.from_dict(c.to_dict()) == c


def test_overrides_parse_json_values() -> None:
    c = TrainConfig().with_overrides(parse_overrides(
        'pfa=false; q=0.1; cls_loss=ce; anchor_offsets=[[0,0],[8,8]]; classes=["a","b"];'
        'tumor_pos=["a"]; tumor_neg=["b"]'))
    assert c.pfa is False and c.q == 0.1 and c.cls_loss == "ce"
    assert c.anchor_offsets == ((0.0, 0.0), (8.0, 8.0)) and c.num_classes == 2


@pytest.mark.parametrize("text", ["q=0", "cls_loss=mse", "backbone=resnet", "nope=1",
                                  'tumor_pos=["x"]', "crop_size=100", "lr", "cls_reduction=avg",
                                  "lr_schedule=step", 'trainable=["head"]'])
def test_bad_values_are_refused(text: str) -> None:
    with pytest.raises(ConfigError):
        TrainConfig().with_overrides(parse_overrides(text))
