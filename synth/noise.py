"""Smooth random fields made in the Fourier domain; they are periodic, so tiles of them join."""
from __future__ import annotations

import numpy as np


def gaussian_filter(field: np.ndarray, sigma: float) -> np.ndarray:
    """Periodic Gaussian blur of a 2-D float array (sigma in pixels)."""
    if sigma <= 0:
        return field.astype(np.float32)
    fy = np.fft.fftfreq(field.shape[0])[:, None]
    fx = np.fft.rfftfreq(field.shape[1])[None, :]
    kernel = np.exp(-2.0 * (np.pi * sigma) ** 2 * (fx * fx + fy * fy))
    blurred = np.fft.irfft2(np.fft.rfft2(field) * kernel, s=field.shape)
    return blurred.astype(np.float32)


def smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Zero-mean, unit-variance Gaussian random field with correlation length ~sigma pixels."""
    field = gaussian_filter(rng.standard_normal(shape, dtype=np.float32), sigma)
    spread = float(field.std())
    unit: np.ndarray = (field - field.mean()) / (spread if spread > 0 else 1.0)
    return unit


def fibre_texture(rng: np.random.Generator, size: int, angle: float, length: float) -> np.ndarray:
    """Periodic texture of thin parallel wavy fibres (collagen) at `angle`, zero mean, unit std."""
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.fftfreq(size)[None, :]
    along = fx * np.cos(angle) + fy * np.sin(angle)
    across = -fx * np.sin(angle) + fy * np.cos(angle)
    # Long correlation along the fibre, short across it: an elongated Gaussian in frequency.
    kernel = np.exp(-((along * length) ** 2) - (across * 2.5) ** 2)
    spectrum = np.fft.fft2(rng.standard_normal((size, size))) * kernel
    field = np.real(np.fft.ifft2(spectrum)).astype(np.float32)
    unit: np.ndarray = (field - field.mean()) / float(field.std())
    return unit


def tile_rows(texture: np.ndarray, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    """The window [y0:y1, x0:x1] of the infinite periodic repetition of `texture`."""
    period_y, period_x = texture.shape
    rows = texture[np.arange(y0, y1) % period_y]
    reps = (x1 - x0 + (x0 % period_x)) // period_x + 1
    wide = np.tile(rows, (1, reps))
    start = x0 % period_x
    return wide[:, start : start + (x1 - x0)]
