"""How the default recipe's models are measured: `tps evaluate` run as a lab runs it, and the
headline figures of its report (detection, pos/neg, stain and kind F1)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def tps(args: list[str]) -> str:
    """Run the `tps` command in a child process (as a lab would); returns its stdout."""
    done = subprocess.run([sys.executable, "-m", "tps", *args], cwd=REPO, check=True,
                          capture_output=True, text=True)
    return done.stdout


def evaluate(model: Path, data: Path, out_json: Path, mpp: float | None = None,
             label_map: str | None = None, threshold: float | None = None) -> dict[str, Any]:
    args = ["evaluate", "--model", str(model), "--data", str(data), "--out", str(out_json)]
    if mpp is not None:
        args += ["--mpp", str(mpp)]
    if label_map:
        args += ["--label-map", label_map]
    if threshold is not None:
        args += ["--threshold", str(threshold)]
    tps(args)
    return headline(json.loads(out_json.read_text()))


def headline(report: dict[str, Any]) -> dict[str, Any]:
    """Detection F1; pos/neg F1 = mean F1 of tumor_pos and tumor_neg; positive-fraction error.

    `stain_f1` also counts a nontumor_pos call as positive (and nontumor_neg as negative): the
    real sets label every nucleus as tumour, so it separates stain errors from tumour calls.
    """
    per_class = report["classification"]["per_class"]
    pos_neg = [per_class[c]["f1"] for c in ("tumor_pos", "tumor_neg")
               if per_class[c]["f1"] is not None]
    return {"detection_f1": report["detection"]["f1"],
            "detection_precision": report["detection"]["precision"],
            "detection_recall": report["detection"]["recall"],
            "pos_neg_f1": sum(pos_neg) / len(pos_neg) if pos_neg else None,
            "macro_f1": report["classification"]["macro"]["f1"],
            "stain_f1": stain_f1(report),
            "kind_f1": kind_f1(report),
            "fraction_error": report["positive_fraction"]["mean_abs_error"],
            "gt": report["count"]["gt"], "pred": report["count"]["pred"],
            "threshold": report["threshold"]}


def stain_f1(report: dict[str, Any]) -> float | None:
    """Mean F1 of positive vs negative with tumour and non-tumour calls merged by stain."""
    return _grouped_f1(report, (("tumor_pos", "nontumor_pos"), ("tumor_neg", "nontumor_neg")))


def kind_f1(report: dict[str, Any]) -> float | None:
    """Mean F1 of tumour vs non-tumour, whatever the sign (EndoNuke: epithelium vs the rest)."""
    return _grouped_f1(report, (("tumor_pos", "tumor_neg"), ("nontumor_pos", "nontumor_neg")))


def _grouped_f1(report: dict[str, Any], groups: tuple[tuple[str, str], ...]) -> float | None:
    confusion = report["classification"]["confusion"]
    classes, counts = confusion["classes"], confusion["counts"]  # rows truth, columns prediction
    per_class = report["classification"]["per_class"]
    scores = []
    for group in groups:
        ids = [classes.index(c) for c in group]
        tp = sum(counts[r][c] for r in ids for c in ids)
        n_pred = sum(per_class[c]["tp"] + per_class[c]["fp"] for c in group)
        n_gt = sum(per_class[c]["tp"] + per_class[c]["fn"] for c in group)
        if n_pred + n_gt:
            scores.append(2 * tp / (n_pred + n_gt))
    return sum(scores) / len(scores) if scores else None
