"""The shipped default model: complete metadata, the sha256 the model card states, it finds
cells on a synthetic tile when run by the worker, the card's real-data figures are what the
file gives, and the worker withholds the TPS of the real H&E slide."""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import onnx
import pytest

from model.evaluation import match_points
from scoring.model_info import REQUIRED_KEYS, ModelInfo
from scoring.region_detect import detect_region
from synth.tiles import make_tile

MODELS = Path(__file__).resolve().parents[1] / "models"
DEFAULT_MODEL = MODELS / "default.onnx"
MODEL_CARD = MODELS / "MODEL_CARD.md"
MAX_BYTES = 25 * 1024 * 1024


def _card_value(key: str) -> str:
    """A `key: \\`value\\`` line of the model card."""
    found = re.search(rf"^{re.escape(key)}: `([^`]+)`", MODEL_CARD.read_text(), re.MULTILINE)
    assert found, f"model card has no '{key}: `...`' line"
    return found.group(1)


@pytest.fixture(scope="module")
def metadata() -> dict[str, str]:
    proto = onnx.load(str(DEFAULT_MODEL), load_external_data=False)
    return {prop.key: prop.value for prop in proto.metadata_props}


def test_file_is_small_enough_to_ship() -> None:
    assert 0 < DEFAULT_MODEL.stat().st_size <= MAX_BYTES


def test_sha256_matches_the_model_card() -> None:
    digest = hashlib.sha256(DEFAULT_MODEL.read_bytes()).hexdigest()
    assert _card_value("sha256") == digest


def test_metadata_is_complete_and_canonical(metadata: dict[str, str]) -> None:
    missing = [key for key in (*REQUIRED_KEYS, "training") if not metadata.get(key)]
    assert missing == []
    assert metadata["tps.format"] == "1"
    assert json.loads(metadata["classes"]) == ["tumor_pos", "tumor_neg", "nontumor_pos",
                                               "nontumor_neg"]
    assert json.loads(metadata["tumor_pos"]) == ["tumor_pos"]
    assert json.loads(metadata["tumor_neg"]) == ["tumor_neg"]
    assert float(metadata["mpp"]) == 0.5
    assert int(metadata["input_multiple"]) == 32
    anchors = json.loads(metadata["anchors"])
    assert anchors["stride"] == 32 and len(anchors["offsets"]) == 5
    training = json.loads(metadata["training"])
    assert training["config"]["backbone"] == "small" and training["steps"] > 0


def test_card_states_the_shipped_threshold_and_mpp(metadata: dict[str, str]) -> None:
    assert float(_card_value("threshold")) == float(metadata["threshold"])
    assert 0.0 < float(metadata["threshold"]) < 1.0
    assert float(_card_value("mpp")) == float(metadata["mpp"])


def test_worker_reads_it() -> None:
    info = ModelInfo.from_onnx(DEFAULT_MODEL)
    assert info.mpp == 0.5 and info.input_multiple == 32
    assert info.sha256 == hashlib.sha256(DEFAULT_MODEL.read_bytes()).hexdigest()


def test_detect_region_finds_the_cells_of_a_synthetic_tile() -> None:
    tile = make_tile(256, 0.5, seed=123, index=0)  # a seed used neither in training nor in val
    truth = np.stack([tile.cells.x, tile.cells.y], axis=1).astype(np.float64)  # (N, 2)
    assert len(truth) >= 20  # otherwise the tile tells nothing
    cells = detect_region(DEFAULT_MODEL, tile.rgb, 0.5)
    assert len(cells) > 0
    assert np.all((cells.xy >= -0.5) & (cells.xy < 256 - 0.5))
    assert set(np.unique(cells.cls).tolist()) <= {0, 1, 2, 3}
    pred_idx, _ = match_points(cells.xy, truth, radius=12.0)
    # a loose floor well below the measured synthetic figures: a broken export or a model
    # that does not see cells falls far under it
    assert len(pred_idx) / len(truth) >= 0.5
    assert len(pred_idx) / len(cells) >= 0.5


def test_the_service_uses_the_bundled_model_wherever_it_starts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from worker.settings import WorkerSettings

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TPS_MODEL_PATH", raising=False)
    assert WorkerSettings().model_path == DEFAULT_MODEL.resolve()
    assert WorkerSettings().model_path.is_file()


def test_the_cards_deepliif_figures_are_what_the_file_gives(shared_data: Path,
                                                           tmp_path: Path) -> None:
    from model.default_recipe import DEEPLIIF_LABELS, DEEPLIIF_MPP
    from model.recipe_measures import evaluate

    row = re.search(r"^\| \*\*DeepLIIF at 0\.25 um/px\*\*.*?\| [\d.]+ / [\d.]+ / \*\*([\d.]+)\*\* "
                    r"\| \*\*([\d.]+)\*\*", MODEL_CARD.read_text(), re.MULTILINE)
    assert row, "model card has no DeepLIIF row"
    measured = evaluate(DEFAULT_MODEL, shared_data / "deepliif-sample" / "points.csv",
                        tmp_path / "deepliif.json", DEEPLIIF_MPP, DEEPLIIF_LABELS)
    # 0.002: the card rounds to 3 places, and onnxruntime's CPU kernels differ in the last bits
    assert abs(measured["detection_f1"] - float(row.group(1))) <= 0.002
    assert abs(measured["pos_neg_f1"] - float(row.group(2))) <= 0.002


def test_the_real_he_slide_gets_no_score(shared_data: Path, tmp_path: Path) -> None:
    from scoring.pipeline import ScoreParams, score_slide

    slide = shared_data / "slides" / "CMU-1-Small-Region.svs"
    result = score_slide(slide, tmp_path / "cmu", ScoreParams(model_path=DEFAULT_MODEL))
    assert result["flags"]["not_ihc"] is True
    assert result["tps"] is None and result["tps_ci95"] is None and result["category"] is None
    assert all(fragment["tps"] is None for fragment in result["fragments"])
    # the model still finds the slide's nuclei; their counts stay for review
    assert sum(result["counts"].values()) > 500
