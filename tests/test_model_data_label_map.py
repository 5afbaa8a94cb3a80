from __future__ import annotations

import numpy as np
import pytest

from model.data.errors import LabelMapError
from model.data.label_map import IGNORED_ID, parse_label_map


def test_mapped_labels_and_class_names_give_class_ids() -> None:
    label_map = parse_label_map("pos_tumor=tumor_pos, neg_tumor=tumor_neg,stroma=ignore")
    ids = label_map.class_ids(["pos_tumor", "neg_tumor", "nontumor_neg", "stroma", "pos_tumor"])
    np.testing.assert_array_equal(ids, [0, 1, 3, IGNORED_ID, 0])
    assert ids.dtype == np.int64


def test_unknown_labels_are_all_named_with_a_hint() -> None:
    label_map = parse_label_map("pos=tumor_pos")
    with pytest.raises(LabelMapError, match=r"\['neg', 'other'\].*--label-map"):
        label_map.class_ids(["pos", "neg", "other", "neg"])


@pytest.mark.parametrize("text, match", [
    ("pos=tumour_pos", "neither a model class"),
    ("pos", "label=class"),
    ("=tumor_pos", "label=class"),
    ("pos=tumor_pos,pos=tumor_neg", "both"),
])
def test_malformed_maps_are_refused(text: str, match: str) -> None:
    with pytest.raises(LabelMapError, match=match):
        parse_label_map(text)


def test_model_classes_other_than_the_default_are_honoured() -> None:
    label_map = parse_label_map("a=pos", classes=("neg", "pos"))
    np.testing.assert_array_equal(label_map.class_ids(["a", "neg"]), [1, 0])
    with pytest.raises(LabelMapError):
        label_map.class_ids(["tumor_pos"])
