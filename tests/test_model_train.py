from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from model.checkpoint import CHECKPOINT_NAME, model_from_checkpoint
from model.config import TrainConfig
from model.evaluation import match_points
from model.train import EpochOrder, epoch_order, learning_rate, train

Sample = tuple[torch.Tensor, dict[str, torch.Tensor]]


def blob_images(count: int, size: int, cells: int, seed: int) -> list[Sample]:
    """Light background with dark discs (radius 4): brown = class 0, blue = class 1."""
    rng = np.random.default_rng(seed)
    colours = np.array([[120, 60, 20], [40, 50, 150]], dtype=np.float32)
    yy, xx = np.mgrid[0:size, 0:size]
    samples = []
    for _ in range(count):
        image = np.full((size, size, 3), 235.0, dtype=np.float32)
        centres: list[np.ndarray] = []
        while len(centres) < cells:  # at least 14 px apart so each disc is its own cell
            c = rng.uniform(6, size - 7, 2)
            if all(np.hypot(*(c - o)) >= 14 for o in centres):
                centres.append(c)
        labels = rng.integers(0, 2, cells)
        for (x, y), label in zip(centres, labels):
            image[(xx - x) ** 2 + (yy - y) ** 2 <= 16] = colours[label]
        samples.append((torch.from_numpy(image.transpose(2, 0, 1).copy()),
                        {"points": torch.tensor(np.array(centres), dtype=torch.float32),
                         "labels": torch.from_numpy(labels.astype(np.int64))}))
    return samples


def small_config(**changes: object) -> TrainConfig:
    base: dict[str, object] = {
        "backbone": "small", "head_channels": 32, "classes": ("pos", "neg"),
        "tumor_pos": ("pos",), "tumor_neg": ("neg",), "batch_size": 2, "crop_size": 64,
        "lr": 2e-3, "weight_decay": 0.0, "log_every": 1000, "checkpoint_every": 1000,
        "device": "cpu"}
    return TrainConfig(**(base | changes))  # type: ignore[arg-type]


@pytest.mark.parametrize(("schedule", "rescan_consistency"),
                         [("constant", 0.0), ("cosine", 0.0), ("cosine", 1.0)])
def test_resume_after_interruption_equals_an_uninterrupted_run(
        tmp_path: Path, schedule: str, rescan_consistency: float) -> None:
    data = blob_images(4, 64, 3, seed=1)
    config = small_config(epochs=2, checkpoint_every=1, lr_schedule=schedule,
                          rescan_consistency=rescan_consistency)
    train(config, data, tmp_path / "straight", log=lambda _: None)
    train(config, data, tmp_path / "split", stop_after_steps=3, log=lambda _: None)
    lines: list[str] = []
    state = train(config, data, tmp_path / "split", resume=True, log=lines.append)
    assert state.step == 4 and state.epoch == 2 and "resumed" in lines[0]
    straight, _ = model_from_checkpoint(tmp_path / "straight" / CHECKPOINT_NAME)
    split, _ = model_from_checkpoint(tmp_path / "split" / CHECKPOINT_NAME)
    for (name, a), b in zip(straight.state_dict().items(), split.state_dict().values()):
        assert torch.equal(a, b), name


def test_epoch_order_serves_each_epoch_from_its_first_batch_not_done() -> None:
    order = EpochOrder(n=6, seed=3, batch_size=2)
    order.start(epoch=0, batches_done=0)
    first = list(order)
    assert sorted(first) == list(range(6)) and first == epoch_order(6, 3, 0)
    order.start(epoch=1, batches_done=1)  # a run resumed after one batch of epoch 1
    assert list(order) == epoch_order(6, 3, 1)[2:] and len(order) == 4
    assert epoch_order(6, 3, 1) != first  # epochs are shuffled anew


def test_loader_processes_kept_across_epochs_give_the_in_process_run(tmp_path: Path) -> None:
    """The data here has no randomness, so a run whose one loader worker lives through both
    epochs must train exactly as the run that loads in-process."""
    data = blob_images(4, 64, 3, seed=2)
    in_process = train(small_config(epochs=2), data, tmp_path / "a", log=lambda _: None)
    with_worker = train(small_config(epochs=2, num_workers=1), data, tmp_path / "b",
                        log=lambda _: None)
    assert in_process.step == with_worker.step == 4 and with_worker.epoch == 2
    a, _ = model_from_checkpoint(tmp_path / "a" / CHECKPOINT_NAME)
    b, _ = model_from_checkpoint(tmp_path / "b" / CHECKPOINT_NAME)
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(x, y), name


def test_cosine_schedule_by_hand() -> None:
    config = small_config(lr=1e-3, lr_schedule="cosine")
    assert learning_rate(config, 0, 100) == pytest.approx(1e-3)
    assert learning_rate(config, 50, 100) == pytest.approx(5e-4)
    assert learning_rate(config, 75, 100) == pytest.approx(1e-3 * (1 - 2 ** -0.5) / 2)
    assert learning_rate(config, 100, 100) == pytest.approx(0.0, abs=1e-12)
    assert learning_rate(small_config(lr=1e-3), 99, 100) == 1e-3  # constant is the default


def test_progress_lines_show_every_loss_term_and_throughput(tmp_path: Path) -> None:
    lines: list[str] = []
    train(small_config(epochs=1, log_every=1), blob_images(2, 64, 2, 0), tmp_path, log=lines.append)
    assert all(k in lines[0] for k in ("loss_reg", "loss_det", "loss_cls", "img/s"))
    assert "loss_rescan" not in lines[0]  # no twin is made unless asked for


def test_a_rescan_consistency_weight_adds_its_term_to_the_loss(tmp_path: Path) -> None:
    state = train(small_config(epochs=1, rescan_consistency=2.0), blob_images(2, 64, 2, 0),
                  tmp_path, log=lambda _: None)
    terms = state.last_terms
    weighted = (small_config().lambda_reg * terms["loss_reg"] + terms["loss_det"]
                + terms["loss_cls"] + 2.0 * terms["loss_rescan"])
    assert terms["loss_rescan"] > 0  # a new network does not call a rescanned crop the same
    assert terms["loss"] == pytest.approx(weighted, rel=1e-5)


def test_overfits_a_handful_of_images_to_detection_f1(tmp_path: Path) -> None:
    data = blob_images(4, 96, 5, seed=0)
    state = train(small_config(epochs=70, batch_size=4), data, tmp_path, log=print)
    model, _ = model_from_checkpoint(tmp_path / CHECKPOINT_NAME)
    model.eval()
    tp = n_pred = n_gt = 0
    with torch.no_grad():
        out = model(torch.stack([image for image, _ in data]))
    for b, (_, target) in enumerate(data):
        keep = out["p_obj"][b] >= 0.5
        pred = out["points"][b][keep].numpy()
        matched, _ = match_points(pred, target["points"].numpy(), radius=4.0)
        tp, n_pred, n_gt = tp + len(matched), n_pred + len(pred), n_gt + len(target["points"])
    f1 = 2 * tp / (n_pred + n_gt)
    print(f"steps {state.step} detection F1 {f1:.3f} ({tp} tp, {n_pred} pred, {n_gt} gt)")
    assert f1 >= 0.95
