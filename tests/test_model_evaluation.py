from __future__ import annotations

import json
import math

import numpy as np
import pytest

from model.evaluation import count_image, match_points, radius_in_image_px, summarize

CLASSES = ("tumor_pos", "tumor_neg", "nontumor_pos", "nontumor_neg")


def _report(pred_xy: list[list[float]], pred_cls: list[int], gt_xy: list[list[float]],
            gt_cls: list[int], radius: float = 12.0) -> dict:
    counts = count_image(np.array(pred_xy, float), np.array(pred_cls), np.array(gt_xy, float),
                         np.array(gt_cls), radius, len(CLASSES), "img")
    return summarize([counts], CLASSES, ["tumor_pos"], ["tumor_neg"], radius)


def test_perfect_predictions_score_one_everywhere() -> None:
    xy = [[10.0, 10.0], [50.0, 10.0], [10.0, 50.0]]
    report = _report(xy, [0, 1, 1], xy, [0, 1, 1])
    assert report["detection"] == {"tp": 3, "fp": 0, "fn": 0, "precision": 1.0,
                                   "recall": 1.0, "f1": 1.0}
    assert report["classification"]["macro"]["f1"] == 1.0
    assert report["classification"]["macro"]["classes"] == ["tumor_pos", "tumor_neg"]
    assert report["per_image"][0]["positive_fraction_error"] == 0.0
    json.dumps(report)  # the whole report is JSON-able


def test_a_prediction_beyond_the_radius_is_not_a_match() -> None:
    report = _report([[10.0, 10.0], [100.0, 100.0]], [0, 0], [[14.0, 13.0], [100.0, 112.5]], [0, 0])
    det = report["detection"]
    assert (det["tp"], det["fp"], det["fn"]) == (1, 1, 1)  # 5 px matches, 12.5 px does not
    assert det["precision"] == 0.5 and det["recall"] == 0.5 and det["f1"] == 0.5


def test_matching_is_one_to_one_and_maximises_matches() -> None:
    # Greedy nearest would pair pred 0 with gt 1 (distance 1) and leave gt 0 alone; the
    # optimal assignment pairs both.
    pred = np.array([[0.0, 0.0], [12.0, 0.0]])
    gt = np.array([[-10.0, 0.0], [1.0, 0.0]])
    pred_idx, gt_idx = match_points(pred, gt, 11.0)
    assert sorted(zip(pred_idx.tolist(), gt_idx.tolist())) == [(0, 0), (1, 1)]
    # Two predictions on one truth: one match, one false positive.
    pred_idx, gt_idx = match_points(np.array([[0.0, 0.0], [1.0, 0.0]]), np.array([[0.5, 0.0]]), 5)
    assert len(pred_idx) == 1 and len(gt_idx) == 1


def test_class_confusion_counts_per_class() -> None:
    gt_xy = [[0.0, 0.0], [40.0, 0.0], [80.0, 0.0], [120.0, 0.0]]
    gt_cls = [0, 0, 1, 1]
    pred_cls = [0, 1, 1, 1]  # the second tumour-positive cell is called negative
    report = _report(gt_xy, pred_cls, gt_xy, gt_cls)
    pos = report["classification"]["per_class"]["tumor_pos"]
    neg = report["classification"]["per_class"]["tumor_neg"]
    assert (pos["tp"], pos["fp"], pos["fn"]) == (1, 0, 1)
    assert (neg["tp"], neg["fp"], neg["fn"]) == (2, 1, 0)
    assert pos["f1"] == pytest.approx(2 / 3) and neg["f1"] == pytest.approx(0.8)
    assert report["classification"]["macro"]["f1"] == pytest.approx((2 / 3 + 0.8) / 2)
    assert report["classification"]["confusion"]["counts"][0][:2] == [1, 1]
    assert report["detection"]["f1"] == 1.0
    image = report["per_image"][0]
    assert image["positive_fraction_gt"] == 0.5 and image["positive_fraction_pred"] == 0.25
    assert image["positive_fraction_error"] == -0.25


def test_images_are_pooled_by_summing_counts_before_dividing() -> None:
    a = count_image(np.array([[0.0, 0.0]]), np.array([0]), np.array([[0.0, 0.0]]),
                    np.array([0]), 12.0, 4, "a")  # 1 tp
    b = count_image(np.array([[0.0, 0.0], [50.0, 0.0], [90.0, 0.0]]), np.array([1, 1, 1]),
                    np.zeros((0, 2)), np.zeros(0, int), 12.0, 4, "b")  # 3 fp
    report = summarize([a, b], CLASSES, ["tumor_pos"], ["tumor_neg"], 12.0)
    assert report["detection"]["precision"] == 0.25  # 1 / 4, not the mean of 1.0 and 0.0
    assert report["count"] == {"gt": 1, "pred": 4, "mean_abs_error": 1.5, "relative_error": 3.0}
    fraction = report["positive_fraction"]
    assert fraction["gt"] == 1.0 and fraction["pred"] == 0.25
    assert fraction["images_defined"] == 1  # image b has no tumour truth: its share is undefined
    assert report["per_image"][1]["positive_fraction_gt"] is None


def test_empty_image_gives_undefined_not_zero_division() -> None:
    report = _report([], [], [], [])
    assert report["detection"]["precision"] is None and report["detection"]["f1"] is None
    assert report["classification"]["macro"]["f1"] is None


def test_radius_converts_between_model_pixels_microns_and_image_pixels() -> None:
    assert radius_in_image_px(image_mpp=0.5, model_mpp=0.5) == 12.0
    assert radius_in_image_px(image_mpp=0.25, model_mpp=0.5) == 24.0  # 6 um at 0.25 um/px
    assert radius_in_image_px(image_mpp=0.25, model_mpp=0.5, radius_um=3.0) == 12.0
    assert math.isclose(radius_in_image_px(0.5, 0.5, radius_px=8.0), 8.0)


def test_many_jittered_points_all_match_and_large_offsets_never_do() -> None:
    rng = np.random.default_rng(3)
    gt = np.stack(np.meshgrid(np.arange(20) * 30.0, np.arange(20) * 30.0), -1).reshape(-1, 2)
    pred_idx, gt_idx = match_points(gt + rng.uniform(-5, 5, gt.shape), gt, 12.0)
    assert len(pred_idx) == len(gt) and np.array_equal(pred_idx, gt_idx)
    assert len(match_points(gt + 15.0, gt, 12.0)[0]) == 0  # 21 px from any truth
