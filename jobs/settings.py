"""What the API and the workers both read from the environment (prefix TPS_): where the job
record and the slides live, and which broker carries the messages. Each process extends this
base with its own settings (service.settings, worker.settings) and reads them once."""
from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class StoreSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TPS_", extra="ignore")

    data_dir: Path = Path("tps-data")
    # None means a SQLite file inside data_dir.
    database_url: str | None = None
    # None means embedded mode: the API process also runs the worker.
    broker_url: str | None = None
    # The API writes it into each job; the workers' lease claim enforces it.
    max_attempts: int = Field(default=3, ge=1)
    # Slides (with their jobs and outputs) are purged this many days after upload by
    # jobs/retention.py; None or 0 keeps them until a lab deletes them.
    retention_days: int | None = Field(default=None, ge=0)

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
