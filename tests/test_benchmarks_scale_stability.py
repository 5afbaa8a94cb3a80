"""The rescan benchmark's `unseen` tiles are EndoNuke images no default recipe trains on or holds
out: checked against the recipe's own split and choice of training images, not a copy of it."""
from __future__ import annotations

from pathlib import Path

from benchmarks.scale_stability import unseen_endonuke
from model.data.point_readers import read_points_csv
from model.default_recipe import FURTHER, endonuke_split, evenly_spaced


def test_unseen_tiles_are_neither_trained_on_nor_held_out(shared_data: Path) -> None:
    every = read_points_csv(shared_data / "endonuke-sample" / "points.csv")
    training, held_out = endonuke_split()
    trained_on = {s.name for s in evenly_spaced(training, FURTHER.endonuke_images)}
    unseen = {item.name for item in unseen_endonuke()}
    assert len(trained_on) == FURTHER.endonuke_images > 0
    assert not unseen & trained_on
    assert not unseen & {s.name for s in held_out}
    assert len(unseen) + len(trained_on) + len(held_out) == len(every) > 200
