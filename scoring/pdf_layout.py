"""Helpers for the PDF reports (scoring/pdf_report.py): fonts, text, pictures, the date, and
whether a model is the bundled demonstration.

Labels can be any Unicode, but the PDF core fonts are Latin-1 only. A Unicode TrueType font
found on this machine is used when there is one (DejaVu Sans from Debian's fonts-dejavu-core,
Noto Sans, Liberation Sans, FreeSans, Arial); a character that the font in use cannot draw is
printed as '?', so a report is never refused for its label.
"""
from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from fpdf import FPDF
from PIL import Image

from scoring.bundled_model import bundled_model_path

# (regular, bold) file names, best first; bold may be missing (the regular face is used).
_SANS = (("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"), ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf"),
         ("LiberationSans-Regular.ttf", "LiberationSans-Bold.ttf"),
         ("FreeSans.ttf", "FreeSansBold.ttf"), ("arial.ttf", "arialbd.ttf"),
         ("Arial.ttf", "Arial Bold.ttf"))
_FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts",
              "/Library/Fonts", "/System/Library/Fonts/Supplemental",
              os.path.join(os.environ.get("WINDIR", "C:/Windows"), "Fonts"))
_LATIN1 = frozenset([*range(0x20, 0x7F), *range(0xA0, 0x100)])
_PICTURE_DPI = 200  # pictures are resampled to this as printed: sharp, and pages stay small
_JPEG_QUALITY = 88  # with full-resolution colour: dots and legend text stay crisp, pages small
GREY = (110, 110, 110)


@dataclass(frozen=True)
class UnicodeFont:
    regular: Path
    bold: Path
    chars: frozenset[int]  # the code points both faces draw


@lru_cache(maxsize=1)
def find_unicode_font() -> UnicodeFont | None:
    """The first usable font of _SANS in the usual font folders, or None."""
    from fontTools.ttLib import TTFont  # fpdf2 depends on fontTools

    found: dict[str, Path] = {}
    for folder in _FONT_DIRS:
        for root, _dirs, names in os.walk(os.path.expanduser(folder)):
            for name in names:
                found.setdefault(name, Path(root) / name)
    for regular, bold in _SANS:
        if regular not in found:
            continue
        faces = (found[regular], found.get(bold, found[regular]))
        try:
            chars = frozenset.intersection(*(_code_points(TTFont, face) for face in faces))
        except Exception:  # noqa: BLE001, S112 - a damaged font file: try the next one
            continue
        if chars:
            return UnicodeFont(*faces, chars)
    return None


def _code_points(ttfont: Any, path: Path) -> frozenset[int]:
    with ttfont(path, lazy=True) as font:
        return frozenset(font.getBestCmap() or ())


class ReportPdf(FPDF):
    """A4 portrait, 15 mm margins, with one sans family and text cleaned for it."""

    def __init__(self, font: UnicodeFont | None) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(False)
        self.set_creator("pdl1-tps")
        self.set_image_filter("DCTDecode")  # JPEG bytes from _load pass through as they are
        if font is None:
            self.sans, self.chars = "helvetica", _LATIN1
        else:
            self.sans, self.chars = "tpssans", font.chars
            self.add_font(self.sans, "", font.regular)
            self.add_font(self.sans, "B", font.bold)

    def clean(self, text: object) -> str:
        """Text the font can draw: one line, any character it lacks as '?'."""
        flat = " ".join(str(text).split())
        return "".join(ch if ord(ch) in self.chars else "?" for ch in flat)

    def style(self, size: float, bold: bool = False,
              colour: tuple[int, int, int] = (0, 0, 0)) -> None:
        self.set_font(self.sans, "B" if bold else "", size)
        self.set_text_color(*colour)

    def fit(self, text: object, w: float) -> str:
        """Cleaned text, cut with '...' to fit the width w in the current font."""
        line = self.clean(text)
        if self.get_string_width(line) <= w - 2 * self.c_margin:
            return line
        while line and self.get_string_width(line + "...") > w - 2 * self.c_margin:
            line = line[:-1]
        return line + "..."

    def line_at(self, x: float, y: float, w: float, text: object, h: float = 5.0,
                align: str = "L") -> None:
        """One line of text in the box (w, h) at (x, y), cut to fit."""
        self.set_xy(x, y)
        self.cell(w, h, self.fit(text, w), align=align)

    def paragraph(self, x: float, y: float, w: float, text: object, h: float = 5.0) -> float:
        """Wrapped text from (x, y); returns the y below it."""
        self.set_xy(x, y)
        self.multi_cell(w, h, self.clean(text), align="L")
        return self.get_y()

    def picture(self, path: Path | None, x: float, y: float, w: float, h: float,
                caption: str) -> float:
        """An image fitted into the box (w, h), a caption under it, or a note that it is
        missing; returns the y below it."""
        box_h = h - 5
        image = _load(path, w, box_h)
        if image is None:
            self.set_draw_color(*GREY)
            self.rect(x, y, w, box_h)
            self.style(8, colour=GREY)
            self.line_at(x, y + box_h / 2 - 2.5, w, f"{caption}: not available", align="C")
            return y + h
        jpeg, (width, height) = image
        scale = min(w / width, box_h / height)
        iw, ih = width * scale, height * scale
        self.image(jpeg, x + (w - iw) / 2, y, iw, ih)
        self.set_draw_color(200, 200, 200)
        self.rect(x + (w - iw) / 2, y, iw, ih)
        self.style(7.5, colour=GREY)
        self.set_xy(x, y + ih + 0.5)
        self.multi_cell(w, 3.5, self.clean(caption)[:90], align="C")  # two lines at most
        return self.get_y() + 1


def _load(path: Path | None, w: float, h: float) -> tuple[io.BytesIO, tuple[int, int]] | None:
    """The picture as JPEG bytes at _PICTURE_DPI when fitted into (w, h) mm, and its size in
    pixels; None if it is missing or unreadable."""
    if path is None or not path.is_file():
        return None
    try:
        with Image.open(path) as opened:
            mm_per_px = min(w / opened.width, h / opened.height)
            side = max(opened.size) * mm_per_px / 25.4 * _PICTURE_DPI
            opened.thumbnail((round(side), round(side)), Image.Resampling.BOX)
            jpeg = io.BytesIO()
            opened.convert("RGB").save(jpeg, "JPEG", quality=_JPEG_QUALITY, subsampling=0)
            return jpeg, opened.size
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


@lru_cache(maxsize=4)
def _sha256(path: str, size: int, mtime_ns: int) -> str:  # size, mtime: a changed file rehashes
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_demonstration(result: dict[str, Any]) -> bool:
    """Whether the result's model is the bundled demonstration model (same sha256)."""
    path = bundled_model_path()
    try:
        stat = path.stat()
        bundled = _sha256(str(path), stat.st_size, stat.st_mtime_ns)
    except OSError:
        return False
    return (result.get("model") or {}).get("sha256") == bundled


def date_text(moment: datetime | None) -> str:
    """`2026-11-30 14:05 UTC`; a naive time is taken as UTC; None is now."""
    moment = moment or datetime.now(UTC)
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")
