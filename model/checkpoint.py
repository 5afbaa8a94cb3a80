"""Checkpoints: model and optimizer state with the config that rebuilds the exact model."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from model.config import TrainConfig
from model.network import PointNet

CHECKPOINT_NAME = "checkpoint.pt"


class CheckpointError(RuntimeError):
    """A checkpoint that is missing or does not describe a point model."""


@dataclass
class TrainingState:
    """Where training stands: `epoch` is the epoch in progress, `batches_done` its batches."""

    step: int = 0
    epoch: int = 0
    batches_done: int = 0
    images_seen: int = 0
    last_terms: dict[str, float] = field(default_factory=dict)


def save_checkpoint(path: Path, model: PointNet, optimizer: torch.optim.Optimizer | None,
                    state: TrainingState) -> None:
    payload: dict[str, Any] = {
        "config": model.config.to_dict(),
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "state": vars(state).copy(),
        # restoring the generator makes a resumed run draw the same augmentations
        "torch_rng": torch.get_rng_state(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    torch.save(payload, partial)
    os.replace(partial, path)  # an interruption mid-write never leaves a broken checkpoint


def load_checkpoint(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    payload: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=False)
    if not isinstance(payload, dict) or not {"config", "model", "state"} <= payload.keys():
        raise CheckpointError(f"{path} is not a point-model checkpoint")
    return payload


def model_from_checkpoint(path: Path) -> tuple[PointNet, TrainingState]:
    payload = load_checkpoint(path)
    config = TrainConfig.from_dict(payload["config"] | {"backbone_weights": ""})
    model = PointNet(config)
    model.load_state_dict(payload["model"])
    return model, TrainingState(**payload["state"])
