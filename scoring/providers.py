"""Which onnxruntime execution provider runs the model: TensorRT when installed, then CUDA, then
the CPU; each is tried in turn and the session says which one it got."""
from __future__ import annotations

import ctypes
import logging
import os
from pathlib import Path
from typing import Any

import onnxruntime as ort
from onnxruntime.capi import onnxruntime_pybind11_state as ort_state

from scoring.errors import ModelError

log = logging.getLogger(__name__)

# What onnxruntime raises when a graph or a provider cannot be set up.
ORT_ERRORS = (ort_state.Fail, ort_state.RuntimeException, ort_state.InvalidArgument,
              ort_state.InvalidGraph, ort_state.NoSuchFile, ort_state.EPFail, RuntimeError)
TENSORRT = "TensorrtExecutionProvider"
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
GPU_PROVIDERS = (TENSORRT, CUDA)
PREFERENCE = (TENSORRT, CUDA, CPU)
ORT_LOG_ERRORS_ONLY = 3


def cuda_driver_present() -> bool:
    """Whether the NVIDIA driver library loads. onnxruntime-gpu lists CUDA as available on any
    machine, and trying it without a driver prints a loud error; this asks the driver first."""
    try:
        ctypes.CDLL("libcuda.so.1")
    except OSError:
        return False
    return True


def host_cores() -> int:
    """Cores this process may run on (a container's CPU set, not the machine's count)."""
    return max(1, len(os.sched_getaffinity(0)))


def provider_order(available: list[str], driver: bool) -> list[str]:
    """Providers to ask for, best first; the CPU always closes the list."""
    if not driver:
        return [CPU]
    return [p for p in PREFERENCE if p in available and p != CPU] + [CPU]


def provider_options(provider: str) -> dict[str, Any]:
    if provider == TENSORRT:
        # Building a TensorRT engine takes minutes; the cache keeps it for the next process.
        cache = Path(os.path.expanduser("~")) / ".cache" / "tps-tensorrt"
        return {"trt_engine_cache_enable": True, "trt_engine_cache_path": str(cache),
                "trt_max_workspace_size": 8 * 1024**3}
    if provider == CUDA:
        # Tile shapes repeat, so the exhaustive convolution search is paid once per shape.
        return {"cudnn_conv_algo_search": "EXHAUSTIVE", "do_copy_in_default_stream": True}
    return {}


def session_options(provider: str, cores: int) -> ort.SessionOptions:
    options = ort.SessionOptions()
    # onnxruntime warns at length about unused initializers and provider fallbacks; keep
    # the worker's logs to what a user can act on.
    options.log_severity_level = ORT_LOG_ERRORS_ONLY
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.inter_op_num_threads = 1
    # On the CPU the model owns every core; on a GPU one host thread feeds it and the cores
    # are left to the tile readers.
    options.intra_op_num_threads = cores if provider == CPU else 1
    # Idle pool threads that spin take the CPU the tile readers need between batches.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def _session(path: Path, providers: list[str], cores: int) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), session_options(providers[0], cores),
                                providers=[(p, provider_options(p)) for p in providers])


def create_session(path: Path, cores: int | None = None) -> tuple[ort.InferenceSession, str]:
    """A session on the best provider that starts here, and that provider's name."""
    ort.set_default_logger_severity(ORT_LOG_ERRORS_ONLY)
    cores = host_cores() if cores is None else cores
    available = ort.get_available_providers()
    driver = any(p in available for p in GPU_PROVIDERS) and cuda_driver_present()
    if not driver and any(p in available for p in GPU_PROVIDERS):
        log.info("onnxruntime has GPU providers but this machine has no NVIDIA driver")
    order = provider_order(available, driver)
    for start, wanted in enumerate(order):
        try:
            session = _session(path, order[start:], cores)
        except ORT_ERRORS as exc:
            if wanted == CPU:
                raise ModelError(f"onnxruntime cannot load {path.name}: {exc}") from exc
            log.warning("%s is installed but failed to start (%s); trying %s", wanted, exc,
                        order[start + 1])
            continue
        # onnxruntime may drop a provider silently when its libraries are missing; the next
        # one is then asked for itself, so the session's thread settings fit the provider.
        got = session.get_providers()[0]
        if got != wanted:
            log.warning("%s is installed but unusable here (the session got %s)", wanted, got)
            continue
        log.info("onnxruntime providers: asked %s, running on %s", ", ".join(order), got)
        return session, got
    raise AssertionError("unreachable: the CPU closes every provider order")
