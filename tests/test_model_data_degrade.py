"""Blur, sharpening and JPEG on training crops: each changes pixels, never points or labels."""
import numpy as np

from model.data.dataset import Augmentation, PointDataset
from model.data.degrade import Degradation, degrade
from model.data.samples import PointSample


def _edge() -> np.ndarray:
    image = np.full((32, 32, 3), 230, np.uint8)
    image[:, 16:] = 40  # a sharp dark/light edge
    return image


def test_nothing_drawn_nothing_changed() -> None:
    image = _edge()
    out = degrade(image, np.random.default_rng(0), Degradation())
    assert np.array_equal(out, image)


def test_blur_softens_the_edge_and_sharpening_overshoots_it() -> None:
    image = _edge()
    blurred = degrade(image, np.random.default_rng(0), Degradation(blur=1.0))
    assert 40 < blurred[5, 16, 0] < 230 or 40 < blurred[5, 15, 0] < 230  # a grey step appears
    assert blurred[5, 2, 0] == 230 and blurred[5, 30, 0] == 40  # far from the edge: unchanged
    sharpened = degrade(image, np.random.default_rng(0), Degradation(sharpen=1.0))
    # unsharp masking pushes each side of the edge away from the other
    assert sharpened[5, 15, 0] >= 230 and sharpened[5, 16, 0] <= 40
    assert not np.array_equal(sharpened, image)


def test_jpeg_keeps_the_image_close_but_not_equal() -> None:
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    out = degrade(image, np.random.default_rng(0), Degradation(jpeg=1.0))
    assert out.shape == image.shape and out.dtype == np.uint8
    assert not np.array_equal(out, image)


def test_the_dataset_degrades_pixels_only() -> None:
    sample = PointSample(_edge(), np.array([[3.0, 4.0]], np.float32), np.array([2]), "a")
    augmentation = Augmentation(crop_size=None, flips=False,
                                degradation=Degradation(blur=1.0, jpeg=1.0))
    image, target = PointDataset([sample], augmentation, seed=0)[0]
    assert target["points"].tolist() == [[3.0, 4.0]] and target["labels"].tolist() == [2]
    assert not np.array_equal(image[0, :32, :32].numpy(), _edge()[..., 0].astype(np.float32))


def test_a_rescan_resamples_a_nucleus_but_keeps_it_where_it_was() -> None:
    image = np.full((48, 48, 3), 230, np.uint8)
    image[18:23, 26:31] = 40  # a dark 5 x 5 nucleus centred on (x 28, y 20)
    for seed in range(5):  # each a different factor
        out = degrade(image, np.random.default_rng(seed), Degradation(rescan=1.0))
        assert out.shape == image.shape and out.dtype == np.uint8
        darkness = 230.0 - out[..., 0].astype(np.float64)
        total = darkness.sum()
        ys, xs = np.indices(darkness.shape)
        assert abs((darkness * xs).sum() / total - 28) < 0.5
        assert abs((darkness * ys).sum() / total - 20) < 0.5
        assert not np.array_equal(out, image)  # the nucleus' border is resampled twice
