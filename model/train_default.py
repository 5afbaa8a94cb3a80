"""Reproduce the network of models/default.onnx with fixed seeds, in two stages:

    .venv/bin/python -m model.train_default --threads 2    # ~28 min on a 2-core CPU
    .venv/bin/python -m model.train_default --threads 2 --start 0.6.0.onnx --out further.onnx

The first trains 0.5.0's network from scratch (the network of 0.5.0-0.6.0); the second trains
0.6.0's whole network further with the FURTHER recipe, adding EndoNuke and the degradations
(5-10 min), as 0.8.0's was; `tps calibrate` then writes the decode rules (MODEL_CARD.md,
"Reproduce").

Steps of each: synthetic tiles (train seed 0, held-out seed 1, H&E seed 2) -> train the small backbone
on them plus the BCData sample -> export -> pick the p_obj threshold on the synthetic held-out
set -> re-export with it -> evaluate on DeepLIIF, synthetic held-out and BCData -> write
runs/default/metrics.json. Measured: 9,280 steps of the recipe in 1,647 s on both threads of
a 2-core machine (seed 1); the shipped file took 2,473 s on one thread beside another run.
Run again, it resumes an interrupted training (the loop resumes exactly) and only re-exports
a finished one. Scratch goes to runs/default (ignored).

The paper-sized configuration, the same recipe with VGG16-bn (from scratch: no ImageNet
weights are fetched) and 256 head channels, is for a GPU and for comparison only:

    python -m model.train_default --backbone vgg16_bn --device cuda --workers 8

On one H100 its 9,280 steps took about 445 s; batches of 4 leave that GPU mostly idle
(MODEL_CARD.md, "The paper-sized configuration").
"""
from __future__ import annotations

import argparse
import hashlib
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from model.default_recipe import (
    BCDATA,
    BCDATA_LABELS,
    BCDATA_MPP,
    DEEPLIIF,
    DEEPLIIF_AS_20X_MPP,
    DEEPLIIF_LABELS,
    DEEPLIIF_MPP,
    ENDONUKE_KIND_LABELS,
    ENDONUKE_MPP,
    ENDONUKE_SIGN_LABELS,
    FURTHER,
    HE_SEED,
    MODEL_VERSION,
    TRAIN_SEED,
    VAL_SEED,
    Recipe,
    config_overrides,
    make_tiles,
    paper_sized,
    training_dataset,
    write_endonuke_held_out,
)
from model.recipe_measures import REPO, evaluate

THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", choices=("small", "vgg16_bn"), default="small")
    parser.add_argument("--work", type=Path, help="scratch (default runs/default, or "
                                                   "runs/vgg16_bn for that backbone)")
    parser.add_argument("--out", type=Path, help="the model (default models/default.onnx, or "
                                                  "WORK/vgg16_bn.onnx for that backbone)")
    parser.add_argument("--epochs", type=int, help=f"default {Recipe.epochs} of 29 steps "
                        f"(4 crops each); with --start {FURTHER.epochs} of 36")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--workers", type=int, default=0, help="data loader processes")
    parser.add_argument("--seed", type=int, default=Recipe.seed,
                        help="training seed (the tiles keep theirs); another one measures the spread")
    parser.add_argument("--stride", type=int, choices=(16, 32), default=Recipe.stride,
                        help="the decode stride (MODEL_CARD.md, \"Stride 16\")")
    parser.add_argument("--lowpass", type=float, default=Recipe.input_lowpass_px,
                        metavar="SIGMA", help="a fixed Gaussian low-pass of SIGMA px inside "
                        "the network (model/input_lowpass.py; MODEL_CARD.md, \"Stride 16\")")
    parser.add_argument("--rescan-consistency", type=float, default=Recipe.rescan_consistency,
                        metavar="WEIGHT", help="a loss of this weight between each crop's calls "
                        "and its rescanned twin's (model/rescan_consistency.py)")
    parser.add_argument("--unscaled", type=float, default=Recipe.unscaled, metavar="SHARE",
                        help="this share of crops cut at scale 1, not resampled "
                        "(model/data/augment.py)")
    parser.add_argument("--start", type=Path,
                        help="the second stage: train this exported model further with the "
                             f"FURTHER recipe ({FURTHER.epochs} epochs unless --epochs says)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    default = args.backbone == "small"
    work = args.work or REPO / "runs" / ("default" if default else args.backbone)
    out = args.out or (REPO / "models" / "default.onnx" if default
                       else work / f"{args.backbone}.onnx")
    first = FURTHER if args.start else Recipe()
    recipe = replace(first, epochs=args.epochs or first.epochs, seed=args.seed,
                     stride=args.stride, input_lowpass_px=args.lowpass,
                     rescan_consistency=args.rescan_consistency, unscaled=args.unscaled)
    recipe = recipe if default else paper_sized(recipe)
    started = time.perf_counter()
    synth, val, he = make_tiles(work, recipe)
    checkpoint, train_s = train_checkpoint(recipe, synth, work / "train", he,
                                           args.device, args.workers, args.start)

    candidate = work / "candidate.onnx"
    export(checkpoint, candidate, threshold=0.5, notes={}, recipe=recipe)
    sweep = {t: evaluate(candidate, val, work / f"val-t{t}.json", threshold=t)
             for t in THRESHOLDS}
    threshold = max(THRESHOLDS, key=lambda t: sweep[t]["detection_f1"] or 0.0)
    notes = {"data": f"{recipe.synth_tiles} synthetic tiles (seed {TRAIN_SEED}) + "
                     f"{recipe.he_tiles} H&E tiles, every cell negative (seed {HE_SEED}) + "
                     f"BCData sample x{recipe.bcdata_repeats} at {recipe.bcdata_mpp} um/px "
                     f"({BCDATA_LABELS})" + endonuke_note(recipe),
             "threshold_choice": f"best detection F1 on {recipe.val_tiles} synthetic held-out "
                                 f"tiles (seed {VAL_SEED}) among {list(THRESHOLDS)}",
             "train_seconds": round(train_s)}
    if args.start:
        notes["trained_from"] = (f"{args.start.name}, sha256 "
                                 f"{hashlib.sha256(args.start.read_bytes()).hexdigest()}")
    export(checkpoint, out, threshold=threshold, notes=notes, recipe=recipe)
    metrics = measure(out, val, work)
    metrics |= {"threshold": threshold, "threshold_sweep_synthetic_val": sweep,
                "train_seconds": round(train_s), "total_seconds": round(time.perf_counter() - started),
                "sha256": hashlib.sha256(out.read_bytes()).hexdigest(),
                "size_bytes": out.stat().st_size}
    (work / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(json.dumps(metrics, indent=2))
    return 0


def endonuke_note(recipe: Recipe) -> str:
    if not recipe.endonuke_repeats:
        return ""
    signs = ("sign from nuclear DAB, open between 0.7 and 1.2 OD"
             if recipe.endonuke_sign_from_stain else "every sign left open")
    images = (f"{recipe.endonuke_images} of the nine in ten training images, evenly spaced"
              if recipe.endonuke_images else "nine in ten images")
    return (f" + EndoNuke sample x{recipe.endonuke_repeats} ({images}; epithelium -> "
            f"tumour, stroma and other -> non-tumour, {signs})")


def train_checkpoint(recipe: Recipe, synth_points: Path, out_dir: Path,
                     he_points: Path | None = None, device: str = "cpu",
                     workers: int = 0, start: Path | None = None) -> tuple[Path, float]:
    """Train, or resume the run already in out_dir (a finished one is not trained further);
    `start` is an exported model to train further, whole (model.onnx_weights).
    Returns the checkpoint and the training seconds of all sittings, kept in out_dir."""
    from model.checkpoint import CHECKPOINT_NAME
    from model.config import TrainConfig
    from model.onnx_weights import network_from_onnx
    from model.train import train

    config = TrainConfig(**config_overrides(recipe, device, workers))
    resume = (out_dir / CHECKPOINT_NAME).is_file()
    seconds_file = out_dir / "train_seconds.txt"
    earlier = float(seconds_file.read_text()) if resume and seconds_file.is_file() else 0.0
    started = time.perf_counter()
    train(config, training_dataset(recipe, synth_points, he_points), out_dir, resume=resume,
          start=network_from_onnx(start, config) if start else None)
    total = earlier + time.perf_counter() - started
    seconds_file.write_text(f"{total:.0f}\n")
    return out_dir / CHECKPOINT_NAME, total


def export(checkpoint: Path, out: Path, threshold: float, notes: dict[str, Any],
           recipe: Recipe) -> None:
    """`tps export` with the chosen threshold, the recipe's augmentation and notes in metadata.

    The recipe builds its own augmentation (HED jitter, eosin wash), so the config saved in
    the checkpoint does not describe it; the `training` metadata gets it added here.
    """
    import onnx

    from model.checkpoint import model_from_checkpoint
    from model.export import check_export, export_onnx

    model, state = model_from_checkpoint(checkpoint)
    model.config.threshold = threshold
    model.config.version = MODEL_VERSION  # the file's version, whichever run made the weights
    export_onnx(model, out, state)
    check_export(model, out)
    proto = onnx.load(str(out))
    for prop in proto.metadata_props:
        if prop.key == "training":
            training = json.loads(prop.value)
            training["recipe"] = notes | {"stain_sigma": recipe.stain_sigma,
                                          "stain_bias": recipe.stain_bias,
                                          "eosin_max": recipe.eosin_max,
                                          "he_render": recipe.he_render,
                                          "he_tint": recipe.he_tint,
                                          "bcdata_mpp": recipe.bcdata_mpp,
                                          "unscaled": recipe.unscaled,
                                          "rescan": recipe.rescan,
                                          "rescan_consistency": recipe.rescan_consistency,
                                          "blur": recipe.blur,
                                          "sharpen": recipe.sharpen,
                                          "jpeg": recipe.jpeg}
            prop.value = json.dumps(training)
    onnx.save(proto, str(out))


def measure(model: Path, synth_val: Path, work: Path) -> dict[str, Any]:
    return {
        "deepliif": evaluate(model, DEEPLIIF, work / "eval-deepliif.json", DEEPLIIF_MPP,
                             DEEPLIIF_LABELS),
        "deepliif_as_20x": evaluate(model, DEEPLIIF, work / "eval-deepliif-as-20x.json",
                                    DEEPLIIF_AS_20X_MPP, DEEPLIIF_LABELS),
        "synthetic_val": evaluate(model, synth_val, work / "eval-synth-val.json"),
        "bcdata_training_fit": evaluate(model, BCDATA, work / "eval-bcdata.json", BCDATA_MPP,
                                        BCDATA_LABELS),
        "endonuke_held_out_kind": evaluate(
            model, write_endonuke_held_out(work / "endonuke-held-out.csv"),
            work / "eval-endonuke-kind.json", ENDONUKE_MPP, ENDONUKE_KIND_LABELS),
        "endonuke_held_out_stain_sign": evaluate(
            model, write_endonuke_held_out(work / "endonuke-held-out-signs.csv", signs=True),
            work / "eval-endonuke-sign.json", ENDONUKE_MPP, ENDONUKE_SIGN_LABELS),
    }


if __name__ == "__main__":
    raise SystemExit(main())
