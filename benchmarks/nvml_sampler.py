"""GPU utilisation and memory sampled with NVML while a block runs; n/a without a GPU."""
from __future__ import annotations

import threading
from typing import Any, Self


class GpuSampler:
    """Samples GPU utilisation and memory every 50 ms on a thread; None figures without NVML."""

    def __init__(self) -> None:
        self.busy: list[float] = []
        self.memory_mb = 0.0
        self._stop = threading.Event()
        self._nvml: Any = None
        try:
            import pynvml  # nvidia-ml-py, in the `gpu` extra
        except ImportError:
            pass
        else:
            try:
                pynvml.nvmlInit()
                self._handle = pynvml.nvmlDeviceGetHandleByIndex(0)
                self._nvml = pynvml
            except pynvml.NVMLError:
                pass  # no driver or no GPU: the figures are n/a
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.busy.append(self._nvml.nvmlDeviceGetUtilizationRates(self._handle).gpu / 100)
            used = self._nvml.nvmlDeviceGetMemoryInfo(self._handle).used / 2**20
            self.memory_mb = max(self.memory_mb, used)

    def __enter__(self) -> Self:
        if self._nvml is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._nvml is not None:
            self._thread.join()

    def figures(self) -> dict[str, float | None]:
        if not self.busy:
            return {"gpu_busy": None, "gpu_memory_mb": None}
        return {"gpu_busy": sum(self.busy) / len(self.busy), "gpu_memory_mb": self.memory_mb}
