"""DICOM WSI in: a series folder scores like the TIFF it was made from, and a lone coarse
instance is refused for its resolution. The series are written by wsidicomizer, uncompressed,
so the marker cells survive bit for bit."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.marker_model import build_marker_model
from tests.worker_slide_fixture import markers_image, write_pyramid_tiff

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def series(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(the TIFF, its DICOM series folder, the marker model)."""
    wsidicomizer = pytest.importorskip("wsidicomizer")
    from wsidicom.codec import NumpySettings

    root = tmp_path_factory.mktemp("dicom")
    image, _ = markers_image(1024, 768, seed=3, tissue_box=(32, 32, 990, 730))
    tiff = write_pyramid_tiff(root / "case.tiff", image, mpp=0.5)
    folder = root / "case-dicom"
    wsidicomizer.WsiDicomizer.convert(tiff, folder, encoding=NumpySettings(),
                                      include_label=False, include_overview=False,
                                      include_thumbnail=False)
    return tiff, folder, build_marker_model(root / "markers.onnx")


def _score(slides: list[Path], out: Path, model: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tps", "score", *map(str, slides), "--out",
                           str(out), "--model", str(model)], cwd=REPO, capture_output=True,
                          text=True, timeout=300, check=False)


def test_a_series_folder_scores_like_its_tiff(series: tuple[Path, Path, Path],
                                             tmp_path: Path) -> None:
    tiff, folder, model = series
    done = _score([folder, tiff], tmp_path, model)
    assert done.returncode == 0, done.stderr
    from_dicom = json.loads((tmp_path / folder.name / "result.json").read_text())
    from_tiff = json.loads((tmp_path / tiff.stem / "result.json").read_text())
    assert from_dicom["slide"]["vendor"] == "dicom" and from_dicom["slide"]["mpp"] == 0.5
    assert from_dicom["counts"] == from_tiff["counts"] and from_dicom["tps"] == from_tiff["tps"]
    assert from_dicom["tumor_cells"] > 100


def test_a_lone_coarse_instance_gets_the_resolution_error(series: tuple[Path, Path, Path],
                                                          tmp_path: Path) -> None:
    _tiff, folder, model = series
    import pydicom

    def width(path: Path) -> int:  # the instance's whole-image width (level size)
        return int(pydicom.dcmread(path, stop_before_pixels=True).TotalPixelMatrixColumns)

    coarsest = min(folder.glob("*.dcm"), key=width)
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(coarsest, alone / "level.dcm")
    done = _score([alone / "level.dcm"], tmp_path / "out", model)
    assert done.returncode == 1
    assert "level.dcm: error: the slide's finest level is 2 um/px" in done.stderr
    assert "Traceback" not in done.stderr
