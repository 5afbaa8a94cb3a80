"""Detected cells, streamed to disk in chunks so that memory does not grow with slide size."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Self

import numpy as np

# Level-0 pixel coordinates; cls indexes the model's `classes` metadata. dab_nucleus and
# dab_membrane are the stain rule's measure of the cell (scoring.stain_rule.CellDab), for the
# cross-check of the model's call.
CELL_DTYPE = np.dtype(
    [("x", "<f8"), ("y", "<f8"), ("cls", "<i2"), ("p_obj", "<f4"), ("p_class", "<f4"),
     ("dab_nucleus", "<f4"), ("dab_membrane", "<f4")]
)


class CellSink:
    """Append-only file of CELL_DTYPE records; raw records, so appends need no index."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._file = open(path, "wb")  # noqa: SIM115 - closed by close() or the with-block

    def append(self, cells: np.ndarray) -> None:
        if cells.dtype != CELL_DTYPE:
            raise TypeError(f"cells must have CELL_DTYPE, got {cells.dtype}")
        self._file.write(cells.tobytes())
        self.count += len(cells)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def read_cells(path: Path, chunk_cells: int = 1 << 16) -> Iterator[np.ndarray]:
    """Yield the records of a CellSink file in chunks of at most `chunk_cells`."""
    with open(path, "rb") as f:
        while block := f.read(chunk_cells * CELL_DTYPE.itemsize):
            yield np.frombuffer(block, dtype=CELL_DTYPE)
