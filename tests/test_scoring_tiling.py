from __future__ import annotations

import numpy as np
import pytest

from scoring.tiling import plan_tiles
from scoring.tissue_mask import TissueMask


def _owners(grid_points: np.ndarray, tile: int, halo: int, scale: float,
            width: int, height: int) -> np.ndarray:
    """How many tiles own each model-frame point."""
    grid = plan_tiles(width, height, scale, tile, halo, 32, tissue=None)
    owners = np.zeros(len(grid_points), np.int64)
    for origin in grid.origins:
        tile_xy = grid_points - origin
        visible = ((tile_xy >= -0.5) & (tile_xy < tile - 0.5)).all(axis=1)
        owners += visible & grid.in_core(tile_xy)
    return owners


@pytest.mark.parametrize("tile,halo", [(256, 32), (128, 0), (192, 64)])
def test_cores_partition_the_slide(tile: int, halo: int) -> None:
    rng = np.random.default_rng(0)
    points = rng.uniform(-0.49, 999.49, size=(2000, 2))
    points[:10] = np.arange(10)[:, None] * 64  # exactly on core borders too
    assert (_owners(points, tile, halo, 1.0, 1000, 1000) == 1).all()


def test_origins_lie_on_the_input_multiple_grid() -> None:
    grid = plan_tiles(1000, 700, 1.0, 256, 32, 32, tissue=None)
    assert (grid.origins % 32 == 0).all()
    assert grid.core == 192 and len(grid) == grid.total_cores == 6 * 4  # ceil(1000/192)=6


def test_scale_changes_the_model_extent() -> None:
    grid = plan_tiles(1000, 1000, 2.0, 128, 0, 32, tissue=None)  # 500 x 500 model pixels
    assert grid.total_cores == 4 * 4


def test_only_tiles_touching_tissue_are_kept() -> None:
    mask = np.zeros((10, 10), bool)
    mask[0, 0] = True  # level-0 [0, 100) x [0, 100)
    mask[9, 9] = True  # level-0 [900, 1000)
    tissue = TissueMask(mask=mask, downsample=100.0, thumbnail=np.zeros((10, 10, 3), np.uint8))
    grid = plan_tiles(1000, 1000, 1.0, 256, 32, 32, tissue=tissue)
    cores = {tuple(o) for o in (grid.origins + 32).tolist()}
    assert cores == {(0, 0), (768, 768), (960, 768), (768, 960), (960, 960)}


def test_level0_mapping_uses_pixel_centres() -> None:
    grid = plan_tiles(100, 100, 2.0, 64, 0, 32, tissue=None)
    level0 = grid.to_level0(np.array([[0.0, 0.0], [1.0, 2.0]]), np.array([32, 0]))
    np.testing.assert_allclose(level0, [[64.5, 0.5], [66.5, 4.5]])


def test_bad_geometry_is_refused() -> None:
    with pytest.raises(ValueError, match="multiples"):
        plan_tiles(100, 100, 1.0, 100, 0, 32, tissue=None)
    with pytest.raises(ValueError, match="no core"):
        plan_tiles(100, 100, 1.0, 64, 32, 32, tissue=None)


def test_loop_shape_spends_fewer_model_pixels_per_core_pixel_on_a_gpu() -> None:
    from scoring.tiling import loop_shape

    def overhead(tile: int, halo: int) -> float:
        return (tile / (tile - 2 * halo)) ** 2  # model pixels run per core pixel owned

    gpu, cpu = loop_shape(on_gpu=True, cores=16), loop_shape(on_gpu=False, cores=2)
    assert (gpu.tile, gpu.halo, gpu.readers) == (1024, 64, 15)  # one core feeds the GPU
    assert overhead(gpu.tile, gpu.halo) == pytest.approx(1.306, abs=1e-3)
    assert overhead(512, 64) == pytest.approx(1.778, abs=1e-3)  # the former default
    assert overhead(cpu.tile, cpu.halo) < overhead(512, 64)
    assert gpu.batch * gpu.tile**2 > cpu.batch * cpu.tile**2
    assert (gpu.reader_nice, cpu.reader_nice) == (0, 10)  # on the CPU the model goes first
    assert loop_shape(on_gpu=True, cores=1).readers == 1
    assert loop_shape(on_gpu=False, cores=1).readers == 1
