"""A job's heatmap, tissue outline and listed review crops, served from its result folder
alone."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from tests.api_client import Api
from tests.viewer_jobs import picture_job, result_of, succeed


def _png(folder: Path, name: str, colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(out, "PNG")
    (folder / name).write_bytes(out.getvalue())
    return out.getvalue()


@pytest.fixture
def pictured(api: Api, tmp_path: Path) -> tuple[str, dict[str, bytes]]:
    folder = tmp_path / "result"
    folder.mkdir()
    files = {name: _png(folder, name, (i * 40, 0, 0)) for i, name in enumerate(
        ("heatmap.png", "tissue.png", "crop-1.png", "crop-2.png", "crop-9.png"))}
    _png(tmp_path, "secret.png", (1, 2, 3))  # beside the result folder, not in it
    job_id = picture_job(api, tmp_path)
    assert api.client.get(f"/v1/jobs/{job_id}/heatmap.png", headers=api.a()).status_code == 409
    assert api.client.get(f"/v1/jobs/{job_id}/tissue.png", headers=api.a()).status_code == 409
    assert api.client.get(f"/v1/jobs/{job_id}/crops/1.png", headers=api.a()).status_code == 409
    succeed(api, job_id, folder,
             result_of(["crop-1.png", "crop-2.png", "crop-3.png", "../secret.png", "heatmap.png/"]))
    return job_id, files


def test_heatmap_outline_and_listed_crops_are_served(
        api: Api, pictured: tuple[str, dict[str, bytes]]) -> None:
    job_id, files = pictured
    for url, name in (("heatmap.png", "heatmap.png"), ("tissue.png", "tissue.png"),
                      ("crops/1.png", "crop-1.png"), ("crops/2.png", "crop-2.png")):
        r = api.client.get(f"/v1/jobs/{job_id}/{url}", headers=api.a())
        assert r.status_code == 200, url
        assert r.headers["content-type"] == "image/png" and r.content == files[name]
        assert api.client.get(f"/v1/jobs/{job_id}/{url}", headers=api.b()).status_code == 404


def test_crops_not_listed_or_absent_are_404(api: Api,
                                            pictured: tuple[str, dict[str, bytes]]) -> None:
    job_id, _ = pictured
    # 3: listed, no file; 4: outside the folder; 5: not a file name; 9: a file not listed.
    for n in ("0", "3", "4", "5", "6", "9", "-1", "x", "%2e%2e%2fsecret"):
        r = api.client.get(f"/v1/jobs/{job_id}/crops/{n}.png", headers=api.a())
        assert r.status_code == 404, n


def test_a_result_without_heatmap_or_outline_is_404(api: Api, tmp_path: Path) -> None:
    """A result folder without them (tissue.png came later: older results lack it)."""
    folder = tmp_path / "result"
    folder.mkdir()
    job_id = picture_job(api, tmp_path)
    succeed(api, job_id, folder, result_of())
    assert api.client.get(f"/v1/jobs/{job_id}/heatmap.png", headers=api.a()).status_code == 404
    assert api.client.get(f"/v1/jobs/{job_id}/tissue.png", headers=api.a()).status_code == 404
    assert api.client.get(f"/v1/jobs/{job_id}/crops/1.png", headers=api.a()).status_code == 404
