"""The API's settings: the shared store settings plus what only the upload path reads."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from jobs.settings import StoreSettings


class ApiSettings(StoreSettings):
    max_upload_bytes: int = 20 * 1024**3
    probe_timeout_s: float = 30.0
    # No label or macro image stays on disk once a slide is accepted (service/slide_redaction.py).
    strip_label_images: bool = True

    @property
    def incoming_dir(self) -> Path:
        return self.data_dir / "incoming"


@lru_cache
def get_api_settings() -> ApiSettings:
    return ApiSettings()
