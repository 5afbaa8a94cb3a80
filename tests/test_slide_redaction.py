"""Label and macro images are gone once a slide is accepted: the real Aperio SVS is rewritten
without them and reads the same pixels; a DICOM series loses its label and overview instances;
a generic TIFF has none and is left byte for byte; a format that cannot be stripped is refused;
the upload route strips by default and keeps the sha256 of the bytes the lab sent."""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import cast

import httpx
import numpy as np
import openslide
import pytest
import tifftools

from scoring import label_removal
from scoring.label_removal import LabelImageKept, strip_label_images
from service.settings import ApiSettings
from tests.api_client import Api, make_api, tiny_slide_bytes

SVS = "slides/CMU-1-Small-Region.svs"


@pytest.fixture
def svs(shared_data: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "case.svs"
    shutil.copyfile(shared_data / SVS, copy)
    return copy


def _pixels(path: Path) -> list[np.ndarray]:
    with openslide.OpenSlide(path) as slide:
        return [np.asarray(slide.read_region((0, 0), level, size))
                for level, size in enumerate(slide.level_dimensions)]


def _label_strips(path: Path) -> list[bytes]:
    """The stored bytes of the label and macro directories' image data."""
    found = []
    with open(path, "rb") as handle:
        for ifd in tifftools.read_tiff(str(path))["ifds"]:
            if label_removal._aperio_image(ifd) is None:
                continue
            tags = ifd["tags"]
            offsets = tags[tifftools.Tag.StripOffsets.value]["data"]
            counts = tags[tifftools.Tag.StripByteCounts.value]["data"]
            for offset, count in zip(offsets, counts):
                handle.seek(offset)
                found.append(handle.read(count))
    return found


def test_an_svs_loses_its_label_and_macro_and_keeps_its_pixels(svs: Path,
                                                               shared_data: Path) -> None:
    original = shared_data / SVS
    with openslide.OpenSlide(original) as slide:
        assert {"label", "macro"} <= set(slide.associated_images)  # the test means something
    # Strips long enough that finding one elsewhere by chance is out of the question.
    strips = [strip for strip in _label_strips(original) if len(strip) >= 256]
    assert len(strips) > 10 and sum(map(len, strips)) > 100_000

    done = strip_label_images(svs)
    assert (done.vendor, done.removed) == ("aperio", ("label", "macro"))
    with openslide.OpenSlide(svs) as slide:
        assert set(slide.associated_images) == {"thumbnail"}
        assert slide.properties["openslide.vendor"] == "aperio"
        assert slide.properties["aperio.AppMag"] == "20"  # the scanner's metadata is kept
    for before, after in zip(_pixels(original), _pixels(svs), strict=True):
        assert before.shape == after.shape and np.array_equal(before, after)
    data = svs.read_bytes()
    assert not any(strip in data for strip in strips)  # the images' bytes are gone too
    assert svs.stat().st_size < original.stat().st_size
    assert not list(svs.parent.glob("*.unlabelled"))
    assert strip_label_images(svs).removed == ()  # a second pass finds nothing


def test_a_dicom_series_loses_its_label_and_overview_instances(shared_data: Path,
                                                               tmp_path: Path) -> None:
    wsidicomizer = pytest.importorskip("wsidicomizer")
    pytest.importorskip("tiffslide")
    import pydicom
    from wsidicom.codec import NumpySettings
    from wsidicomizer.sources import TiffSlideSource

    folder = tmp_path / "series"
    wsidicomizer.WsiDicomizer.convert(shared_data / SVS, folder, include_label=True,
                                      include_overview=True, include_thumbnail=False,
                                      preferred_source=TiffSlideSource, encoding=NumpySettings())

    def image_types() -> list[str]:
        return sorted(pydicom.dcmread(f, stop_before_pixels=True).ImageType[2]
                      for f in folder.iterdir())

    assert image_types() == ["LABEL", "OVERVIEW", "VOLUME"]
    volume = next(f for f in folder.iterdir()
                  if pydicom.dcmread(f, stop_before_pixels=True).ImageType[2] == "VOLUME")
    before = _pixels(volume)

    done = strip_label_images(folder)
    assert (done.vendor, done.removed) == ("dicom", ("label", "macro"))
    assert image_types() == ["VOLUME"]
    with openslide.OpenSlide(volume) as slide:
        assert not {"label", "macro"} & set(slide.associated_images)
    assert all(np.array_equal(a, b) for a, b in zip(before, _pixels(volume), strict=True))


def test_a_generic_tiff_has_none_and_is_left_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "plain.tiff"
    path.write_bytes(tiny_slide_bytes(tmp_path, 1))
    before = path.read_bytes()
    assert strip_label_images(path).removed == ()
    assert path.read_bytes() == before


def test_a_format_it_cannot_strip_is_refused(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "scan.ndpi"
    path.write_bytes(tiny_slide_bytes(tmp_path, 1))
    monkeypatch.setattr(label_removal, "_look", lambda _path: label_removal._Look(
        "hamamatsu", ("macro",), ((512, 512),)))
    with pytest.raises(LabelImageKept, match="this hamamatsu slide has a macro image, which "
                       "the service cannot remove from hamamatsu files"):
        strip_label_images(path)


def test_uploads_are_stripped_unless_turned_off(svs: Path, tmp_path: Path,
                                                settings: ApiSettings,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    data = svs.read_bytes()
    for strip in (True, False):
        made = make_api(settings.model_copy(update={
            "strip_label_images": strip, "data_dir": tmp_path / f"data-{strip}"}))
        api: Api = next(made)
        try:
            response = cast(httpx.Response, api.upload(data, "case.svs"))
            assert response.status_code == 201, response.text
            body = response.json()
            assert body["sha256"] == hashlib.sha256(data).hexdigest()  # what the lab sent
            assert body["size_bytes"] == len(data)
            (stored,) = api.settings.slides_dir.iterdir()
            with openslide.OpenSlide(stored) as slide:
                assert ("label" in slide.associated_images) is not strip
            again = cast(httpx.Response, api.upload(data, "same.svs"))
            assert again.status_code == 200 and again.json()["id"] == body["id"]
            if strip:  # a slide whose label cannot be removed is refused, and nothing kept
                monkeypatch.setattr(label_removal, "_look", lambda _path: label_removal._Look(
                    "philips", ("label",), ((512, 512),)))
                refused = cast(httpx.Response, api.upload(tiny_slide_bytes(tmp_path, 2), "p"))
                assert refused.status_code == 422
                assert "the service cannot remove from philips files" in refused.json()["detail"]
                assert len(list(api.settings.slides_dir.iterdir())) == 1
                assert list(api.settings.incoming_dir.iterdir()) == []
                monkeypatch.undo()
        finally:
            next(made, None)
