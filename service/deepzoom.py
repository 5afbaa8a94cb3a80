"""Deep Zoom over a stored slide's main image (never its label or macro image), for a browser
viewer, with the last few slides kept open."""
from __future__ import annotations

import io
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openslide
from openslide.deepzoom import DeepZoomGenerator

from scoring.slide_reader import open_slide

TILE_SIZE = 254
OVERLAP = 1
FORMAT = "jpeg"
JPEG_QUALITY = 80
OPEN_SLIDES = 8


@dataclass(frozen=True)
class ZoomedSlide:
    slide: openslide.OpenSlide
    zoom: DeepZoomGenerator
    # Level-0 pixel of the Deep Zoom image's top-left corner: limit_bounds shows only the
    # scanned area of slides that state one (openslide.bounds-x/-y), else (0, 0).
    offset: tuple[int, int]


def _open(path: Path) -> ZoomedSlide:
    slide = open_slide(path)  # the engine's opener: a DICOM series is stored as a folder
    props = slide.properties
    offset = (int(props.get(openslide.PROPERTY_NAME_BOUNDS_X, 0)),
              int(props.get(openslide.PROPERTY_NAME_BOUNDS_Y, 0)))
    zoom = DeepZoomGenerator(slide, tile_size=TILE_SIZE, overlap=OVERLAP, limit_bounds=True)
    return ZoomedSlide(slide, zoom, offset)


class OpenSlides:
    """The `size` slides used last, by storage path. An evicted slide is not closed here: a
    request may still be reading it; OpenSlide closes it when its last reference goes."""

    def __init__(self, size: int = OPEN_SLIDES) -> None:
        self._size = size
        self._open: OrderedDict[Path, ZoomedSlide] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, path: Path) -> ZoomedSlide:
        with self._lock:
            found = self._open.get(path)
            if found is None:
                found = self._open[path] = _open(path)
                while len(self._open) > self._size:
                    self._open.popitem(last=False)
            else:
                self._open.move_to_end(path)
            return found


_SLIDES = OpenSlides()


def dzi(path: Path) -> str:
    """The Deep Zoom descriptor (XML) of the slide's main image."""
    text: str = _SLIDES.get(path).zoom.get_dzi(FORMAT)
    return text


def tile_jpeg(path: Path, level: int, col: int, row: int) -> bytes | None:
    """One Deep Zoom tile as JPEG; None when the level, column or row is out of range."""
    try:
        tile = _SLIDES.get(path).zoom.get_tile(level, (col, row))
    except ValueError:
        return None
    out = io.BytesIO()
    tile.convert("RGB").save(out, "JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def viewer_info(path: Path, mpp: float | None) -> dict[str, Any]:
    """What a viewer needs besides the DZI: the full-resolution size, the level-0 offset of
    its corner, the scale (um per level-0 pixel; null when the slide states none) and the
    tiling."""
    opened = _SLIDES.get(path)
    width, height = opened.zoom.level_dimensions[-1]
    return {"width": width, "height": height, "offset": list(opened.offset), "mpp": mpp,
            "tile_size": TILE_SIZE, "overlap": OVERLAP, "format": FORMAT,
            "level_count": opened.zoom.level_count}
