"""Open a slide with openslide and print what the API stores about it, as JSON.

Run as `python -m service.slide_probe PATH` in a child process with a time limit: a hostile or
corrupt file may hang or crash the decoder, and must take down only this process.
Exit 0 with {"width", "height", "mpp", "vendor"}; exit 2 with {"error": reason}.
"""
from __future__ import annotations

import json
import sys


def probe(path: str) -> dict[str, object]:
    import openslide

    with openslide.OpenSlide(path) as slide:
        width, height = slide.dimensions
        props = slide.properties
        mpp_x = props.get(openslide.PROPERTY_NAME_MPP_X)
        vendor = props.get(openslide.PROPERTY_NAME_VENDOR) or "generic-tiff"
        # Reading one small region proves the tiles decode, not just the header.
        slide.read_region((0, 0), slide.level_count - 1, (min(64, width), min(64, height)))
    return {"width": width, "height": height, "mpp": float(mpp_x) if mpp_x else None,
            "vendor": vendor}


def main(argv: list[str]) -> int:
    import openslide

    try:
        info = probe(argv[1])
    except (openslide.OpenSlideError, OSError, ValueError) as exc:
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
        return 2
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
