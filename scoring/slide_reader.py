"""Open a whole-slide image with OpenSlide and read RGB regions; every failure is a SlideError."""
from __future__ import annotations

import hashlib
from pathlib import Path
from types import TracebackType
from typing import Self

import numpy as np
import openslide

from scoring.errors import MissingMppError, SlideError
from scoring.slide_info import SlideInfo

# tiff.ResolutionUnit values openslide reports, as microns per unit.
RESOLUTION_UNIT_UM = {"centimeter": 10_000.0, "inch": 25_400.0}
HASH_CHUNK = 1 << 22


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(HASH_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _mpp_from_properties(props: dict[str, str]) -> float | None:
    if "openslide.mpp-x" in props:
        mpp = float(props["openslide.mpp-x"])
        return mpp if mpp > 0 else None
    # Generic TIFFs often carry only resolution tags.
    unit = RESOLUTION_UNIT_UM.get(props.get("tiff.ResolutionUnit", ""))
    x_res = float(props.get("tiff.XResolution", "0") or 0)
    if unit is not None and x_res > 0:
        return unit / x_res
    return None


class SlideReader:
    """A slide opened for reading; thread-safe for concurrent reads (OpenSlide is)."""

    def __init__(self, path: Path, mpp_override: float | None = None) -> None:
        if not path.is_file():
            raise SlideError(f"{path.name}: no such file")
        try:
            vendor = openslide.OpenSlide.detect_format(str(path))
        except openslide.OpenSlideError as exc:
            raise SlideError(f"{path.name}: unreadable ({exc})") from exc
        if vendor is None:
            raise SlideError(f"{path.name}: not a slide format OpenSlide reads "
                             "(SVS, NDPI, MRXS, SCN, tiled TIFF, DICOM)")
        try:
            self._slide = openslide.OpenSlide(str(path))
        except openslide.OpenSlideError as exc:
            raise SlideError(f"{path.name}: corrupt or truncated {vendor} slide ({exc})") from exc
        props = dict(self._slide.properties)
        mpp = mpp_override if mpp_override is not None else _mpp_from_properties(props)
        if mpp is None or mpp <= 0:
            self._slide.close()
            raise MissingMppError(f"{path.name}: the slide states no microns per pixel; "
                                  "give it with --mpp")
        width, height = self._slide.dimensions
        self.info = SlideInfo(path=path, sha256=file_sha256(path), width=width, height=height,
                              mpp=float(mpp), vendor=props.get("openslide.vendor", vendor))
        self.level_downsamples: tuple[float, ...] = tuple(self._slide.level_downsamples)
        self.level_dimensions: tuple[tuple[int, int], ...] = tuple(self._slide.level_dimensions)

    def best_level(self, downsample: float) -> int:
        """The coarsest level that is still at least as fine as `downsample`."""
        fine_enough = [i for i, d in enumerate(self.level_downsamples) if d <= downsample * 1.001]
        return max(fine_enough, key=lambda i: self.level_downsamples[i], default=0)

    def read_rgb(self, level: int, x0: int, y0: int, width: int, height: int) -> np.ndarray:
        """(height, width, 3) uint8 RGB at `level`, origin in level-0 pixels; glass outside."""
        try:
            rgba = np.asarray(self._slide.read_region((x0, y0), level, (width, height)))
        except openslide.OpenSlideError as exc:
            raise SlideError(f"{self.info.path.name}: corrupt or truncated image data "
                             f"({exc})") from exc
        alpha = rgba[..., 3:4].astype(np.uint16)
        if (alpha == 255).all():
            return np.ascontiguousarray(rgba[..., :3])
        # Outside the scanned area OpenSlide returns transparent pixels; show them as glass.
        rgb = (rgba[..., :3] * alpha + 255 * (255 - alpha) + 127) // 255
        return rgb.astype(np.uint8)

    def close(self) -> None:
        self._slide.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
