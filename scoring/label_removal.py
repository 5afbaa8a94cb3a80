"""Label and macro images out of a slide: the glass slide's label (and the macro photograph,
which shows the label too) may carry a patient's name or number, and scoring never reads them.

What each format gets (OpenSlide's names for them: `label`, `macro`):
- Aperio SVS: the TIFF is rewritten without the directories whose description names them
  label or macro (tifftools copies the other directories' tiles as they are, undecoded), then
  checked: OpenSlide opens it with the same vendor and levels and lists neither image.
- DICOM WSI series folder: the instances whose ImageType says LABEL or OVERVIEW are deleted.
- Generic pyramidal TIFF (and any file OpenSlide lists neither image for): none present.
- Any other format that has one (Hamamatsu NDPI, Leica SCN, Ventana BIF, Philips TIFF, a lone
  DICOM label instance): LabelImageKept. Their layouts hide the images in vendor structures
  (offsets beyond 4 GiB, XML, base64) that cannot be rewritten as safely, and a slide with a
  label still on disk is not accepted.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import tifftools

from scoring.errors import TpsError
from scoring.file_kind import file_kind
from scoring.slide_probe import vendor_of
from scoring.slide_reader import open_slide

LABEL_IMAGES = ("label", "macro")
# ImageType values (DICOM PS3.3 C.8.12.4.1.1) of a series' label and overview photographs.
_DICOM_LABEL_TYPES = frozenset({"LABEL", "OVERVIEW"})


class LabelImageKept(TpsError):
    """The slide has a label or macro image that could not be removed."""


@dataclass(frozen=True)
class LabelRemoval:
    vendor: str
    removed: tuple[str, ...]  # OpenSlide's names of the images removed; () when none present


@dataclass(frozen=True)
class _Look:
    vendor: str
    labels: tuple[str, ...]
    levels: tuple[tuple[int, int], ...]


def _look(path: Path) -> _Look:
    with open_slide(path) as slide:
        labels = tuple(name for name in LABEL_IMAGES if name in slide.associated_images)
        return _Look(vendor_of(slide.properties), labels, tuple(slide.level_dimensions))


def _aperio_image(ifd: dict[str, object]) -> str | None:
    """'label' or 'macro' for such a directory: Aperio names it in the description's second
    line ("Aperio Image Library v11.2.1 \\nlabel 387x463"), as OpenSlide reads it."""
    tags = ifd["tags"]
    assert isinstance(tags, dict)
    text = str(tags.get(tifftools.Tag.ImageDescription.value, {}).get("data", ""))
    lines = [line for line in text.replace("\r", "\n").split("\n") if line.strip()]
    word = lines[1].split()[0] if len(lines) > 1 else None
    return word if word in LABEL_IMAGES else None


def _rewrite_aperio(path: Path, before: _Look) -> None:
    try:
        ifds = tifftools.read_tiff(str(path))["ifds"]
    except (tifftools.TifftoolsError, OSError, ValueError) as exc:
        raise LabelImageKept(f"the SVS file could not be read to remove its label ({exc})") from exc
    kept = [ifd for ifd in ifds if _aperio_image(ifd) is None]
    unlabelled = path.with_name(path.name + ".unlabelled")
    try:
        tifftools.write_tiff(kept, str(unlabelled), allowExisting=True)
        after = _look(unlabelled)
        if (after.vendor, after.levels) != (before.vendor, before.levels):
            raise LabelImageKept("the SVS file without its label no longer reads as the same "
                                 "slide; it was not accepted")
        os.replace(unlabelled, path)
    except (tifftools.TifftoolsError, OSError) as exc:
        raise LabelImageKept(f"the SVS file could not be rewritten without its label ({exc})"
                             ) from exc
    finally:
        unlabelled.unlink(missing_ok=True)


def _strip_dicom_series(folder: Path) -> None:
    import pydicom  # only DICOM series need it
    from pydicom.errors import InvalidDicomError

    for file in sorted(p for p in folder.iterdir() if p.is_file()):
        if file_kind(file) != "dicom":
            continue
        try:
            header = pydicom.dcmread(file, stop_before_pixels=True)
        except (InvalidDicomError, OSError) as exc:
            raise LabelImageKept(f"DICOM file {file.name} could not be read to check whether "
                                 f"it is a label ({exc})") from exc
        if _DICOM_LABEL_TYPES & {str(v).upper() for v in header.get("ImageType") or []}:
            file.unlink()


def strip_label_images(path: Path) -> LabelRemoval:
    """Remove the slide's label and macro images in place (a file, or a DICOM series folder);
    raises LabelImageKept when they cannot be removed, and SlideError when it does not open."""
    before = _look(path)
    if not before.labels:
        return LabelRemoval(before.vendor, ())
    if path.is_dir():
        _strip_dicom_series(path)
    elif before.vendor == "aperio":
        _rewrite_aperio(path, before)
    else:
        raise LabelImageKept(
            f"this {before.vendor} slide has a {' and a '.join(before.labels)} image, which "
            f"the service cannot remove from {before.vendor} files; remove it with the "
            "scanner's software and upload again")
    left = _look(path).labels
    if left:
        raise LabelImageKept(f"the slide still has a {' and a '.join(left)} image after "
                             "removing them; it was not accepted")
    return LabelRemoval(before.vendor, before.labels)
