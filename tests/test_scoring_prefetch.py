"""Tile reader processes: the same pixels as an in-process read, in the grid's order, errors
raised in the tile loop, and no process left behind."""
from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pytest

from scoring.errors import DamagedSlide, SlideError
from scoring.prefetch import TileReaders
from scoring.slide_info import SlideInfo
from scoring.slide_reader import SlideReader
from scoring.tile_source import TileSource
from scoring.tiling import plan_tiles
from tests.worker_slide_fixture import markers_image, write_pyramid_tiff


@pytest.fixture(scope="module")
def slide(tmp_path_factory: pytest.TempPathFactory) -> Path:
    image, _ = markers_image(900, 700, seed=5, tissue_box=(0, 0, 900, 700))
    return write_pyramid_tiff(tmp_path_factory.mktemp("slide") / "s.tiff", image, mpp=0.5)


def _expected(slide: Path, scale: float, tile: int) -> tuple[SlideInfo, np.ndarray, np.ndarray]:
    with SlideReader(slide) as reader:
        grid = plan_tiles(reader.info.width, reader.info.height, scale, tile, 32, 32, None)
        return reader.info, grid.origins, TileSource(reader, scale, tile).read_batch(grid.origins)


@pytest.mark.parametrize(("scale", "workers", "batch"), [(1.0, 2, 4), (2.0, 1, 5), (1.0, 3, 1)])
def test_readers_return_the_in_process_pixels_in_the_grid_order(
        slide: Path, scale: float, workers: int, batch: int) -> None:
    info, origins, expected = _expected(slide, scale, 128)
    grid = plan_tiles(info.width, info.height, scale, 128, 32, 32, None)
    assert len(grid) % batch != 0 or batch == 1  # a short last batch is exercised
    with TileReaders(info, workers) as readers:
        batches = list(readers.batches(grid, batch))
    assert [len(b) for b in batches] == [len(c) for c in np.array_split(
        origins, range(batch, len(origins), batch))]
    np.testing.assert_array_equal(np.concatenate(batches), expected)


def test_a_slide_the_reader_cannot_open_raises_its_own_error(tmp_path: Path, slide: Path) -> None:
    info, _, _ = _expected(slide, 1.0, 128)
    moved = SlideInfo(path=tmp_path / "gone.tiff", sha256=info.sha256, width=info.width,
                      height=info.height, mpp=info.mpp, vendor=info.vendor)
    grid = plan_tiles(info.width, info.height, 1.0, 128, 32, 32, None)
    with TileReaders(moved, 1) as readers, pytest.raises(SlideError, match="no such file"):
        list(readers.batches(grid, 2))


def test_a_reader_that_dies_is_a_damaged_slide_and_close_reaps_every_process(slide: Path) -> None:
    info, _, _ = _expected(slide, 1.0, 128)
    grid = plan_tiles(info.width, info.height, 1.0, 128, 32, 32, None)
    readers = TileReaders(info, 2)
    procs = list(readers._procs)
    try:
        stream = readers.batches(grid, 1)
        next(stream)
        # killed between messages or in the middle of one: the same refusal either way
        os.kill(procs[1].pid, signal.SIGKILL)
        with pytest.raises(DamagedSlide, match="exit code -9"):
            list(stream)
    finally:
        readers.close()
    assert all(proc.poll() is not None for proc in procs)


def test_leaving_the_loop_early_stops_the_readers_cleanly(slide: Path) -> None:
    info, _, _ = _expected(slide, 1.0, 128)
    grid = plan_tiles(info.width, info.height, 1.0, 128, 32, 32, None)
    with TileReaders(info, 2, ahead=4) as readers:
        procs = list(readers._procs)
        next(readers.batches(grid, 2))  # the rest stay in flight, unread
    # told to stop, each closed its slide and exited on its own, not killed
    assert [proc.returncode for proc in procs] == [0, 0]


def test_readers_run_at_the_niceness_asked_for(slide: Path) -> None:
    info, _, _ = _expected(slide, 1.0, 128)
    grid = plan_tiles(info.width, info.height, 1.0, 128, 32, 32, None)
    own = os.getpriority(os.PRIO_PROCESS, 0)
    with TileReaders(info, 1, nice=5) as readers:
        next(readers.batches(grid, 1))  # the reader has started serving, so it has set it
        assert os.getpriority(os.PRIO_PROCESS, readers._procs[0].pid) == min(own + 5, 19)
