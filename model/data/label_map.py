"""From the labels a dataset uses to the model's class ids, with `ignore` for labels to drop."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from model.data.errors import LabelMapError
from model.sign_open import label_names

DEFAULT_CLASSES = ("tumor_pos", "tumor_neg", "nontumor_pos", "nontumor_neg")
IGNORE = "ignore"
# Class id given to points whose label is mapped to `ignore`; they are dropped right after.
IGNORED_ID = -1


@dataclass(frozen=True)
class LabelMap:
    """Dataset label -> model class name, sign-open label ("tumor_any", model/sign_open.py) or
    `ignore`. A class name always maps to itself."""

    classes: tuple[str, ...]
    mapping: Mapping[str, str]

    def class_id(self, label: str) -> int:
        target = self.mapping.get(label, label)
        if target == IGNORE:
            return IGNORED_ID
        if target not in label_names(self.classes):
            raise LabelMapError(
                f"dataset label {label!r} is not a model class {list(self.classes)}; "
                f"map it, e.g. --label-map {label}={self.classes[0]} or {label}={IGNORE}")
        return label_names(self.classes).index(target)

    def class_ids(self, labels: Iterable[str]) -> np.ndarray:
        """(N,) int64 class ids, IGNORED_ID for ignored labels; every unknown label is named."""
        labels = list(labels)
        lookup: dict[str, int] = {}
        unknown: list[str] = []
        for label in dict.fromkeys(labels):
            try:
                lookup[label] = self.class_id(label)
            except LabelMapError:
                unknown.append(label)
        if unknown:
            raise LabelMapError(
                f"dataset labels {unknown} are not model classes {list(self.classes)}; map them "
                f"with --label-map, e.g. {unknown[0]}={self.classes[0]} or {unknown[0]}={IGNORE}")
        return np.array([lookup[label] for label in labels], dtype=np.int64)


def parse_label_map(text: str | None, classes: Iterable[str] = DEFAULT_CLASSES) -> LabelMap:
    """Parse `a=tumor_pos,b=tumor_neg,c=ignore`; the targets must be model classes or `ignore`."""
    classes = tuple(classes)
    mapping: dict[str, str] = {}
    for item in (text or "").split(","):
        item = item.strip()
        if not item:
            continue
        label, sep, target = (part.strip() for part in item.partition("="))
        if not sep or not label or not target:
            raise LabelMapError(f"label map entry {item!r} is not of the form label=class")
        if target != IGNORE and target not in label_names(classes):
            raise LabelMapError(
                f"label map sends {label!r} to {target!r}, which is neither a model class "
                f"{list(classes)} nor {IGNORE!r}")
        if mapping.get(label, target) != target:
            raise LabelMapError(f"label map sends {label!r} to both {mapping[label]!r} and {target!r}")
        mapping[label] = target
    return LabelMap(classes=classes, mapping=mapping)
