"""Open a whole-slide image with OpenSlide and read RGB regions; every failure is a SlideError."""
from __future__ import annotations

import hashlib
from pathlib import Path
from types import TracebackType
from typing import Self

import numpy as np
import openslide

from scoring.errors import MissingMppError, SlideError
from scoring.slide_info import SlideInfo, StoredSlide
from scoring.slide_probe import mpp_from_properties, vendor_of

HASH_CHUNK = 1 << 22
# Where a lab can give the microns per pixel of a slide that states none.
MPP_HINT = ("give it with \"mpp\" in the job request (API) or with --mpp (tps score)")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(HASH_CHUNK):
            digest.update(block)
    return digest.hexdigest()


class SlideReader:
    """A slide opened for reading; thread-safe for concurrent reads (OpenSlide is).

    `stored` carries what the upload already measured (sha256, mpp), so a job neither hashes the
    file again nor derives its mpp by a second reading; without it (`tps score`) both come from
    the file. `mpp_override` wins over either.
    """

    def __init__(self, path: Path, mpp_override: float | None = None,
                 stored: StoredSlide | None = None) -> None:
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
        stated = stored.mpp if stored is not None else mpp_from_properties(props)
        mpp = mpp_override if mpp_override is not None else stated
        if mpp is None or mpp <= 0:
            self._slide.close()
            raise MissingMppError(f"{path.name}: the slide states no microns per pixel; "
                                  + MPP_HINT)
        width, height = self._slide.dimensions
        sha256 = stored.sha256 if stored is not None else file_sha256(path)
        self.info = SlideInfo(path=path, sha256=sha256, width=width, height=height,
                              mpp=float(mpp), vendor=vendor_of(props))
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
