from __future__ import annotations

import csv
import io
from pathlib import Path

from jobs import lease
from tests.api_client import Api, tiny_slide_bytes

RESULT = {"tps": 62.5, "tps_ci95": [50.1, 73.4], "category": ">=50%",
          "counts": {"tumor_pos": 50, "tumor_neg": 30, "nontumor_pos": 2, "nontumor_neg": 9},
          "flags": {"inadequate": True, "near_cutoff": False, "no_tumor_cells": False},
          "model": {"name": "m", "version": "1.2", "sha256": "ab"}}


def _slides(api: Api, tmp_path: Path, names: list[str]) -> list[str]:
    return [api.upload(tiny_slide_bytes(tmp_path, i), name=n).json()["id"]
            for i, n in enumerate(names)]


def test_batch_of_slides_progress_and_reports(api: Api, tmp_path: Path) -> None:
    slide_ids = _slides(api, tmp_path, ["-cmd.tiff", "plain.tiff"])
    r = api.client.post("/v1/batches", json={"slide_ids": slide_ids, "assay": "22C3"},
                        headers=api.a())
    assert r.status_code == 201
    batch = r.json()
    assert batch["total"] == 2 and batch["done"] is False
    assert batch["by_state"] == {"queued": 2, "running": 0, "succeeded": 0, "failed": 0}
    assert api.dispatcher.enqueued == batch["job_ids"]
    engine = api.client.app.state.tps.engine  # type: ignore[attr-defined]
    first, second = batch["job_ids"]
    assert lease.claim(engine, first, "w", 60)
    assert lease.succeed(engine, first, "w", RESULT, "/r")
    assert lease.claim(engine, second, "w", 60)
    assert lease.fail(engine, second, "w", "=HYPERLINK(\"x\")")
    progress = api.client.get(f"/v1/batches/{batch['id']}", headers=api.a()).json()
    assert progress["done"] is True and progress["by_state"]["succeeded"] == 1

    rows = api.client.get(f"/v1/batches/{batch['id']}/report.json", headers=api.a()).json()
    assert [row["label"] for row in rows] == ["-cmd.tiff", "plain.tiff"]
    assert (rows[0]["tps"], rows[0]["ci95_low"], rows[0]["category"]) == (62.5, 50.1, ">=50%")
    assert (rows[0]["tumor_pos"], rows[0]["nontumor_neg"]) == (50, 9)
    assert rows[0]["flags"] == ["inadequate"] and rows[0]["model_version"] == "1.2"
    assert rows[1]["state"] == "failed" and rows[1]["tps"] is None

    response = api.client.get(f"/v1/batches/{batch['id']}/report.csv", headers=api.a())
    assert response.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(response.text)))
    assert table[0]["label"] == "'-cmd.tiff"  # a leading '-' would be a formula
    assert table[0]["tps"] == "62.5" and table[0]["flags"] == "inadequate"
    assert table[1]["error"] == "'=HYPERLINK(\"x\")"
    assert table[1]["tps"] == ""


def test_batch_of_existing_jobs(api: Api, tmp_path: Path) -> None:
    slide_id = _slides(api, tmp_path, ["a.tiff"])[0]
    job_id = api.client.post("/v1/jobs", json={"slide_id": slide_id}, headers=api.a()).json()["id"]
    r = api.client.post("/v1/batches", json={"job_ids": [job_id, job_id]}, headers=api.a())
    assert r.status_code == 201 and r.json()["job_ids"] == [job_id]
    assert api.dispatcher.enqueued == [job_id]  # grouping does not queue again


def test_batch_errors(api: Api, tmp_path: Path) -> None:
    slide_id = _slides(api, tmp_path, ["a.tiff"])[0]
    both = {"slide_ids": [slide_id], "job_ids": ["x"]}
    assert api.client.post("/v1/batches", json=both, headers=api.a()).status_code == 400
    assert api.client.post("/v1/batches", json={}, headers=api.a()).status_code == 400
    assert api.client.post("/v1/batches", json={"slide_ids": [slide_id]},
                           headers=api.b()).status_code == 404
    assert api.client.post("/v1/batches", json={"slide_ids": [slide_id]}).status_code == 401
    batch_id = api.client.post("/v1/batches", json={"slide_ids": [slide_id]},
                               headers=api.a()).json()["id"]
    for suffix in ("", "/report.json", "/report.csv"):
        assert api.client.get(f"/v1/batches/{batch_id}{suffix}", headers=api.b()).status_code == 404
    assert api.client.get("/v1/batches/nope", headers=api.a()).status_code == 404
