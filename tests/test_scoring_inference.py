from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scoring import providers
from scoring.errors import ModelError
from scoring.inference import CPU, ModelRunner, _PinnedFeed, get_runner
from scoring.providers import CUDA, TENSORRT, provider_order, session_options
from scoring.region_detect import detect_region
from tests.marker_model import build_marker_model

TISSUE = (175, 180, 205)


@pytest.fixture(scope="module")
def marker_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_marker_model(tmp_path_factory.mktemp("model") / "markers.onnx")


def test_runner_is_cached_and_reports_its_provider(marker_model: Path) -> None:
    runner = get_runner(marker_model)
    assert get_runner(marker_model) is runner
    assert runner.provider in runner.session.get_providers()
    assert runner.provider == CPU or runner.provider == "CUDAExecutionProvider"


def test_marker_model_outputs_follow_the_contract(marker_model: Path) -> None:
    batch = np.full((2, 3, 64, 96), 255, np.float32)
    points, p_obj, p_class = get_runner(marker_model).run(batch)
    anchors = (64 // 16) * (96 // 16)
    assert points.shape == (2, anchors, 2) and p_obj.shape == (2, anchors)
    assert p_class.shape == (2, anchors, 4)
    np.testing.assert_allclose(p_class.sum(axis=2), 1.0, rtol=1e-5)
    assert (p_obj == 0).all()
    # Empty blocks report their centre: first block (8, 8), second (24, 8).
    np.testing.assert_array_equal(points[0, :2], [[8, 8], [24, 8]])


def test_marker_model_finds_each_marker_exactly(marker_model: Path) -> None:
    image = np.full((64, 96, 3), TISSUE, np.uint8)
    truth = {(37, 20): 0, (11, 5): 1, (90, 59): 2, (52, 44): 3}
    colours = [(255, 0, 0), (0, 0, 255), (0, 255, 0), (255, 255, 0)]
    for (x, y), cls in truth.items():
        image[y - 1:y + 2, x - 1:x + 2] = colours[cls]
    cells = detect_region(marker_model, image, image_mpp=0.5)
    found = {(int(x), int(y)): int(c) for (x, y), c in zip(cells.xy, cells.cls)}
    assert found == truth
    np.testing.assert_array_equal(cells.xy, np.round(cells.xy))


def test_region_not_a_multiple_of_32_drops_nothing_and_invents_nothing(marker_model: Path) -> None:
    image = np.full((50, 70, 3), TISSUE, np.uint8)
    image[44:47, 67:70] = (255, 0, 0)  # marker at (68, 45), close to both padded edges
    cells = detect_region(marker_model, image, image_mpp=0.5)
    np.testing.assert_array_equal(cells.xy, [[68, 45]])


def test_threshold_override_is_used(marker_model: Path) -> None:
    image = np.full((32, 32, 3), TISSUE, np.uint8)
    image[7:10, 7:10] = (255, 0, 0)
    assert len(detect_region(marker_model, image, 0.5, threshold=1.5)) == 0
    assert len(detect_region(marker_model, image, 0.5, threshold=1.0)) == 1


def test_missing_or_broken_model_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        get_runner(tmp_path / "absent.onnx")
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not an onnx file")
    with pytest.raises(ModelError):
        get_runner(broken)


def test_provider_order_prefers_tensorrt_then_cuda_and_always_ends_on_the_cpu() -> None:
    assert provider_order([TENSORRT, CUDA, CPU], driver=True) == [TENSORRT, CUDA, CPU]
    assert provider_order([CPU, CUDA], driver=True) == [CUDA, CPU]
    assert provider_order(["AzureExecutionProvider", CPU], driver=True) == [CPU]
    assert provider_order([TENSORRT, CUDA, CPU], driver=False) == [CPU]  # no NVIDIA driver


def test_threads_follow_the_provider() -> None:
    assert session_options(CPU, cores=3).intra_op_num_threads == 3  # the model owns the cores
    assert session_options(CUDA, cores=16).intra_op_num_threads == 1  # readers get them


class _FakeOrt:
    """onnxruntime's provider list and session start-up, faked: each provider named in
    `broken` raises, each in `silent` is dropped as onnxruntime does when libraries are missing."""

    def __init__(self, available: list[str], broken: set[str], silent: set[str]) -> None:
        import onnxruntime as ort

        self.available, self.broken, self.silent = available, broken, silent
        self.asked: list[list[str]] = []
        self.real_session = ort.InferenceSession

    def session(self, path: str, options: object, providers: list[tuple[str, dict]]) -> object:
        import onnxruntime as ort

        names = [name for name, _ in providers]
        self.asked.append(names)
        if names[0] in self.broken:
            raise ort.capi.onnxruntime_pybind11_state.Fail(f"{names[0]} libraries missing")
        real = self.real_session(path, providers=[CPU])
        kept = [n for n in names if n not in self.silent]
        real.get_providers = lambda: kept  # type: ignore[method-assign]
        return real


@pytest.mark.parametrize(("broken", "silent", "expected", "asked"), [
    (set(), set(), TENSORRT, [[TENSORRT, CUDA, CPU]]),
    ({TENSORRT}, set(), CUDA, [[TENSORRT, CUDA, CPU], [CUDA, CPU]]),
    ({TENSORRT}, {CUDA}, CPU, [[TENSORRT, CUDA, CPU], [CUDA, CPU], [CPU]]),
    (set(), {TENSORRT, CUDA}, CPU, [[TENSORRT, CUDA, CPU], [CUDA, CPU], [CPU]]),
])
def test_each_provider_that_fails_gives_way_to_the_next_and_the_log_says_which(
        marker_model: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        broken: set[str], silent: set[str], expected: str, asked: list[list[str]]) -> None:
    import onnxruntime as ort

    fake = _FakeOrt([TENSORRT, CUDA, CPU], broken, silent)
    monkeypatch.setattr(ort, "get_available_providers", lambda: fake.available)
    monkeypatch.setattr(ort, "InferenceSession", fake.session)
    monkeypatch.setattr(providers, "cuda_driver_present", lambda: True)
    with caplog.at_level("INFO", logger="scoring.providers"):
        _, provider = providers.create_session(marker_model, cores=2)
    assert provider == expected and fake.asked == asked
    assert f"running on {expected}" in caplog.text
    for name in broken | silent:
        assert f"{name} is installed but" in caplog.text


def test_gpu_providers_are_not_asked_for_without_a_driver(
        marker_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import onnxruntime as ort

    fake = _FakeOrt([TENSORRT, CUDA, CPU], set(), set())
    monkeypatch.setattr(ort, "get_available_providers", lambda: fake.available)
    monkeypatch.setattr(ort, "InferenceSession", fake.session)
    monkeypatch.setattr(providers, "cuda_driver_present", lambda: False)
    assert providers.create_session(marker_model, cores=2)[1] == CPU
    assert fake.asked == [[CPU]]


@pytest.fixture(scope="module")
def uint8_marker_model(marker_model: Path) -> Path:
    import onnx

    from model.precision import with_uint8_input

    path = marker_model.with_name("markers-uint8.onnx")
    onnx.save(with_uint8_input(onnx.load(str(marker_model))), str(path))
    return path


def _marker_tiles() -> np.ndarray:
    tiles = np.full((3, 64, 96, 3), TISSUE, np.uint8)  # (B, H, W, 3)
    tiles[0, 19:22, 36:39] = (255, 0, 0)
    tiles[1, 4:7, 10:13] = (0, 0, 255)
    tiles[2, 58:61, 89:92] = (0, 255, 0)
    return tiles


def test_the_input_type_is_read_from_the_graph_and_both_kinds_agree(
        marker_model: Path, uint8_marker_model: Path) -> None:
    from scoring.resample import to_model_input

    tiles = _marker_tiles()
    old = get_runner(marker_model)
    assert old.input_type == np.float32
    expected = old.run(to_model_input(tiles))
    new = get_runner(uint8_marker_model)
    assert new.input_type == np.uint8
    for got in (new.run_tiles(tiles), new.run(to_model_input(tiles))):
        for want, value in zip(expected, got):
            np.testing.assert_array_equal(value, want)
    # the marker in the first tile: block (2, 1) of 6 per row, centroid (37, 20)
    np.testing.assert_array_equal(expected[0][0, 8], [37, 20])


def test_io_binding_from_a_staging_buffer_gives_the_same_outputs(marker_model: Path) -> None:
    from scoring.resample import to_model_input

    runner = get_runner(marker_model)
    batch = to_model_input(_marker_tiles())
    feed = _PinnedFeed(runner.session, "cpu")  # "cuda_pinned" on a GPU host
    for _ in range(2):  # the second run reuses the buffer
        for want, got in zip(runner.session.run(None, {"image": batch}), feed.run(batch)):
            np.testing.assert_array_equal(got, want)


def test_a_gpu_pads_the_short_last_batch_to_the_shape_it_already_runs(marker_model: Path) -> None:
    runner = get_runner(marker_model)
    shapes: list[tuple[int, ...]] = []

    class Recording:
        def run(self, names: list[str], feed: dict[str, np.ndarray]) -> list[np.ndarray]:
            shapes.append(feed["image"].shape)
            return runner.session.run(names, feed)  # type: ignore[no-any-return]

    gpu = ModelRunner(runner.info, Recording(), CUDA)  # type: ignore[arg-type]
    tiles = _marker_tiles()
    gpu.run_tiles(tiles)
    points, p_obj, p_class = gpu.run_tiles(tiles[1:2])
    assert shapes == [(3, 3, 64, 96), (3, 3, 64, 96)]
    assert points.shape == (1, 24, 2) and p_obj.shape == (1, 24) and p_class.shape == (1, 24, 4)
    np.testing.assert_array_equal(points[0, 0], [11, 5])  # tile 1's marker, not the padding's


def test_an_image_type_the_engine_cannot_feed_is_a_model_error(tmp_path: Path,
                                                              marker_model: Path) -> None:
    import onnx
    from onnx import TensorProto

    proto = onnx.load(str(marker_model))
    proto.graph.node.insert(0, onnx.helper.make_node("Cast", ["image"], ["image_f"],
                                                     to=TensorProto.FLOAT))
    for node in proto.graph.node[1:]:
        node.input[:] = ["image_f" if n == "image" else n for n in node.input]
    proto.graph.input[0].type.tensor_type.elem_type = TensorProto.INT32
    onnx.save(proto, str(tmp_path / "int32.onnx"))
    with pytest.raises(ModelError, match="takes tensor\\(int32\\) images"):
        get_runner(tmp_path / "int32.onnx")


def test_a_failing_io_binding_falls_back_to_plain_feeding(
        marker_model: Path, caplog: pytest.LogCaptureFixture) -> None:
    runner = get_runner(marker_model)

    class Broken(_PinnedFeed):
        def run(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            raise providers.ORT_ERRORS[0]("cuda_pinned copy failed")

    gpu = ModelRunner(runner.info, runner.session, CUDA, feed=Broken(runner.session, "cpu"))
    with caplog.at_level("WARNING", logger="scoring.inference"):
        points, _, _ = gpu.run_tiles(_marker_tiles())
    assert gpu.feed is None and "feeding directly" in caplog.text
    np.testing.assert_array_equal(points[1, 0], [11, 5])


def test_a_model_with_a_nucleus_floor_calls_a_brown_negative_positive(
        marker_model: Path, tmp_path: Path) -> None:
    from scoring.optical_density import UNIT_STAINS, rgb_from_density
    from tps.calibrate_cli import write_metadata

    floored = tmp_path / "floored.onnx"
    write_metadata(marker_model, floored, {"positive_threshold": 0.5, "positive_nucleus_dab": 1.0})
    image = np.full((32, 64, 3), TISSUE, np.uint8)
    yy, xx = np.mgrid[:32, :64]
    # a brown nucleus (2.5 OD of DAB) 5 px across around the first negative marker only
    image[np.hypot(xx - 40, yy - 20) <= 5] = rgb_from_density(2.5 * UNIT_STAINS[2])
    for x, y in ((40, 20), (11, 5)):
        image[y - 1:y + 2, x - 1:x + 2] = (0, 0, 255)  # tumor_neg markers
    cells = detect_region(floored, image, 0.5)
    called = {(int(x), int(y)): int(c) for (x, y), c in zip(cells.xy, cells.cls)}
    assert called == {(40, 20): 0, (11, 5): 1}
    plain = detect_region(marker_model, image, 0.5)
    assert plain.cls.tolist() == [1, 1]  # the network alone: both negative


def test_a_model_with_a_min_distance_keeps_one_of_two_close_cells(
        marker_model: Path, tmp_path: Path) -> None:
    from tps.calibrate_cli import write_metadata

    spaced = tmp_path / "spaced.onnx"
    write_metadata(marker_model, spaced, {"positive_threshold": 0.5, "min_distance_um": 3.0})
    image = np.full((32, 64, 3), TISSUE, np.uint8)
    for x, y in ((14, 8), (18, 8), (50, 20)):  # 4 px = 2 um apart, then one far off
        image[y - 1:y + 2, x - 1:x + 2] = (255, 0, 0)
    assert detect_region(marker_model, image, 0.5).xy.tolist() == [[14, 8], [18, 8], [50, 20]]
    # equally sure (p_obj 1): the first anchor stays
    assert detect_region(spaced, image, 0.5).xy.tolist() == [[14, 8], [50, 20]]
