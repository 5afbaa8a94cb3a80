"""Sign-open labels: the kind of cell is learned, the sign left to cells whose stain is clear."""
import math

import torch

from model.config import CANONICAL_CLASSES
from model.criterion import ce_loss
from model.data.label_map import parse_label_map
from model.matcher import matching_cost
from model.sign_open import label_log_probability, label_names, membership, open_labels


def test_open_labels_follow_the_pos_neg_pairs() -> None:
    assert open_labels(CANONICAL_CLASSES) == ("tumor_any", "nontumor_any")
    assert label_names(("a_pos", "other", "a_neg")) == ("a_pos", "other", "a_neg", "a_any")
    assert open_labels(("a_pos", "b_neg")) == ()  # no pair, nothing to leave open
    assert membership(CANONICAL_CLASSES).tolist() == [
        [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [1, 1, 0, 0], [0, 0, 1, 1]]


def test_an_open_label_scores_the_sum_of_its_classes() -> None:
    p = torch.tensor([[0.5, 0.2, 0.2, 0.1]])
    logits = p.log()
    members = membership(CANONICAL_CLASSES)
    # the same proposal scored against a class, then each open label
    log_p = label_log_probability(logits.repeat(3, 1), torch.tensor([0, 4, 5]), members)
    assert torch.allclose(log_p.exp(), torch.tensor([0.5, 0.7, 0.3]))


def test_the_loss_of_an_open_label_ignores_the_sign() -> None:
    members = membership(CANONICAL_CLASSES)
    sure_pos = torch.tensor([[4.0, -4.0, -4.0, -4.0]])
    sure_neg = torch.tensor([[-4.0, 4.0, -4.0, -4.0]])
    tumor_any = torch.tensor([4])
    # either sign of a tumour cell is right for "tumor_any": the same small loss
    assert torch.isclose(ce_loss(sure_pos, tumor_any, None, members),
                         ce_loss(sure_neg, tumor_any, None, members))
    assert ce_loss(sure_pos, tumor_any, None, members).item() < 0.01
    # calling it non-tumour is wrong: large
    assert ce_loss(torch.tensor([[-4.0, -4.0, 4.0, -4.0]]), tumor_any, None,
                   members).item() > 7.0
    # a class label keeps plain cross entropy, by hand
    logits = torch.tensor([[1.0, 0.0, 0.0, 0.0]])
    expected = -math.log(math.e / (math.e + 3))
    assert abs(ce_loss(logits, torch.tensor([0]), None, members).item() - expected) < 1e-6


def test_class_weights_leave_open_labels_at_one() -> None:
    members = membership(CANONICAL_CLASSES)
    logits = torch.zeros(2, 4)
    weights = torch.tensor([3.0, 1.0, 1.0, 1.0])
    loss = ce_loss(logits, torch.tensor([0, 4]), weights, members).item()
    assert abs(loss - (3 * math.log(4) + math.log(2))) < 1e-5


def test_matching_prefers_a_tumour_proposal_for_an_open_tumour_point() -> None:
    points = torch.zeros(2, 2)
    p_obj = torch.ones(2)
    p_class = torch.tensor([[0.45, 0.45, 0.1, 0.0], [0.6, 0.0, 0.4, 0.0]])
    cost = matching_cost(points, p_obj, p_class, torch.zeros(1, 2), torch.tensor([4]), 0.05,
                         membership(CANONICAL_CLASSES))
    assert torch.allclose(cost[:, 0], torch.tensor([-1.9, -1.6]))


def test_label_maps_accept_open_labels() -> None:
    labels = parse_label_map("epi=tumor_any,stroma=nontumor_any").class_ids(
        ["epi", "stroma", "tumor_pos"])
    assert labels.tolist() == [4, 5, 0]
