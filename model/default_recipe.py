"""The recipe of the bundled default model, shared by model/train_default.py and
benchmarks/ablation.py: its data and its config (how a model is measured: model/recipe_measures.py).

Data: synthetic PD-L1 tiles from `tps synth tiles` plus the real Ki-67 points of the BCData
sample; optionally the real ER/PR nuclei of the EndoNuke sample (kinds from its labels, signs
from the stain or left open: model/data/stain_signed.py), nine in ten of its images, and blur,
sharpening and JPEG (model/data/degrade.py): both are off in the first stage and on in the
second (`FURTHER`), which made the shipped model. Measurement: `tps evaluate` on the DeepLIIF
sample (never trained on), on a synthetic held-out set (another seed) and on BCData (trained
on: a training-fit figure only).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from model.recipe_measures import REPO, tps

SHARED = REPO.parent / "shared" / "data"
BCDATA = SHARED / "bcdata-sample" / "points.csv"  # labels pos_tumor / neg_tumor
DEEPLIIF = SHARED / "deepliif-sample" / "points.csv"
# EndoNuke (CC BY 4.0): every nucleus of 282 ER/PR tiles as stroma, epithelium or other, about
# 0.5 um/px (100 um tiles of 200 px, per its data descriptor)
ENDONUKE = SHARED / "endonuke-sample" / "points.csv"
ENDONUKE_MPP = 0.5
ENDONUKE_HELD_OUT_EVERY = 10  # every 10th image (in file order) is kept out of training
ENDONUKE_KIND_LABELS = "epithelium=tumor_pos,stroma=nontumor_pos,other=nontumor_pos"
# The same held-out points labelled by the stain at the annotated nucleus instead (no one
# annotated their sign): only stain_f1 is meaningful, and it is agreement with the stain
ENDONUKE_SIGN_LABELS = "stain_pos=tumor_pos,stain_neg=tumor_neg,stain_any=ignore"

# Both real sets are 40x scans, ~0.25 um/px: their nuclei measure a median 35 px (BCData) and
# 30 px (DeepLIIF) across, which is 8-9 um at 0.25 um/px, as tumour nuclei are, and the size of
# the synthetic ones (7.6-13 um). Taken as 0.5 um/px (models 0.1.0-0.3.0) they taught the model
# nuclei twice their real size. They are resampled to the model's 0.5 um/px.
BCDATA_MPP = 0.25
BCDATA_LABELS = "pos_tumor=tumor_pos,neg_tumor=tumor_neg"
DEEPLIIF_MPP = 0.25
DEEPLIIF_AS_20X_MPP = 0.5  # the earlier models' headline, kept as a second figure
DEEPLIIF_LABELS = "pos=tumor_pos,neg=tumor_neg"

TRAIN_SEED, VAL_SEED = 0, 1  # synthetic training and held-out tiles never share a seed
HE_SEED = 2  # the H&E tiles (every cell negative) have a seed of their own
MODEL_NAME, MODEL_VERSION = "pdl1-point-default", "0.5.0"
# the paper-sized configuration, trained with the same recipe on a GPU for comparison only
PAPER_NAME = "pdl1-point-vgg16bn"


@dataclass(frozen=True)
class Recipe:
    backbone: str = "small"  # paper_sized() below swaps in the paper's encoder
    synth_tiles: int = 48
    # H&E tiles, every cell negative: without them the model read the dark purple nuclei of an
    # H&E slide as PD-L1 positive (TPS 83 % on CMU-1-Small-Region); 0 leaves them out
    he_tiles: int = 16
    val_tiles: int = 16
    bcdata_repeats: int = 2  # BCData: shown twice per epoch
    # EndoNuke's training images per epoch; 0 (the first stage) leaves them out. Trained from
    # scratch with them, every run traded the other sets for EndoNuke, dose by dose
    # (MODEL_CARD.md, "Retrained with EndoNuke"); `FURTHER` below brings them in as a second stage
    endonuke_repeats: int = 0
    # how many of EndoNuke's 253 training images, evenly spaced in file order (0: all): at
    # 1 repeat all of them were 69 % of the crops and swamped the rest
    endonuke_images: int = 0
    # True: signs from the nuclear ER/PR stain (model/data/stain_signed.py); False: EndoNuke
    # teaches tumour vs non-tumour only, every sign left open (model/sign_open.py)
    endonuke_sign_from_stain: bool = False
    # the decode stride: one feature, and five anchors, per stride x stride px region
    stride: int = 32
    # sigma (px) of the fixed low-pass inside the network (model/input_lowpass.py); 0 is none
    input_lowpass_px: float = 0.0
    crop_size: int = 256
    scale_range: tuple[float, float] = (0.8, 1.25)  # random resized crop
    # share of crops cut at scale 1, their pixels not resampled (model/data/augment.py); 0 (every
    # recipe so far) interpolates nearly every crop, where the engine reads a 0.5 um/px slide as is
    unscaled: float = 0.0
    batch_size: int = 4
    epochs: int = 320  # of 29 steps (116 crops, batch 4): 9,280 steps
    # 10x the paper's 1e-4: the small backbone starts from scratch, and the cosine schedule
    # brings it down (1e-3 at a constant rate diverged with the summed class loss)
    lr: float = 1e-3
    head_channels: int = 128  # keeps the file well under 25 MB (256 would be ~28 MB)
    # 10x the paper's 2e-3: at 2e-3 the regression loss stayed at ~100 px^2 over 2,500 steps,
    # so points hardly moved off their anchors (first default model, see MODEL_CARD.md)
    lambda_reg: float = 0.02
    stain_sigma: float = 0.05
    stain_bias: float = 0.02
    # cross entropy, not the paper's GCE: no q beat CE in the ablation (docs/ablation.md)
    cls_loss: str = "ce"
    # the class loss per matched cell: summed (eq. 5) it was ~100x the detection loss, and
    # with it and a constant lr the same 2,000 steps gave DeepLIIF detection F1 0.50, not 0.62
    cls_reduction: str = "mean"
    lr_schedule: str = "cosine"
    eosin_max: float = 0.8  # 0 turns the eosin wash off (the first model)
    # share of crops rendered as H&E, every cell negative (model/data/eosin_wash.py); 0.2.0 had
    # none. 0.25 raised DeepLIIF pos/neg F1 from 0.672 to 0.733 (MODEL_CARD.md)
    he_render: float = 0.25
    # the rendered crops' density read as DAB, up to this share (model/data/he_render.py), as
    # a real H&E slide reads; 0.5.0 added it (0.4.0 had none; MODEL_CARD.md)
    he_tint: float = 0.6
    bcdata_mpp: float = BCDATA_MPP  # 0.5 (taken as 20x) for models 0.1.0-0.3.0
    # shares of crops rescanned, blurred, sharpened and JPEG-compressed (model/data/degrade.py),
    # against 0.5.0's reaction to resampling blur; 0 in the first stage, on in `FURTHER`
    rescan: float = 0.0
    # weight of the loss between each crop's calls and its rescanned twin's
    # (model/rescan_consistency.py); 0 (every recipe so far) makes no twin
    rescan_consistency: float = 0.0
    blur: float = 0.0
    sharpen: float = 0.0
    jpeg: float = 0.0
    seed: int = 0


# The shipped model's second stage (0.8.0): 0.6.0's whole network trained further, its norms'
# statistics kept, on the same data plus 25 EndoNuke images with their signs from the stain,
# with blur, sharpening and JPEG so a resampled tile keeps its cells (0.7.0 had none)
# (`python -m model.train_default --start 0.6.0.onnx`; MODEL_CARD.md, "0.8.0")
FURTHER = Recipe(epochs=72, lr=3e-4, endonuke_repeats=1, endonuke_images=25,
                 endonuke_sign_from_stain=True, blur=0.2, sharpen=0.1, jpeg=0.2)


def paper_sized(recipe: Recipe) -> Recipe:
    """The same recipe with the paper's encoder and head width (for a GPU; not shipped)."""
    return replace(recipe, backbone="vgg16_bn", head_channels=256)


def config_overrides(recipe: Recipe, device: str = "cpu", workers: int = 0) -> dict[str, Any]:
    from model.config import paper_anchors  # here: model.config brings torch in

    name = MODEL_NAME if recipe.backbone == "small" else PAPER_NAME
    return {"name": name, "version": MODEL_VERSION, "backbone": recipe.backbone,
            "head_channels": recipe.head_channels, "crop_size": recipe.crop_size,
            "batch_size": recipe.batch_size, "epochs": recipe.epochs, "lr": recipe.lr,
            "lambda_reg": recipe.lambda_reg, "cls_loss": recipe.cls_loss,
            "cls_reduction": recipe.cls_reduction, "lr_schedule": recipe.lr_schedule,
            "seed": recipe.seed, "log_every": 20, "checkpoint_every": 250,
            "input_lowpass_px": recipe.input_lowpass_px,
            "rescan_consistency": recipe.rescan_consistency, "device": device,
            "num_workers": workers} | paper_anchors(recipe.stride)


def make_synthetic(out_dir: Path, count: int, seed: int, stain: str = "ihc") -> Path:
    """`tps synth tiles` into out_dir (kept when already complete); returns its points.csv."""
    points = out_dir / "points.csv"
    if not (points.is_file() and len(list((out_dir / "images").glob("*.png"))) == count):
        tps(["synth", "tiles", "--out", str(out_dir), "--count", str(count),
             "--size", "512", "--seed", str(seed), "--stain", stain])
    return points


def make_tiles(work: Path, recipe: Recipe) -> tuple[Path, Path, Path | None]:
    """The recipe's synthetic training, held-out and H&E tiles under `work` (H&E None when the
    recipe has none); returns their points.csv files."""
    synth = make_synthetic(work / "synth-train", recipe.synth_tiles, TRAIN_SEED)
    val = make_synthetic(work / "synth-val", recipe.val_tiles, VAL_SEED)
    he = (make_synthetic(work / "synth-he", recipe.he_tiles, HE_SEED, stain="he")
          if recipe.he_tiles else None)
    return synth, val, he


def training_dataset(recipe: Recipe, synth_points: Path, he_points: Path | None) -> Any:
    """Synthetic tiles (their labels are already model classes), H&E tiles when given,
    BCData x bcdata_repeats and EndoNuke's training images x endonuke_repeats."""
    from model.data.dataset import Augmentation
    from model.data.degrade import Degradation
    from model.data.eosin_wash import EosinWashDataset
    from model.data.label_map import parse_label_map
    from model.data.samples import load_samples

    synth = load_samples(synth_points, parse_label_map(None), "csv")
    if he_points is not None:
        synth += load_samples(he_points, parse_label_map(None), "csv")
    real = load_samples(BCDATA, parse_label_map(BCDATA_LABELS), "csv", recipe.bcdata_mpp, 0.5)
    endonuke = (evenly_spaced(endonuke_split(recipe.endonuke_sign_from_stain)[0],
                              recipe.endonuke_images) if recipe.endonuke_repeats else [])
    augmentation = Augmentation(crop_size=recipe.crop_size, scale_range=recipe.scale_range,
                                unscaled=recipe.unscaled, stain_sigma=recipe.stain_sigma,
                                stain_bias=recipe.stain_bias,
                                degradation=Degradation(recipe.rescan, recipe.blur,
                                                        recipe.sharpen, recipe.jpeg))
    samples = synth + real * recipe.bcdata_repeats + endonuke * recipe.endonuke_repeats
    return EosinWashDataset(samples, augmentation, multiple=32,
                            eosin_max=recipe.eosin_max, he_render=recipe.he_render,
                            he_tint=recipe.he_tint)


def evenly_spaced(items: list[Any], count: int) -> list[Any]:
    """`count` of `items` spread evenly over them, in order; all of them when count is 0."""
    if count <= 0 or count >= len(items):
        return items
    return [items[i * len(items) // count] for i in range(count)]


def endonuke_split(sign_from_stain: bool = False) -> tuple[list[Any], list[Any]]:
    """EndoNuke's samples at the model's scale, signs from the stain or open: (training,
    held out)."""
    from model.data.label_map import parse_label_map
    from model.data.stain_signed import load_stain_signed

    return held_out_split(load_stain_signed(ENDONUKE, parse_label_map(None), ENDONUKE_MPP, 0.5,
                                            sign_from_stain=sign_from_stain))


Item = TypeVar("Item")


def held_out_split(items: list[Item]) -> tuple[list[Item], list[Item]]:
    """EndoNuke's images in file order as (training, held out): every ENDONUKE_HELD_OUT_EVERY-th
    is held out."""
    return ([x for i, x in enumerate(items) if i % ENDONUKE_HELD_OUT_EVERY],
            items[::ENDONUKE_HELD_OUT_EVERY])


def write_endonuke_held_out(out: Path, signs: bool = False) -> Path:
    """The held-out EndoNuke images' points as a CSV for `tps evaluate`, kinds as labels (map
    them with ENDONUKE_KIND_LABELS; only kind_f1 is meaningful, the sign being the stain's),
    or with `signs` the stain's call at each annotated nucleus, `stain_pos`, `stain_neg` or
    `stain_any` in the valley between (map them with ENDONUKE_SIGN_LABELS)."""
    import numpy as np

    from model.data.point_readers import read_points_csv
    from model.data.samples import read_rgb
    from model.data.stain_signed import sign_labels
    from scoring.stain_rule import nucleus_dab

    lines = ["image,x,y,label"]
    for item in held_out_split(read_points_csv(ENDONUKE))[1]:
        labels = list(item.labels)
        if signs:
            dab = nucleus_dab(read_rgb(item.image_path), item.xy.astype(np.float64),
                              ENDONUKE_MPP)
            labels = sign_labels(labels, dab, dict.fromkeys(set(labels), "stain"))
        lines += [f"{item.image_path},{x:g},{y:g},{label}"
                  for (x, y), label in zip(item.xy.tolist(), labels)]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    return out
