"""The sign of a cell read from its nucleus's DAB, open in the valley between the modes."""
import numpy as np
from PIL import Image

from model.data.label_map import parse_label_map
from model.data.stain_signed import (
    ENDONUKE_KINDS,
    NEGATIVE_BELOW,
    POSITIVE_ABOVE,
    load_stain_signed,
    sign_labels,
)
from scoring.optical_density import HED_FROM_RGB_UNIT


def test_sign_from_nuclear_dab_with_an_open_valley() -> None:
    dab = np.array([NEGATIVE_BELOW - 0.01, (NEGATIVE_BELOW + POSITIVE_ABOVE) / 2,
                    POSITIVE_ABOVE + 0.01, 0.0])
    kinds = ["epithelium", "stroma", "other", "epithelium"]
    assert sign_labels(kinds, dab, ENDONUKE_KINDS) == [
        "tumor_neg", "nontumor_any", "nontumor_pos", "tumor_neg"]


def test_a_brown_nucleus_is_positive_and_a_blue_one_negative(tmp_path) -> None:
    # glass with two 10 px disks: one pure DAB at OD 2 per channel's share, one haematoxylin
    image = np.full((64, 64, 3), 245, np.uint8)
    yy, xx = np.mgrid[:64, :64]
    rgb_from_hed = np.linalg.inv(HED_FROM_RGB_UNIT)  # rows: the H, E, D stain vectors

    def stained(h: float, d: float) -> np.ndarray:
        od = h * rgb_from_hed[0] + d * rgb_from_hed[2]
        return np.clip(255 * np.exp(-od), 0, 255).astype(np.uint8)

    image[(yy - 16) ** 2 + (xx - 16) ** 2 <= 25] = stained(0.3, 2.0)
    image[(yy - 48) ** 2 + (xx - 48) ** 2 <= 25] = stained(1.5, 0.0)
    Image.fromarray(image).save(tmp_path / "a.png")
    (tmp_path / "points.csv").write_text(
        "image,x,y,label\na.png,16,16,epithelium\na.png,48,48,stroma\n")
    [sample] = load_stain_signed(tmp_path / "points.csv", parse_label_map(None), 0.5, 0.5)
    assert sample.labels.tolist() == [0, 3]  # tumor_pos, nontumor_neg
    assert sample.xy.tolist() == [[16, 16], [48, 48]]


def test_points_follow_the_resampling(tmp_path) -> None:
    Image.fromarray(np.full((40, 40, 3), 240, np.uint8)).save(tmp_path / "a.png")
    (tmp_path / "points.csv").write_text("image,x,y,label\na.png,9.5,19.5,stroma\n")
    [sample] = load_stain_signed(tmp_path / "points.csv", parse_label_map(None), 0.25, 0.5)
    assert sample.image.shape == (20, 20, 3)
    assert np.allclose(sample.xy, [[4.5, 9.5]])  # (x + 0.5) / 2 - 0.5
    assert sample.labels.tolist() == [3]  # glass has no DAB: negative


def test_signs_can_be_left_open_whatever_the_stain(tmp_path) -> None:
    image = np.full((40, 40, 3), 240, np.uint8)
    image[15:25, 15:25] = (90, 50, 20)  # a dark brown square: positive by the stain
    Image.fromarray(image).save(tmp_path / "a.png")
    (tmp_path / "points.csv").write_text(
        "image,x,y,label\na.png,20,20,epithelium\na.png,5,5,stroma\n")
    [signed] = load_stain_signed(tmp_path / "points.csv", parse_label_map(None), 0.5, 0.5)
    [open_] = load_stain_signed(tmp_path / "points.csv", parse_label_map(None), 0.5, 0.5,
                                sign_from_stain=False)
    assert signed.labels.tolist() == [0, 3]  # tumor_pos, nontumor_neg
    assert open_.labels.tolist() == [4, 5]  # tumor_any, nontumor_any
