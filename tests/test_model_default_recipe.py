"""The default recipe: it still describes the shipped file, and its paper-sized variant differs
from it only where the comparison in the model card says it does."""
from __future__ import annotations

import json
from pathlib import Path

import onnx

from model.config import TrainConfig
from model.default_recipe import (
    FURTHER,
    MODEL_NAME,
    PAPER_NAME,
    Recipe,
    config_overrides,
    paper_sized,
)

DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "models" / "default.onnx"


def test_the_second_stage_gives_the_config_the_shipped_file_was_trained_with() -> None:
    proto = onnx.load(str(DEFAULT_MODEL), load_external_data=False)
    training = json.loads({p.key: p.value for p in proto.metadata_props}["training"])
    overrides = json.loads(json.dumps(config_overrides(FURTHER)))  # tuples as the file has them
    # keys newer than the file read as their defaults, as the engine reads them
    shipped = json.loads(json.dumps(TrainConfig.from_dict(training["config"]).to_dict()))
    assert {key: shipped[key] for key in overrides} == overrides
    degradations = {"blur": FURTHER.blur, "sharpen": FURTHER.sharpen, "jpeg": FURTHER.jpeg}
    assert {key: training["recipe"][key] for key in degradations} == degradations
    assert training["recipe"]["trained_from"].startswith("0.6.0.onnx, sha256 94b571f3")


def test_the_second_stage_differs_from_the_first_in_length_rate_endonuke_and_degradation() -> None:
    first, further = vars(Recipe()), vars(FURTHER)
    changed = {key for key in first if first[key] != further[key]}
    assert changed == {"epochs", "lr", "endonuke_repeats", "endonuke_images",
                       "endonuke_sign_from_stain", "blur", "sharpen", "jpeg"}


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


def test_a_subset_of_endonuke_is_spread_over_all_of_it_in_order() -> None:
    from model.default_recipe import evenly_spaced

    items = list(range(10))
    assert evenly_spaced(items, 4) == [0, 2, 5, 7]
    assert evenly_spaced(items, 1) == [0]
    assert evenly_spaced(items, 0) == items and evenly_spaced(items, 25) == items


def test_the_held_out_endonuke_signs_are_the_stain_at_each_annotated_nucleus(
        shared_data: Path, tmp_path: Path) -> None:
    import numpy as np

    from model.data.point_readers import read_points_csv
    from model.data.samples import read_rgb
    from model.default_recipe import ENDONUKE, write_endonuke_held_out
    from scoring.stain_rule import nucleus_dab

    kinds = read_points_csv(write_endonuke_held_out(tmp_path / "kinds.csv"))
    signs = read_points_csv(write_endonuke_held_out(tmp_path / "signs.csv", signs=True))
    assert [k.name for k in kinds] == [s.name for s in signs]
    assert sum(len(k.xy) for k in kinds) == sum(len(s.xy) for s in signs) > 0
    assert {label for s in signs for label in s.labels} == {"stain_pos", "stain_neg", "stain_any"}
    first = signs[0]  # the first image, checked by hand against the thresholds
    dab = nucleus_dab(read_rgb(first.image_path), first.xy.astype(np.float64), 0.5)
    expected = ["stain_pos" if d > 1.2 else "stain_neg" if d < 0.7 else "stain_any" for d in dab]
    assert list(first.labels) == expected
    assert first.image_path == read_points_csv(ENDONUKE)[0].image_path
