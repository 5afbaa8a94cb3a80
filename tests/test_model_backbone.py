from __future__ import annotations

from pathlib import Path

import pytest
import torch

from model.backbone import VGG16BN, SmallEncoder, WeightsError, build_backbone

# torchvision's vgg16_bn features: (Sequential index of each conv, in, out); BN follows at +1
_TV_CONVS = [(0, 3, 64), (3, 64, 64), (7, 64, 128), (10, 128, 128), (14, 128, 256),
             (17, 256, 256), (20, 256, 256), (24, 256, 512), (27, 512, 512), (30, 512, 512),
             (34, 512, 512), (37, 512, 512), (40, 512, 512)]


def torchvision_like_state() -> dict[str, torch.Tensor]:
    """A state dict with torchvision vgg16_bn's key names and shapes, classifier included."""
    gen = torch.Generator().manual_seed(0)
    state: dict[str, torch.Tensor] = {}
    for index, cin, cout in _TV_CONVS:
        state[f"features.{index}.weight"] = torch.randn(cout, cin, 3, 3, generator=gen)
        state[f"features.{index}.bias"] = torch.randn(cout, generator=gen)
        bn = index + 1
        for name in ("weight", "bias", "running_mean"):
            state[f"features.{bn}.{name}"] = torch.randn(cout, generator=gen)
        state[f"features.{bn}.running_var"] = torch.rand(cout, generator=gen) + 0.5
        state[f"features.{bn}.num_batches_tracked"] = torch.tensor(7)
    # the classifier is not loaded; a small stand-in keeps the test light
    state["classifier.6.weight"] = torch.zeros(1000, 16)
    state["classifier.6.bias"] = torch.zeros(1000)
    return state


def test_torchvision_state_dict_loads_strictly(tmp_path: Path) -> None:
    state = torchvision_like_state()
    torch.save(state, tmp_path / "vgg16_bn.pth")
    vgg = build_backbone("vgg16_bn", str(tmp_path / "vgg16_bn.pth"))
    assert isinstance(vgg, VGG16BN)
    assert torch.equal(vgg.features[40].weight, state["features.40.weight"])
    assert torch.equal(vgg.features[41].running_var, state["features.41.running_var"])


def test_a_wrong_state_dict_is_refused() -> None:
    state = torchvision_like_state()
    del state["features.41.running_var"]
    with pytest.raises(WeightsError, match="running_var"):
        VGG16BN().load_torchvision_weights(state)
    with pytest.raises(WeightsError, match="never downloaded"):
        build_backbone("vgg16_bn", "/nonexistent/vgg16_bn.pth")


@pytest.mark.parametrize("encoder", [SmallEncoder, VGG16BN])
def test_stages_halve_the_resolution(encoder: type) -> None:
    net = encoder().eval()
    with torch.no_grad():
        stages = net(torch.zeros(1, 3, 64, 96))
    assert [s.shape[-2:] for s in stages] == [(64 // st, 96 // st) for st in net.stage_strides]
    assert [s.shape[1] for s in stages] == list(net.stage_channels)
    assert net.stage_strides == (2, 4, 8, 16, 32)
