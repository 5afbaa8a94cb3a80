"""Pages in the browser for the UI tests: a fresh page that records script errors, signing in,
screenshots for docs/ (only with TPS_UI_SCREENSHOTS=1) and the pixels of what is shown."""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

DOCS = Path(__file__).resolve().parents[1] / "docs"
SCREENSHOTS = os.environ.get("TPS_UI_SCREENSHOTS") == "1"
SCREENSHOT_MAX_BYTES = 150_000


class PageProblems:
    """Uncaught script errors on a page (a 401 or 404 the page expects is not one), and
    OpenSeadragon's complaints in the console (e.g. viewport conversions used with several
    images in the viewer, which are then wrong)."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", self._console)

    def _console(self, message: Any) -> None:
        if message.type == "error" and message.text.startswith("["):  # OSD: "[Class.method] ..."
            self.errors.append(message.text)


def new_page(browser: Any) -> tuple[Any, Any, PageProblems]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True,
                                  locale="en-GB", timezone_id="UTC")
    page = context.new_page()
    page.set_default_timeout(20_000)
    return context, page, PageProblems(page)


def sign_in(page: Any, base: str, key: str) -> None:
    page.goto(f"{base}/")
    page.get_by_label("Lab API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/#/jobs")


def screenshot(target: Any, name: str) -> None:
    """docs/ui-NAME.png, only with TPS_UI_SCREENSHOTS=1; squeezed to a palette when large."""
    if not SCREENSHOTS:
        return
    image = Image.open(io.BytesIO(target.screenshot()))
    out = DOCS / f"ui-{name}.png"
    image.save(out, optimize=True)
    if out.stat().st_size > SCREENSHOT_MAX_BYTES:
        image.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(
            out, optimize=True)
    assert out.stat().st_size <= SCREENSHOT_MAX_BYTES, f"{out} is {out.stat().st_size} bytes"


def pixels(locator: Any) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(locator.screenshot())).convert("RGB")).astype(int)


def colour_share(pixels: np.ndarray, rgb: tuple[int, int, int]) -> np.ndarray:
    """Where a pixel is within 12 of `rgb` in every channel."""
    return np.all(np.abs(pixels - np.array(rgb)) <= 12, axis=-1)
