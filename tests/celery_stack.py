"""A real Celery stack for the tests: SQLite file DB, Redis, and `tps worker` subprocesses.

Every worker process loads tests/celery_hooks/sitecustomize.py, which records each real
score_slide call and injects the failures a test asks for by slide name.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import redis
from celery import Celery
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from jobs.database import init_db, make_engine
from jobs.queue import SCORE_QUEUE, SCORE_TASK
from jobs.records import Job, Lab, Slide
from tests.marker_model import build_marker_model
from tests.worker_slide_fixture import markers_image, write_pyramid_tiff

REPO = Path(__file__).resolve().parents[1]
TPS = str(Path(sys.executable).parent / "tps")
LEASE_S = 2.0
CRASH, KILL, SLOW = "crashing", "killer", "slow"


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log: Path

    def kill_hard(self) -> None:
        """kill -9 of the whole worker: the main process and its pool at once."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)


@dataclass
class Stack:
    root: Path
    broker_url: str
    engine: Engine
    lab_id: str
    base_slide: Path
    workers: list[Worker] = field(default_factory=list)

    @property
    def calls_file(self) -> Path:
        return self.root / "calls.txt"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "TPS_DATA_DIR": str(self.root / "data"), "TPS_BROKER_URL": self.broker_url,
            "TPS_MODEL_PATH": str(self.root / "markers.onnx"), "TPS_LEASE_SECONDS": str(LEASE_S),
            "TPS_TASK_SOFT_TIME_LIMIT_S": "60", "TPS_TASK_HARD_TIME_LIMIT_S": "90",
            "TPS_VISIBILITY_TIMEOUT_S": "120", "TPS_TEST_CALLS": str(self.calls_file),
            "TPS_TEST_CRASH_MARK": CRASH, "TPS_TEST_KILL_MARK": KILL,
            "TPS_TEST_SLOW_MARK": SLOW, "TPS_TEST_SLOW_S": "5",
            "TPS_TEST_PROCS": str(self.root / "procs.txt"),
            "TPS_TEST_TILES": str(self.root / "tiles.txt"),
            "PYTHONPATH": f"{REPO / 'tests' / 'celery_hooks'}{os.pathsep}{REPO}",
        })
        return env

    def add_job(self, tag: str = "ok", max_attempts: int = 3) -> str:
        storage = f"{tag}-{uuid.uuid4().hex[:8]}.tiff"
        shutil.copyfile(self.base_slide, self.root / "data" / "slides" / storage)
        with Session(self.engine) as session:
            slide = Slide(lab_id=self.lab_id, sha256=uuid.uuid4().hex, storage_name=storage,
                          label=storage, size_bytes=1, width=256, height=256, mpp=0.5,
                          vendor="generic-tiff")
            session.add(slide)
            session.flush()
            job = Job(lab_id=self.lab_id, slide_id=slide.id, params={},
                      max_attempts=max_attempts)
            session.add(job)
            session.commit()
            return job.id

    def enqueue(self, job_ids: Iterable[str]) -> None:
        app = Celery("tps-test", broker=self.broker_url)
        for job_id in job_ids:
            app.send_task(SCORE_TASK, args=[job_id], queue=SCORE_QUEUE)

    def start_worker(self, name: str, reconcile_every: float = 1.0) -> Worker:
        log = self.root / f"{name}.log"
        command = [TPS, "worker", "--name", f"{name}@test", "--reconcile-every",
                   str(reconcile_every), "--reconcile-grace", "1", "--shutdown-grace", "3"]
        with log.open("wb") as out:
            process = subprocess.Popen(command, env=self.env(), cwd=self.root, stdout=out,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        worker = Worker(process, log)
        self.workers.append(worker)
        deadline = time.monotonic() + 60
        while b" ready." not in log.read_bytes():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker {name} did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        return worker

    def states(self, job_ids: Iterable[str]) -> dict[str, Job]:
        with Session(self.engine) as session:
            jobs = session.scalars(select(Job).where(Job.id.in_(list(job_ids)))).all()
            return {job.id: job for job in jobs}

    def wait_finished(self, job_ids: list[str], timeout_s: float) -> dict[str, Job]:
        deadline = time.monotonic() + timeout_s
        while True:
            jobs = self.states(job_ids)
            if all(job.state in ("succeeded", "failed") for job in jobs.values()):
                return jobs
            if time.monotonic() > deadline:
                logs = "\n".join(w.log.read_text()[-2000:] for w in self.workers)
                raise AssertionError(f"not finished: { {j.id: j.state for j in jobs.values()} }"
                                     f"\n{logs}")
            time.sleep(0.3)

    def calls(self) -> list[tuple[str, str, int, float]]:
        """(event, job id, pid, unix time) for every score_slide start and end."""
        if not self.calls_file.exists():
            return []
        rows = [line.split() for line in self.calls_file.read_text().splitlines()]
        return [(e, job, int(pid), float(t)) for e, job, pid, t in rows]

    def close(self) -> None:
        for worker in self.workers:
            if worker.process.poll() is None:
                os.killpg(worker.process.pid, signal.SIGKILL)
                worker.process.wait(10)
        redis.Redis.from_url(self.broker_url).flushdb()
        self.engine.dispose()


def make_stack(root: Path, redis_url: str, broker_db: int = 13) -> Stack:
    # A database number of our own: other suites use the fixture's.
    broker_url = redis_url.rsplit("/", 1)[0] + f"/{broker_db}"
    redis.Redis.from_url(broker_url).flushdb()
    (root / "data" / "slides").mkdir(parents=True)
    build_marker_model(root / "markers.onnx")
    image, _truth = markers_image(256, 256, seed=3, tissue_box=(16, 16, 240, 240))
    base = write_pyramid_tiff(root / "base.tiff", image, mpp=0.5)
    engine = make_engine(f"sqlite:///{root / 'data' / 'tps.sqlite3'}")
    init_db(engine)
    with Session(engine) as session:
        lab = Lab(name="lab")
        session.add(lab)
        session.commit()
        lab_id = lab.id
    return Stack(root, broker_url, engine, lab_id, base)
