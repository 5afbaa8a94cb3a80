from __future__ import annotations

import math

import pytest
import torch

from model.config import TrainConfig
from model.criterion import (
    PointCriterion,
    ce_loss,
    detection_loss,
    gce_loss,
    joint_loss,
    regression_loss,
)
from model.matcher import match_batch
from model.network import PointNet


def test_regression_loss_by_hand() -> None:
    points = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    targets = torch.tensor([[3.0, 4.0], [1.0, 2.0]])
    assert regression_loss(points, targets).item() == pytest.approx((25 + 1) / 2)


def test_detection_loss_by_hand() -> None:
    # logits [bkg, obj]; (0, 0) gives 0.5/0.5, (0, ln 3) gives p_obj 0.75
    logits = torch.tensor([[0.0, math.log(3.0)], [0.0, 0.0], [0.0, 0.0]])
    positive = torch.tensor([True, False, False])
    expected = -(math.log(0.75) + 0.6 * 2 * math.log(0.5)) / 3
    assert detection_loss(logits, positive, beta=0.6).item() == pytest.approx(expected)


def test_gce_loss_by_hand() -> None:
    logits = torch.log(torch.tensor([[0.5, 0.25, 0.25], [0.1, 0.1, 0.8]]))
    labels = torch.tensor([0, 2])
    norm0, norm1 = math.sqrt(0.25 + 2 * 0.0625), math.sqrt(0.01 + 0.01 + 0.64)
    expected = ((1 - 0.5 ** 0.4) / 0.4 + 0.1 * norm0) + ((1 - 0.8 ** 0.4) / 0.4 + 0.1 * norm1)
    assert gce_loss(logits, labels, q=0.4, gamma=0.1).item() == pytest.approx(expected, rel=1e-6)


def test_gce_tends_to_ce_as_q_goes_to_zero() -> None:
    logits = torch.randn(6, 4, generator=torch.Generator().manual_seed(1))
    labels = torch.tensor([0, 1, 2, 3, 0, 1])
    ce = ce_loss(logits, labels, None).item()
    gaps = [abs(gce_loss(logits, labels, q, gamma=0.0).item() - ce) for q in (0.5, 0.1, 1e-3)]
    assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 1e-2 * ce


def test_weighted_ce_by_hand() -> None:
    logits = torch.log(torch.tensor([[0.5, 0.5], [0.2, 0.8]]))
    got = ce_loss(logits, torch.tensor([0, 1]), torch.tensor([2.0, 1.0])).item()
    assert got == pytest.approx(-2 * math.log(0.5) - math.log(0.8))


def test_joint_loss_by_hand() -> None:
    # two classes + background (index 2); proposal 0 matched to class 1, proposal 1 negative
    logits = torch.log(torch.tensor([[0.2, 0.5, 0.3], [0.1, 0.1, 0.8]]))
    got = joint_loss(logits, torch.tensor([1, 2]), beta=0.6).item()
    assert got == pytest.approx(-(math.log(0.5) + 0.6 * math.log(0.8)) / 2)


def _step_inputs(config: TrainConfig) -> tuple[PointNet, dict[str, torch.Tensor], list]:
    torch.manual_seed(0)
    net = PointNet(config)
    outputs = net(torch.rand(2, 3, 64, 64) * 255)
    targets = [{"points": torch.tensor([[10.0, 12.0], [40.0, 50.0]]),
                "labels": torch.tensor([0, 3])},
               {"points": torch.tensor([[30.0, 30.0]]), "labels": torch.tensor([1])}]
    return net, outputs, targets


@pytest.mark.parametrize("independent_cls", [True, False])
def test_every_term_reaches_the_total_and_trains(independent_cls: bool) -> None:
    config = TrainConfig(backbone="small", head_channels=8, independent_cls=independent_cls,
                         pfa=independent_cls)
    net, outputs, targets = _step_inputs(config)
    criterion = PointCriterion(config)
    terms = criterion.terms(outputs, targets, match_batch(outputs, targets, config.alpha))
    expected = {"loss_reg", "loss_det", "loss_cls"} if independent_cls else {"loss_reg", "loss_det"}
    assert set(terms) == expected
    total = criterion.total(terms)
    by_hand = sum(criterion.weights[k] * v.item() for k, v in terms.items())
    assert total.item() == pytest.approx(by_hand, rel=1e-6)
    for name, value in terms.items():
        # each term's own gradient path reaches the total: d total / d term = its weight
        grad, = torch.autograd.grad(total, value, retain_graph=True)
        assert grad.item() == pytest.approx(criterion.weights[name]) and grad.item() > 0
        params = [p for p in net.parameters() if p.requires_grad]
        grads = torch.autograd.grad(value, params, retain_graph=True, allow_unused=True)
        assert any(g is not None and g.abs().sum() > 0 for g in grads), name
    # the regression head is trained by the total (P2PNet's never was)
    total.backward()
    assert net.regression.out.weight.grad is not None
    assert net.regression.out.weight.grad.abs().sum() > 0


def test_an_unknown_term_name_is_an_error() -> None:
    criterion = PointCriterion(TrainConfig(backbone="small"))
    with pytest.raises(KeyError):
        criterion.total({"loss_points": torch.tensor(1.0)})


def test_gce_gradient_stays_finite_for_a_confident_wrong_class() -> None:
    # softmax of [120, 0, 0, 0] gives p_true = 0 exactly in float32 for class 1.
    logits = torch.tensor([[120.0, 0.0, 0.0, 0.0]], requires_grad=True)
    loss = gce_loss(logits, torch.tensor([1]), q=0.7, gamma=0.1)
    loss.backward()
    assert logits.grad is not None and torch.isfinite(logits.grad).all()
    assert loss.item() == pytest.approx(1 / 0.7 + 0.1, abs=1e-4)


@pytest.mark.parametrize("cls_loss", ["ce", "gce"])
def test_mean_class_reduction_divides_the_sum_by_the_matched_cells(cls_loss: str) -> None:
    summed = TrainConfig(backbone="small", head_channels=8, cls_loss=cls_loss)
    _, outputs, targets = _step_inputs(summed)
    matches = match_batch(outputs, targets, summed.alpha)
    n = sum(len(src) for src, _ in matches)
    assert n == 3
    by_sum = PointCriterion(summed).terms(outputs, targets, matches)
    mean = TrainConfig(backbone="small", head_channels=8, cls_loss=cls_loss, cls_reduction="mean")
    by_mean = PointCriterion(mean).terms(outputs, targets, matches)
    assert by_mean["loss_cls"].item() == pytest.approx(by_sum["loss_cls"].item() / n, rel=1e-6)
    assert by_mean["loss_det"].item() == pytest.approx(by_sum["loss_det"].item())
