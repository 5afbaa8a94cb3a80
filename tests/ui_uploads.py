"""The files the browser test uploads: two marker slides (one under a name that is not
Latin-1), a PNG the upload refuses, and a greyscale scan whose job fails with its reason."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image

from tests.served import run

# Not Latin-1, so a browser cannot send it in a plain header (see putSlide in the UI).
UNICODE_NAME = "Präparat_срез №2.tiff"


def write_uploads(tmp: Path, tps: Path, env: dict[str, str]) -> tuple[Path, Path, Path, Path]:
    """(a markers slide of 1500 x 1200, another under UNICODE_NAME, a PNG, a grey slide)."""
    slides = []
    for seed in (1, 2):
        out = tmp / f"slide-{seed}.tiff"
        run(tps, "synth", "slide", "--style", "markers", "--width", "1500", "--height", "1200",
            "--tps", "30", "--seed", str(seed), "--out", out, env=env)
        slides.append(out)
    other = tmp / "upload" / UNICODE_NAME
    other.parent.mkdir()
    shutil.copyfile(slides[1], other)
    png = tmp / "upload" / "notes.png"
    Image.new("RGB", (8, 8), (255, 255, 255)).save(png)
    grey = tmp / "grey.tiff"
    grey_pixels = np.full((512, 512, 3), 235, np.uint8)
    grey_pixels[100:400, 100:400] = np.random.default_rng(0).integers(60, 140, (300, 300, 1))
    tifffile.imwrite(grey, grey_pixels, tile=(256, 256), photometric="rgb", compression="zlib",
                     resolution=(20000.0, 20000.0), resolutionunit="CENTIMETER")
    return slides[0], other, png, grey
