"""Cells of one plain image (a region, not a slide): used by `tps detect` and model evaluation."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from scoring.decode import DecodedCells, decode
from scoring.inference import get_runner
from scoring.resample import pad_to_multiple, resize_rgb, scaled_size, to_model_input, to_source_xy


def detect_region(model_path: Path, image_rgb: np.ndarray, image_mpp: float,
                  threshold: float | None = None) -> DecodedCells:
    """Run the model on an (h, w, 3) uint8 RGB image taken at `image_mpp` um per pixel.

    The image is resampled to the model's mpp and padded to its input multiple; the cells
    come back in the image's own pixel frame, and none lies in the padding.
    """
    if image_rgb.ndim != 3 or image_rgb.shape[2] != 3 or image_rgb.dtype != np.uint8:
        raise ValueError(f"expected an (h, w, 3) uint8 RGB image, got {image_rgb.shape} "
                         f"{image_rgb.dtype}")
    if image_mpp <= 0:
        raise ValueError(f"image_mpp must be positive, got {image_mpp}")
    runner = get_runner(Path(model_path))
    info = runner.info
    h, w = image_rgb.shape[:2]
    new_w, new_h = scaled_size(w, h, image_mpp / info.mpp)
    resized = resize_rgb(image_rgb, new_w, new_h)
    padded = pad_to_multiple(resized, info.input_multiple)
    points, p_obj, p_class = runner.run(to_model_input(padded[None]))
    cells = decode(points[0], p_obj[0], p_class[0],
                   info.threshold if threshold is None else threshold)
    inside = (cells.xy[:, 0] < new_w - 0.5) & (cells.xy[:, 1] < new_h - 0.5)
    cells = cells.select(inside)
    xy = to_source_xy(cells.xy, new_w / w, new_h / h)
    return DecodedCells(xy, cells.cls, cells.p_obj, cells.p_class)
