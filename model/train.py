"""The training loop, top to bottom: data, model, AdamW; match, loss, step; log; checkpoint."""
from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from model.checkpoint import CHECKPOINT_NAME, TrainingState, load_checkpoint, save_checkpoint
from model.config import TrainConfig
from model.criterion import PointCriterion
from model.data.dataset import Target, collate
from model.matcher import match_batch
from model.network import PointNet
from model.rescan_consistency import consistency_loss, rescan_factors, rescanned_twin


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def learning_rate(config: TrainConfig, step: int, total_steps: int) -> float:
    """The lr of a step (0-based): constant, or a cosine from config.lr down to 0 at total_steps."""
    if config.lr_schedule == "constant":
        return config.lr
    return 0.5 * config.lr * (1.0 + math.cos(math.pi * min(step / max(total_steps, 1), 1.0)))


def epoch_order(n: int, seed: int, epoch: int) -> list[int]:
    """The sample order of an epoch, fixed by seed and epoch so a resumed epoch can skip ahead."""
    generator = torch.Generator().manual_seed(seed * 100_003 + epoch)
    return torch.randperm(n, generator=generator).tolist()


class EpochOrder(Sampler[int]):
    """The order of the epoch in progress, from its first batch not yet done. One loader serves
    every epoch, so its worker processes are started once per run, not once per epoch (the
    restarts slowed runs of many short epochs on a GPU)."""

    def __init__(self, n: int, seed: int, batch_size: int) -> None:
        self.n, self.seed, self.batch_size = n, seed, batch_size
        self.order: list[int] = []

    def start(self, epoch: int, batches_done: int) -> None:
        self.order = epoch_order(self.n, self.seed, epoch)[batches_done * self.batch_size:]

    def __iter__(self) -> Iterator[int]:
        return iter(self.order)

    def __len__(self) -> int:
        return len(self.order)


def train(config: TrainConfig, dataset: Dataset[tuple[torch.Tensor, Target]], out_dir: Path,
          resume: bool = False, stop_after_steps: int | None = None,
          log: Callable[[str], None] = print, start: PointNet | None = None) -> TrainingState:
    """Train until config.epochs, or until stop_after_steps (which stands for an interruption).
    `start` is the network to train further (default: a new one); a resume replaces its weights."""
    seed_everything(config.seed)
    device = pick_device(config.device)
    model = (start or PointNet(config)).to(device)
    optimizer = torch.optim.AdamW(trained_parameters(model, config.trainable), lr=config.lr,
                                  weight_decay=config.weight_decay)
    criterion = PointCriterion(config)
    checkpoint_path = out_dir / CHECKPOINT_NAME
    state = TrainingState()
    if resume:
        payload = load_checkpoint(checkpoint_path)
        model.load_state_dict(payload["model"])
        optimizer.load_state_dict(payload["optimizer"])
        state = TrainingState(**payload["state"])
        torch.set_rng_state(payload["torch_rng"])
        log(f"resumed from {checkpoint_path} at epoch {state.epoch} step {state.step}")
    n = len(dataset)  # type: ignore[arg-type]
    total_steps = config.epochs * math.ceil(n / config.batch_size)

    order = EpochOrder(n, config.seed, config.batch_size)
    loader = DataLoader(dataset, batch_size=config.batch_size, sampler=order, collate_fn=collate,
                        num_workers=config.num_workers, persistent_workers=config.num_workers > 0,
                        # its own generator: the loader's seed draw must not shift the global
                        # stream that a resumed run restores
                        generator=torch.Generator().manual_seed(config.seed))

    while state.epoch < config.epochs:
        order.start(state.epoch, state.batches_done)
        train_mode(model, config.trainable, frozen_norms=start is not None)
        tick, images_since_tick = time.perf_counter(), 0
        for images, targets in loader:
            images = images.to(device)  # (B, 3, H, W)
            targets = [{k: v.to(device) for k, v in t.items()} for t in targets]
            outputs = model(images)
            matches = match_batch(outputs, targets, config.alpha, criterion.members)
            terms = criterion.terms(outputs, targets, matches)
            if config.rescan_consistency:
                # drawn from the step, so a resumed run makes the same twins
                draw = torch.Generator().manual_seed(config.seed * 1_000_003 + state.step)
                twin = rescanned_twin(images, rescan_factors(images.shape[0], draw))
                terms["loss_rescan"] = consistency_loss(outputs, model(twin))
            loss = criterion.total(terms)
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(config, state.step, total_steps)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]  # untyped in torch's stubs
            optimizer.step()

            state.step += 1
            state.batches_done += 1
            state.images_seen += images.shape[0]
            images_since_tick += images.shape[0]
            state.last_terms = {"loss": loss.item()} | {k: v.item() for k, v in terms.items()}
            if state.step % config.log_every == 0:
                rate = images_since_tick / max(time.perf_counter() - tick, 1e-9)
                log(_progress_line(state, rate))
                tick, images_since_tick = time.perf_counter(), 0
            if state.step % config.checkpoint_every == 0:
                save_checkpoint(checkpoint_path, model, optimizer, state)
            if stop_after_steps is not None and state.step >= stop_after_steps:
                return state
        state.epoch += 1
        state.batches_done = 0
    save_checkpoint(checkpoint_path, model, optimizer, state)
    log(f"done: {state.epoch} epochs, {state.step} steps, checkpoint {checkpoint_path}")
    return state


def trained_parameters(model: PointNet, trainable: tuple[str, ...]) -> list[torch.nn.Parameter]:
    """The parameters of the parts in `trainable` (all when empty); the others are frozen."""
    trained = []
    for name, parameter in model.named_parameters():
        parameter.requires_grad_(not trainable or name.split(".")[0] in trainable)
        if parameter.requires_grad:
            trained.append(parameter)
    return trained


def train_mode(model: PointNet, trainable: tuple[str, ...], frozen_norms: bool) -> None:
    """Training mode for the parts trained; a frozen part stays in eval mode, so its batch
    norms keep their statistics instead of normalising by each batch's. With `frozen_norms`
    (a network trained further) every batch norm does: a network read back from its ONNX file
    has them folded into its convs, and batch statistics would undo what it learned."""
    model.train()
    for name, part in model.named_children():
        if trainable and name not in trainable:
            part.eval()
    if frozen_norms:
        for norm in model.modules():
            if isinstance(norm, torch.nn.BatchNorm2d):
                norm.eval()


def _progress_line(state: TrainingState, images_per_s: float) -> str:
    terms = " ".join(f"{k} {v:.4f}" for k, v in state.last_terms.items())
    return f"epoch {state.epoch} step {state.step} {terms} {images_per_s:.1f} img/s"
