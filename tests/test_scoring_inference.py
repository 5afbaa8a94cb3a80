from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scoring.errors import ModelError
from scoring.inference import CPU, get_runner
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


def test_cuda_is_not_tried_without_a_driver(marker_model: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import onnxruntime as ort

    from scoring import inference

    asked: list[list[str]] = []
    real_session = ort.InferenceSession

    def recording_session(path: str, options: ort.SessionOptions,
                          providers: list[str]) -> ort.InferenceSession:
        asked.append(providers)
        return real_session(path, options, providers=[CPU])

    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CUDAExecutionProvider", CPU])
    monkeypatch.setattr(ort, "InferenceSession", recording_session)
    monkeypatch.setattr(inference, "cuda_driver_present", lambda: False)
    _, provider = inference._create_session(marker_model)
    assert provider == CPU and asked == [[CPU]]

    asked.clear()
    monkeypatch.setattr(inference, "cuda_driver_present", lambda: True)
    _, provider = inference._create_session(marker_model)
    # CUDA was asked for first; the session fell back to CPU, which is then reported.
    assert provider == CPU and asked[0] == ["CUDAExecutionProvider", CPU]
