"""The one task the API sends and the workers run, by name: the message carries only a job id."""
from __future__ import annotations

SCORE_TASK = "tps.score_job"
SCORE_QUEUE = "tps.score"
# Celery's default queue: where a task sent by name with no route lands. Workers consume it
# too, so such a message is never stranded.
DEFAULT_QUEUE = "celery"
CONSUMED_QUEUES = (SCORE_QUEUE, DEFAULT_QUEUE)
