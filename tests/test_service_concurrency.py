"""Many pollers at once must all be answered: a request may not hold a pooled database
connection while it queues for a worker thread (that once exhausted the pool and deadlocked)."""
from __future__ import annotations

import asyncio
from pathlib import Path

from benchmarks.service_api import make_job, poll_latencies
from tests.test_service_upload_rss import served

__all__ = ["served"]  # the fixture, shared with the upload test


def test_100_concurrent_pollers_all_get_their_job(served: tuple[str, str, int],
                                                  tmp_path: Path) -> None:
    url, key, _ = served
    job_id = make_job(url, key, tmp_path)
    # poll_latencies raises on any non-2xx answer, such as a 500 from a pool timeout.
    latencies = asyncio.run(poll_latencies(url, key, job_id, pollers=100, requests=8))
    assert len(latencies) == 800
