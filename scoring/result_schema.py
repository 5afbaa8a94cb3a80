"""The shape of result.json, version SCHEMA_VERSION.

Every model forbids extra keys, so nothing (PHI above all) can slip into a result without a
schema change. The service never imports worker code: it reads the JSON Schema exported next
to this file (result.schema.json, kept equal to these models by a test).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION: Literal["1"] = "1"
SCHEMA_PATH = Path(__file__).with_name("result.schema.json")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Flags(_Strict):
    inadequate: bool = Field(description="fewer than 100 viable tumour cells")
    near_cutoff: bool = Field(description="the 95 % interval straddles a category cutoff")
    no_tumor_cells: bool = Field(description="no tumour cells: TPS is undefined")


class SlideFlags(Flags):
    not_ihc: bool = Field(description="the tissue holds eosin: H&E rather than IHC, so the "
                                      "TPS and category are withheld (see stain)")
    stain_disagrees: bool = Field(description="the stain's positive share of the model's "
                                              "tumour cells differs from the TPS by more than "
                                              "the margin, or falls in another category "
                                              "(see cross_check)")


class StainCells(_Strict):
    both_positive: int = Field(description="tumour cells the model and the stain call positive")
    model_only: int = Field(description="positive by the model, negative by the stain")
    stain_only: int = Field(description="negative by the model, positive by the stain")
    both_negative: int


class CrossCheck(_Strict):
    """The model's TPS beside the stain rule's call on the same tumour cells."""

    stain_positive_share: float | None = Field(description="percent of the model's tumour "
                                                           "cells that the stain calls positive")
    difference: float | None = Field(description="TPS minus the stain's share, in points")
    opposite_categories: bool
    disagrees: bool = Field(description="|difference| > margin, or opposite categories")
    margin: float = Field(description="percentage points")
    cells: StainCells
    rule: dict[str, Any] = Field(description="the stain rule's parameters (microns, OD)")


class Stain(_Strict):
    haematoxylin: float = Field(description="share of the tissue's optical density")
    eosin: float
    dab: float


class Intake(_Strict):
    """What the stain and modality gate measured on the overview before scoring."""

    modality: Literal["brightfield"] = Field(description="fluorescence and dark field are refused")
    background_luminance: float = Field(description="luminance 0-255 of the overview's "
                                                    "brightest tenth")
    colour_angle: float | None = Field(description="degrees between tissue optical density and "
                                                   "grey; greyscale scans are refused")
    stain: Literal["ihc", "he"] | None = Field(description="he: TPS withheld (flags.not_ihc)")


class Fragment(_Strict):
    id: int = Field(description="1-based, in scan order of the tissue mask")
    area_mm2: float
    bbox_px: tuple[int, int, int, int] = Field(description="level-0 x0, y0, x1, y1 (exclusive)")
    counts: dict[str, int]
    tps: float | None
    tps_ci95: tuple[float, float] | None
    category: str | None
    flags: Flags


class SlideReport(_Strict):
    sha256: str
    width: int
    height: int
    mpp: float
    vendor: str


class ModelReport(_Strict):
    name: str
    version: str
    sha256: str
    positive_threshold: float = Field(0.5, description="a tumour cell is positive when p(pos) / "
                                                  "(p(pos) + p(neg)) reaches this")
    positive_nucleus_dab: float | None = Field(
        None, description="or when the mean DAB in its nucleus (2 um disk, natural-log OD) passes "
                    "this, whatever the network says; null: the network alone")
    min_distance_um: float = Field(0.0, description="of two cells closer than this, the surer "
                                                    "one is kept; 0: every cell the network finds")
    views: int = Field(1, description="how many of each tile's flips and transpositions the "
                                      "model ran on, their cells fused; 1: the tile as it is")
    view_radius_um: float = Field(0.0, description="points of different views closer than "
                                                   "this are one cell")


class Heatmap(_Strict):
    """heatmap.png's grid: TPS per square tile, tiles laid from the slide's top-left corner."""

    grid_mm: float = Field(description="tile edge in mm, chosen per slide: 20 to 40 tiles "
                                       "along the tissue's longer side, 1, 2, 2.5 or 5 times "
                                       "a power of ten, at least 0.1")
    shape: tuple[int, int] = Field(description="rows, columns of tiles covering the slide")


class ReviewCrop(_Strict):
    """A square of the slide a reviewer should look at, every call drawn on it."""

    file: str = Field(description="PNG in the result folder: crop-1.png, crop-2.png, ...; "
                                  "512 x 512 px at the model's mpp")
    x: int = Field(description="level-0 x of the crop's left edge")
    y: int = Field(description="level-0 y of the crop's top edge")
    size_px: int = Field(description="level-0 pixels along the crop's edge")
    reason: str = Field(description="why it was chosen: 'near a cutoff' (the densest tumour "
                                    "of a fragment whose TPS is near a cutoff), 'densest "
                                    "tumour', 'most PD-L1 positive tumour', or 'most cells' "
                                    "(a slide without tumour cells); other reasons may come")


class TpsInterval(_Strict):
    """What tps_ci95 covers, so no one reads it as more than it is."""

    margin: float = Field(description="TPS points added to each side of the Wilson interval: "
                                      "the model's measured error (its tps_margin), 0 if none")
    covers: str = Field(description="in words: counting noise, and the model error when a "
                                    "margin is given")


class Result(_Strict):
    schema_version: Literal["1"]
    tps: float | None = Field(description="percent; null when there are no tumour cells "
                                          "or the stain is not IHC (flags.not_ihc)")
    tps_ci95: tuple[float, float] | None = Field(description="Wilson 95 % interval, percent, "
                                                            "widened by tps_interval.margin")
    tps_interval: TpsInterval
    category: str | None
    categories: list[str] = Field(description="all category labels, lowest first")
    cutoffs: list[float] = Field(description="category cutoffs in percent")
    counts: dict[str, int] = Field(description="cells per class name")
    tumor_cells: int
    flags: SlideFlags
    stain: Stain | None = Field(description="colour deconvolution of the tissue thumbnail; "
                                            "null when no tissue")
    intake: Intake
    cross_check: CrossCheck
    tissue_area_mm2: float
    fragments: list[Fragment]
    cells_outside_fragments: int = Field(description="non-zero only when no tissue was found")
    heatmap: Heatmap
    files: dict[str, str] = Field(description="role -> file name in the result folder")
    review_crops: list[ReviewCrop] = Field(description="up to 6 crops in the order chosen, "
                                                       "the reasons taken in turn; fewer on a "
                                                       "small slide, none without cells")
    slide: SlideReport
    model: ModelReport
    params: dict[str, Any]
    timings: dict[str, float] = Field(description="seconds per stage")


def json_schema() -> dict[str, Any]:
    return Result.model_json_schema()


def write_json_schema(path: Path = SCHEMA_PATH) -> None:
    path.write_text(json.dumps(json_schema(), indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":  # regenerate the exported schema after changing the models
    write_json_schema()
