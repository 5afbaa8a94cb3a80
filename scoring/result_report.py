"""Build the result.json content from integer counts (see scoring/result_schema.py)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from scoring.aggregate import Fragments, SlideCounts, TumorClassIds
from scoring.cross_check import cross_check
from scoring.model_info import ModelInfo
from scoring.result_schema import SCHEMA_VERSION
from scoring.slide_info import SlideInfo
from scoring.stain_check import StainReading, shares_report
from scoring.tissue_mask import TissueMask
from scoring.tps import TpsScore, category_labels, interval_covers, score_counts


def _counts_by_name(counts: np.ndarray, classes: tuple[str, ...]) -> dict[str, int]:
    return {name: int(n) for name, n in zip(classes, counts.tolist())}


def _score_fields(score: TpsScore) -> dict[str, Any]:
    return {
        "tps": score.tps,
        "tps_ci95": list(score.ci95) if score.ci95 is not None else None,
        "category": score.category,
        "flags": {"inadequate": score.inadequate, "near_cutoff": score.near_cutoff,
                  "no_tumor_cells": score.tumor_cells == 0},
    }


def _withhold_score(scores: dict[str, Any]) -> None:
    """A TPS on H&E means nothing, and a category in a report could be read as a result: the
    cells and counts stay for review, the score, its interval and category go."""
    scores.update(tps=None, tps_ci95=None, category=None)
    scores["flags"]["near_cutoff"] = False


def public_params(params: dict[str, Any]) -> dict[str, Any]:
    """The parameters as reported. A path can name a patient (slide, ROI exported from a
    case folder), so a path is reported only as having been given: True."""
    def public(value: Any) -> Any:
        if isinstance(value, Path):
            return True
        if isinstance(value, (tuple, list)):
            return [public(v) for v in value]
        if isinstance(value, dict):
            return {str(k): public(v) for k, v in value.items()}
        return value
    return {str(k): public(v) for k, v in params.items()}


def fragment_reports(counts: SlideCounts, fragments: Fragments, tissue: TissueMask,
                     slide: SlideInfo, classes: tuple[str, ...], tumor: TumorClassIds,
                     cutoffs: tuple[float, ...], margin: float = 0.0) -> list[dict[str, Any]]:
    pixel_mm = tissue.downsample * slide.mpp / 1000.0
    limits = (slide.width, slide.height, slide.width, slide.height)
    reports = []
    for i in range(fragments.count):
        pos, neg = tumor.split(counts.fragment_counts[i])
        x0, y0, x1, y1 = fragments.bbox_mask[i]
        reports.append({
            "id": i + 1,
            "area_mm2": float(fragments.area_px[i]) * pixel_mm * pixel_mm,
            "bbox_px": [min(round(v * tissue.downsample), limit)
                        for v, limit in zip((x0, y0, x1, y1), limits)],
            "counts": _counts_by_name(counts.fragment_counts[i], classes),
            **_score_fields(score_counts(pos, neg, cutoffs, margin)),
        })
    return reports


def build_result(counts: SlideCounts, fragments: Fragments, tissue: TissueMask,
                 slide: SlideInfo, model: ModelInfo, params: dict[str, Any],
                 timings: dict[str, float], cutoffs: tuple[float, ...],
                 files: dict[str, str], stain: StainReading,
                 review_crops: list[dict[str, Any]]) -> dict[str, Any]:
    tumor = TumorClassIds.from_model(model)
    pos, neg = tumor.split(counts.class_counts)
    score = score_counts(pos, neg, cutoffs, model.tps_margin)
    scores = _score_fields(score)
    not_ihc = stain.stain == "he"
    fragments_out = fragment_reports(counts, fragments, tissue, slide, model.classes, tumor,
                                     cutoffs, model.tps_margin)
    if not_ihc:
        for part in (scores, *fragments_out):
            _withhold_score(part)
    scores["flags"]["not_ihc"] = not_ihc
    check = cross_check(counts.stain_agreement, scores["tps"], cutoffs)
    scores["flags"]["stain_disagrees"] = check["disagrees"]
    return {
        "schema_version": SCHEMA_VERSION,
        **scores,
        "tps_interval": {"margin": model.tps_margin,
                         "covers": interval_covers(model.tps_margin)},
        "stain": shares_report(stain),
        "intake": stain.report(),
        "cross_check": check,
        "categories": category_labels(tuple(float(c) for c in cutoffs)),
        "cutoffs": [float(c) for c in cutoffs],
        "counts": _counts_by_name(counts.class_counts, model.classes),
        "tumor_cells": pos + neg,
        "tissue_area_mm2": tissue.area_mm2(slide.mpp),
        "fragments": fragments_out,
        "cells_outside_fragments": int(counts.outside_counts.sum()),
        "heatmap": {"grid_mm": counts.grid_mm, "shape": list(counts.grid_pos.shape)},
        "files": files,
        "review_crops": review_crops,
        # Explicit fields only: never the path, file name, label, macro or vendor properties.
        "slide": {"sha256": slide.sha256, "width": slide.width, "height": slide.height,
                  "mpp": slide.mpp, "vendor": slide.vendor},
        "model": model.as_report(),
        "params": public_params(params),
        "timings": {str(k): float(v) for k, v in timings.items()},
    }
