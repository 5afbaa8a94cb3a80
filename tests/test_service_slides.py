from __future__ import annotations

import hashlib
from pathlib import Path

from tests.api_client import Api, tiny_slide_bytes


def test_upload_creates_then_returns_the_same_slide(api: Api, tmp_path: Path) -> None:
    data = tiny_slide_bytes(tmp_path)
    first = api.upload(data, name="../../etc/Case 7;rm -rf.tiff")
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert (body["width"], body["height"], body["size_bytes"]) == (512, 512, len(data))
    assert abs(body["mpp"] - 0.5) < 1e-9
    assert body["label"] == "Case 7;rm -rf.tiff"  # the path dropped; the label is only shown
    stored = list(api.settings.slides_dir.iterdir())
    assert [p.name for p in stored] == [f"{body['id']}.tiff"]  # server-generated name
    assert stored[0].read_bytes() == data
    again = api.upload(data, name="other.tiff")
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    assert len(list(api.settings.slides_dir.iterdir())) == 1
    assert list(api.settings.incoming_dir.iterdir()) == []  # temp files never linger


def test_same_bytes_in_another_lab_is_another_slide(api: Api, tmp_path: Path) -> None:
    data = tiny_slide_bytes(tmp_path)
    a = api.upload(data).json()["id"]
    b = api.upload(data, key=api.key_b)
    assert b.status_code == 201 and b.json()["id"] != a


def test_get_and_list_are_per_lab(api: Api, tmp_path: Path) -> None:
    slide_id = api.upload(tiny_slide_bytes(tmp_path)).json()["id"]
    assert api.client.get(f"/v1/slides/{slide_id}", headers=api.a()).json()["id"] == slide_id
    assert api.client.get(f"/v1/slides/{slide_id}", headers=api.b()).status_code == 404
    assert [s["id"] for s in api.client.get("/v1/slides", headers=api.a()).json()] == [slide_id]
    assert api.client.get("/v1/slides", headers=api.b()).json() == []


def test_post_with_content_disposition_works(api: Api, tmp_path: Path) -> None:
    headers = {**api.a(), "Content-Type": "application/octet-stream",
               "Content-Disposition": 'attachment; filename="s1.svs"'}
    r = api.client.post("/v1/slides", content=tiny_slide_bytes(tmp_path), headers=headers)
    assert r.status_code == 201 and r.json()["label"] == "s1.svs"


def test_missing_filename_is_400(api: Api, tmp_path: Path) -> None:
    headers = {**api.a(), "Content-Type": "application/octet-stream"}
    r = api.client.put("/v1/slides", content=tiny_slide_bytes(tmp_path), headers=headers)
    assert r.status_code == 400 and "X-Filename" in r.json()["detail"]


def test_missing_or_wrong_key_is_401(api: Api, tmp_path: Path) -> None:
    data = tiny_slide_bytes(tmp_path)
    assert api.client.put("/v1/slides", content=data).status_code == 401
    wrong = api.key_a[:-4] + "AAAA"
    assert api.upload(data, key=wrong).status_code == 401
    assert api.upload(data, key="not-a-key").status_code == 401
    assert list(api.settings.slides_dir.iterdir()) == []


def test_too_large_is_413_and_leaves_nothing(api: Api) -> None:
    big = b"II*\x00" + bytes(api.settings.max_upload_bytes)

    def chunks():  # no Content-Length: the cap must hold while streaming
        for start in range(0, len(big), 65536):
            yield big[start:start + 65536]

    headers = {**api.a(), "X-Filename": "big.tiff", "Content-Type": "application/octet-stream"}
    r = api.client.put("/v1/slides", content=chunks(), headers=headers)
    assert r.status_code == 413
    assert list(api.settings.incoming_dir.iterdir()) == []
    assert api.upload(big).status_code == 413  # declared Content-Length, refused up front


def test_wrong_magic_or_media_type_is_415(api: Api) -> None:
    r = api.upload(b"%PDF-1.7" + bytes(400), name="report.pdf")
    assert r.status_code == 415 and "magic" in r.json()["detail"]
    assert api.upload(b"II*", name="short.tiff").status_code == 415  # too short to tell
    multipart = api.client.post("/v1/slides", headers={**api.a(), "X-Filename": "x.tiff"},
                                files={"file": ("x.tiff", b"II*\x00")})
    assert multipart.status_code == 415
    assert list(api.settings.incoming_dir.iterdir()) == []


def test_dicom_magic_passes_the_sniff_but_garbage_is_422(api: Api) -> None:
    r = api.upload(bytes(128) + b"DICM" + bytes(1000), name="scan.dcm")
    assert r.status_code == 422
    assert r.json()["detail"].startswith("the DICOM file is damaged or incomplete")


def test_truncated_tiff_is_422_with_reason(api: Api, tmp_path: Path) -> None:
    data = tiny_slide_bytes(tmp_path)
    r = api.upload(data[:300], name="cut.tiff")
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert detail.startswith("the TIFF file is damaged or incomplete") and "copy it again" in detail
    assert "incoming" not in detail and ".part" not in detail  # no server path
    assert list(api.settings.slides_dir.iterdir()) == []
    assert list(api.settings.incoming_dir.iterdir()) == []


def test_a_zip_sent_as_a_file_is_415_naming_the_zip_route(api: Api) -> None:
    r = api.upload(b"PK\x03\x04" + bytes(400), name="series.zip")
    assert r.status_code == 415
    assert "send a DICOM WSI series as one zip with Content-Type application/zip" in (
        r.json()["detail"])
    headers = {**api.a(), "X-Filename": "x.tiff", "Content-Type": "text/plain"}
    other = api.client.put("/v1/slides", content=b"II*\x00", headers=headers)
    assert other.status_code == 415 and "application/zip" in other.json()["detail"]
    assert list(api.settings.incoming_dir.iterdir()) == []
