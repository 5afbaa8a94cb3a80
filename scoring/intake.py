"""The slide-level refusals made before any tile is read, each with the figures behind it.

A number that cannot be backed up is worse than a clear refusal: a slide far coarser than the
model, dimensions no scanner makes, or a microns-per-pixel figure outside any microscope's
range would each give a TPS, and a wrong one. These checks are cheap and run on what the file
declares, so they also guard the upload probe and the memory of everything after them.
"""
from __future__ import annotations

# No scanner makes a side longer than this (a 25 x 75 mm slide at 0.1 um/px is 750,000 px
# along its length, but scanned areas stop well short of the label); a larger declared size is
# a damaged or hostile header, and reading an overview of it would not fit in memory.
MAX_SIDE_PX = 500_000
# Microns per pixel a whole-slide scan can have: 0.05 (beyond 100x oil) to 20 (a 0.5x overview).
MPP_MIN, MPP_MAX = 0.05, 20.0
# Upsampling more than this invents detail the model would read as cells.
MAX_TIMES_COARSER = 2.0


def dimension_problem(width: int, height: int) -> str | None:
    if width <= 0 or height <= 0:
        return f"the slide declares an empty image ({width} x {height} px); the file is damaged"
    if max(width, height) > MAX_SIDE_PX:
        return (f"the slide declares {width:,} x {height:,} px, beyond the {MAX_SIDE_PX:,} px a "
                "side of any real scan; the file is damaged or not a real slide")
    return None


def mpp_problem(mpp: float, source: str) -> str | None:
    """None when `mpp` is plausible; else the reason, naming the value and where it came from
    (e.g. "the slide file", "--mpp", "the job request")."""
    if not MPP_MIN <= mpp <= MPP_MAX:
        return (f"microns per pixel {mpp:g} (from {source}) is outside the {MPP_MIN:g}-{MPP_MAX:g} "
                "um/px of any whole-slide scan")
    return None


def resolution_problem(slide_mpp: float, model_mpp: float) -> str | None:
    """None when the slide is fine enough for the model; a slide far finer is read from the
    right pyramid level, so only the coarse side is refused."""
    if slide_mpp > MAX_TIMES_COARSER * model_mpp:
        return (f"the slide's finest level is {slide_mpp:g} um/px, {slide_mpp / model_mpp:.0f} "
                f"times coarser than the {model_mpp:g} um/px the model reads; cells cannot be "
                "seen at that resolution (scan at 20x or 40x)")
    return None
