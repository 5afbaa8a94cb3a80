"""`tps worker`: a Celery worker for one GPU (or the CPU), plus the reconciler beside it.

One process per GPU: `--gpu N` pins this worker to GPU N through CUDA_VISIBLE_DEVICES, set
before anything can initialise CUDA; run one `tps worker --gpu N` per GPU. Concurrency stays 1
by default: one slide at a time saturates a GPU, and a second pool process would hold a second
copy of the model in GPU memory.
"""
from __future__ import annotations

import argparse
import os
import socket
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from celery import Celery

    from worker.settings import WorkerSettings

RECONCILE_EVERY_S = 30.0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("worker", help="run a Celery worker that scores queued slides")
    parser.add_argument("--gpu", type=int, default=None,
                        help="GPU index this worker uses (sets CUDA_VISIBLE_DEVICES)")
    parser.add_argument("--concurrency", type=int, default=1, help="pool processes (default 1)")
    parser.add_argument("--name", default=None, help="worker node name (default tps-<gpu>@host)")
    parser.add_argument("--shutdown-grace", type=float, default=None,
                        help="seconds a running job may take to finish on SIGTERM before it "
                        "is requeued (default 30)")
    parser.add_argument("--reconcile-every", type=float, default=RECONCILE_EVERY_S,
                        help="seconds between reconciler passes; 0 turns the reconciler off")
    parser.add_argument("--reconcile-grace", type=float, default=None,
                        help="seconds a job may sit queued before its message counts as lost "
                        "(default 10)")
    parser.add_argument("--loglevel", default="INFO")
    parser.set_defaults(handler=run_worker)


def run_worker(args: argparse.Namespace) -> int:
    if args.gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(args.gpu)
    from jobs.queue import CONSUMED_QUEUES
    from worker.celery_app import make_celery
    from worker.settings import get_worker_settings

    settings = get_worker_settings()
    app = make_celery(settings)
    if args.reconcile_every > 0:
        _start_reconciler(app, settings, args.reconcile_every, args.reconcile_grace)
    gpu = "cpu" if args.gpu is None else f"gpu{args.gpu}"
    name = args.name or f"tps-{gpu}@{socket.gethostname()}"
    if args.shutdown_grace is not None:
        app.conf.worker_soft_shutdown_timeout = args.shutdown_grace
    app.worker_main([
        "worker", f"--hostname={name}", f"--queues={','.join(CONSUMED_QUEUES)}", "--pool=prefork",
        f"--concurrency={args.concurrency}", f"--loglevel={args.loglevel}",
        "--without-gossip", "--without-mingle",
        "--without-heartbeat",
    ])
    return 0


def _start_reconciler(
    app: Celery, settings: WorkerSettings, every_s: float, grace_s: float | None
) -> None:
    # A thread of the main worker process, which never scores: it only reads the database and
    # the broker. A daemon thread, so it never holds up a shutdown.
    from jobs.database import engine_for
    from worker.reconciler import QUEUED_GRACE_S, run_forever

    engine = engine_for(settings.db_url)
    grace = QUEUED_GRACE_S if grace_s is None else grace_s
    thread = threading.Thread(target=run_forever,
                              args=(app, engine, every_s, settings.lease_seconds, grace),
                              name="tps-reconciler", daemon=True)
    thread.start()
