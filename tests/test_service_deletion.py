"""DELETE of slides, jobs and batches: rows and files go, another lab's ids are 404 and touch
nothing, a running job is refused, a second DELETE is 404."""
from __future__ import annotations

from pathlib import Path
from typing import cast

import httpx
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from jobs import lease
from jobs.records import BatchJob, Job, Slide
from service.deletion import delete_job_rows
from service.errors import Conflict
from tests.api_client import Api, tiny_slide_bytes


def _engine(api: Api) -> Engine:
    engine: Engine = api.client.app.state.tps.engine  # type: ignore[attr-defined]
    return engine


def _slide(api: Api, tmp_path: Path, seed: int) -> tuple[str, Path]:
    """A slide of lab a, and its stored file."""
    response = cast(httpx.Response,
                    api.upload(tiny_slide_bytes(tmp_path, seed), name=f"case-{seed}.tiff"))
    assert response.status_code == 201, response.text
    slide_id: str = response.json()["id"]
    with Session(_engine(api)) as s:
        slide = s.get(Slide, slide_id)
        assert slide is not None
        path = api.settings.slides_dir / slide.storage_name
    assert path.is_file()
    return slide_id, path


def _job(api: Api, slide_id: str, end: str | None = "succeeded") -> tuple[str, Path]:
    """A job of the slide, and its result folder with a file in it, as a worker leaves them:
    `end` succeeded or failed, or None (still running)."""
    response = api.client.post("/v1/jobs", json={"slide_id": slide_id}, headers=api.a())
    assert response.status_code == 202, response.text
    job_id: str = response.json()["id"]
    engine = _engine(api)
    assert lease.claim(engine, job_id, "w", 60)
    folder = api.settings.results_dir / job_id
    folder.mkdir(parents=True)
    (folder / "result.json").write_text('{"tps": 12.5}')
    if end == "succeeded":
        assert lease.succeed(engine, job_id, "w", {"tps": 12.5}, str(folder))
    elif end == "failed":
        assert lease.fail(engine, job_id, "w", "broken")
    return job_id, folder


def _batch(api: Api, job_ids: list[str]) -> str:
    response = api.client.post("/v1/batches", json={"job_ids": job_ids}, headers=api.a())
    assert response.status_code == 201, response.text
    batch_id: str = response.json()["id"]
    return batch_id


def _count(api: Api, model: type[Job | Slide | BatchJob]) -> int:
    with Session(_engine(api)) as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_deleting_a_slide_removes_its_file_jobs_results_and_memberships(
        api: Api, tmp_path: Path) -> None:
    slide_id, slide_file = _slide(api, tmp_path, 0)
    done, done_folder = _job(api, slide_id, "succeeded")
    failed, failed_folder = _job(api, slide_id, "failed")
    other_slide, other_file = _slide(api, tmp_path, 1)
    other_job, other_folder = _job(api, other_slide, "succeeded")
    batch = _batch(api, [done, other_job, failed])

    url = f"/v1/slides/{slide_id}"
    refused = api.client.delete(url, headers=api.b())  # another lab's slide: nothing happens
    assert refused.status_code == 404 and refused.json()["detail"] == f"no slide {slide_id}"
    assert slide_file.is_file() and done_folder.is_dir() and failed_folder.is_dir()
    assert (_count(api, Slide), _count(api, Job), _count(api, BatchJob)) == (2, 3, 3)

    response = api.client.delete(url, headers=api.a())
    assert response.status_code == 204 and response.content == b""
    assert not slide_file.exists()
    assert not done_folder.exists() and not failed_folder.exists()
    assert api.client.get(url, headers=api.a()).status_code == 404
    for job_id in (done, failed):
        assert api.client.get(f"/v1/jobs/{job_id}", headers=api.a()).status_code == 404
        assert api.client.get(f"/v1/jobs/{job_id}/result", headers=api.a()).status_code == 404
    assert [s["id"] for s in api.client.get("/v1/slides", headers=api.a()).json()] == [other_slide]
    # The batch stays, with the other slide's job alone.
    assert api.client.get(f"/v1/batches/{batch}", headers=api.a()).json()["job_ids"] == [other_job]
    assert (_count(api, Slide), _count(api, Job), _count(api, BatchJob)) == (1, 1, 1)
    assert other_file.is_file() and other_folder.is_dir()  # the other slide's untouched

    assert api.client.delete(url, headers=api.a()).status_code == 404  # gone already
    # The same bytes can be uploaded again, as a new slide.
    again = cast(httpx.Response, api.upload(tiny_slide_bytes(tmp_path, 0), name="case-0.tiff"))
    assert again.status_code == 201 and again.json()["id"] != slide_id


def test_a_slide_with_a_running_job_is_not_deleted(api: Api, tmp_path: Path) -> None:
    slide_id, slide_file = _slide(api, tmp_path, 0)
    done, done_folder = _job(api, slide_id, "succeeded")
    running, running_folder = _job(api, slide_id, end=None)
    batch = _batch(api, [done, running])

    for url in (f"/v1/slides/{slide_id}", f"/v1/jobs/{running}"):
        response = api.client.delete(url, headers=api.a())
        assert response.status_code == 409
        assert response.json()["detail"] == f"job {running} is running; try again when it ends"
    assert slide_file.is_file() and done_folder.is_dir() and running_folder.is_dir()
    assert (_count(api, Slide), _count(api, Job), _count(api, BatchJob)) == (1, 2, 2)
    assert api.client.get(f"/v1/batches/{batch}", headers=api.a()).json()["total"] == 2

    assert lease.succeed(_engine(api), running, "w", {"tps": 1.0}, str(running_folder))
    assert api.client.delete(f"/v1/slides/{slide_id}", headers=api.a()).status_code == 204
    assert not slide_file.exists() and not running_folder.exists()


def test_a_job_claimed_while_it_is_being_deleted_is_kept(api: Api, tmp_path: Path) -> None:
    """The DELETE checks the state itself: a worker's claim after the route read the job."""
    slide_id, _file = _slide(api, tmp_path, 0)
    response = api.client.post("/v1/jobs", json={"slide_id": slide_id}, headers=api.a())
    job_id = response.json()["id"]
    with Session(_engine(api)) as s:
        job = s.get(Job, job_id)
        assert job is not None and job.state == "queued"
        assert lease.claim(_engine(api), job_id, "w", 60)  # meanwhile, a worker
        with pytest.raises(Conflict, match=f"job {job_id} is running"):
            delete_job_rows(s, [job])
    assert api.client.get(f"/v1/jobs/{job_id}", headers=api.a()).json()["state"] == "running"


def test_deleting_a_job(api: Api, tmp_path: Path) -> None:
    slide_id, slide_file = _slide(api, tmp_path, 0)
    job_id, folder = _job(api, slide_id, "succeeded")
    kept, kept_folder = _job(api, slide_id, "succeeded")
    batch = _batch(api, [job_id, kept])
    outside = tmp_path / "not-a-result-folder"
    outside.mkdir()
    with Session(_engine(api)) as s:  # a row that names a folder outside the results folder
        job = s.get(Job, job_id)
        assert job is not None
        job.result_dir = str(outside)
        s.commit()

    url = f"/v1/jobs/{job_id}"
    assert api.client.delete(url, headers=api.b()).status_code == 404
    assert folder.is_dir() and _count(api, Job) == 2

    assert api.client.delete(url, headers=api.a()).status_code == 204
    assert not folder.exists()
    assert outside.is_dir()  # never removed: not the service's
    assert api.client.get(url, headers=api.a()).status_code == 404
    assert api.client.delete(url, headers=api.a()).status_code == 404
    assert slide_file.is_file() and kept_folder.is_dir()  # the slide and its other job stay
    assert api.client.get(f"/v1/slides/{slide_id}", headers=api.a()).status_code == 200
    assert api.client.get(f"/v1/batches/{batch}", headers=api.a()).json()["job_ids"] == [kept]


def test_deleting_a_batch_keeps_its_jobs(api: Api, tmp_path: Path) -> None:
    slide_id, slide_file = _slide(api, tmp_path, 0)
    first, first_folder = _job(api, slide_id, "succeeded")
    second, _second_folder = _job(api, slide_id, "failed")
    batch = _batch(api, [first, second])
    other = _batch(api, [first])

    url = f"/v1/batches/{batch}"
    assert api.client.delete(url, headers=api.b()).status_code == 404
    assert api.client.get(url, headers=api.a()).status_code == 200

    assert api.client.delete(url, headers=api.a()).status_code == 204
    assert api.client.get(url, headers=api.a()).status_code == 404
    assert api.client.get(f"{url}/report.csv", headers=api.a()).status_code == 404
    assert api.client.delete(url, headers=api.a()).status_code == 404
    for job_id in (first, second):
        assert api.client.get(f"/v1/jobs/{job_id}", headers=api.a()).status_code == 200
    assert first_folder.is_dir() and slide_file.is_file()
    assert api.client.get(f"/v1/batches/{other}", headers=api.a()).json()["job_ids"] == [first]
    assert _count(api, BatchJob) == 1
