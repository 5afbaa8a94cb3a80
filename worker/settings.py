"""The workers' settings: the shared store settings plus the model, the lease and the limits
that keep a job from being lost or scored twice at once."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator

from jobs.settings import StoreSettings
from scoring.bundled_model import bundled_model_path


class WorkerSettings(StoreSettings):
    model_path: Path = bundled_model_path()
    lease_seconds: float = 60.0
    task_soft_time_limit_s: int = 3 * 3600
    task_hard_time_limit_s: int = 3 * 3600 + 300
    # A broker redelivers an unacknowledged task after this long; it must outlast any task.
    visibility_timeout_s: int = 4 * 3600
    # How often celery beat, or tps serve's timer, runs the retention purge (jobs/retention.py).
    purge_every_s: float = Field(default=3600.0, gt=0)

    @model_validator(mode="after")
    def _limits_are_ordered(self) -> WorkerSettings:
        if self.task_hard_time_limit_s <= self.task_soft_time_limit_s:
            raise ValueError("task_hard_time_limit_s must exceed task_soft_time_limit_s")
        if self.visibility_timeout_s <= self.task_hard_time_limit_s:
            raise ValueError("visibility_timeout_s must exceed task_hard_time_limit_s")
        return self


@lru_cache
def get_worker_settings() -> WorkerSettings:
    return WorkerSettings()
