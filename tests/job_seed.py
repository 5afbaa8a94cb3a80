"""One queued job on one slide of one lab, written straight into the job store."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from jobs.records import Job, Lab, Slide


def seed_job(engine: Engine, params: dict[str, Any] | None = None, max_attempts: int = 3,
             mpp: float | None = 0.5, storage_name: str = "s.tiff") -> str:
    with Session(engine) as s:
        lab = Lab(name="lab")
        s.add(lab)
        s.flush()
        slide = Slide(lab_id=lab.id, sha256="1" * 64, storage_name=storage_name, label="s",
                      size_bytes=1, width=1, height=1, mpp=mpp, vendor="generic-tiff")
        s.add(slide)
        s.flush()
        job = Job(lab_id=lab.id, slide_id=slide.id, params=params if params is not None else {},
                  max_attempts=max_attempts)
        s.add(job)
        s.commit()
        return job.id
