"""Banks of pre-drawn cells (hematoxylin and DAB density patches) per kind, sized in microns."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synth.classes import FIBROBLAST, LYMPHOCYTE, MACROPHAGE, TUMOR
from synth.noise import gaussian_filter

VARIANTS = 48
# Half-size of each kind's patch in microns: large enough for its membrane or cytoplasm.
HALF_UM = {TUMOR: 16.0, LYMPHOCYTE: 6.0, MACROPHAGE: 14.0, FIBROBLAST: 11.0}


@dataclass(frozen=True)
class SpriteBank:
    hematoxylin: np.ndarray  # (V, S, S) float32 density
    dab: np.ndarray  # (V, S, S) float32 density at full positivity
    half: int  # S = 2 * half + 1; the cell centre is the patch centre


def _polar(half: int, mpp: float, angle: float, ratio: float) -> tuple[np.ndarray, np.ndarray]:
    """Radius (um, in a frame squeezed by `ratio` along the rotated minor axis) and angle."""
    yy, xx = np.mgrid[-half : half + 1, -half : half + 1].astype(np.float32) * mpp
    u = xx * np.cos(angle) + yy * np.sin(angle)
    v = (-xx * np.sin(angle) + yy * np.cos(angle)) / ratio
    return np.hypot(u, v), np.arctan2(v, u)


def _wobble(rng: np.random.Generator, theta: np.ndarray, amount: float) -> np.ndarray:
    """Irregular outline: 1 + low-order Fourier perturbation of the radius."""
    out = np.ones_like(theta)
    for order in range(2, 6):
        out += rng.normal(0.0, amount / order) * np.cos(order * theta + rng.uniform(0, 2 * np.pi))
    return out


def _soft_inside(radius: np.ndarray, edge: np.ndarray, width: float) -> np.ndarray:
    coverage: np.ndarray = np.clip((edge - radius) / width + 0.5, 0.0, 1.0)
    return coverage


def _speckle(rng: np.random.Generator, shape: tuple[int, ...], sigma: float) -> np.ndarray:
    field = gaussian_filter(rng.standard_normal(shape).astype(np.float32), sigma)
    return field / max(float(field.std()), 1e-6)


def _nucleus(rng: np.random.Generator, half: int, mpp: float, size_um: float, ratio: float,
             density: float, chromatin: float) -> np.ndarray:
    radius, theta = _polar(half, mpp, rng.uniform(0, np.pi), ratio)
    edge = size_um * _wobble(rng, theta, 0.12)
    inside = _soft_inside(radius, edge, 0.8)
    rim = np.exp(-(((radius - edge * 0.92) / 0.6) ** 2)) * inside  # denser nuclear membrane
    texture = 1.0 + chromatin * _speckle(rng, radius.shape, 0.6 / mpp)
    stain: np.ndarray = (density * inside * np.clip(texture, 0.3, 2.0)
                         + 0.25 * density * rim).astype(np.float32)
    return stain


def _membrane(rng: np.random.Generator, half: int, mpp: float, size_um: float) -> np.ndarray:
    """DAB on the membrane: a complete or partial ring of uneven, granular intensity."""
    radius, theta = _polar(half, mpp, rng.uniform(0, np.pi), rng.uniform(0.75, 1.0))
    edge = size_um * _wobble(rng, theta, 0.10)
    ring = np.exp(-(((radius - edge) / rng.uniform(0.6, 1.1)) ** 2))
    if rng.random() < 0.45:  # partial: one to three arcs
        cover = np.zeros_like(theta)
        for _ in range(rng.integers(1, 4)):
            centre, span = rng.uniform(-np.pi, np.pi), rng.uniform(0.6, 2.2)
            gap = np.abs(np.angle(np.exp(1j * (theta - centre))))
            cover = np.maximum(cover, np.clip((span - gap) / 0.4, 0.0, 1.0))
        ring *= cover
    grain = np.clip(1.0 + 0.45 * _speckle(rng, radius.shape, 0.5 / mpp), 0.2, 2.0)
    cytoplasm = 0.12 * _soft_inside(radius, edge, 1.0)
    return ((ring * grain + cytoplasm) * rng.uniform(0.6, 1.0)).astype(np.float32)


def _granular_cytoplasm(rng: np.random.Generator, half: int, mpp: float, size_um: float) -> np.ndarray:
    """Macrophage DAB: coarse granules filling an irregular cytoplasm, not a crisp membrane."""
    radius, theta = _polar(half, mpp, rng.uniform(0, np.pi), rng.uniform(0.6, 1.0))
    inside = _soft_inside(radius, size_um * _wobble(rng, theta, 0.25), 1.2)
    granules = np.clip(_speckle(rng, radius.shape, 0.9 / mpp), 0.0, None)
    taper = np.clip((HALF_UM[MACROPHAGE] - radius) / 2.0, 0.0, 1.0)  # never reach the patch edge
    stain: np.ndarray = (inside * taper * (0.35 + 0.65 * granules)).astype(np.float32)
    return stain


def _draw(kind: int, rng: np.random.Generator, half: int, mpp: float) -> tuple[np.ndarray, np.ndarray]:
    if kind == TUMOR:  # large pleomorphic nuclei, some hyperchromatic
        size = rng.uniform(3.8, 6.5)
        h = _nucleus(rng, half, mpp, size, rng.uniform(0.6, 1.0), rng.uniform(0.35, 0.75), 0.35)
        return h, _membrane(rng, half, mpp, size * rng.uniform(1.6, 2.0))
    if kind == LYMPHOCYTE:  # small, round, dense
        size = rng.uniform(2.6, 3.4)
        h = _nucleus(rng, half, mpp, size, rng.uniform(0.85, 1.0), rng.uniform(0.8, 1.15), 0.2)
        return h, _membrane(rng, half, mpp, size * 1.25)
    if kind == MACROPHAGE:  # pale oval nucleus in wide granular cytoplasm
        size = rng.uniform(3.0, 4.5)
        h = _nucleus(rng, half, mpp, size, rng.uniform(0.5, 0.8), rng.uniform(0.3, 0.5), 0.3)
        shift = np.round(rng.normal(0.0, 2.0, 2) / mpp).astype(int)
        h = np.roll(h, tuple(shift), axis=(0, 1))
        return h, _granular_cytoplasm(rng, half, mpp, rng.uniform(6.0, 9.0))
    size = rng.uniform(6.0, 9.5)  # fibroblast: thin spindle
    h = _nucleus(rng, half, mpp, size, rng.uniform(0.16, 0.28), rng.uniform(0.55, 0.85), 0.15)
    return h, np.zeros_like(h)


def build_bank(kind: int, mpp: float, rng: np.random.Generator) -> SpriteBank:
    half = int(np.ceil(HALF_UM[kind] / mpp))
    pairs = [_draw(kind, rng, half, mpp) for _ in range(VARIANTS)]
    blur = 0.35 / mpp  # optics: even in focus a nucleus edge spans a fraction of a micron
    h = np.stack([gaussian_filter(p[0], blur) for p in pairs])
    d = np.stack([gaussian_filter(p[1], blur) for p in pairs])
    return SpriteBank(np.clip(h, 0, None), np.clip(d, 0, None), half)
