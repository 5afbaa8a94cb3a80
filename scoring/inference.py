"""One onnxruntime session per process, on the best provider that works here (scoring/providers.py).

The model's input element type is read from the graph: a uint8 model takes the tiles' bytes
and casts inside the graph (a quarter of the host-to-device bytes); a float model, the older
kind, gets float32 0..255. On a GPU the batch goes through IO binding from a pinned buffer.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from scoring.errors import ModelError
from scoring.model_info import ModelInfo
from scoring.providers import CPU, CUDA, GPU_PROVIDERS, ORT_ERRORS, create_session
from scoring.quantized_variant import cpu_variant

__all__ = ["CPU", "CUDA", "ModelRunner", "get_runner"]
log = logging.getLogger(__name__)

OUTPUTS = ["points", "p_obj", "p_class"]
INPUT_TYPES: dict[str, np.dtype[Any]] = {
    "tensor(uint8)": np.dtype(np.uint8), "tensor(float)": np.dtype(np.float32),
    "tensor(float16)": np.dtype(np.float16)}
Outputs = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass
class _PinnedFeed:
    """IO binding from a page-locked host buffer: the copy to the GPU is one DMA transfer.

    `staging` is the device holding the host buffer ("cuda_pinned" on a GPU; "cpu" lets the
    tests exercise the same path on a machine without one)."""

    session: ort.InferenceSession
    staging: str
    buffer: ort.OrtValue | None = None

    def run(self, batch: np.ndarray) -> Outputs:
        if self.buffer is None or tuple(self.buffer.shape()) != batch.shape:
            self.buffer = ort.OrtValue.ortvalue_from_shape_and_type(
                list(batch.shape), batch.dtype, self.staging, 0)
        self.buffer.update_inplace(batch)
        binding = self.session.io_binding()
        binding.bind_ortvalue_input("image", self.buffer)
        for name in OUTPUTS:
            binding.bind_output(name, "cpu")
        self.session.run_with_iobinding(binding)
        points, p_obj, p_class = binding.copy_outputs_to_cpu()
        return points, p_obj, p_class


@dataclass
class ModelRunner:
    info: ModelInfo
    session: ort.InferenceSession
    provider: str
    input_type: np.dtype[Any] = INPUT_TYPES["tensor(float)"]
    feed: _PinnedFeed | None = None
    largest_batch: int = field(default=0)

    def run(self, batch: np.ndarray) -> Outputs:
        """batch (B, 3, H, W) RGB 0..255 in any numeric type -> points (B, A, 2), p_obj (B, A),
        p_class (B, A, C)."""
        batch = np.ascontiguousarray(batch, self.input_type)
        size = len(batch)
        if self.provider in GPU_PROVIDERS and 0 < size < self.largest_batch:
            # The slide's last, short batch is padded: a GPU provider plans (and TensorRT
            # builds an engine) per input shape, which costs more than the padding.
            pad = np.zeros((self.largest_batch - size, *batch.shape[1:]), batch.dtype)
            batch = np.concatenate([batch, pad])
        self.largest_batch = max(self.largest_batch, len(batch))
        if self.feed is not None:
            try:
                points, p_obj, p_class = self.feed.run(batch)
                return points[:size], p_obj[:size], p_class[:size]
            except ORT_ERRORS as exc:  # the plain path below says whether the model is at fault
                log.warning("IO binding from pinned memory failed (%s); feeding directly", exc)
                self.feed = None
        try:
            points, p_obj, p_class = self.session.run(OUTPUTS, {"image": batch})
        except ORT_ERRORS as exc:
            raise ModelError(f"model {self.info.name} failed on a batch {batch.shape}: {exc}") \
                from exc
        return points[:size], p_obj[:size], p_class[:size]

    def run_tiles(self, tiles_rgb: np.ndarray) -> Outputs:
        """tiles (B, H, W, 3) uint8 -> the model's outputs; one pass makes the input layout."""
        batch = np.empty((len(tiles_rgb), 3, *tiles_rgb.shape[1:3]), self.input_type)
        np.copyto(batch, tiles_rgb.transpose(0, 3, 1, 2), casting="unsafe")
        return self.run(batch)


def _input_type(session: ort.InferenceSession, name: str) -> np.dtype[Any]:
    kind = session.get_inputs()[0].type
    if kind not in INPUT_TYPES:
        raise ModelError(f"{name} takes {kind} images; the engine feeds uint8, float or float16")
    return INPUT_TYPES[kind]


def _pinned_feed(session: ort.InferenceSession, provider: str) -> _PinnedFeed | None:
    if provider not in GPU_PROVIDERS:
        return None
    try:
        probe = _PinnedFeed(session, "cuda_pinned")
        probe.buffer = ort.OrtValue.ortvalue_from_shape_and_type([1], np.uint8, "cuda_pinned", 0)
    except ORT_ERRORS as exc:
        log.warning("no pinned host memory here (%s); feeding the GPU from pageable memory", exc)
        return None
    probe.buffer = None
    return probe


@lru_cache(maxsize=1)
def _cached_runner(resolved_path: str, mtime_ns: int) -> ModelRunner:
    path = Path(resolved_path)
    info = ModelInfo.from_onnx(path)
    session, provider = create_session(path)
    if provider == CPU:
        variant = cpu_variant(path, info.sha256)
        if variant is not None:
            session, provider = create_session(variant)
            log.info("model %s runs its checked int8 variant %s on the CPU", info.name,
                     variant.name)
    names = {o.name for o in session.get_outputs()}
    if not set(OUTPUTS) <= names or session.get_inputs()[0].name != "image":
        raise ModelError(f"{path.name} does not follow the model contract: "
                         f"input {session.get_inputs()[0].name}, outputs {sorted(names)}")
    input_type = _input_type(session, path.name)
    log.info("model %s %s runs on %s, fed %s", info.name, info.version, provider,
             input_type.name)
    return ModelRunner(info=info, session=session, provider=provider, input_type=input_type,
                       feed=_pinned_feed(session, provider))


def get_runner(model_path: Path) -> ModelRunner:
    """The process's session for this model; a new model file replaces the cached one."""
    if not model_path.is_file():
        raise ModelError(f"model file not found: {model_path}")
    resolved = model_path.resolve()
    return _cached_runner(str(resolved), resolved.stat().st_mtime_ns)
