"""Twenty deploys in a row, each landing while a job reads tiles: no process of the worker
crashes, and no job is lost, scored twice or charged for an attempt.

Each round starts a real `tps worker`, waits until a job is in its tile loop, then sends SIGTERM
(in turn to the process group, as `tini -g` and `docker stop` do, and to the main process
alone, as `kill PID` does) and checks that the worker handed the job back and exited with 0.
A last worker then scores every job to the end. Jobs allow a single attempt, so an interrupted
attempt that was counted would fail its job instead of scoring it.
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

from tests.celery_stack import Stack, Worker, make_stack
from tests.worker_slide_fixture import markers_image, write_pyramid_tiff

ROUNDS = 20
JOBS = 3
SIDE = 3072  # px at 0.5 um/px: ~25 tile batches, seconds of tile reading on two cores
# SIGTERM to exit: the batch under way (or the tissue step), then Celery's ~1.8 s pool stop;
# 1.9-2.8 s here on two shared cores. A deploy gives 60 s (docker-compose.yml).
STOP_LIMIT_S = 6.0
BROKER_DB = 12  # a Redis database of this test's own: other Celery tests use 13
# What a worker log shows when a process of the worker dies instead of exiting, or a job
# errs (a handed-back job is logged as a WARNING with Reject's traceback: that is expected).
CRASH_SIGNS = ("WorkerLostError", "exited with", "assertion failed", "Aborted", "SIGABRT",
               "ERROR/", "CRITICAL/")


@pytest.fixture
def stack(tmp_path: Path, redis_url: str) -> Iterator[Stack]:
    # Two runs of this test at once (two checkouts on one machine) would take each other's
    # messages from the one queue: the second waits for the first.
    with redis.Redis.from_url(redis_url).lock(f"tps-test:broker-db-{BROKER_DB}", timeout=1200,
                                              blocking_timeout=1200):
        made = make_stack(tmp_path, redis_url, broker_db=BROKER_DB)
        image, _truth = markers_image(SIDE, SIDE, seed=5,
                                      tissue_box=(16, 16, SIDE - 16, SIDE - 16))
        made.base_slide = write_pyramid_tiff(tmp_path / "large.tiff", image, mpp=0.5)
        yield made
        made.close()


def _job_in_tile_loop(stack: Stack, worker: Worker, round_: int) -> str:
    """The job whose tile loop this round's worker has under way (tests/celery_hooks records
    each scoring's first batch; a job's stored progress may be an earlier attempt's)."""
    tiles = stack.root / "tiles.txt"
    deadline = time.monotonic() + 60
    while not tiles.exists() or len(tiles.read_text().splitlines()) <= round_:
        assert worker.process.poll() is None, worker.log.read_text()[-3000:]
        assert time.monotonic() < deadline, worker.log.read_text()[-3000:]
        time.sleep(0.05)
    return tiles.read_text().splitlines()[round_].split()[0]


def _stop(worker: Worker, to_group: bool) -> float:
    """SIGTERM; the seconds until the worker exited, having checked it exited with 0."""
    sent = time.monotonic()
    if to_group:
        os.killpg(worker.process.pid, signal.SIGTERM)
    else:
        os.kill(worker.process.pid, signal.SIGTERM)
    try:
        code = worker.process.wait(STOP_LIMIT_S + 5)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the worker outlived its grace:\n{worker.log.read_text()[-3000:]}")
    log = worker.log.read_text()
    assert code == 0, log[-3000:]
    assert not [sign for sign in CRASH_SIGNS if sign in log], log[-3000:]
    return time.monotonic() - sent


def _unexited(stack: Stack) -> list[str]:
    """The Python processes of the workers (main, slide checks, tile readers) that left no
    `exit` line (tests/celery_hooks): killed by a signal rather than ended."""
    rows = [line.split(" ", 2) for line in (stack.root / "procs.txt").read_text().splitlines()]
    exited = {row[1] for row in rows if row[0] == "exit"}
    return [row[2] for row in rows if row[0] == "start" and row[1] not in exited]


def test_twenty_sigterms_mid_job_crash_nothing_and_every_job_is_scored_once(
    stack: Stack,
) -> None:
    job_ids = [stack.add_job("large", max_attempts=1) for _ in range(JOBS)]
    stack.enqueue(job_ids)
    broker = redis.Redis.from_url(stack.broker_url)
    exits_s = []
    for round_ in range(ROUNDS):
        worker = stack.start_worker(f"w{round_}", reconcile_every=0)
        job_id = _job_in_tile_loop(stack, worker, round_)
        time.sleep(0.1 * (round_ % 4))  # land at different points of a batch
        exits_s.append(_stop(worker, to_group=round_ % 2 == 0))
        back = stack.states([job_id])[job_id]
        # handed back: queued again, the attempt refunded, the lease dropped
        assert (back.state, back.attempts, back.lease_owner) == ("queued", 0, None)
        assert broker.llen("tps.score") == JOBS  # every message is back in Redis
    # every round stopped a job that had started and not ended
    assert [event for event, *_ in stack.calls()] == ["start"] * ROUNDS
    print(f"SIGTERM to exit: {min(exits_s):.2f}-{max(exits_s):.2f} s over {ROUNDS} rounds")
    assert max(exits_s) < STOP_LIMIT_S, exits_s

    last = stack.start_worker("last", reconcile_every=0)
    done = stack.wait_finished(job_ids, timeout_s=300)
    assert {job.state for job in done.values()} == {"succeeded"}, [j.error for j in done.values()]
    assert {job.attempts for job in done.values()} == {1}  # no interruption was counted
    ends = [job for event, job, *_ in stack.calls() if event == "end"]
    assert sorted(ends) == sorted(job_ids)  # each scored to the end exactly once
    _stop(last, to_group=True)  # an idle worker stops cleanly too
    time.sleep(1.0)  # the tile readers' resource trackers end when their pool process has
    assert _unexited(stack) == []
