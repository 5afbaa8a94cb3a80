"""The engine runs NAME.int8.onnx on the CPU only when it was made from this very NAME.onnx and
its recorded check holds; anything else is ignored with a log line."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import onnx
import pytest

from scoring.quantized_variant import (
    CHECK_KEY,
    SOURCE_KEY,
    check_holds,
    cpu_variant,
    variant_path,
)
from tests.marker_model import build_marker_model

HOLDS = {"float": {"detection_f1": 0.770, "pos_neg_f1": 0.693},
         "int8": {"detection_f1": 0.761, "pos_neg_f1": 0.700}}


def test_the_check_allows_a_change_of_at_most_one_hundredth_either_way() -> None:
    assert check_holds(HOLDS)
    assert not check_holds(HOLDS | {"int8": {"detection_f1": 0.759, "pos_neg_f1": 0.693}})
    assert not check_holds(HOLDS | {"int8": {"detection_f1": 0.770, "pos_neg_f1": 0.704}})
    assert not check_holds({"float": HOLDS["float"]})  # nothing measured for int8
    assert not check_holds(HOLDS | {"int8": {"detection_f1": None, "pos_neg_f1": 0.693}})


def test_variant_sits_beside_its_model() -> None:
    assert variant_path(Path("/m/default.onnx")) == Path("/m/default.int8.onnx")


def _with_variant(tmp_path: Path, source_sha: str | None, check: object) -> Path:
    model = build_marker_model(tmp_path / "m.onnx")
    variant = variant_path(model)
    shutil.copy(model, variant)
    proto = onnx.load(str(variant))
    if source_sha is not None:
        proto.metadata_props.add(key=SOURCE_KEY, value=source_sha)
    proto.metadata_props.add(key=CHECK_KEY, value=json.dumps(check))
    onnx.save(proto, str(variant))
    return model


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_checked_variant_of_this_model_is_used(tmp_path: Path) -> None:
    model = _with_variant(tmp_path, None, HOLDS)
    assert cpu_variant(model, _sha(model)) is None  # no source recorded: not trusted
    model = _with_variant(tmp_path, _sha(tmp_path / "m.onnx"), HOLDS)
    assert cpu_variant(model, _sha(model)) == tmp_path / "m.int8.onnx"


def test_a_stale_or_failed_variant_is_ignored_and_said_so(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    model = _with_variant(tmp_path, "0" * 64, HOLDS)
    with caplog.at_level("INFO", logger="scoring.quantized_variant"):
        assert cpu_variant(model, _sha(model)) is None
        assert "made from another version of m.onnx" in caplog.text
        failed = HOLDS | {"int8": {"detection_f1": 0.70, "pos_neg_f1": 0.69}}
        model = _with_variant(tmp_path, _sha(tmp_path / "m.onnx"), failed)
        assert cpu_variant(model, _sha(model)) is None
        assert "did not hold" in caplog.text
    (tmp_path / "m.int8.onnx").write_bytes(b"broken")
    assert cpu_variant(model, _sha(model)) is None
    (tmp_path / "m.int8.onnx").unlink()
    assert cpu_variant(model, _sha(model)) is None
