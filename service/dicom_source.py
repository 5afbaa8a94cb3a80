"""The image a job's DICOM objects (service/dicom_sr.py, service/dicom_annotations.py) are
about, and the UIDs those objects get.

A DICOM slide (one uploaded instance, or a series folder) keeps its own identity: the objects
join its study, reference its level-0 image (the one whose total pixel matrix is OpenSlide's
level 0, so the cells' level-0 pixels are that image's pixels), and repeat its patient and study
attributes, which the lab sent and which a study's objects must share.

Any other slide has no DICOM identity, so a stand-in header is made for it: a whole-slide image
in a study of its own, every UID derived from the job id (the same job always gives the same
UIDs, and objects fetched twice are the same instances), and no patient data at all, as in the
FHIR output (service/fhir_report.py): this service holds no patient identifiers.
"""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import UID, generate_uid

from jobs.records import Job
from scoring.file_kind import file_kind

VL_WHOLE_SLIDE_IMAGE = "1.2.840.10008.5.1.4.1.1.77.1.6"
MANUFACTURER = "pdl1-tps"
# Hashed into every derived UID; changing it changes every UID already handed out.
_UID_SOURCE = "urn:pdl1-tps"


def derived_uid(*parts: str) -> UID:
    """A UID stable for its parts (a job id and what it names): a hash of them under
    pydicom's UID root."""
    return generate_uid(entropy_srcs=[_UID_SOURCE, *parts])


def finished_utc(job: Job) -> datetime:
    finished = job.finished_at or datetime.now(UTC)
    return finished if finished.tzinfo else finished.replace(tzinfo=UTC)  # the store keeps UTC


def _header(path: Path) -> Dataset | None:
    try:
        return pydicom.dcmread(path, stop_before_pixels=True)
    except (InvalidDicomError, OSError):
        return None


def _is_volume(header: Dataset) -> bool:
    # A series also holds label, overview and thumbnail images; only VOLUME images are levels.
    image_type = list(header.get("ImageType") or [])
    return (header.get("SOPClassUID") == VL_WHOLE_SLIDE_IMAGE
            and len(image_type) > 2 and image_type[2] == "VOLUME")


def dicom_source(slide_path: Path) -> Dataset | None:
    """The header of a DICOM slide's level-0 image: of the file, or of the finest VOLUME image
    of a series folder; None when the slide is not DICOM."""
    if slide_path.is_dir():
        files = sorted(p for p in slide_path.iterdir() if p.is_file())
    elif slide_path.is_file() and file_kind(slide_path) == "dicom":
        files = [slide_path]
    else:
        return None
    headers = [h for h in map(_header, files) if h is not None and _is_volume(h)]
    if not headers:
        return None
    return max(headers, key=lambda h: int(h.TotalPixelMatrixColumns)
               * int(h.TotalPixelMatrixRows))


def stand_in_source(job: Job) -> Dataset:
    """A header naming a non-DICOM slide as a whole-slide image of its own study: UIDs from the
    job, dates from its finish time, every patient attribute present and empty."""
    when = finished_utc(job)
    source = Dataset()
    source.SOPClassUID = VL_WHOLE_SLIDE_IMAGE
    source.Modality = "SM"
    # The level-0 frame the cells are in: what OpenSlide showed the worker, as RGB.
    slide = (job.result or {}).get("slide") or {}
    source.SamplesPerPixel = 3
    source.TotalPixelMatrixColumns = int(slide.get("width") or 0)
    source.TotalPixelMatrixRows = int(slide.get("height") or 0)
    for keyword, part in (("StudyInstanceUID", "study"), ("SeriesInstanceUID", "slide-series"),
                          ("SOPInstanceUID", "slide-image"),
                          ("FrameOfReferenceUID", "frame-of-reference")):
        setattr(source, keyword, derived_uid(job.id, part))
    for keyword in ("PatientName", "PatientID", "PatientBirthDate", "PatientSex",
                    "AccessionNumber", "ReferringPhysicianName"):
        setattr(source, keyword, "")
    source.StudyID = ""  # SH (16) cannot hold the job id, which the objects carry elsewhere
    source.StudyDate, source.StudyTime = when.strftime("%Y%m%d"), when.strftime("%H%M%S")
    return source


def source_image(slide_path: Path, job: Job) -> Dataset:
    found = dicom_source(slide_path)
    return found if found is not None else stand_in_source(job)
