"""The `tps synth` subcommands, run as a user would."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import openslide

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
