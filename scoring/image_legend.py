"""A white legend band under an overview image: lines of text, swatches, a colour bar, a scale
bar. The font scales with the image so the legend reads at 100 % zoom and when the whole image
is fitted to a screen. Plain ASCII only: the bundled font has no micro or superscript signs."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

MIN_FONT_PX = 16
MIN_WIDTH = 560  # a legend narrower than this would wrap every line
TEXT_RGB = (0, 0, 0)
SCALE_STEPS_UM = (10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
SwatchPainter = Callable[[ImageDraw.ImageDraw, Image.Image, tuple[int, int, int, int]], None]


def legend_font(px: int) -> Font:
    try:
        return ImageFont.load_default(size=px)  # Pillow >= 10.1: a scalable font
    except TypeError:  # older Pillow: the fixed bitmap font, small but legible
        return ImageFont.load_default()


def font_px_for(width: int) -> int:
    return max(MIN_FONT_PX, width // 90)


class LegendBand:
    """Items are laid out top-down; `attach` puts the image above the used part."""

    def __init__(self, width: int, font_px: int) -> None:
        self.width = max(width, MIN_WIDTH)
        self.px = font_px
        self.font = legend_font(font_px)
        self.pad = max(4, font_px // 2)
        self.image = Image.new("RGB", (self.width, 40 * font_px), (255, 255, 255))
        self.draw = ImageDraw.Draw(self.image)
        self.y = self.pad

    def text(self, line: str) -> None:
        self.draw.text((self.pad, self.y), line, fill=TEXT_RGB, font=self.font)
        self.y += round(self.px * 1.35)

    def swatches(self, items: Sequence[tuple[SwatchPainter, str]]) -> None:
        """One swatch per item, a box of 1.4 line heights, then its label; wraps."""
        box = round(self.px * 1.4)
        x = self.pad
        for paint, label in items:
            width = box + self.pad + round(self.draw.textlength(label, font=self.font))
            if x > self.pad and x + width > self.width - self.pad:
                x, self.y = self.pad, self.y + box + self.pad
            paint(self.draw, self.image, (x, self.y, x + box, self.y + box))
            self.draw.text((x + box + self.pad // 2, self.y + (box - self.px) // 2), label,
                           fill=TEXT_RGB, font=self.font)
            x += width + 2 * self.pad
        self.y += box + self.pad

    def colour_bar(self, ramp: np.ndarray, ticks: Sequence[tuple[float, str]],
                   marks: Sequence[tuple[float, str]] = ()) -> None:
        """ramp (n, 3) left to right; ticks (fraction, label) below; marks (fraction, label):
        lines across the bar, labelled above it (e.g. the cutoffs)."""
        left = self.pad + self.px
        bar_w = min(self.width - 2 * left, 60 * self.px)
        bar_h = self.px
        if marks:
            self.y += round(self.px * 1.2)
        columns = np.linspace(0, len(ramp) - 1, bar_w).round().astype(int)
        strip = np.broadcast_to(ramp[columns][None].astype(np.uint8), (bar_h, bar_w, 3))
        self.image.paste(Image.fromarray(np.ascontiguousarray(strip)), (left, self.y))
        self.draw.rectangle((left - 1, self.y - 1, left + bar_w, self.y + bar_h), outline=TEXT_RGB)
        for fraction, label in marks:
            x = left + round(fraction * (bar_w - 1))
            self.draw.line((x, self.y - self.px // 3, x, self.y + bar_h), fill=TEXT_RGB, width=2)
            self.draw.text((x, self.y - self.px // 3), label, fill=TEXT_RGB, font=self.font,
                           anchor=_side(fraction) + "d")
        for fraction, label in ticks:
            x = left + round(fraction * (bar_w - 1))
            self.draw.line((x, self.y + bar_h, x, self.y + bar_h + self.px // 3), fill=TEXT_RGB)
            self.draw.text((x, self.y + bar_h + self.px // 3), label, fill=TEXT_RGB,
                           font=self.font, anchor=_side(fraction) + "a")
        self.y += bar_h + round(self.px * 1.6)

    def scale_bar(self, um_per_px: float, image_width: int) -> None:
        """A bar of a round length, about a tenth of the image wide."""
        want = um_per_px * image_width / 10
        um = max((s for s in SCALE_STEPS_UM if s <= want), default=SCALE_STEPS_UM[0])
        length = max(1, round(um / um_per_px))
        top = self.y + self.px // 3
        self.draw.rectangle((self.pad, top, self.pad + length, top + max(3, self.px // 4)),
                            fill=TEXT_RGB)
        label = f"{um / 1000:g} mm" if um >= 1000 else f"{um} um"
        self.draw.text((self.pad + length + self.pad, self.y), label, fill=TEXT_RGB,
                       font=self.font)
        self.y += round(self.px * 1.35)

    def attach(self, above: Image.Image) -> Image.Image:
        used = self.y + self.pad
        out = Image.new("RGB", (max(self.width, above.width), above.height + used),
                        (255, 255, 255))
        out.paste(above, (0, 0))
        out.paste(self.image.crop((0, 0, self.width, used)), (0, above.height))
        return out


def _side(fraction: float) -> str:
    """Text anchor along the bar: labels at its ends stay inside the legend."""
    return "l" if fraction < 0.03 else "r" if fraction > 0.97 else "m"


def filled(rgb: tuple[int, int, int]) -> SwatchPainter:
    """A swatch painter: a box of one colour with a thin dark edge."""
    def paint(draw: ImageDraw.ImageDraw, image: Image.Image,
              box: tuple[int, int, int, int]) -> None:
        draw.rectangle(box, fill=rgb, outline=(90, 90, 90))
    return paint


def outlined(edge_rgb: tuple[int, int, int]) -> SwatchPainter:
    """A swatch painter: a white box with a thick edge, for an outline drawn on the image."""
    def paint(draw: ImageDraw.ImageDraw, image: Image.Image,
              box: tuple[int, int, int, int]) -> None:
        draw.rectangle(box, fill=(255, 255, 255), outline=edge_rgb, width=3)
    return paint
