"""A deploy's SIGTERM to a `tps worker` hands the running job back; another worker scores it once.

The worker image runs `tini -g`, so a deploy's SIGTERM reaches the worker's process group; a
`kill PID` reaches the main process alone. Either way the Celery main process starts a warm
shutdown and forwards SIGTERM to its pool processes (each leads a group of its own, so that the
slide check and tile readers a job starts are stopped by the job, never killed mid-read), and
the pool process stops the job at its next tile. tests/test_celery_shutdown_repeated.py does
this twenty times on real tile loops.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.celery_stack import SLOW, Stack, make_stack

GRACE_S = 3.0  # the --shutdown-grace celery_stack gives every worker


@pytest.fixture
def stack(tmp_path: Path, redis_url: str) -> Iterator[Stack]:
    made = make_stack(tmp_path, redis_url)
    yield made
    made.close()


def _wait_for_first_start(stack: Stack, log: Path) -> None:
    deadline = time.monotonic() + 30
    while not stack.calls():
        assert time.monotonic() < deadline, log.read_text()[-2000:]
        time.sleep(0.1)


@pytest.mark.parametrize("to_group", [True, False], ids=["process-group", "main-process-only"])
def test_sigterm_mid_job_requeues_it_and_another_worker_scores_it_exactly_once(
    stack: Stack, to_group: bool,
) -> None:
    job_id = stack.add_job(SLOW)  # runs 5 s, reporting progress (a tile) every 0.2 s
    a = stack.start_worker("a", reconcile_every=0)
    stack.enqueue([job_id])
    _wait_for_first_start(stack, a.log)
    assert stack.states([job_id])[job_id].state == "running"

    sent = time.monotonic()
    if to_group:
        os.killpg(a.process.pid, signal.SIGTERM)  # what `tini -g` forwards on a deploy
    else:
        os.kill(a.process.pid, signal.SIGTERM)
    try:
        a.process.wait(GRACE_S + 2)  # a little longer, to show the log if it is late
    except subprocess.TimeoutExpired:
        pytest.fail(f"worker a outlived its grace:\n{a.log.read_text()[-2000:]}")
    # The job was stopped at a tile (the 5 s job had not finished) and the worker was gone
    # within its grace; about 1.5 s here.
    assert time.monotonic() - sent < GRACE_S

    back = stack.states([job_id])[job_id]
    # run_job's promise on an interrupt: back to `queued`, the attempt refunded, lease dropped.
    assert back.state == "queued"
    assert back.attempts == 0
    assert back.lease_owner is None
    assert [event for event, *_ in stack.calls()] == ["start"]  # stopped, never finished
    # The message itself went back to Redis: no reconciler is needed to find the job again.
    assert redis.Redis.from_url(stack.broker_url).llen("tps.score") == 1
    # handed back by the task itself: the pool process was not killed out from under it
    assert "WorkerLostError" not in a.log.read_text()

    stack.start_worker("b", reconcile_every=0)
    done = stack.wait_finished([job_id], timeout_s=30)[job_id]
    assert done.state == "succeeded", done.error
    assert done.attempts == 1  # the interrupted attempt did not count
    calls = stack.calls()
    assert [event for event, *_ in calls] == ["start", "start", "end"]
    first_pid, second_pid, end_pid = (pid for _e, _job, pid, _t in calls)
    assert end_pid == second_pid != first_pid  # scored to the end by worker b only
