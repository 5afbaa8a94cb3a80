"""crop-1.png ...: a few 512 x 512 px crops at the model's scale, read from the slide, every
call drawn, chosen where a reviewer should look (scoring.crop_candidates proposes, scoring.
crop_choice chooses). Listed in result.json as `review_crops`, in the order chosen."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from PIL import Image

from scoring.aggregate import Fragments, SlideCounts, TumorClassIds
from scoring.cell_marks import CellMarks, cell_marks, draw_marks
from scoring.cells import CELL_DTYPE, read_cells
from scoring.class_colors import class_colors
from scoring.crop_candidates import count_bins, crop_candidates
from scoring.crop_choice import CropCandidate, choose_crops
from scoring.model_info import ModelInfo
from scoring.resample import resize_rgb
from scoring.slide_images import save_png
from scoring.slide_info import SlideInfo
from scoring.tissue_mask import TissueMask

CROP_PX = 512  # crop edge in pixels at the model's mpp


class RegionReader(Protocol):
    """What a crop needs of an open slide (scoring.slide_reader.SlideReader is one)."""

    level_downsamples: tuple[float, ...]

    def best_level(self, downsample: float) -> int: ...

    def read_rgb(self, level: int, x0: int, y0: int, width: int, height: int) -> np.ndarray: ...


def crop_side(model_mpp: float, slide_mpp: float) -> int:
    """Level-0 pixels along a crop's edge."""
    return max(1, round(CROP_PX * model_mpp / slide_mpp))


def crop_file(number: int) -> str:
    return f"crop-{number}.png"


def read_crop(reader: RegionReader, x0: int, y0: int, side: int) -> np.ndarray:
    """(CROP_PX, CROP_PX, 3) uint8: level-0 square (x0, y0, side) read from the finest level
    that is not coarser than the crop, resized to CROP_PX."""
    level = reader.best_level(side / CROP_PX)
    level_side = max(1, math.ceil(side / reader.level_downsamples[level]))
    return resize_rgb(reader.read_rgb(level, x0, y0, level_side, level_side), CROP_PX, CROP_PX)


def crop_pixel(level0: np.ndarray, origin: int, side: int) -> np.ndarray:
    """Crop pixel index of level-0 pixel-centre coordinates (not clipped)."""
    return np.floor((level0 + 0.5 - origin) * (CROP_PX / side)).astype(np.int64)


def cells_in_crops(cells_path: Path, crops: list[CropCandidate], side: int,
                   margin: float) -> list[np.ndarray]:
    """Per crop, the cells within `margin` level-0 pixels of it, in one streaming pass."""
    found: list[list[np.ndarray]] = [[] for _ in crops]
    for chunk in read_cells(cells_path):
        for held, crop in zip(found, crops):
            x, y = chunk["x"], chunk["y"]
            near = ((x >= crop.x - margin) & (x < crop.x + side + margin)
                    & (y >= crop.y - margin) & (y < crop.y + side + margin))
            if near.any():
                held.append(chunk[near])
    return [np.concatenate(held) if held else np.zeros(0, CELL_DTYPE) for held in found]


def draw_crop(rgb: np.ndarray, cells: np.ndarray, crop: CropCandidate, side: int,
              colours: np.ndarray, marks: CellMarks) -> np.ndarray:
    image = rgb.copy()
    rows, cols = crop_pixel(cells["y"], crop.y, side), crop_pixel(cells["x"], crop.x, side)
    draw_marks(image, rows, cols, colours[cells["cls"]], marks)
    return image


def write_review_crops(out_dir: Path, cells_path: Path, reader: RegionReader, slide: SlideInfo,
                       model: ModelInfo, counts: SlideCounts, fragments: Fragments,
                       tissue: TissueMask, cutoffs: tuple[float, ...]) -> list[dict[str, Any]]:
    """Write crop-1.png ... into out_dir; return their `review_crops` entries. `reader` is
    the slide, still open; `slide` its facts (the mpp as scored)."""
    side = crop_side(model.mpp, slide.mpp)
    tumor = TumorClassIds.from_model(model)
    bins = count_bins(cells_path, slide, tumor, side)
    candidates = crop_candidates(bins, slide, side, counts, fragments, tissue, tumor, cutoffs)
    crops = choose_crops(candidates, side)
    marks = cell_marks(model.mpp)  # a crop pixel is model.mpp um
    margin = marks.width_px * side / CROP_PX  # calls just outside still show their edge
    colours = np.array(class_colors(model.classes), np.uint8)
    entries = []
    for number, (crop, cells) in enumerate(
            zip(crops, cells_in_crops(cells_path, crops, side, margin)), start=1):
        image = draw_crop(read_crop(reader, crop.x, crop.y, side), cells, crop, side, colours,
                          marks)
        save_png(Image.fromarray(image), out_dir / crop_file(number))
        entries.append({"file": crop_file(number), "x": crop.x, "y": crop.y, "size_px": side,
                        "reason": crop.reason})
    return entries
