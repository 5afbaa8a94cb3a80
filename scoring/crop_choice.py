"""Which review crops to keep: a few candidate regions, each with the reason a reviewer should
look at it. Any source of candidates can be added (say, where the model and the stain
disagree): it is one more list of CropCandidate, the choice itself does not change."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

CROP_COUNT = 6
MAX_OVERLAP = 0.25  # a crop shares at most this part of its area with any crop kept before it


@dataclass(frozen=True)
class CropCandidate:
    x: int  # level-0 left edge
    y: int  # level-0 top edge
    reason: str  # shown to the reviewer, e.g. "densest tumour"
    score: float  # ranks candidates of the same reason: higher is more worth a look


def overlap(a: CropCandidate, b: CropCandidate, side: float) -> float:
    """Shared area of two squares of edge `side`, as a fraction of one."""
    dx = max(0.0, side - abs(a.x - b.x))
    dy = max(0.0, side - abs(a.y - b.y))
    return dx * dy / (side * side)


def choose_crops(candidates: Sequence[CropCandidate], side: float, count: int = CROP_COUNT,
                 max_overlap: float = MAX_OVERLAP) -> list[CropCandidate]:
    """Up to `count` crops of edge `side`, taking the reasons in turn (in the order each first
    appears among the candidates), within a reason the highest score first (ties: top-most,
    then left-most), skipping any that overlaps a crop already kept by more than
    `max_overlap`. The same candidates always give the same crops; fewer candidates, or
    candidates crowded into a small slide, give fewer crops."""
    queues: dict[str, list[CropCandidate]] = {}
    for candidate in candidates:
        queues.setdefault(candidate.reason, []).append(candidate)
    for queue in queues.values():
        queue.sort(key=lambda c: (-c.score, c.y, c.x), reverse=True)  # best last, for pop()
    chosen: list[CropCandidate] = []
    while len(chosen) < count and any(queues.values()):
        for queue in queues.values():
            while queue and len(chosen) < count:
                candidate = queue.pop()
                if all(overlap(candidate, kept, side) <= max_overlap for kept in chosen):
                    chosen.append(candidate)
                    break
    return chosen
