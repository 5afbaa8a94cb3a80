"""The input low-pass: a normalised Gaussian, in the graph, the same in torch and in the file."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from scipy import ndimage

from model.config import ConfigError
from model.export import check_export, export_onnx
from model.input_lowpass import InputLowPass, gaussian_taps
from model.network import PointNet
from model.onnx_weights import network_from_onnx
from tests.test_model_train import small_config


def test_taps_are_a_normalised_gaussian_three_sigmas_wide() -> None:
    taps = gaussian_taps(0.8)
    assert len(taps) == 7  # radius ceil(2.4) = 3
    assert float(taps.sum()) == pytest.approx(1.0)
    assert torch.equal(taps, taps.flip(0))
    # by hand: exp(-0.5 (1 / 0.8)^2) = 0.4578 of the centre tap one pixel off
    assert float(taps[4] / taps[3]) == pytest.approx(0.45783, abs=1e-5)


def test_it_blurs_as_scipys_gaussian_filter_and_keeps_flat_fields() -> None:
    rng = np.random.default_rng(0)
    image = rng.uniform(0, 255, (1, 3, 24, 20)).astype(np.float32)
    out = InputLowPass(0.8)(torch.from_numpy(image)).numpy()
    want = ndimage.gaussian_filter(image, sigma=(0, 0, 0.8, 0.8), radius=3)
    assert out.shape == image.shape
    assert np.abs(out - want)[..., 3:-3, 3:-3].max() < 1e-3  # away from the edges
    # at a corner only the taps inside count: by hand, the weights of rows/columns 0..3
    taps = gaussian_taps(0.8).numpy()[3:]
    corner = taps @ image[0, 0, :4, :4] @ taps / taps.sum() ** 2
    assert out[0, 0, 0, 0] == pytest.approx(corner, rel=1e-5)
    flat = torch.full((1, 3, 9, 9), 200.0)
    assert torch.allclose(InputLowPass(0.8)(flat), flat)  # edges included: no glass border


def test_sigma_zero_is_no_filter_and_a_bad_sigma_is_refused() -> None:
    image = torch.rand(1, 3, 8, 8)
    assert torch.equal(InputLowPass(0.0)(image), image)
    with pytest.raises(ConfigError, match="input_lowpass_px"):
        small_config(input_lowpass_px=-0.5)


def test_the_low_pass_travels_in_the_file_and_back(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = PointNet(small_config(input_lowpass_px=0.8)).eval()
    path = tmp_path / "m.onnx"
    export_onnx(model, path)
    assert max(check_export(model, path).values()) < 1e-4  # the file filters as torch does
    rebuilt = network_from_onnx(path)
    assert rebuilt.config.input_lowpass_px == 0.8
    assert max(check_export(rebuilt, path).values()) < 1e-4
    # and it is a filter the network's outputs depend on, not a dead branch
    plain = PointNet(small_config()).eval()
    plain.load_state_dict(model.state_dict())
    image = torch.rand(1, 3, 64, 64) * 255
    with torch.no_grad():
        assert not torch.allclose(model(image)["p_obj"], plain(image)["p_obj"])
    graph = onnx.load(str(path)).graph
    assert any(a.name == "group" and a.i == 3  # the per-channel blur is in the file
               for node in graph.node if node.op_type == "Conv" for a in node.attribute)
