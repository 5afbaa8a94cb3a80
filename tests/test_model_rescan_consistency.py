"""The rescanned twin and the loss on the difference of its calls (model/rescan_consistency.py)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image

from model.config import ConfigError, TrainConfig
from model.data.degrade import _rescanned
from model.rescan_consistency import (
    LARGEST,
    SMALLEST,
    consistency_loss,
    rescan_factors,
    rescanned_twin,
)


def test_factors_lie_in_the_stated_range_on_both_sides_of_one() -> None:
    factors = rescan_factors(2000, torch.Generator().manual_seed(0))
    off = factors.log().abs()
    assert off.min() >= math.log(SMALLEST) - 1e-6 and off.max() <= math.log(LARGEST) + 1e-6
    assert 900 < int((factors > 1).sum()) < 1100
    again = rescan_factors(2000, torch.Generator().manual_seed(0))
    assert torch.equal(factors, again)


def textured(seed: int, size: int = 64) -> np.ndarray:
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (size // 4, size // 4, 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(coarse).resize((size, size), Image.Resampling.BICUBIC))


def as_batch(*images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.stack(images).transpose(0, 3, 1, 2).astype(np.float32))


def test_a_factor_of_one_gives_the_crop_back_and_a_flat_crop_stays_flat() -> None:
    image = textured(0)
    assert torch.equal(rescanned_twin(as_batch(image), torch.tensor([1.0])), as_batch(image))
    flat = np.full((64, 64, 3), 200, dtype=np.uint8)
    twin = rescanned_twin(as_batch(flat), torch.tensor([1.15]))
    assert torch.equal(twin, as_batch(flat))


@pytest.mark.parametrize("factor", [0.87, 0.99, 1.01, 1.15])
def test_the_twin_is_what_a_rescan_and_the_engines_read_back_give(factor: float) -> None:
    """The same as model/data/degrade.py's PIL rescan (bicubic there, bilinear back) to within
    rounding: size kept, 8-bit values, and each crop of a batch with its own factor."""
    images = [textured(1), textured(2)]
    twins = rescanned_twin(as_batch(*images), torch.tensor([factor, 1.0]))
    assert twins.shape == (2, 3, 64, 64)
    assert torch.equal(twins, twins.round()) and twins.min() >= 0 and twins.max() <= 255
    pil = np.asarray(_rescanned(Image.fromarray(images[0]), factor)).astype(np.float32)
    ours = twins[0].numpy().transpose(1, 2, 0)
    inner = (slice(4, -4), slice(4, -4))  # the edges are padded differently
    assert np.abs(ours[inner] - pil[inner]).mean() < 1.0
    assert np.abs(ours[inner] - images[0][inner]).mean() > 1.0  # and it did change the crop
    assert torch.equal(twins[1], as_batch(images[1])[0])


def outputs(det: list[list[float]], cls: list[list[float]],
            p_obj: list[float]) -> dict[str, torch.Tensor]:
    return {"det_logits": torch.tensor([det], requires_grad=True),
            "cls_logits": torch.tensor([cls], requires_grad=True),
            "p_obj": torch.tensor([p_obj])}


def test_the_loss_by_hand() -> None:
    """Anchor 1: the crop says object 0.5, the twin 0.75; KL = 0.5 ln(0.5/0.25) +
    0.5 ln(0.5/0.75) = 0.5 ln(4/3). Its classes agree. Anchor 2: both background, classes far
    apart but its weight (the crop's p_obj) is 0. Detection is a mean over the two anchors,
    class a p_obj-weighted mean over at least one."""
    crop = outputs([[0.0, 0.0], [5.0, -5.0]], [[0.0, 0.0], [4.0, -4.0]], [0.5, 0.0])
    twin = outputs([[0.0, math.log(3)], [5.0, -5.0]], [[0.0, 0.0], [-4.0, 4.0]], [0.75, 0.0])
    assert consistency_loss(crop, twin).item() == pytest.approx(0.5 * math.log(4 / 3) / 2)
    crop["p_obj"] = torch.tensor([[1.0, 0.0]])
    twin["cls_logits"] = torch.tensor([[[math.log(3), 0.0], [-4.0, 4.0]]], requires_grad=True)
    assert consistency_loss(crop, twin).item() == pytest.approx(
        0.5 * math.log(4 / 3) / 2 + 0.5 * math.log(4 / 3))


def test_only_the_twin_is_pulled_and_agreement_costs_nothing() -> None:
    crop = outputs([[0.3, -0.2]], [[1.0, 0.5]], [0.4])
    same = outputs([[0.3, -0.2]], [[1.0, 0.5]], [0.4])
    assert consistency_loss(crop, same).item() == pytest.approx(0.0, abs=1e-7)
    twin = outputs([[1.0, -1.0]], [[0.0, 2.0]], [0.1])
    consistency_loss(crop, twin).backward()
    assert crop["det_logits"].grad is None and crop["cls_logits"].grad is None
    assert twin["det_logits"].grad is not None and twin["det_logits"].grad.abs().sum() > 0


def test_a_negative_weight_or_a_network_without_its_two_heads_is_refused() -> None:
    with pytest.raises(ConfigError, match="rescan_consistency"):
        TrainConfig(backbone="small", rescan_consistency=-1.0)
    with pytest.raises(ConfigError, match="independent_cls"):
        TrainConfig(backbone="small", rescan_consistency=1.0, independent_cls=False)
    assert TrainConfig(backbone="small", rescan_consistency=1.0).rescan_consistency == 1.0
