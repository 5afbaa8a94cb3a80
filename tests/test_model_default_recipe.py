"""The default recipe: it still describes the shipped file, and its paper-sized variant differs
from it only where the comparison in the model card says it does."""
from __future__ import annotations

import json
from pathlib import Path

import onnx

from model.config import TrainConfig
from model.default_recipe import (
    MODEL_NAME,
    PAPER_NAME,
    Recipe,
    config_overrides,
    paper_sized,
)

DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "models" / "default.onnx"


def test_the_recipe_gives_the_config_the_shipped_file_was_trained_with() -> None:
    proto = onnx.load(str(DEFAULT_MODEL), load_external_data=False)
    training = json.loads({p.key: p.value for p in proto.metadata_props}["training"])
    overrides = config_overrides(Recipe())
    assert {key: training["config"][key] for key in overrides} == overrides


def test_the_paper_sized_variant_changes_the_encoder_heads_name_and_device_only() -> None:
    small = TrainConfig(**config_overrides(Recipe())).to_dict()
    paper = TrainConfig(**config_overrides(paper_sized(Recipe()), device="cuda",
                                           workers=8)).to_dict()
    changed = {key for key in small if small[key] != paper[key]}
    assert changed == {"backbone", "head_channels", "name", "device", "num_workers"}
    assert (small["name"], paper["name"]) == (MODEL_NAME, PAPER_NAME)
    assert (paper["backbone"], paper["head_channels"], paper["device"], paper["num_workers"]) \
        == ("vgg16_bn", 256, "cuda", 8)
    assert (small["backbone"], small["device"], small["num_workers"]) == ("small", "cpu", 0)
