"""The seams between the packages, pinned: the task the API sends is the one the workers run,
on a queue they consume, and the ONNX metadata the exporter writes is what the engine reads.

A rename on one side only would pass every unit test of that side and lose jobs (or refuse
every model) in production, so each seam is checked from both ends here.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import onnx
import pytest

from jobs.queue import CONSUMED_QUEUES, SCORE_QUEUE, SCORE_TASK
from scoring.bundled_model import bundled_model_path
from scoring.model_info import OPTIONAL_KEYS, REQUIRED_KEYS
from tests.marker_model import build_marker_model

REPO = Path(__file__).resolve().parents[1]


def test_the_task_name_is_deliberate() -> None:
    # Messages already queued in a running deployment carry this name: change it on purpose.
    assert (SCORE_TASK, SCORE_QUEUE) == ("tps.score_job", "tps.score")


def test_the_api_sends_the_task_the_workers_run_on_a_queue_they_consume(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from celery import Celery

    from service.dispatch import CeleryDispatcher
    from worker.celery_app import make_celery
    from worker.settings import WorkerSettings

    sent: list[tuple[str, Any, str]] = []

    def capture(_app: Celery, name: str, args: Any = None, queue: str = "", **_kw: Any) -> None:
        sent.append((name, args, queue))

    monkeypatch.setattr(Celery, "send_task", capture)
    CeleryDispatcher("memory://").enqueue("job-1")
    assert sent == [(SCORE_TASK, ["job-1"], SCORE_QUEUE)]

    app = make_celery(WorkerSettings(data_dir=tmp_path, broker_url="memory://"))
    assert SCORE_TASK in app.tasks
    assert app.conf.task_routes[SCORE_TASK]["queue"] == SCORE_QUEUE
    assert SCORE_QUEUE in CONSUMED_QUEUES


def _metadata(path: Path) -> dict[str, str]:
    return {p.key: p.value for p in onnx.load(str(path)).metadata_props}


def test_the_exporter_writes_every_key_the_engine_reads(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from model.config import TrainConfig
    from model.export import model_metadata
    from model.network import PointNet

    written = model_metadata(PointNet(TrainConfig(backbone="small", head_channels=16)), None)
    assert set(REQUIRED_KEYS) <= set(written)
    # `training` is free form, for people only; the optional keys come later (tps calibrate)
    assert set(written) - set(REQUIRED_KEYS) == {"training"}


@pytest.mark.parametrize("which", ["bundled", "markers"])
def test_shipped_and_test_models_carry_the_contract(which: str, tmp_path: Path) -> None:
    path = (bundled_model_path() if which == "bundled"
            else build_marker_model(tmp_path / "markers.onnx"))
    assert set(REQUIRED_KEYS) <= set(_metadata(path))


def test_the_architecture_page_documents_exactly_these_keys() -> None:
    page = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = page.split("Metadata (`metadata_props`", 1)[1].split("\n\n", 1)[0]
    rows = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    documented = {key for row in rows for key in re.findall(r"`([^`]+)`", row)}
    assert documented == set(REQUIRED_KEYS) | set(OPTIONAL_KEYS) | {"training"}


def test_a_calibrated_model_keeps_every_key_and_adds_its_threshold(tmp_path: Path) -> None:
    from scoring.model_info import ModelInfo
    from tps.calibrate_cli import write_metadata

    source = build_marker_model(tmp_path / "markers.onnx")
    write_metadata(source, tmp_path / "calibrated.onnx", {"positive_threshold": 0.7})
    before, after = _metadata(source), _metadata(tmp_path / "calibrated.onnx")
    assert after == before | {"positive_threshold": "0.7"}
    assert ModelInfo.from_onnx(tmp_path / "calibrated.onnx").positive_threshold == 0.7


@pytest.mark.parametrize(("key", "value"), [
    ("positive_nucleus_dab", "0"), ("positive_nucleus_dab", "-1"),
    ("positive_nucleus_dab", "11"), ("positive_nucleus_dab", "brown"),
    ("min_distance_um", "-0.5"), ("min_distance_um", "21"), ("min_distance_um", "near"),
    ("views", "3"), ("views", "0"), ("views", "eight"), ("views", "8"),  # 8: no radius given
    ("view_radius_um", "-1"), ("view_radius_um", "11"), ("view_radius_um", "wide"),
    ("threshold", "0"), ("threshold", "1"), ("positive_threshold", "1.5")])
def test_a_malformed_decode_rule_is_a_model_error(tmp_path: Path, key: str,
                                                            value: str) -> None:
    from scoring.errors import ModelError
    from scoring.model_info import ModelInfo
    from tps.calibrate_cli import write_metadata

    source = build_marker_model(tmp_path / "markers.onnx")
    write_metadata(source, tmp_path / "bad.onnx", {"positive_threshold": 0.7, key: value})
    with pytest.raises(ModelError, match="malformed metadata"):
        ModelInfo.from_onnx(tmp_path / "bad.onnx")
