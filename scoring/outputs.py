"""Everything written per slide, from the finished cell file: the one entry point is
write_outputs, called at the end of scoring.pipeline.score_slide."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from scoring.aggregate import TumorClassIds, count_cells, find_fragments
from scoring.cell_exports import write_cells_csv, write_cells_geojson
from scoring.model_info import ModelInfo
from scoring.result_report import build_result
from scoring.result_schema import Result
from scoring.slide_images import write_heatmap, write_overlay
from scoring.slide_info import SlideInfo
from scoring.stain_check import StainReading
from scoring.tissue_mask import TissueMask

FILES = {
    "result": "result.json",
    "cells_csv": "cells.csv.gz",
    "cells_geojson": "cells.geojson",
    "overlay": "overlay.png",
    "heatmap": "heatmap.png",
}


def write_outputs(out_dir: Path, cells_path: Path, tissue: TissueMask, slide: SlideInfo,
                  model: ModelInfo, params: dict[str, Any], timings: dict[str, float],
                  cutoffs: tuple[float, ...], stain: StainReading) -> dict[str, Any]:
    """Write result.json, cells.csv.gz, cells.geojson, overlay.png and heatmap.png into
    out_dir and return the result dict (the content of result.json).

    `cells_path` is a scoring.cells.CellSink file, already closed. `params` are reported in
    result.json; Path values in them are reported only as given (they may name a patient).
    """
    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    fragments = find_fragments(tissue)
    counts = count_cells(cells_path, tissue, slide, len(model.classes),
                         TumorClassIds.from_model(model), fragments)
    write_cells_csv(out_dir / FILES["cells_csv"], cells_path, model.classes, slide.mpp)
    write_cells_geojson(out_dir / FILES["cells_geojson"], cells_path, model.classes)
    write_overlay(out_dir / FILES["overlay"], cells_path, tissue, model.classes)
    write_heatmap(out_dir / FILES["heatmap"], counts, tissue)
    all_timings = {**timings, "outputs_s": time.perf_counter() - started}
    result = build_result(counts, fragments, tissue, slide, model, params, all_timings,
                          cutoffs, dict(FILES), stain)
    Result.model_validate(result)  # a result that breaks the published schema is a bug here
    # Written last and atomically, so a result.json present means every other file is too.
    tmp = out_dir / (FILES["result"] + ".tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    tmp.replace(out_dir / FILES["result"])
    return result
