"""The int8 variant of a model, run on the CPU in its place only when it was checked to agree.

`tps quantize` (model/quantize.py) writes `NAME.int8.onnx` beside `NAME.onnx`. Its metadata
names the sha256 of the float model it was made from (`tps.int8_of`) and what the check on
annotated real images measured for both (`tps.int8_check`). The engine uses the variant only
when both hold: a variant left from an older float model, or one that lost accuracy, is
ignored with a log line, and the float model runs.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import onnx

log = logging.getLogger(__name__)

SUFFIX = ".int8.onnx"
SOURCE_KEY = "tps.int8_of"
CHECK_KEY = "tps.int8_check"
# The figures compared and how far the int8 model may move each: detection F1 and the
# positive/negative tumour F1, as `tps evaluate` measures them (model/evaluation.py).
CHECKED_FIGURES = ("detection_f1", "pos_neg_f1")
MAX_F1_CHANGE = 0.01


def variant_path(model_path: Path) -> Path:
    return model_path.with_name(model_path.name.removesuffix(".onnx") + SUFFIX)


def check_holds(check: dict[str, dict[str, float]]) -> bool:
    """Whether every checked figure of the int8 model is within MAX_F1_CHANGE of the float's."""
    try:
        changes = [abs(check["int8"][k] - check["float"][k]) for k in CHECKED_FIGURES]
    except (KeyError, TypeError):
        return False
    return max(changes) <= MAX_F1_CHANGE


def cpu_variant(model_path: Path, model_sha256: str) -> Path | None:
    """The checked int8 variant of `model_path`, or None when there is none fit to use."""
    path = variant_path(model_path)
    if not path.is_file():
        return None
    try:
        proto = onnx.load(str(path), load_external_data=False)
        meta = {p.key: p.value for p in proto.metadata_props}
        check = json.loads(meta.get(CHECK_KEY, "{}"))
    except Exception as exc:  # noqa: BLE001 - onnx raises several unrelated types for a bad file
        log.warning("ignoring %s: unreadable (%s)", path.name, exc)
        return None
    if meta.get(SOURCE_KEY) != model_sha256:
        log.warning("ignoring %s: made from another version of %s", path.name, model_path.name)
        return None
    if not check_holds(check):
        log.info("ignoring %s: its check on real images did not hold (%s)", path.name, check)
        return None
    return path
