"""Score one slide: tissue, tiles at the model's mpp, cells streamed to disk, then outputs."""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from scoring.cells import CellSink
from scoring.errors import UnscorableSlide
from scoring.inference import get_runner
from scoring.intake import mpp_problem, resolution_problem
from scoring.outputs import write_outputs
from scoring.prefetch import TileReaders
from scoring.providers import GPU_PROVIDERS, host_cores
from scoring.resample import snapped_scale
from scoring.roi import apply_roi
from scoring.slide_cells import Progress, detect_cells
from scoring.slide_info import StoredSlide
from scoring.slide_reader import SlideReader
from scoring.stain_check import read_stain
from scoring.tiling import loop_shape, plan_tiles
from scoring.tissue import DEFAULT_MIN_AREA_UM2, detect_tissue
from scoring.tps import DEFAULT_ASSAY, resolve_cutoffs

CELLS_FILE = "cells.bin"  # the raw CellSink stream; removed once the outputs are written


@dataclass(frozen=True)
class ScoreParams:
    model_path: Path
    threshold: float | None = None  # None: the model's own default
    mpp: float | None = None  # overrides the slide's level-0 mpp
    roi: Path | None = None  # QuPath GeoJSON polygon(s), level-0 pixels
    assay: str = DEFAULT_ASSAY
    cutoffs: tuple[float, ...] | None = None  # None: the assay's cutoffs
    # The tile loop's shape; None: chosen for the provider and the host (scoring.tiling).
    tile_size: int | None = None  # model pixels, rounded up to the model's input multiple
    halo: int | None = None  # model pixels of context each side; must exceed a cell's radius
    batch_size: int | None = None
    read_workers: int | None = None  # tile reader processes
    min_tissue_um2: float = DEFAULT_MIN_AREA_UM2

    def __post_init__(self) -> None:
        # ValueError here, where the parameters enter, names a bad assay or bad cutoffs; from
        # here on `cutoffs` holds the resolved ones.
        object.__setattr__(self, "cutoffs", resolve_cutoffs(self.assay, self.cutoffs))
        problem = None if self.mpp is None else mpp_problem(self.mpp, "the mpp given")
        if problem is not None:
            raise ValueError(problem)

    @property
    def resolved_cutoffs(self) -> tuple[float, ...]:
        assert self.cutoffs is not None  # set by __post_init__
        return self.cutoffs


def refuse(problem: str | None) -> None:
    if problem is not None:
        raise UnscorableSlide(problem)


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def score_slide(slide_path: Path, out_dir: Path, params: ScoreParams,
                progress: Progress | None = None,
                stored: StoredSlide | None = None) -> dict[str, Any]:
    """Score one slide into out_dir and return the result dict written as result.json.

    `stored`: what the upload measured of this slide (a job passes it; `tps score` does not).
    """
    started = time.perf_counter()
    cutoffs = params.resolved_cutoffs
    runner = get_runner(params.model_path)
    model = runner.info
    threshold = model.threshold if params.threshold is None else params.threshold
    out_dir.mkdir(parents=True, exist_ok=True)
    cells_path = out_dir / CELLS_FILE
    shape = loop_shape(runner.provider in GPU_PROVIDERS, host_cores())
    # The reader processes start with the slide, so they open it while the tissue is found.
    with SlideReader(Path(slide_path), params.mpp, stored) as reader, \
            TileReaders(reader.info, params.read_workers or shape.readers,
                        nice=shape.reader_nice) as readers:
        refuse(resolution_problem(reader.info.mpp, model.mpp))
        tissue = detect_tissue(reader, params.min_tissue_um2)
        if params.roi is not None:
            tissue = apply_roi(tissue, params.roi)
        stain = read_stain(tissue)
        refuse(stain.problem())
        tissue_s = time.perf_counter() - started
        tile = _round_up(params.tile_size or shape.tile, model.input_multiple)
        halo = _round_up(params.halo or shape.halo, model.input_multiple)
        batch_size = params.batch_size or shape.batch
        scale = snapped_scale(model.mpp / reader.info.mpp, reader.level_downsamples)
        grid = plan_tiles(reader.info.width, reader.info.height, scale,
                          tile, halo, model.input_multiple, tissue)
        with CellSink(cells_path) as sink:
            model_s = detect_cells(readers, grid, runner, tissue, threshold, sink, batch_size,
                                   progress)
        readers.close()  # idle from here on: their memory goes back before the outputs
        timings = {"tissue_s": tissue_s, "model_s": model_s,
                   "detect_s": time.perf_counter() - started - tissue_s}
        reported = {**asdict(params), "threshold": threshold, "cutoffs": list(cutoffs),
                    "tile_size": tile, "halo": halo, "batch_size": batch_size,
                    "read_workers": params.read_workers or shape.readers,
                    "provider": runner.provider,
                    "tiles": len(grid), "tiles_total": grid.total_cores}
        # Inside the with-block: the review crops are read from the slide, still open.
        try:
            result = write_outputs(out_dir, cells_path, tissue, reader.info, model, reported,
                                   timings, cutoffs, stain, reader=reader)
        finally:
            cells_path.unlink(missing_ok=True)
    return result
