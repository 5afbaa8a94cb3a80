"""A succeeded job's cells as DICOM Microscopy Bulk Simple Annotations, built with highdicom:
one POINT annotation group per cell class that has cells (a group of no annotations would
leave type 1 attributes empty), in the order of the job's classes.

Coordinates are 2D, in the total pixel matrix of the referenced image (service/dicom_source.py):
the level-0 pixels the cells were found in, with no transform, for a DICOM source (whose
level-0 image is that matrix) and a non-DICOM one alike, which has no frame of reference to
give 3D slide coordinates in. DICOM puts the top-left corner of the top-left pixel at (0, 0),
so a pixel's centre is at +0.5 where the cell files put it at the integer coordinate
(scoring/cell_exports.py): points are shifted by half a pixel. They are stored as 32-bit
floats (Point Coordinates Data, which every reader takes): within 1/128 px of the cell files'
coordinates on slides under 262,144 px.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import highdicom as hd
import numpy as np
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes

from jobs.records import Job
from scoring.class_colors import class_colors
from scoring.pdf_report import CLASS_NAMES
from service.dicom_source import MANUFACTURER, derived_uid, finished_utc
from service.dicom_sr import algorithm

ANN_SERIES_NUMBER = 902
# DICOM's pixel frame puts a pixel's centre at +0.5 from the cell files' integer centre.
PIXEL_CENTRE = 0.5
_TUMOUR_CLASSES = ("tumor_pos", "tumor_neg")


def _category(name: str) -> hd.sr.CodedConcept:
    """A tumour cell is a morphologically abnormal structure; any other cell an anatomical one
    (both in CID 7150, the annotated property categories)."""
    if name in _TUMOUR_CLASSES:
        return hd.sr.CodedConcept.from_code(codes.cid7150.MorphologicallyAbnormalStructure)
    return hd.sr.CodedConcept.from_code(codes.cid7150.AnatomicalStructure)


def level0_points(cells: np.ndarray) -> np.ndarray:
    """(N, 1, 2) float32 DICOM points (column, row) of cells with level-0 `x`, `y`: one
    coordinate per POINT annotation."""
    points = np.stack([cells["x"], cells["y"]], axis=-1) + PIXEL_CENTRE  # (N, 2)
    return points.astype(np.float32).reshape(-1, 1, 2)  # (N, 1, 2)


def _group(number: int, name: str, rgb: tuple[int, int, int], points: np.ndarray,
           job: Job) -> hd.ann.AnnotationGroup:
    return hd.ann.AnnotationGroup(
        number=number, uid=derived_uid(job.id, f"cells/{name}"), label=name,
        description=CLASS_NAMES.get(name, name),
        annotated_property_category=_category(name),
        annotated_property_type=codes.cid8135.Cell,
        graphic_type=hd.ann.GraphicTypeValues.POINT,
        # An (N, 1, 2) array is a sequence of N (1, 2) points, without N small arrays.
        graphic_data=cast(Sequence[np.ndarray], points),
        algorithm_type=hd.ann.AnnotationGroupGenerationTypeValues.AUTOMATIC,
        algorithm_identification=algorithm(job.result or {}),
        display_color=hd.color.CIELabColor.from_rgb(*rgb))


def cell_annotations(job: Job, source: Dataset, classes: Sequence[str],
                     cells: np.ndarray) -> Dataset:
    """The annotations of a succeeded job's `cells` (level-0 `x`, `y`, and `cls` indexing
    `classes`) on `source` (service/dicom_source.py)."""
    groups: list[hd.ann.AnnotationGroup] = []
    for cls, (name, rgb) in enumerate(zip(classes, class_colors(tuple(classes)))):
        points = level0_points(cells[cells["cls"] == cls])
        if len(points):
            groups.append(_group(len(groups) + 1, name, rgb, points, job))
    model = (job.result or {}).get("model") or {}
    when = finished_utc(job)
    annotations = hd.ann.MicroscopyBulkSimpleAnnotations(
        source_images=[source],
        annotation_coordinate_type=hd.ann.AnnotationCoordinateTypeValues.SCOORD,
        annotation_groups=groups, series_instance_uid=derived_uid(job.id, "ann-series"),
        series_number=ANN_SERIES_NUMBER, sop_instance_uid=derived_uid(job.id, "ann"),
        instance_number=1, manufacturer=MANUFACTURER,
        manufacturer_model_name=str(model.get("name")),
        software_versions=str(model.get("version")),
        device_serial_number=str(model.get("sha256"))[:64],  # LO: a sha256 fills it exactly
        content_label="PDL1_CELLS", content_description=f"Cells found for job {job.id}",
        series_description="PD-L1 TPS cells", content_date=when.date(),
        content_time=when.time().replace(tzinfo=None))
    annotations.TimezoneOffsetFromUTC = "+0000"
    if "SpecimenDescriptionSequence" not in annotations:  # copied from a DICOM source
        # General Series asks for Laterality (type 2C) where no specimen says what the tissue
        # is; the service does not know it, so it is empty (unknown) unless the source says.
        annotations.Laterality = source.get("Laterality", "")
    return annotations
