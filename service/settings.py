"""Every setting of the service and the worker, read once from the environment (prefix TPS_)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The bundled model, found from this file and not from the working directory, so `tps serve`
# started anywhere scores with it.
BUNDLED_MODEL = Path(__file__).resolve().parents[1] / "models" / "default.onnx"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TPS_", extra="ignore")

    data_dir: Path = Path("tps-data")
    # None means a SQLite file inside data_dir.
    database_url: str | None = None
    # None means embedded mode: the API process also runs the worker.
    broker_url: str | None = None
    model_path: Path = BUNDLED_MODEL
    max_upload_bytes: int = 20 * 1024**3
    probe_timeout_s: float = 30.0
    max_attempts: int = 3
    lease_seconds: float = 60.0
    task_soft_time_limit_s: int = 3 * 3600
    task_hard_time_limit_s: int = 3 * 3600 + 300
    # A broker redelivers an unacknowledged task after this long; it must outlast any task.
    visibility_timeout_s: int = 4 * 3600

    @model_validator(mode="after")
    def _limits_are_ordered(self) -> Settings:
        if self.task_hard_time_limit_s <= self.task_soft_time_limit_s:
            raise ValueError("task_hard_time_limit_s must exceed task_soft_time_limit_s")
        if self.visibility_timeout_s <= self.task_hard_time_limit_s:
            raise ValueError("visibility_timeout_s must exceed task_hard_time_limit_s")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        return self

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'tps.sqlite3').resolve()}"

    @property
    def slides_dir(self) -> Path:
        return self.data_dir / "slides"

    @property
    def results_dir(self) -> Path:
        return self.data_dir / "results"

    @property
    def incoming_dir(self) -> Path:
        return self.data_dir / "incoming"


@lru_cache
def get_settings() -> Settings:
    return Settings()
