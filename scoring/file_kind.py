"""What a file is, from its first bytes: a slide container, or something a lab sent by mistake.

Used where a file that OpenSlide refuses needs a reason a lab can act on: a TIFF or DICOM file
that fails to parse is damaged or incomplete (copy it again); a PNG is a plain image (use
`tps detect`); a zip is an archive (unzip it first).
"""
from __future__ import annotations

from pathlib import Path

HEAD_BYTES = 132  # enough for the DICOM preamble and its 'DICM' magic

_SLIDE_CONTAINERS = {"tiff": "TIFF", "dicom": "DICOM"}
_NOT_SLIDES = {
    "png": "a plain PNG image, not a whole-slide image; for region images use `tps detect`",
    "jpeg": "a plain JPEG image, not a whole-slide image; for region images use `tps detect`",
    "zip": "a zip archive; unzip it first and give the slide (or the DICOM series folder)",
    "gzip": "a gzip archive; unpack it first and give the slide inside",
    "pdf": "a PDF document, not a whole-slide image",
}


def sniff(head: bytes) -> str | None:
    """'tiff' (also SVS, NDPI, SCN, BIF, BigTIFF), 'dicom', 'png', 'jpeg', 'zip', 'gzip', 'pdf',
    'unknown' when enough bytes say it is none of these, None when more bytes are needed."""
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    for magic, kind in ((b"\x89PNG", "png"), (b"\xff\xd8\xff", "jpeg"), (b"PK\x03\x04", "zip"),
                        (b"\x1f\x8b", "gzip"), (b"%PDF", "pdf")):
        if head.startswith(magic):
            return kind
    if len(head) >= HEAD_BYTES:
        return "dicom" if head[128:132] == b"DICM" else "unknown"
    return None


def file_kind(path: Path) -> str:
    with open(path, "rb") as f:
        return sniff(f.read(HEAD_BYTES)) or "unknown"


def is_slide_container(kind: str) -> bool:
    return kind in _SLIDE_CONTAINERS


def refusal(kind: str, detail: str = "") -> str:
    """Why OpenSlide could not read a file of this kind, in a lab's words."""
    if kind in _SLIDE_CONTAINERS:
        why = f" ({detail})" if detail else ""
        return (f"the {_SLIDE_CONTAINERS[kind]} file is damaged or incomplete{why}; "
                "copy it again from the scanner or archive")
    if kind in _NOT_SLIDES:
        return _NOT_SLIDES[kind]
    return "not a slide format OpenSlide reads (SVS, NDPI, MRXS, SCN, BIF, tiled TIFF, DICOM)"
