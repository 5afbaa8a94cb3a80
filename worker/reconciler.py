"""Re-enqueue jobs whose queue message was lost, e.g. when Redis restarted empty.

The database is the record and the queue only a hint, so the reconciler compares the two:
- a job `running` on an expired lease lost its worker (kill -9, host gone): enqueue it again;
- a job `queued` for longer than a grace period with no message for it in the queue, nor one
  held by a live worker, lost its message: enqueue it again.
Enqueueing twice is harmless: the DB lease lets exactly one delivery claim the job, and the
attempt cap ends a job that keeps killing its worker. That makes every pass idempotent, and any
number of reconcilers (one per `tps worker`) may run at once.
"""
from __future__ import annotations

import base64
import json
import logging
import time
from datetime import timedelta
from typing import Any

from celery import Celery
from sqlalchemy import Engine, and_, or_, select

from jobs.queue import CONSUMED_QUEUES, SCORE_QUEUE, SCORE_TASK
from jobs.records import Job, utcnow

log = logging.getLogger(__name__)

# The API commits a job, then sends its message: do not race it.
QUEUED_GRACE_S = 10.0
UNACKED_HASH = "unacked"  # kombu's Redis transport keeps delivered, unacknowledged messages here
UNACKED_INDEX = "unacked_index"


def _job_id_of(message: dict[str, Any]) -> str | None:
    """The job id in one kombu Redis message (Celery protocol 2, JSON body)."""
    try:
        if message.get("headers", {}).get("task") != SCORE_TASK:
            return None
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        return str(args[0])
    except (ValueError, KeyError, TypeError, IndexError):
        return None


def message_job_ids(app: Celery, fresh_within_s: float) -> set[str]:
    """Job ids with a message waiting in the queue, or delivered within `fresh_within_s`.

    An older unacknowledged delivery is not counted: a live worker claims a job as soon as it
    takes the message, so one that is still `queued` long after belongs to a dead worker.
    """
    with app.connection_for_read() as conn:
        client: Any = conn.default_channel.client
        waiting = [raw for queue in CONSUMED_QUEUES for raw in client.lrange(queue, 0, -1)]
        cutoff = time.time() - fresh_within_s
        fresh_tags = client.zrangebyscore(UNACKED_INDEX, cutoff, "+inf")
        delivered = client.hmget(UNACKED_HASH, fresh_tags) if fresh_tags else []
    # A waiting entry is the message itself; a delivered one is [message, exchange, routing_key].
    messages = [json.loads(raw) for raw in waiting]
    messages += [json.loads(entry)[0] for entry in delivered if entry is not None]
    return {job_id for job_id in map(_job_id_of, messages) if job_id is not None}


def due_jobs(engine: Engine, grace_s: float) -> list[str]:
    """Jobs queued for longer than `grace_s`, and running jobs whose lease expired."""
    now = utcnow()
    expired = and_(Job.state == "running", Job.lease_expires_at < now)
    stale_queued = and_(Job.state == "queued", Job.queued_at < now - timedelta(seconds=grace_s))
    with engine.connect() as conn:
        due = conn.execute(
            select(Job.id).where(or_(expired, stale_queued)).order_by(Job.queued_at)
        ).scalars().all()
    return list(due)


def reconcile_once(
    app: Celery, engine: Engine, lease_s: float, grace_s: float = QUEUED_GRACE_S
) -> list[str]:
    """One pass; returns the ids it enqueued."""
    # Read the database first: a message sent after that read still counts as present.
    due = due_jobs(engine, grace_s)
    with_message = message_job_ids(app, fresh_within_s=lease_s)
    lost = [job_id for job_id in due if job_id not in with_message]
    for job_id in lost:
        app.send_task(SCORE_TASK, args=[job_id], queue=SCORE_QUEUE)
    if lost:
        log.warning("re-enqueued %d job(s) whose message was lost: %s", len(lost), lost[:10])
    return lost


def run_forever(
    app: Celery, engine: Engine, every_s: float, lease_s: float, grace_s: float = QUEUED_GRACE_S
) -> None:
    """The loop `tps worker` runs beside the Celery worker. A broker or database outage only
    skips a pass; the next one catches up."""
    from kombu.exceptions import OperationalError as BrokerError
    from sqlalchemy.exc import OperationalError as DatabaseError

    while True:
        try:
            reconcile_once(app, engine, lease_s, grace_s)
        except (BrokerError, DatabaseError, ConnectionError) as exc:
            log.warning("reconciler pass skipped: %s", exc)
        time.sleep(every_s)
