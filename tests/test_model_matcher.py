from __future__ import annotations

import pytest
import torch

from model.matcher import TooFewProposalsError, match_batch, match_image, matching_cost


def test_cost_is_eq2_by_hand() -> None:
    points = torch.tensor([[0.0, 0.0], [3.0, 4.0]])
    p_obj = torch.tensor([0.9, 0.2])
    p_class = torch.tensor([[0.7, 0.3], [0.4, 0.6]])
    cost = matching_cost(points, p_obj, p_class, torch.tensor([[0.0, 0.0]]),
                         torch.tensor([1]), alpha=0.05)
    # proposal 0: 0 - 0.9 - 0.3; proposal 1: 0.05 * 5 - 0.2 - 0.6
    assert torch.allclose(cost, torch.tensor([[-1.2], [-0.55]]))


def test_hand_computed_assignment() -> None:
    # three proposals, two targets. Target 0 (class 0) at (0, 0); target 1 (class 1) at (10, 0).
    points = torch.tensor([[1.0, 0.0], [9.0, 0.0], [20.0, 0.0]])
    p_obj = torch.tensor([0.5, 0.5, 0.9])
    p_class = torch.tensor([[0.9, 0.1], [0.1, 0.9], [0.5, 0.5]])
    targets = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
    # costs: p0-t0 0.05-1.4=-1.35, p0-t1 0.45-0.6=-0.15, p1-t0 0.45-0.6=-0.15,
    # p1-t1 0.05-1.4=-1.35, p2-t0 1.0-1.4=-0.4, p2-t1 0.5-1.4=-0.9. Best: p0-t0, p1-t1 = -2.7
    src, tgt = match_image(points, p_obj, p_class, targets, torch.tensor([0, 1]), alpha=0.05)
    assert sorted(zip(src.tolist(), tgt.tolist())) == [(0, 0), (1, 1)]


def test_objectness_can_outweigh_distance() -> None:
    points = torch.tensor([[0.0, 0.0], [4.0, 0.0]])
    p_obj = torch.tensor([0.0, 1.0])
    p_class = torch.ones(2, 1)
    # distance cost difference 0.05 * 4 = 0.2 < objectness difference 1.0
    src, _ = match_image(points, p_obj, p_class, torch.zeros(1, 2), torch.tensor([0]), 0.05)
    assert src.tolist() == [1]


def test_fewer_proposals_than_points_is_an_error() -> None:
    with pytest.raises(TooFewProposalsError, match="3 annotated points but only 2 proposals"):
        match_image(torch.zeros(2, 2), torch.zeros(2), torch.zeros(2, 1), torch.zeros(3, 2),
                    torch.zeros(3, dtype=torch.long), 0.05)


def test_no_targets_gives_empty_matches() -> None:
    src, tgt = match_image(torch.zeros(4, 2), torch.zeros(4), torch.zeros(4, 2),
                           torch.zeros(0, 2), torch.zeros(0, dtype=torch.long), 0.05)
    assert src.numel() == 0 and tgt.numel() == 0


def test_batched_matching_equals_per_image_matching() -> None:
    gen = torch.Generator().manual_seed(0)
    b, m, c = 3, 20, 4
    outputs = {"points": torch.rand(b, m, 2, generator=gen) * 64,
               "p_obj": torch.rand(b, m, generator=gen),
               "p_class": torch.rand(b, m, c, generator=gen).softmax(-1)}
    targets = [{"points": torch.rand(n, 2, generator=gen) * 64,
                "labels": torch.randint(0, c, (n,), generator=gen)} for n in (5, 0, 12)]
    batched = match_batch(outputs, targets, 0.05)
    for i, target in enumerate(targets):
        single = match_batch({k: v[i:i + 1] for k, v in outputs.items()}, [target], 0.05)[0]
        assert torch.equal(batched[i][0], single[0]) and torch.equal(batched[i][1], single[1])
    assert [len(s) for s, _ in batched] == [5, 0, 12]


def test_non_finite_outputs_raise_a_named_error() -> None:
    from model.matcher import DivergedError, match_image

    points = torch.zeros(3, 2)
    p_obj = torch.tensor([0.5, float("nan"), 0.5])
    with pytest.raises(DivergedError, match="diverged"):
        match_image(points, p_obj, torch.full((3, 2), 0.5), torch.zeros(1, 2),
                    torch.tensor([0]), alpha=0.05)
