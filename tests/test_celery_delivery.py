"""Real `tps worker` processes on the real Redis: no job lost, none scored twice (at once)."""
from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.celery_stack import SLOW, Stack, make_stack


@pytest.fixture
def stack(tmp_path: Path, redis_url: str) -> Iterator[Stack]:
    made = make_stack(tmp_path, redis_url)
    yield made
    made.close()


def _ends(stack: Stack) -> Counter[str]:
    return Counter(job for event, job, _pid, _t in stack.calls() if event == "end")


def test_twenty_jobs_over_two_workers_are_each_scored_exactly_once(stack: Stack) -> None:
    jobs = [stack.add_job() for _ in range(20)]
    stack.start_worker("a")
    stack.start_worker("b")
    stack.enqueue(jobs)
    stack.enqueue(jobs[:5])  # duplicate messages, as a redelivery would make
    done = stack.wait_finished(jobs, timeout_s=90)
    assert {job.state for job in done.values()} == {"succeeded"}
    assert _ends(stack) == Counter({job_id: 1 for job_id in jobs})
    assert all(job.attempts == 1 for job in done.values())
    assert len({pid for *_, pid, _t in stack.calls()}) == 2  # both workers took a share


def test_kill_9_of_a_worker_mid_job_still_ends_succeeded_once(stack: Stack) -> None:
    job_id = stack.add_job(SLOW)
    a = stack.start_worker("a")
    stack.enqueue([job_id])
    deadline = time.monotonic() + 30
    while not stack.calls():
        assert time.monotonic() < deadline, a.log.read_text()[-2000:]
        time.sleep(0.1)
    a.kill_hard()  # the message stays unacknowledged in Redis; its lease stops beating
    stack.start_worker("b")
    done = stack.wait_finished([job_id], timeout_s=60)[job_id]
    assert done.state == "succeeded", done.error
    assert done.attempts == 2
    assert [event for event, *_ in stack.calls()] == ["start", "start", "end"]


def test_a_job_longer_than_its_lease_and_delivered_twice_is_never_scored_twice_at_once(
    stack: Stack,
) -> None:
    # A redelivery after the visibility timeout is a second message for a running job; the
    # test sends that second message itself while the job runs 2.5 leases long.
    job_id = stack.add_job(SLOW)
    stack.start_worker("a")
    stack.start_worker("b")
    stack.enqueue([job_id])
    deadline = time.monotonic() + 30
    while not stack.calls():
        assert time.monotonic() < deadline
        time.sleep(0.1)
    for _ in range(3):
        time.sleep(1.0)
        stack.enqueue([job_id])
    done = stack.wait_finished([job_id], timeout_s=60)[job_id]
    assert done.state == "succeeded" and done.attempts == 1
    assert [event for event, *_ in stack.calls()] == ["start", "end"]
