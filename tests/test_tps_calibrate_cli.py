"""tps calibrate on synthetic tiles with the bundled model: the chosen threshold makes the
predicted positive share at least as close to the annotated one as the argmax is."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from scoring.bundled_model import bundled_model_path
from scoring.model_info import ModelInfo
from tps.cli import main


def _calibrate(data: Path, out: Path, *options: str) -> int:
    """`tps calibrate` of the bundled model on `data` into `out`."""
    return main(["calibrate", "--model", str(bundled_model_path()), "--data", str(data),
                 "--out", str(out), *options])


def test_the_threshold_brings_the_positive_share_to_the_truth(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from synth.tiles import write_tiles

    write_tiles(tmp_path / "tiles", count=8, size=256, seed=0)
    out = tmp_path / "calibrated.onnx"
    code = _calibrate(tmp_path / "tiles" / "points.csv", out)
    printed = capsys.readouterr().out
    assert code == 0, printed
    line = re.search(r"true positive share ([\d.]+), predicted ([\d.]+) at 0.5, "
                     r"([\d.]+) at ([\d.]+)", printed)
    assert line is not None, printed
    truth, at_argmax, at_chosen, threshold = map(float, line.groups())
    assert abs(at_chosen - truth) <= abs(at_argmax - truth)
    assert ModelInfo.from_onnx(out).positive_threshold == pytest.approx(threshold)
    bundled = ModelInfo.from_onnx(bundled_model_path())
    assert ModelInfo.from_onnx(out).classes == bundled.classes


def test_a_missing_model_is_one_clear_line(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["calibrate", "--model", str(tmp_path / "absent.onnx"), "--data",
                 str(tmp_path / "points.csv"), "--out", str(tmp_path / "x.onnx")])
    assert code == 2 and "model file not found" in capsys.readouterr().err


def test_a_margin_is_written_and_widens_the_reported_interval(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from synth.tiles import write_tiles

    write_tiles(tmp_path / "tiles", count=2, size=256, seed=0)
    out = tmp_path / "calibrated.onnx"
    code = _calibrate(tmp_path / "tiles" / "points.csv", out, "--tps-margin", "4.5")
    assert code == 0 and "tps_margin 4.5" in capsys.readouterr().out
    assert ModelInfo.from_onnx(out).tps_margin == 4.5


def test_a_margin_out_of_range_is_refused(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    code = _calibrate(tmp_path / "points.csv", tmp_path / "x.onnx", "--tps-margin", "-1")
    assert code == 2 and "--tps-margin must be TPS points" in capsys.readouterr().err
    assert not (tmp_path / "x.onnx").exists()


def test_a_nucleus_floor_is_applied_while_choosing_and_written_with_the_version(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from synth.tiles import write_tiles

    write_tiles(tmp_path / "tiles", count=2, size=256, seed=0)
    tiles = tmp_path / "tiles" / "points.csv"
    assert _calibrate(tiles, tmp_path / "plain.onnx") == 0
    plain = capsys.readouterr().out
    out = tmp_path / "floored.onnx"
    # synthetic nuclei carry almost no DAB, so a floor this low calls many of them positive
    assert _calibrate(tiles, out, "--positive-nucleus-dab", "0.001",
                      "--min-distance-um", "2.5", "--version", "9.9.9") == 0
    floored = capsys.readouterr().out
    share = r"predicted ([\d.]+) at 0.5"
    before = float(re.search(share, plain).group(1))  # type: ignore[union-attr]
    after = float(re.search(share, floored).group(1))  # type: ignore[union-attr]
    assert after > before
    assert "positive_nucleus_dab 0.001, min_distance_um 2.5, version 9.9.9" in floored
    info = ModelInfo.from_onnx(out)
    assert (info.positive_nucleus_dab, info.min_distance_um, info.version) == (0.001, 2.5,
                                                                               "9.9.9")
    assert info.sign_call() is not None and info.sign_call().nucleus_dab == 0.001  # type: ignore[union-attr]
    kept = ModelInfo.from_onnx(bundled_model_path()).positive_nucleus_dab  # not given: kept
    assert ModelInfo.from_onnx(tmp_path / "plain.onnx").positive_nucleus_dab == kept


def test_a_nucleus_floor_out_of_range_is_refused(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    code = _calibrate(tmp_path / "points.csv", tmp_path / "x.onnx",
                      "--positive-nucleus-dab", "0")
    assert code == 2
    assert "--positive-nucleus-dab must be an optical density" in capsys.readouterr().err
    assert not (tmp_path / "x.onnx").exists()


def test_views_and_a_detection_threshold_are_written_and_chosen_under(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from synth.tiles import write_tiles

    write_tiles(tmp_path / "tiles", count=2, size=256, seed=0)
    out = tmp_path / "views.onnx"
    code = _calibrate(tmp_path / "tiles" / "points.csv", out,
                      "--views", "4", "--view-radius-um", "5", "--threshold", "0.45")
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "views 4, view_radius_um 5, threshold 0.45" in printed
    info = ModelInfo.from_onnx(out)
    assert (info.views, info.view_radius_um, info.threshold) == (4, 5.0, 0.45)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiles", "views.onnx"]  # none staged


@pytest.mark.parametrize(("flag", "value", "said"), [
    ("--views", "3", "--views must be one of 1, 2, 4, 8"),
    ("--view-radius-um", "12", "--view-radius-um must be microns in [0, 10]"),
    ("--threshold", "1", "--threshold must lie strictly between 0 and 1")])
def test_a_view_or_threshold_out_of_range_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str, value: str,
        said: str) -> None:
    code = _calibrate(tmp_path / "points.csv", tmp_path / "x.onnx", flag, value)
    assert code == 2 and said in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_views_without_a_radius_are_refused_and_nothing_is_left(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from synth.tiles import write_tiles

    write_tiles(tmp_path / "tiles", count=1, size=256, seed=0)
    code = _calibrate(tmp_path / "tiles" / "points.csv", tmp_path / "x.onnx",
                      "--views", "8", "--view-radius-um", "0")
    assert code == 2 and "8 views need a view_radius_um" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiles"]
