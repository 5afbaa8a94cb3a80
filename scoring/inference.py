"""One onnxruntime session per process, on CUDA when it truly works, else on the CPU."""
from __future__ import annotations

import ctypes
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import onnxruntime as ort
from onnxruntime.capi import onnxruntime_pybind11_state as ort_state

from scoring.errors import ModelError
from scoring.model_info import ModelInfo

log = logging.getLogger(__name__)

# What onnxruntime raises when a graph or a provider cannot be set up.
ORT_ERRORS = (ort_state.Fail, ort_state.RuntimeException, ort_state.InvalidArgument,
              ort_state.InvalidGraph, ort_state.NoSuchFile, ort_state.EPFail, RuntimeError)
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
ORT_LOG_ERRORS_ONLY = 3


@dataclass(frozen=True)
class ModelRunner:
    info: ModelInfo
    session: ort.InferenceSession
    provider: str

    def run(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """batch (B, 3, H, W) float32 RGB 0..255 -> points (B, A, 2), p_obj (B, A), p_class (B, A, C)."""
        try:
            points, p_obj, p_class = self.session.run(
                ["points", "p_obj", "p_class"], {"image": np.ascontiguousarray(batch, np.float32)})
        except ORT_ERRORS as exc:
            raise ModelError(f"model {self.info.name} failed on a batch {batch.shape}: {exc}") from exc
        return points, p_obj, p_class


def _session_options() -> ort.SessionOptions:
    options = ort.SessionOptions()
    # onnxruntime warns at length about unused initializers and provider fallbacks; keep
    # the worker's logs to what a user can act on.
    options.log_severity_level = ORT_LOG_ERRORS_ONLY
    return options


def cuda_driver_present() -> bool:
    """Whether the NVIDIA driver library loads. onnxruntime-gpu lists CUDA as available on any
    machine, and trying it without a driver prints a loud error; this asks the driver first."""
    try:
        ctypes.CDLL("libcuda.so.1")
    except OSError:
        return False
    return True


def _create_session(path: Path) -> tuple[ort.InferenceSession, str]:
    ort.set_default_logger_severity(ORT_LOG_ERRORS_ONLY)
    if CUDA in ort.get_available_providers() and not cuda_driver_present():
        log.info("onnxruntime has CUDA but this machine has no NVIDIA driver; using CPU")
    elif CUDA in ort.get_available_providers():
        try:
            session = ort.InferenceSession(str(path), _session_options(), providers=[CUDA, CPU])
        except ORT_ERRORS as exc:
            log.warning("CUDA provider is installed but failed to start (%s); using CPU", exc)
        else:
            # onnxruntime may fall back silently when CUDA libraries are missing.
            if session.get_providers()[0] == CUDA:
                return session, CUDA
            log.warning("CUDA provider is installed but unusable here; using CPU")
    try:
        return ort.InferenceSession(str(path), _session_options(), providers=[CPU]), CPU
    except ORT_ERRORS as exc:
        raise ModelError(f"onnxruntime cannot load {path.name}: {exc}") from exc


@lru_cache(maxsize=1)
def _cached_runner(resolved_path: str, mtime_ns: int) -> ModelRunner:
    path = Path(resolved_path)
    info = ModelInfo.from_onnx(path)
    session, provider = _create_session(path)
    names = {o.name for o in session.get_outputs()}
    if not {"points", "p_obj", "p_class"} <= names or session.get_inputs()[0].name != "image":
        raise ModelError(f"{path.name} does not follow the model contract: "
                         f"input {session.get_inputs()[0].name}, outputs {sorted(names)}")
    log.info("model %s %s runs on %s", info.name, info.version, provider)
    return ModelRunner(info=info, session=session, provider=provider)


def get_runner(model_path: Path) -> ModelRunner:
    """The process's session for this model; a new model file replaces the cached one."""
    if not model_path.is_file():
        raise ModelError(f"model file not found: {model_path}")
    resolved = model_path.resolve()
    return _cached_runner(str(resolved), resolved.stat().st_mtime_ns)
