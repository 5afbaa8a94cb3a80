"""The colour of a model's calls on a slide, beside the real positive and negative cells.

Written for the H&E slide of MODEL_CARD.md: does the model call a cell positive there because
it looks brown? Score the slide, then measure:

    .venv/bin/tps score ../shared/data/slides/CMU-1-Small-Region.svs --out runs/cmu
    .venv/bin/python -m benchmarks.call_colours runs/cmu/CMU-1-Small-Region \
        ../shared/data/slides/CMU-1-Small-Region.svs

A cell's colour is the mean optical density in a square of +-2 um around its point, split
into its haematoxylin part and the rest. The rest has a size (chroma) and a direction (hue),
measured in the plane orthogonal to haematoxylin: DAB is 0 deg, Ruifrok's eosin -82 deg.
A blue nucleus has almost no chroma; a DAB-stained one has much, at a hue near 0.
"""
from __future__ import annotations

import argparse
import csv
import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model.data.point_readers import read_points_csv
from model.data.samples import read_rgb
from model.default_recipe import BCDATA, BCDATA_MPP, DEEPLIIF, DEEPLIIF_MPP
from scoring.optical_density import UNIT_STAINS, optical_density
from scoring.slide_reader import SlideReader

HALF_SIDE_UM = 2.0
_H, _D = UNIT_STAINS[0], UNIT_STAINS[2]
_DAB_OFF_H = _D - (_D @ _H) * _H
_U = _DAB_OFF_H / np.linalg.norm(_DAB_OFF_H)
_V = np.cross(_H, _U)  # completes the plane; Ruifrok's eosin lies on its negative side


@dataclass(frozen=True)
class Colours:
    haematoxylin: np.ndarray  # (N,) optical density along haematoxylin
    chroma: np.ndarray  # (N,) size of the rest
    hue: np.ndarray  # (N,) degrees from DAB

    def inside(self, box: tuple[float, float, float]) -> np.ndarray:
        hue_low, hue_high, chroma_low = box
        return (self.hue > hue_low) & (self.hue < hue_high) & (self.chroma > chroma_low)


def colours_of(density: np.ndarray) -> Colours:
    """(N, 3) mean optical densities in RGB -> their haematoxylin, chroma and hue."""
    along = density @ _H
    rest = density - along[:, None] * _H[None, :]
    hue = np.degrees(np.arctan2(rest @ _V, rest @ _U))
    return Colours(along, np.linalg.norm(rest, axis=1), hue)


def mean_density(image: np.ndarray, xy: np.ndarray, half_side: int) -> np.ndarray:
    """(H, W, 3) uint8 RGB, (N, 2) points -> (N, 3) mean optical density of the square of
    +-half_side pixels around each point (cut at the image's edge)."""
    density = optical_density(image)
    height, width = image.shape[:2]
    means = []
    for x, y in np.rint(xy).astype(int):
        square = density[max(0, y - half_side):min(height, y + half_side + 1),
                         max(0, x - half_side):min(width, x + half_side + 1)]
        means.append(square.reshape(-1, 3).mean(axis=0))
    return np.array(means).reshape(-1, 3)


def positive_box(colours: Colours) -> tuple[float, float, float]:
    """Where most real positive cells lie: hue between its 10th and 90th percentiles, chroma
    above its 10th."""
    hue_low, hue_high = np.percentile(colours.hue, [10, 90])
    return float(hue_low), float(hue_high), float(np.percentile(colours.chroma, 10))


def real_cells(points_csv: Path, mpp: float) -> dict[str, Colours]:
    densities: dict[str, list[np.ndarray]] = {}
    half_side = round(HALF_SIDE_UM / mpp)
    for item in read_points_csv(points_csv):
        image = read_rgb(item.image_path)
        labels = np.array(item.labels)
        for label in np.unique(labels):
            densities.setdefault(label, []).append(
                mean_density(image, item.xy[labels == label], half_side))
    return {label: colours_of(np.concatenate(parts)) for label, parts in densities.items()}


def slide_calls(result_dir: Path, slide_path: Path) -> dict[str, Colours]:
    with gzip.open(result_dir / "cells.csv.gz", "rt", newline="") as handle:
        rows = list(csv.DictReader(handle))
    by_class: dict[str, list[np.ndarray]] = {}
    with SlideReader(slide_path) as slide:
        half_side = round(HALF_SIDE_UM / slide.info.mpp)
        side = 2 * half_side + 1
        for row in rows:
            x, y = round(float(row["x_px"])), round(float(row["y_px"]))
            patch = slide.read_rgb(0, x - half_side, y - half_side, side, side)
            centre = np.array([[half_side, half_side]])
            by_class.setdefault(row["class"], []).append(mean_density(patch, centre, half_side))
    return {name: colours_of(np.concatenate(parts)) for name, parts in by_class.items()}


def _row(name: str, colours: Colours, box: tuple[float, float, float]) -> str:
    hue = np.percentile(colours.hue, [10, 50, 90])
    chroma = np.percentile(colours.chroma, [10, 50, 90])
    return (f"| {name} | {len(colours.hue):,} | {hue[0]:.0f} / {hue[1]:.0f} / {hue[2]:.0f} | "
            f"{chroma[0]:.2f} / {chroma[1]:.2f} / {chroma[2]:.2f} | "
            f"{np.median(colours.haematoxylin):.2f} | {colours.inside(box).mean():.1%} |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("result_dir", type=Path, help="a slide's folder from `tps score --out`")
    parser.add_argument("slide", type=Path, help="the slide that was scored")
    args = parser.parse_args(argv)
    groups = {f"BCData {k}": v for k, v in real_cells(BCDATA, BCDATA_MPP).items()}
    groups |= {f"DeepLIIF {k}": v for k, v in real_cells(DEEPLIIF, DEEPLIIF_MPP).items()}
    groups |= {f"slide, called {k}": v for k, v in slide_calls(args.result_dir, args.slide).items()}
    box = positive_box(groups["BCData pos_tumor"])
    print(f"positive box (BCData pos_tumor): hue {box[0]:.0f} to {box[1]:.0f} deg, "
          f"chroma > {box[2]:.2f}")
    print("| cells | n | hue p10 / p50 / p90 (deg) | chroma p10 / p50 / p90 | "
          "along haematoxylin p50 | in the positive box |")
    print("|---|---|---|---|---|---|")
    for name, colours in groups.items():
        print(_row(name, colours, box))


if __name__ == "__main__":
    main()
