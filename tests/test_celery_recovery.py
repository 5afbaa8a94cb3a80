"""Jobs that kill their worker end failed with a reason; jobs whose message was lost come back."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.celery_stack import CRASH, KILL, Stack, make_stack


@pytest.fixture
def stack(tmp_path: Path, redis_url: str) -> Iterator[Stack]:
    made = make_stack(tmp_path, redis_url)
    yield made
    made.close()


def test_poison_slides_fail_with_a_reason_and_the_other_jobs_succeed(stack: Stack) -> None:
    crashing = stack.add_job(CRASH)  # the decoder dies opening it: failed at once
    killer = stack.add_job(KILL, max_attempts=2)  # kills the pool process while scoring
    good = [stack.add_job() for _ in range(3)]
    worker = stack.start_worker("a")
    stack.enqueue([crashing, killer, *good])
    done = stack.wait_finished([crashing, killer, *good], timeout_s=90)
    assert worker.process.poll() is None  # the worker lived through all of it
    assert [done[j].state for j in good] == ["succeeded"] * 3
    assert done[crashing].state == "failed" and done[crashing].attempts == 1
    assert "decoder crashed (SIGSEGV)" in (done[crashing].error or "")
    assert done[killer].state == "failed" and done[killer].attempts == 2
    assert "gave up after 2 attempts" in (done[killer].error or "")
    starts = [job for event, job, *_ in stack.calls() if event == "start"]
    assert starts.count(killer) == 2 and crashing not in starts


def test_reconciler_recovers_queued_jobs_after_redis_restarts_empty(stack: Stack) -> None:
    jobs = [stack.add_job() for _ in range(4)]
    stack.enqueue(jobs)
    redis.Redis.from_url(stack.broker_url).flushdb()  # what a restart without AOF leaves
    stack.start_worker("a")
    done = stack.wait_finished(jobs, timeout_s=60)
    assert {job.state for job in done.values()} == {"succeeded"}
    ends = [job for event, job, *_ in stack.calls() if event == "end"]
    assert sorted(ends) == sorted(jobs)
