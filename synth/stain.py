"""Colour model: Beer-Lambert optical densities of hematoxylin and DAB, with per-image variation."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Unit optical-density vectors (R, G, B). Hematoxylin is fitted to the pale blue counterstain of
# IHC scans rather than the purple of H&E; DAB is the Ruifrok-Johnston brown.
HEMATOXYLIN_OD = np.array([0.84, 0.50, 0.20], dtype=np.float32)
DAB_OD = np.array([0.27, 0.57, 0.78], dtype=np.float32)
# A faint neutral-to-yellowish haze that mounting medium and tissue protein add.
BACKGROUND_OD = np.array([0.30, 0.30, 0.38], dtype=np.float32)
# H&E, for negatives only: the widely used reference stain vectors of Macenko et al. (2009) for
# haematoxylin (purple, laid on far more heavily than an IHC counterstain) and eosin, which
# tints all tissue pink to red.
HE_HEMATOXYLIN_OD = np.array([0.5626, 0.7201, 0.4062], dtype=np.float32)
EOSIN_OD = np.array([0.2159, 0.8012, 0.5581], dtype=np.float32)
STAINS = ("ihc", "he")


@dataclass(frozen=True)
class StainStyle:
    hematoxylin: np.ndarray  # (3,) OD per unit hematoxylin density
    dab: np.ndarray  # (3,) OD per unit DAB density
    background: np.ndarray  # (3,) OD of bare tissue
    glass_od: np.ndarray  # (3,) OD of empty glass (near white, slightly tinted)
    h_gain: float  # overall counterstain strength
    dab_gain: float  # overall chromogen strength
    blur_radius: float  # optical blur in pixels


def _jitter(vector: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    noisy = vector * (1.0 + rng.normal(0.0, amount, 3)).astype(np.float32)
    unit: np.ndarray = (noisy / np.linalg.norm(noisy)).astype(np.float32)
    return unit


def random_style(rng: np.random.Generator) -> StainStyle:
    """Stain batches and scanners differ: vary hue, strength and focus a little per image."""
    return StainStyle(
        hematoxylin=_jitter(HEMATOXYLIN_OD, rng, 0.08),
        dab=_jitter(DAB_OD, rng, 0.06),
        background=_jitter(BACKGROUND_OD, rng, 0.15) * np.float32(rng.uniform(0.05, 0.12)),
        glass_od=np.abs(rng.normal(0.025, 0.012, 3)).astype(np.float32),
        h_gain=float(rng.uniform(0.75, 1.2)),
        dab_gain=float(rng.uniform(0.8, 1.25)),
        blur_radius=float(rng.uniform(0.4, 1.1)),
    )


def random_he_style(rng: np.random.Generator) -> StainStyle:
    """An H&E slide: no DAB at all, dark purple nuclei on pink tissue."""
    return StainStyle(
        hematoxylin=_jitter(HE_HEMATOXYLIN_OD, rng, 0.08),
        dab=DAB_OD,
        background=_jitter(EOSIN_OD, rng, 0.06) * np.float32(rng.uniform(0.3, 1.4)),
        glass_od=np.abs(rng.normal(0.025, 0.012, 3)).astype(np.float32),
        h_gain=float(rng.uniform(1.6, 2.8)),
        dab_gain=0.0,
        blur_radius=float(rng.uniform(0.4, 1.1)),
    )


def densities_to_rgb(
    hematoxylin: np.ndarray, dab: np.ndarray, tissue: np.ndarray, style: StainStyle
) -> np.ndarray:
    """(H, W) densities and tissue alpha -> (H, W, 3) uint8 RGB by Beer-Lambert."""
    rgb = np.empty((*hematoxylin.shape, 3), dtype=np.uint8)
    h_vec, d_vec = style.hematoxylin * style.h_gain, style.dab * style.dab_gain
    for c in range(3):  # one channel at a time keeps temporaries small and in cache
        od = hematoxylin * h_vec[c]
        od += dab * d_vec[c]
        od += tissue * style.background[c]
        od += style.glass_od[c]
        np.negative(od, out=od)
        np.exp(od, out=od)
        od *= 255.0
        np.clip(od, 0.0, 255.0, out=od)
        rgb[..., c] = od
    return rgb
