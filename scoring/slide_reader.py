"""Open a whole-slide image with OpenSlide and read RGB regions; every failure is a SlideError."""
from __future__ import annotations

import hashlib
from pathlib import Path
from types import TracebackType
from typing import Self

import numpy as np
import openslide

from scoring.errors import DamagedSlide, MissingMppError, SlideError, UnscorableSlide
from scoring.file_kind import file_kind, is_slide_container, refusal
from scoring.intake import dimension_problem, mpp_problem
from scoring.slide_info import SlideInfo, StoredSlide
from scoring.slide_probe import mpp_from_properties, vendor_of

HASH_CHUNK = 1 << 22
# Where a lab can give the microns per pixel of a slide that states none.
MPP_HINT = ("give it with \"mpp\" in the job request (API) or with --mpp (tps score)")


def file_sha256(path: Path) -> str:
    """sha256 of the file; of a DICOM series folder, of its files' names and bytes in name
    order, so the same series always has the same digest."""
    digest = hashlib.sha256()
    files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(file.name.encode() + b"\0")
        with open(file, "rb") as f:
            while block := f.read(HASH_CHUNK):
                digest.update(block)
    return digest.hexdigest()


def dicom_instance(folder: Path) -> Path:
    """The file to open for a DICOM WSI series folder: OpenSlide finds the other instances of
    the series beside any one of them."""
    for candidate in sorted(p for p in folder.iterdir() if p.is_file()):
        if file_kind(candidate) == "dicom":
            return candidate
    raise SlideError(f"the folder {folder.name} holds no DICOM file; give a slide file or a "
                     "DICOM WSI series folder")


def _detail(exc: Exception, path: Path) -> str:
    """OpenSlide's reason without the file's path: the server's storage path means nothing to
    a lab, and the caller names the slide."""
    text = str(exc).replace(str(path), "").replace(path.name, "")
    return text.strip(" :") or type(exc).__name__


def open_slide(path: Path) -> openslide.OpenSlide:
    """Open with OpenSlide; every refusal names what the file is and what to do about it."""
    if path.is_dir():
        path = dicom_instance(path)
    if not path.is_file():
        raise SlideError("no such file")
    if path.stat().st_size == 0:
        raise DamagedSlide("the file is empty (0 bytes); copy it again")
    kind = file_kind(path)
    error = DamagedSlide if is_slide_container(kind) else SlideError
    try:
        vendor = openslide.OpenSlide.detect_format(str(path))
    except openslide.OpenSlideError as exc:
        raise error(refusal(kind, _detail(exc, path))) from exc
    if vendor is None:
        raise error(refusal(kind))
    try:
        return openslide.OpenSlide(str(path))
    except openslide.OpenSlideError as exc:
        if is_slide_container(kind):
            raise DamagedSlide(refusal(kind, _detail(exc, path))) from exc
        raise DamagedSlide(f"the {vendor} slide is damaged or incomplete "
                           f"({_detail(exc, path)}); copy it "
                           "again, with every file that belongs to it") from exc


def _slide_info(slide: openslide.OpenSlide, path: Path, mpp_override: float | None,
                stored: StoredSlide | None) -> SlideInfo:
    width, height = slide.dimensions
    problem = dimension_problem(width, height)
    if problem is not None:
        raise UnscorableSlide(problem)
    props = dict(slide.properties)
    mpp: float | None
    if mpp_override is not None:
        mpp, source = mpp_override, "the mpp given"
    elif stored is not None:
        mpp, source = stored.mpp, "the slide file"
    else:
        mpp, source = mpp_from_properties(props), "the slide file"
    if mpp is None:
        raise MissingMppError("the slide states no microns per pixel; " + MPP_HINT)
    problem = mpp_problem(mpp, source)
    if problem is not None:
        raise UnscorableSlide(problem)
    sha256 = stored.sha256 if stored is not None else file_sha256(path)
    return SlideInfo(path=path, sha256=sha256, width=width, height=height, mpp=float(mpp),
                     vendor=vendor_of(props))


class SlideReader:
    """A slide opened for reading; thread-safe for concurrent reads (OpenSlide is).

    `stored` carries what the upload already measured (sha256, mpp), so a job neither hashes the
    file again nor derives its mpp by a second reading; without it (`tps score`) both come from
    the file. `mpp_override` wins over either.
    """

    def __init__(self, path: Path, mpp_override: float | None = None,
                 stored: StoredSlide | None = None) -> None:
        self._slide = open_slide(path)
        try:
            self.info = _slide_info(self._slide, path, mpp_override, stored)
        except BaseException:
            self._slide.close()
            raise
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
            raise DamagedSlide(refusal("tiff" if self.info.vendor != "dicom" else "dicom",
                                       f"image data unreadable: {exc}")) from exc
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
