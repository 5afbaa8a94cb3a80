"""A network read back from its ONNX file is the exported network, and can be trained further."""
from __future__ import annotations

from pathlib import Path

import onnx
import pytest
import torch

from model.checkpoint import CHECKPOINT_NAME, model_from_checkpoint
from model.config import paper_anchors
from model.export import check_export, export_onnx
from model.network import PointNet
from model.onnx_weights import OnnxWeightsError, network_from_onnx
from model.train import train
from tests.test_model_train import blob_images, small_config


def trained_like(seed: int) -> PointNet:
    """A small network whose batch norms hold statistics, as a trained one's do: folding
    them into the convs is what the read-back has to undo."""
    torch.manual_seed(seed)
    model = PointNet(small_config())
    with torch.no_grad():
        for norm in model.modules():
            if isinstance(norm, torch.nn.BatchNorm2d):
                norm.weight.uniform_(0.5, 1.5)
                norm.bias.uniform_(-0.2, 0.2)
                norm.running_mean.uniform_(-0.3, 0.3)
                norm.running_var.uniform_(0.5, 2.0)
    return model.eval()


def test_the_network_read_back_gives_the_files_outputs(tmp_path: Path) -> None:
    path = tmp_path / "m.onnx"
    export_onnx(trained_like(0), path)
    rebuilt = network_from_onnx(path)
    errors = check_export(rebuilt, path)  # raises beyond the float tolerance
    assert max(errors.values()) < 1e-4
    assert rebuilt.config.head_channels == 32 and rebuilt.config.classes == ("pos", "neg")


def test_a_file_for_another_network_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.onnx"
    export_onnx(trained_like(0), path)
    with pytest.raises(OnnxWeightsError, match="does not fit"):
        network_from_onnx(path, small_config(head_channels=64))
    # another stride has the same weights' shapes: only the anchors tell it apart
    with pytest.raises(OnnxWeightsError, match="stride 16"):
        network_from_onnx(path, small_config(**paper_anchors(16)))
    proto = onnx.load(str(path))
    del proto.metadata_props[:]
    onnx.save(proto, str(path))
    with pytest.raises(OnnxWeightsError, match="no training config"):
        network_from_onnx(path)


def test_training_the_class_head_alone_leaves_the_rest_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "m.onnx"
    export_onnx(trained_like(1), path)
    config = small_config(epochs=2, trainable=("classification",))
    start = network_from_onnx(path, config)
    before = {k: v.clone() for k, v in start.state_dict().items()}
    train(config, blob_images(4, 64, 3, seed=3), tmp_path / "run", log=lambda _: None,
          start=start)
    after, _ = model_from_checkpoint(tmp_path / "run" / CHECKPOINT_NAME)
    moved = {k for k, v in after.state_dict().items() if not torch.equal(v, before[k])}
    assert moved and all(k.startswith("classification.") for k in moved)
    # batch norms of frozen parts kept their statistics (eval mode), so the cells stay put
    image = torch.rand(1, 3, 64, 96) * 255
    with torch.no_grad():
        old, new = network_from_onnx(path)(image), after.eval()(image)
    assert torch.equal(old["points"], new["points"]) and torch.equal(old["p_obj"], new["p_obj"])
    assert not torch.equal(old["p_class"], new["p_class"])


def test_training_a_read_back_network_further_keeps_its_norms_statistics(tmp_path: Path) -> None:
    """Batch statistics would renormalise the folded convs' outputs and undo the training:
    every norm's running statistics stay the identity they were read back as."""
    path = tmp_path / "m.onnx"
    export_onnx(trained_like(2), path)
    config = small_config(epochs=1)
    start = network_from_onnx(path, config)
    train(config, blob_images(4, 64, 3, seed=4), tmp_path / "run", log=lambda _: None,
          start=start)
    after, _ = model_from_checkpoint(tmp_path / "run" / CHECKPOINT_NAME)
    norms = [m for m in after.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert norms and all(torch.equal(n.running_mean, torch.zeros_like(n.running_mean))
                         and torch.equal(n.running_var, torch.full_like(n.running_var,
                                                                        1.0 - n.eps))
                         for n in norms)
    assert not torch.equal(after.state_dict()["backbone.features.0.weight"],
                           network_from_onnx(path).state_dict()["backbone.features.0.weight"])
