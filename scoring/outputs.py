"""Everything written per slide, from the finished cell file (and, for the review crops, the
slide, still open): the one entry point is write_outputs, called at the end of
scoring.pipeline.score_slide."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from scoring.aggregate import TumorClassIds, count_cells, find_fragments, heatmap_grid_mm
from scoring.cell_exports import write_cells_csv, write_cells_geojson
from scoring.heatmap import write_heatmap
from scoring.model_info import ModelInfo
from scoring.overlay import write_overlay
from scoring.result_report import build_result
from scoring.result_schema import Result
from scoring.review_crops import RegionReader, write_review_crops
from scoring.slide_info import SlideInfo
from scoring.stain_check import StainReading
from scoring.tissue_mask import TissueMask
from scoring.tissue_outline import write_tissue_outline

FILES = {
    "result": "result.json",
    "cells_csv": "cells.csv.gz",
    "cells_geojson": "cells.geojson",
    "overlay": "overlay.png",
    "heatmap": "heatmap.png",
    "tissue": "tissue.png",
}


def write_outputs(out_dir: Path, cells_path: Path, tissue: TissueMask, slide: SlideInfo,
                  model: ModelInfo, params: dict[str, Any], timings: dict[str, float],
                  cutoffs: tuple[float, ...], stain: StainReading, *,
                  reader: RegionReader) -> dict[str, Any]:
    """Write result.json, cells.csv.gz, cells.geojson, overlay.png, heatmap.png, tissue.png
    and the review crops (crop-1.png ...) into out_dir and return the result dict (the content
    of result.json).

    `cells_path` is a scoring.cells.CellSink file, already closed. `reader` is the slide,
    still open: the review crops are read from it. `params` are reported in result.json;
    Path values in them are reported only as given (they may name a patient).
    """
    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    fragments = find_fragments(tissue)
    tumor = TumorClassIds.from_model(model)
    counts = count_cells(cells_path, tissue, slide, len(model.classes), tumor, fragments,
                         grid_mm=heatmap_grid_mm(tissue, slide))
    write_cells_csv(out_dir / FILES["cells_csv"], cells_path, model.classes, slide.mpp)
    write_cells_geojson(out_dir / FILES["cells_geojson"], cells_path, model.classes)
    write_overlay(out_dir / FILES["overlay"], cells_path, tissue, slide.mpp, model.classes,
                  tumor)
    write_heatmap(out_dir / FILES["heatmap"], counts, tissue, slide.mpp, cutoffs)
    write_tissue_outline(out_dir / FILES["tissue"], tissue, slide.mpp)
    crops = write_review_crops(out_dir, cells_path, reader, slide, model, counts, fragments,
                               tissue, cutoffs)
    all_timings = {**timings, "outputs_s": time.perf_counter() - started}
    result = build_result(counts, fragments, tissue, slide, model, params, all_timings,
                          cutoffs, dict(FILES), stain, crops)
    Result.model_validate(result)  # a result that breaks the published schema is a bug here
    # Written last and atomically, so a result.json present means every other file is too.
    tmp = out_dir / (FILES["result"] + ".tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    tmp.replace(out_dir / FILES["result"])
    return result
