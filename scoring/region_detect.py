"""Cells of one plain image (a region, not a slide): used by `tps detect` and model evaluation."""
from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np

from scoring.decode import DecodedCells, decode
from scoring.inference import get_runner
from scoring.resample import pad_to_multiple, resize_rgb, scaled_size, to_source_xy
from scoring.stain_rule import nucleus_dab
from scoring.views import run_views


def region_outputs(model_path: Path, image_rgb: np.ndarray, image_mpp: float
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The model's raw outputs on an (h, w, 3) uint8 RGB image taken at `image_mpp` um per
    pixel: (A, 2) anchor points in the image's own pixel frame, (A,) p_obj, (A, C) p_class
    (fused over the model's views, scoring.views, when it has more than one).

    The image is resampled to the model's mpp and padded to its input multiple; anchors in
    the padding are dropped.
    """
    if image_rgb.ndim != 3 or image_rgb.shape[2] != 3 or image_rgb.dtype != np.uint8:
        raise ValueError(f"expected an (h, w, 3) uint8 RGB image, got {image_rgb.shape} "
                         f"{image_rgb.dtype}")
    if image_mpp <= 0:
        raise ValueError(f"image_mpp must be positive, got {image_mpp}")
    runner = get_runner(Path(model_path))
    h, w = image_rgb.shape[:2]
    new_w, new_h = scaled_size(w, h, image_mpp / runner.info.mpp)
    resized = resize_rgb(image_rgb, new_w, new_h)
    padded = pad_to_multiple(resized, runner.info.input_multiple)
    points, p_obj, p_class = run_views(runner, padded[None])[0]
    inside = (points[:, 0] < new_w - 0.5) & (points[:, 1] < new_h - 0.5)  # (A,)
    xy = to_source_xy(points[inside], new_w / w, new_h / h)
    return xy, p_obj[inside], p_class[inside]


def detect_region(model_path: Path, image_rgb: np.ndarray, image_mpp: float,
                  threshold: float | None = None) -> DecodedCells:
    """Cells of an (h, w, 3) uint8 RGB image taken at `image_mpp` um per pixel, in the image's
    own pixel frame (see region_outputs), decoded as the engine decodes a slide's tiles."""
    info = get_runner(Path(model_path)).info
    xy, p_obj, p_class = region_outputs(model_path, image_rgb, image_mpp)
    return decode(xy, p_obj, p_class, info.threshold if threshold is None else threshold,
                  info.sign_call(), partial(nucleus_dab, image_rgb, mpp=image_mpp),
                  info.min_distance_px(image_mpp))
