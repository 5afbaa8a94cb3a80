from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from model.checkpoint import CHECKPOINT_NAME, load_checkpoint
from scoring.model_info import ModelInfo
from tps.cli import main


def write_points_csv(folder: Path) -> Path:
    rng = np.random.default_rng(0)
    rows = ["image,x,y,label"]
    for i in range(2):
        image = np.full((64, 64, 3), 230, np.uint8)
        for x, y, label in [(16, 20, "pos"), (44, 40, "neg")]:
            image[y - 3:y + 4, x - 3:x + 4] = (120, 60, 20) if label == "pos" else (40, 50, 150)
            rows.append(f"img{i}.png,{x + rng.uniform(-1, 1):.2f},{y},{label}")
        Image.fromarray(image).save(folder / f"img{i}.png")
    (folder / "points.csv").write_text("\n".join(rows) + "\n")
    return folder / "points.csv"


def test_train_resume_and_export_from_the_command_line(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    csv = write_points_csv(tmp_path)
    out = tmp_path / "run"
    common = ["train", "--data", str(csv), "--label-map", "pos=tumor_pos,neg=tumor_neg",
              "--backbone", "small", "--out", str(out)]
    overrides = 'epochs=1;crop_size=64;batch_size=2;head_channels=8;pfa=false;cls_loss="ce"'
    assert main([*common, "--config", overrides]) == 0
    saved = load_checkpoint(out / CHECKPOINT_NAME)
    assert saved["config"]["pfa"] is False and saved["config"]["cls_loss"] == "ce"
    assert saved["state"]["epoch"] == 1
    # resuming a finished run keeps its saved config and trains no further
    assert main([*common, "--resume"]) == 0
    assert load_checkpoint(out / CHECKPOINT_NAME)["state"]["step"] == saved["state"]["step"]

    assert main(["export", str(out / CHECKPOINT_NAME), "--out", str(tmp_path / "m.onnx")]) == 0
    assert "onnxruntime matches torch" in capsys.readouterr().out
    assert ModelInfo.from_onnx(tmp_path / "m.onnx").classes[0] == "tumor_pos"


def test_bad_overrides_and_labels_are_reported(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    csv = write_points_csv(tmp_path)
    base = ["train", "--data", str(csv), "--out", str(tmp_path / "run")]
    assert main(base + ["--label-map", "pos=tumor_pos,neg=tumor_neg", "--config", "lr_x=1"]) == 2
    assert "unknown config key 'lr_x'" in capsys.readouterr().err
    assert main(base) == 2  # labels pos/neg are not model classes without a label map
    assert "label-map" in capsys.readouterr().err


def test_train_on_several_datasets_each_with_its_own_labels_and_repeat(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = write_points_csv(tmp_path / "a")
    second = write_points_csv(tmp_path / "b")
    second.write_text(second.read_text().replace(",pos", ",brown").replace(",neg", ",blue"))
    args = ["train", "--data", str(first), "--data", str(second),
            "--label-map", "pos=tumor_pos,neg=tumor_neg",
            "--label-map", "brown=tumor_pos,blue=ignore",
            "--repeat", "1", "--repeat", "3", "--out", str(tmp_path / "run"),
            "--backbone", "small",
            "--config", 'epochs=1;crop_size=64;batch_size=2;head_channels=8;cls_loss="ce"']
    assert main(args) == 0
    assert "on 8 images" in capsys.readouterr().out  # 2 images + 2 images shown 3 times

    # a per-dataset option given neither once nor once per --data is refused, naming it
    assert main([*args[:5], "--mpp", "0.5", "--mpp", "0.25", "--mpp", "1",
                 "--out", str(tmp_path / "bad")]) == 2
    assert "--mpp is given 3 times for 2 --data" in capsys.readouterr().err
    # the second dataset's labels are not model classes without its own map
    assert main([*args[:5], "--label-map", "pos=tumor_pos,neg=tumor_neg",
                 "--out", str(tmp_path / "bad")]) == 2
    assert "brown" in capsys.readouterr().err
