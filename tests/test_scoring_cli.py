from __future__ import annotations

import csv
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import scoring.pipeline
import scoring.region_detect
from scoring.errors import SlideError
from scoring.output_folders import STALE_AFTER_S
from tests.marker_model import build_marker_model
from tests.worker_slide_fixture import markers_image, write_pyramid_tiff
from tps.cli import main

ScoreSlide = Callable[..., dict[str, Any]]


@pytest.fixture(scope="module")
def marker_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_marker_model(tmp_path_factory.mktemp("model") / "markers.onnx")


def _good_slide(path: Path, seed: int = 4) -> tuple[Path, int]:
    """A small scorable slide and its true number of cells."""
    image, truth = markers_image(600, 500, seed=seed, tissue_box=(32, 32, 570, 470))
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_pyramid_tiff(path, image, mpp=0.5), len(truth)


def _failing_for(name: str, exc: BaseException,
                 monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Make score_slide, for the slide called `name` only, leave a half-written file and a
    half-drawn progress line and then raise exc; returns the out_dirs it was given."""
    real: ScoreSlide = scoring.pipeline.score_slide
    given: list[Path] = []

    def score_slide(slide: Path, out_dir: Path, *args: Any, **kwargs: Any) -> dict[str, Any]:
        given.append(out_dir)
        if slide.name != name:
            return real(slide, out_dir, *args, **kwargs)
        (out_dir / "cells.bin").write_bytes(b"half")
        kwargs["progress"](1, 3)
        raise exc

    monkeypatch.setattr(scoring.pipeline, "score_slide", score_slide)
    return given


def _error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if ": error: " in line]


def _score(out: Path, model: Path, *slides: Path, extra: tuple[str, ...] = ()) -> int:
    return main(["score", *map(str, slides), "--model", str(model), "--out", str(out), *extra])


def test_score_reports_bad_files_and_still_scores_the_next(
        marker_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    good, cells = _good_slide(tmp_path / "good.tiff")
    data = good.read_bytes()
    (tmp_path / "cut.tiff").write_bytes(data[: len(data) // 4])
    (tmp_path / "text.svs").write_text("not a slide")
    (tmp_path / "boom.tiff").write_bytes(data)
    given = _failing_for("boom.tiff", MemoryError("no room for tile 7"), monkeypatch)
    slides = [tmp_path / "text.svs", tmp_path / "cut.tiff", tmp_path / "absent.ndpi",
              tmp_path / "boom.tiff", good]
    code = _score(tmp_path / "out", marker_model, *slides)
    out, err = capsys.readouterr()
    assert code == 1
    errors = _error_lines(err)
    assert len(errors) == 4 and "Traceback" not in err
    for name, line in zip(("text.svs", "cut.tiff", "absent.ndpi", "boom.tiff"), errors):
        assert line.startswith(f"{name}: error: ") and line.count(name) == 1, line
    assert errors[2] == "absent.ndpi: error: no such file"
    assert errors[3] == "boom.tiff: error: unexpected MemoryError: no room for tile 7"
    assert "boom.tiff  1/3 tiles" in err  # the progress line was ended before the error line
    assert "good.tiff  " in err and "tiles" in err and "ETA" in err
    assert err.splitlines()[-1] == "1 scored, 4 failed"
    assert out.startswith("good.tiff: TPS ") and len(out.splitlines()) == 1
    assert out.rstrip().endswith(f"-> {tmp_path / 'out' / 'good'}")
    result = json.loads((tmp_path / "out" / "good" / "result.json").read_text())
    assert sum(result["counts"].values()) == cells
    # Every slide was scored into a hidden staging folder; only the good one was published.
    assert all(d.parent == tmp_path / "out" and d.name.startswith(".") for d in given)
    assert sorted(os.listdir(tmp_path / "out")) == ["good"]


def test_debug_adds_the_traceback(
        marker_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    good, _ = _good_slide(tmp_path / "good.tiff")
    (tmp_path / "boom.tiff").write_bytes(good.read_bytes())
    _failing_for("boom.tiff", RuntimeError("a bug"), monkeypatch)
    code = _score(tmp_path / "out", marker_model, tmp_path / "boom.tiff", good,
                  extra=("--debug",))
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback (most recent call last)" in err and "RuntimeError: a bug" in err
    assert _error_lines(err) == ["boom.tiff: error: unexpected RuntimeError: a bug"]
    assert err.splitlines()[-1] == "1 scored, 1 failed"
    assert sorted(os.listdir(tmp_path / "out")) == ["good"]


def test_a_message_that_starts_with_the_slide_name_names_it_once(
        marker_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    slide = tmp_path / "x.tiff"
    slide.write_bytes(b"")
    _failing_for("x.tiff", SlideError("x.tiff: corrupt or truncated\nslide (tile 3)"),
                 monkeypatch)
    assert _score(tmp_path / "out", marker_model, slide) == 1
    err = capsys.readouterr().err
    assert _error_lines(err) == ["x.tiff: error: corrupt or truncated slide (tile 3)"]
    assert err.splitlines()[-1] == "0 scored, 1 failed"
    assert os.listdir(tmp_path / "out") == []


def test_ctrl_c_still_stops_the_batch_and_leaves_no_staging_folder(
        marker_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good, _ = _good_slide(tmp_path / "good.tiff")
    (tmp_path / "first.tiff").write_bytes(good.read_bytes())
    given = _failing_for("first.tiff", KeyboardInterrupt(), monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        _score(tmp_path / "out", marker_model, tmp_path / "first.tiff", good)
    assert len(given) == 1  # good.tiff was never started
    assert os.listdir(tmp_path / "out") == []


def test_inputs_with_one_stem_get_a_folder_each(
        marker_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first, cells_a = _good_slide(tmp_path / "a" / "case.tiff", seed=4)
    second, cells_b = _good_slide(tmp_path / "b" / "case.tiff", seed=6)
    assert cells_a != cells_b
    out_root = tmp_path / "out"
    assert _score(out_root, marker_model, first, second) == 0
    out, err = capsys.readouterr()
    assert err.splitlines()[-1] == "2 scored, 0 failed"
    lines = out.splitlines()
    assert lines[0].endswith(f"-> {out_root / 'case'}")
    assert lines[1].endswith(f"-> {out_root / 'case-2'}")
    for folder, cells in (("case", cells_a), ("case-2", cells_b)):
        result = json.loads((out_root / folder / "result.json").read_text())
        assert sum(result["counts"].values()) == cells
    assert sorted(os.listdir(out_root)) == ["case", "case-2"]


def test_a_second_run_does_not_overwrite_the_first(
        marker_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good, _ = _good_slide(tmp_path / "good.tiff")
    out_root = tmp_path / "out"
    assert _score(out_root, marker_model, good) == 0
    first = {p.name: (p.read_bytes(), p.stat().st_mtime_ns)
             for p in (out_root / "good").iterdir()}
    assert "result.json" in first
    (out_root / "good-2").write_text("not a folder, but the name is taken all the same")
    capsys.readouterr()
    assert _score(out_root, marker_model, good) == 0
    assert capsys.readouterr().out.rstrip().endswith(f"-> {out_root / 'good-3'}")
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns)
            for p in (out_root / "good").iterdir()} == first
    assert (out_root / "good-3" / "result.json").is_file()
    assert sorted(os.listdir(out_root)) == ["good", "good-2", "good-3"]


def test_a_killed_runs_staging_folder_goes_once_a_day_old(
        marker_model: Path, tmp_path: Path) -> None:
    out_root = tmp_path / "out"
    stale, fresh = out_root / ".old.partial-0123abcd", out_root / ".new.partial-4567cdef"
    hidden_user_folder = out_root / ".keep"
    for folder in (stale, fresh, hidden_user_folder):
        folder.mkdir(parents=True)
        (folder / "cells.bin").write_bytes(b"half")
    long_ago = time.time() - STALE_AFTER_S - 60
    for folder in (stale, hidden_user_folder):
        os.utime(folder, (long_ago, long_ago))
    assert _score(out_root, marker_model, tmp_path / "absent.tiff") == 1
    assert sorted(os.listdir(out_root)) == [".keep", ".new.partial-4567cdef"]


def test_score_all_good_exits_zero_and_missing_mpp_says_so(
        marker_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image, _ = markers_image(300, 300, seed=5, tissue_box=(0, 0, 300, 300))
    slide = write_pyramid_tiff(tmp_path / "nompp.tiff", image, mpp=None)
    args = ["score", str(slide), "--model", str(marker_model), "--out", str(tmp_path / "o")]
    assert main(args) == 1
    assert "--mpp" in capsys.readouterr().err
    assert main([*args, "--mpp", "0.5"]) == 0


def test_detect_writes_one_row_per_cell(marker_model: Path, tmp_path: Path) -> None:
    image = np.full((64, 64, 3), (175, 180, 205), np.uint8)
    image[19:22, 36:39] = (255, 0, 0)
    Image.fromarray(image).save(tmp_path / "a.png")
    (tmp_path / "b.png").write_text("not an image")
    out = tmp_path / "cells.csv"
    code = main(["detect", str(tmp_path / "a.png"), str(tmp_path / "b.png"), "--model",
                 str(marker_model), "--mpp", "0.5", "--out", str(out)])
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert code == 1
    assert [(r["x"], r["y"], r["class"]) for r in rows] == [("37.00", "20.00", "tumor_pos")]


def test_detect_goes_on_after_an_unexpected_error(
        marker_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    image = np.full((64, 64, 3), (175, 180, 205), np.uint8)
    image[19:22, 36:39] = (255, 0, 0)
    for name in ("boom.png", "a.png"):
        Image.fromarray(image).save(tmp_path / name)
    real = scoring.region_detect.detect_region
    calls = 0

    def detect_region(*args: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise IndexError("a bug")
        return real(*args)

    monkeypatch.setattr(scoring.region_detect, "detect_region", detect_region)
    out = tmp_path / "cells.csv"
    code = main(["detect", str(tmp_path / "boom.png"), str(tmp_path / "a.png"), "--model",
                 str(marker_model), "--mpp", "0.5", "--out", str(out)])
    err = capsys.readouterr().err
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert code == 1 and "Traceback" not in err
    assert _error_lines(err) == [f"{tmp_path / 'boom.png'}: error: unexpected IndexError: a bug"]
    assert f"{tmp_path / 'a.png'}: 1 cells" in err
    assert [(Path(r["image"]).name, r["class"]) for r in rows] == [("a.png", "tumor_pos")]


@pytest.mark.parametrize(("flags", "expected"), [
    ({"not_ihc": True, "no_tumor_cells": False}, "x.svs: TPS withheld (the stain is not IHC)"),
    ({"not_ihc": False, "no_tumor_cells": True}, "x.svs: TPS undefined (no tumour cells)"),
])
def test_a_missing_score_says_why(flags: dict[str, bool], expected: str, tmp_path: Path) -> None:
    from scoring.cli import summary_line

    result = {"tps": None, "tps_ci95": None, "category": None, "flags": flags,
              "counts": {"tumor_pos": 3, "tumor_neg": 1}, "tumor_cells": 4}
    assert summary_line("x.svs", result, tmp_path).startswith(expected)


def test_score_refuses_an_unknown_assay_or_bad_cutoffs_before_any_slide(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    slide = tmp_path / "never-read.tiff"
    for extra, needle in ((["--assay", "SP142"], "unknown assay 'SP142'"),
                          (["--cutoffs", "50", "1"], "cutoffs must increase")):
        code = main(["score", str(slide), "--out", str(tmp_path / "out"), *extra])
        err = capsys.readouterr().err
        assert code == 2 and needle in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_detect_by_the_stain_rule_into_a_folder_that_does_not_exist(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.test_scoring_stain_rule import _draw

    nuclei = [(30, 30, "H"), (80, 30, "D"), (130, 100, "D")]
    Image.fromarray(_draw(nuclei)).save(tmp_path / "drawn.png")
    out = tmp_path / "new" / "folder" / "cells.csv"
    code = main(["detect", "--method", "stain", str(tmp_path / "drawn.png"), "--mpp", "0.5",
                 "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert sorted((round(float(r["x"])), round(float(r["y"])), r["class"]) for r in rows) == [
        (30, 30, "tumor_neg"), (80, 30, "tumor_pos"), (130, 100, "tumor_pos")]
