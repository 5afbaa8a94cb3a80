"""Annotated images loaded into memory at the model's resolution, ready for a Dataset."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from model.data.errors import DatasetError
from model.data.label_map import IGNORED_ID, LabelMap
from model.data.point_readers import AnnotatedImage, read_annotations
from scoring.resample import resize_rgb, scaled_size

# Scales this close to 1 are treated as exact: resampling would only blur.


@dataclass(frozen=True)
class PointSample:
    image: np.ndarray  # (H, W, 3) uint8 RGB
    xy: np.ndarray  # (N, 2) float32, pixel centres, x right, y down
    labels: np.ndarray  # (N,) int64 model class ids
    name: str


def load_samples(path: Path, label_map: LabelMap, data_format: str | None = None,
                 data_mpp: float | None = None, model_mpp: float | None = None) -> list[PointSample]:
    """Read a dataset, map its labels, drop ignored points, resample data_mpp -> model_mpp.

    With either mpp missing the images are kept at their own resolution.
    """
    annotated = read_annotations(path, data_format)
    if not annotated:
        raise DatasetError(f"no annotated images in {path}")
    samples = [to_sample(item, label_map) for item in annotated]
    if data_mpp is None or model_mpp is None:
        return samples
    if data_mpp <= 0 or model_mpp <= 0:
        raise DatasetError(f"mpp must be positive, got data {data_mpp}, model {model_mpp}")
    return [resample(sample, data_mpp / model_mpp) for sample in samples]


def to_sample(item: AnnotatedImage, label_map: LabelMap) -> PointSample:
    labels = label_map.class_ids(item.labels)
    keep = labels != IGNORED_ID
    return PointSample(read_rgb(item.image_path), item.xy[keep].astype(np.float32),
                       labels[keep], item.name)


def read_rgb(image_path: Path) -> np.ndarray:
    if not image_path.is_file():
        raise DatasetError(f"image not found: {image_path}")
    try:
        with Image.open(image_path) as image:
            return np.asarray(image.convert("RGB"))
    except OSError as exc:
        raise DatasetError(f"cannot read image {image_path}: {exc}") from exc


def resample(sample: PointSample, scale: float) -> PointSample:
    """Scale by `scale` (new px per old px), e.g. 0.25 um/px data for a 0.5 um/px model: 0.5.

    The pixel grid is scaled about pixel corners, so a pixel centre x maps to
    (x + 0.5) * s - 0.5 with s the exact per-axis ratio of the rounded sizes.
    """
    h, w = sample.image.shape[:2]
    # The engine's own resampling: training sees cells at the scale and blur that serving does.
    new_w, new_h = scaled_size(w, h, scale)
    if (new_w, new_h) == (w, h):
        return sample
    image = resize_rgb(sample.image, new_w, new_h)
    ratio = np.array([new_w / w, new_h / h], dtype=np.float64)
    xy = (sample.xy.astype(np.float64) + 0.5) * ratio - 0.5  # (N, 2)
    return PointSample(image, xy.astype(np.float32), sample.labels, sample.name)
