"""The `tps synth` subcommands, run as a user would."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import openslide
import pytest

TPS = Path(sys.executable).parent / "tps"


def test_synth_slide_and_tiles_commands(tmp_path: Path) -> None:
    slide = tmp_path / "s.tiff"
    done = subprocess.run(
        [str(TPS), "synth", "slide", "--out", str(slide), "--width", "1600", "--height", "1200",
         "--tps", "60", "--seed", "3", "--style", "markers", "--mpp", "0.25"],
        capture_output=True, text=True, check=True,
    )
    assert done.stdout.count("\n") == 1 and "markers" in done.stdout
    assert openslide.OpenSlide(slide).dimensions == (1600, 1200)
    assert (tmp_path / "s.truth.json").is_file() and (tmp_path / "s.cells.csv.gz").is_file()

    done = subprocess.run(
        [str(TPS), "synth", "tiles", "--out", str(tmp_path / "t"), "--count", "2",
         "--size", "128", "--seed", "1"],
        capture_output=True, text=True, check=True,
    )
    assert done.stdout.count("\n") == 1
    assert sorted(p.name for p in (tmp_path / "t" / "images").iterdir()) == ["0000.png", "0001.png"]

    done = subprocess.run(
        [str(TPS), "synth", "tiles", "--out", str(tmp_path / "he"), "--count", "1",
         "--size", "128", "--seed", "1", "--stain", "he"],
        capture_output=True, text=True, check=True,
    )
    labels = {line.rsplit(",", 1)[1] for line in
              (tmp_path / "he" / "points.csv").read_text().splitlines()[1:]}
    assert labels and labels <= {"tumor_neg", "nontumor_neg"}


def _synth(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(TPS), "synth", *args], capture_output=True, text=True, check=False)


def test_a_missing_output_folder_is_created(tmp_path: Path) -> None:
    slide = tmp_path / "missing" / "deeper" / "s.tiff"
    done = _synth("slide", "--out", str(slide), "--width", "600", "--height", "400",
                  "--tps", "30", "--style", "markers")
    assert done.returncode == 0, done.stderr
    assert slide.is_file() and (slide.parent / "s.truth.json").is_file()
    done = _synth("tiles", "--out", str(tmp_path / "t" / "u"), "--count", "1", "--size", "64")
    assert done.returncode == 0 and (tmp_path / "t" / "u" / "points.csv").is_file()
    done = _synth("figure", "--out", str(tmp_path / "f" / "grid.png"), "--synthetic-only")
    assert done.returncode == 0 and (tmp_path / "f" / "grid.png").is_file()


@pytest.mark.parametrize(("args", "code", "says"), [
    (("slide", "--out", "{tmp}", "--width", "300", "--height", "200", "--tps", "30"), 1,
     "is a folder; give a file name"),
    (("slide", "--out", "{tmp}/s.tiff", "--width", "300", "--height", "200", "--tps", "130"), 1,
     "tps must be within 0..100"),
    (("slide", "--out", "{tmp}/s.tiff", "--width", "300", "--height", "20", "--tps", "30"), 1,
     "at least 64 x 64 pixels"),
    (("slide", "--out", "{tmp}/s.tiff", "--width", "-3", "--height", "200", "--tps", "30"), 2,
     "argument --width: must be greater than 0"),
    (("slide", "--out", "{tmp}/file/s.tiff", "--width", "300", "--height", "200", "--tps", "30"),
     1, "cannot write"),
    (("tiles", "--out", "{tmp}/file", "--count", "1"), 1, "is a file; give a folder"),
    (("tiles", "--out", "{tmp}/t", "--count", "1", "--size", "0"), 2,
     "argument --size: must be greater than 0"),
    (("tiles", "--out", "{tmp}/t", "--count", "1", "--mpp", "0"), 2,
     "argument --mpp: must be greater than 0"),
    (("figure", "--out", "{tmp}", "--synthetic-only"), 1, "give an image file name"),
    (("figure", "--out", "{tmp}/f.png", "--real", "{tmp}/absent.png"), 1,
     "real tile not found"),
])
def test_a_users_mistake_is_one_line_without_a_traceback(
        tmp_path: Path, args: tuple[str, ...], code: int, says: str) -> None:
    (tmp_path / "file").write_text("a file where a folder is needed")
    done = _synth(*(a.replace("{tmp}", str(tmp_path)) for a in args))
    assert done.returncode == code and says in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    if code == 1:
        assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: ")
