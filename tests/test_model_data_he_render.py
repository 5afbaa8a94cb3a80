"""The H&E render: DAB is gone, stained nuclei stay dark, glass stays glass, every positive cell
turns negative; offered to `tps train` as `he_render`, and refused where a class has no negative."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from model.config import CANONICAL_CLASSES, ConfigError, TrainConfig
from model.data.dataset import Augmentation, PointDataset
from model.data.errors import DatasetError
from model.data.he_render import negatives_of, random_he_render, render_as_he
from model.data.samples import PointSample
from model.data.stain import rgb_to_hed
from tps.cli import main


def _dab_image() -> np.ndarray:
    image = np.full((32, 32, 3), 255, np.uint8)  # glass
    image[8:24, 8:24] = (120, 140, 200)  # a haematoxylin-blue patch
    image[12:20, 12:20] = (110, 70, 30)  # a brown DAB-stained nucleus inside it
    return image


def test_render_drops_dab_and_keeps_the_nucleus_dark() -> None:
    image = _dab_image()
    before = rgb_to_hed(image)
    after = rgb_to_hed(render_as_he(image, eosin=0.3, dab_share=1.0))
    assert before[16, 16, 2] > 0.5 and abs(after[16, 16, 2]) < 0.05
    # the nucleus's DAB became haematoxylin, so it stays the darkest thing in the crop
    assert after[16, 16, 0] > before[16, 16, 0] + 0.5 * before[16, 16, 2]
    assert after[16, 16].sum() > after[10, 10].sum()
    assert after[10, 10, 1] - before[10, 10, 1] > 0.25  # tissue gained eosin
    assert np.array_equal(render_as_he(image, 0.3, 1.0)[:4, :4], image[:4, :4])  # glass


def test_tint_reads_a_share_of_the_h_and_e_density_as_dab() -> None:
    image = _dab_image()
    plain = rgb_to_hed(render_as_he(image, eosin=0.3, dab_share=1.0))
    tinted = rgb_to_hed(render_as_he(image, eosin=0.3, dab_share=1.0, tint=0.4))
    for y, x in ((16, 16), (10, 10)):  # the nucleus and the tissue around it
        # 0.05: the uint8 round trip; the tint is relative, so the dark nucleus gets the most
        assert abs(tinted[y, x, 2] - 0.4 * (plain[y, x, 0] + plain[y, x, 1])) < 0.05
    assert tinted[16, 16, 2] > tinted[10, 10, 2] + 0.2
    assert np.array_equal(render_as_he(image, 0.3, 1.0, 0.4)[:4, :4], image[:4, :4])  # glass


def test_random_render_without_a_tint_draws_as_before() -> None:
    # a render without tint takes two draws, so models trained before the tint reproduce
    image = _dab_image()
    rng, reference = np.random.default_rng(3), np.random.default_rng(3)
    out = random_he_render(image, rng)
    eosin, dab_share = reference.uniform(0.1, 0.8), reference.uniform(0.3, 1.0)
    assert np.array_equal(out, render_as_he(image, eosin, dab_share))
    assert rng.random() == reference.random()
    tinted = random_he_render(image, np.random.default_rng(3), tint_max=0.6)
    assert not np.array_equal(tinted, out)


def test_every_positive_class_becomes_its_negative() -> None:
    assert CANONICAL_CLASSES == ("tumor_pos", "tumor_neg", "nontumor_pos", "nontumor_neg")
    assert negatives_of(CANONICAL_CLASSES) == (1, 1, 3, 3, 1, 3)  # then tumor_any, nontumor_any
    assert negatives_of(("tc_neg", "other", "tc_pos")) == (0, 1, 0, 0)  # tc_any -> tc_neg
    with pytest.raises(DatasetError, match="'ic_neg'"):
        negatives_of(("tc_pos", "tc_neg", "ic_pos"))


def test_dataset_renders_a_share_of_crops_and_relabels_them() -> None:
    labels = np.array([0, 1, 2, 3], np.int64)
    xy = np.array([[14.0, 14.0], [10.0, 10.0], [16.0, 17.0], [20.0, 9.0]], np.float32)
    sample = PointSample(_dab_image(), xy, labels, "a")
    always = Augmentation(crop_size=None, flips=False, he_render=0.999,
                          without_dab=negatives_of(CANONICAL_CLASSES))
    out = PointDataset([sample], always).augment(sample, np.random.default_rng(0))
    assert np.array_equal(out.xy, xy) and out.labels.tolist() == [1, 1, 3, 3]
    assert abs(rgb_to_hed(out.image)[16, 16, 2]) < 0.05
    never = Augmentation(crop_size=None, flips=False)
    kept = PointDataset([sample], never).augment(sample, np.random.default_rng(0))
    assert kept.labels.tolist() == [0, 1, 2, 3] and np.array_equal(kept.image, sample.image)


def test_dataset_tints_its_renders_when_asked() -> None:
    sample = PointSample(_dab_image(), np.array([[16.0, 16.0]], np.float32),
                         np.array([0], np.int64), "a")
    tinted = Augmentation(crop_size=None, flips=False, he_render=0.999, he_tint=0.6,
                          without_dab=negatives_of(CANONICAL_CLASSES))
    # seed 3 draws a tint of 0.35 (seed 0 draws 0.01, which would show little)
    out = PointDataset([sample], tinted).augment(sample, np.random.default_rng(3))
    assert out.labels.tolist() == [1]
    assert rgb_to_hed(out.image)[16, 16, 2] > 0.3  # a plain render leaves < 0.05 (above)


def test_config_checks_the_share_and_the_classes() -> None:
    assert TrainConfig(he_render=0.25).he_render == 0.25
    with pytest.raises(ConfigError, match="he_render"):
        TrainConfig(he_render=1.0)
    with pytest.raises(ConfigError, match="he_tint"):
        TrainConfig(he_render=0.25, he_tint=1.5)
    with pytest.raises(ConfigError, match="set he_render"):
        TrainConfig(he_tint=0.6)
    with pytest.raises(ConfigError, match="ic_pos"):
        TrainConfig(he_render=0.25, classes=("tc_pos", "tc_neg", "ic_pos"),
                    tumor_pos=("tc_pos",), tumor_neg=("tc_neg",))


def test_tps_train_takes_he_render(tmp_path: Path) -> None:
    from model.checkpoint import CHECKPOINT_NAME, load_checkpoint
    from tests.test_model_cli import write_points_csv

    csv = write_points_csv(tmp_path)
    out = tmp_path / "run"
    assert main(["train", "--data", str(csv), "--label-map", "pos=tumor_pos,neg=tumor_neg",
                 "--backbone", "small", "--out", str(out), "--config",
                 'epochs=1;crop_size=64;batch_size=2;head_channels=8;he_render=0.5;he_tint=0.6'
                 ]) == 0
    config = load_checkpoint(out / CHECKPOINT_NAME)["config"]
    assert config["he_render"] == 0.5 and config["he_tint"] == 0.6
