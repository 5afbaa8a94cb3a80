"""What a slide states about itself, read by one rule for the upload check and for scoring:
its level-0 size, its vendor and its microns per pixel.

Run as `python -m scoring.slide_probe PATH` in a child process with a time limit (the API's
upload check): a hostile or corrupt file may hang or crash the decoder, and must take down only
that process. Exit 0 with {"width", "height", "mpp", "vendor"}; exit 2 with {"error": reason}.
"""
from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path

# tiff.ResolutionUnit values openslide reports, as microns per unit.
RESOLUTION_UNIT_UM = {"centimeter": 10_000.0, "inch": 25_400.0}


def mpp_from_properties(props: Mapping[str, str]) -> float | None:
    """Level-0 microns per pixel: the scanner's own figure, else the TIFF resolution tags that
    generic TIFFs often carry alone; None when the file states neither."""
    if "openslide.mpp-x" in props:
        mpp = float(props["openslide.mpp-x"])
        return mpp if mpp > 0 else None
    unit = RESOLUTION_UNIT_UM.get(props.get("tiff.ResolutionUnit", ""))
    x_res = float(props.get("tiff.XResolution", "0") or 0)
    if unit is not None and x_res > 0:
        return unit / x_res
    return None


def vendor_of(props: Mapping[str, str]) -> str:
    return props.get("openslide.vendor") or "generic-tiff"


def probe(path: Path) -> dict[str, object]:
    """The slide's facts; raises TpsError with the reason a lab reads when it is refused (the
    same refusals the engine makes before scoring: damaged, not a slide, impossible size or
    mpp)."""
    import openslide

    from scoring.errors import DamagedSlide, UnscorableSlide
    from scoring.intake import dimension_problem, mpp_problem
    from scoring.slide_reader import open_slide

    with open_slide(path) as slide:
        width, height = slide.dimensions
        problem = dimension_problem(width, height)
        props = dict(slide.properties)
        mpp = mpp_from_properties(props)
        if problem is None and mpp is not None:
            problem = mpp_problem(mpp, "the slide file")
        if problem is not None:
            raise UnscorableSlide(problem)
        # Reading one small region proves the tiles decode, not just the header.
        try:
            slide.read_region((0, 0), slide.level_count - 1, (min(64, width), min(64, height)))
        except openslide.OpenSlideError as exc:
            raise DamagedSlide(f"the slide's image data is damaged ({exc}); copy it again") from exc
    return {"width": width, "height": height, "mpp": mpp, "vendor": vendor_of(props)}


def main(argv: list[str]) -> int:
    from scoring.errors import TpsError

    try:
        info = probe(Path(argv[1]))
    except (TpsError, OSError) as exc:
        print(json.dumps({"error": str(exc)}))
        return 2
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
