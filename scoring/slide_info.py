"""What the worker reports about a slide. No PHI: no label, macro, filename or dates."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SlideInfo:
    path: Path
    sha256: str
    width: int  # level-0 pixels
    height: int
    mpp: float  # level-0 microns per pixel, after any --mpp override
    vendor: str


@dataclass(frozen=True)
class StoredSlide:
    """What the upload measured of a slide, handed to its job so it is not measured again."""

    sha256: str
    mpp: float | None  # None: the file states none, and the job must give one
