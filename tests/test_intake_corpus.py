"""Every file of the bad-slide corpus (tests/slide_corpus.py) is refused with its own words:
by `tps score`, in one run beside valid slides that still score, within bounded time and
memory; and by the upload route, which keeps nothing of what it refuses."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.api_client import Api
from tests.conftest import REPO_ROOT
from tests.marker_model import build_marker_model
from tests.slide_corpus import CorpusFile, valid_image, write_corpus
from tests.worker_slide_fixture import write_pyramid_tiff

MAX_WALL_S = 120.0
MAX_PEAK_RSS_MB = 1536.0
CPUS = 2
# `python -c _MEASURE CPUS STDOUT STDERR COMMAND...` runs COMMAND on at most CPUS cores, its
# output to the two files, from a fresh process, so that the RUSAGE_CHILDREN peak is its own.
_MEASURE = """
import json, os, resource, subprocess, sys, time
os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:int(sys.argv[1])])
before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
started = time.monotonic()
with open(sys.argv[2], "wb") as out, open(sys.argv[3], "wb") as err:
    code = subprocess.run(sys.argv[4:], stdout=out, stderr=err, timeout=600).returncode
wall_s = time.monotonic() - started
after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
print(json.dumps({"code": code, "wall_s": wall_s, "before_kb": before, "peak_kb": after}))
"""


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[CorpusFile]:
    return write_corpus(tmp_path_factory.mktemp("corpus"))


def _valid_slide(path: Path, seed: int) -> Path:
    return write_pyramid_tiff(path, valid_image(seed), mpp=0.5)


def _measured(command: list[str], folder: Path) -> tuple[dict[str, float], str, str]:
    out, err = folder / "stdout.txt", folder / "stderr.txt"
    run = subprocess.run([sys.executable, "-c", _MEASURE, str(CPUS), str(out), str(err), *command],
                         cwd=REPO_ROOT, capture_output=True, text=True, timeout=900, check=True)
    figures: dict[str, float] = json.loads(run.stdout)
    return figures, out.read_text(encoding="utf-8"), err.read_text(encoding="utf-8")


def test_tps_score_refuses_each_corpus_file_in_its_own_words(
        corpus: list[CorpusFile], tmp_path: Path) -> None:
    model = build_marker_model(tmp_path / "markers.onnx")
    valid = [_valid_slide(tmp_path / f"valid-{seed}.tiff", seed) for seed in (11, 12, 13)]
    middle = len(corpus) // 2
    slides = [f.path for f in corpus[:middle]] + [valid[0]] + [f.path for f in corpus[middle:]]
    slides += valid[1:]
    out = tmp_path / "out"
    command = [sys.executable, "-m", "tps", "score", *map(str, slides), "--model", str(model),
               "--out", str(out)]
    figures, stdout, stderr = _measured(command, tmp_path)
    peak_mb = figures["peak_kb"] / 1024
    print(f"\ntps score over {len(slides)} files ({len(corpus)} corpus): "
          f"wall {figures['wall_s']:.1f} s, peak RSS {peak_mb:.0f} MB on {CPUS} cores")
    print(stderr)

    assert "Traceback" not in stdout + stderr
    errors = [line for line in stderr.splitlines() if ": error: " in line]
    scored = [line for line in stdout.splitlines() if ": TPS " in line]
    scored_names = {f.path.name for f in corpus if f.must_score} | {p.name for p in valid}
    for f in corpus:
        mine = [line for line in errors if line.startswith(f"{f.path.name}: error: ")]
        if f.either and not mine:
            scored_names.add(f.path.name)
            continue
        if f.must_score:
            assert mine == [], f.name
            continue
        assert len(mine) == 1, (f.name, mine)
        assert mine[0].count(f.path.name) == 1, mine[0]
        for word in f.words:
            assert word in mine[0], (f.name, word, mine[0])
    assert len(errors) == len(slides) - len(scored_names)
    assert sorted(line.split(": ", 1)[0] for line in scored) == sorted(scored_names)
    assert stderr.splitlines()[-1] == f"{len(scored_names)} scored, {len(errors)} failed"
    assert len(scored_names) >= len(valid) + 1
    assert figures["code"] == 1
    # Only the scored slides have a folder: no staging folder, none for a refused slide.
    assert sorted(p.name for p in out.iterdir()) == sorted(Path(n).stem for n in scored_names)
    for name in scored_names:
        assert (out / Path(name).stem / "result.json").is_file(), name
    assert figures["wall_s"] < MAX_WALL_S
    assert figures["before_kb"] == 0 and 0 < peak_mb < MAX_PEAK_RSS_MB


def _upload(api: Api, path: Path) -> tuple[int, dict[str, object]]:
    # The name as UTF-8 bytes, as curl and browsers send a non-ASCII one.
    headers = {b"X-API-Key": api.key_a.encode(), b"X-Filename": path.name.encode("utf-8"),
               b"Content-Type": b"application/octet-stream"}
    response = api.client.put("/v1/slides", content=path.read_bytes(), headers=headers)
    return response.status_code, response.json()


def _stored(api: Api) -> list[Path]:
    folder = api.settings.slides_dir
    return sorted(folder.iterdir()) if folder.is_dir() else []


def test_upload_refuses_each_corpus_file_and_keeps_nothing_of_it(
        api: Api, corpus: list[CorpusFile], tmp_path: Path) -> None:
    """Refused: 415 (magic bytes) or 422 (the probe) in the family's words, nothing kept.
    Accepted (201) by design: fluorescence, greyscale and too coarse (the probe knows neither
    stain nor model; the job refuses them), the valid unicode-named slide, and possibly the
    byte flips in level 0 (the probe decodes one region of the smallest level only). The
    dimension bomb and the impossible mpps must be 422 at upload."""
    kept = 0
    for f in corpus:
        status, body = _upload(api, f.path)
        detail = str(body.get("detail", ""))
        print(f"upload {f.name}: {status} {detail}")
        assert status in f.upload, (f.name, status, body)
        if status in (200, 201):
            kept += 1
            assert body["label"] == f.path.name
        else:
            for word in f.upload_refusal:
                assert word in detail, (f.name, word, body)
        assert list(api.settings.incoming_dir.iterdir()) == [], f.name
        assert len(_stored(api)) == kept, f.name
    status, body = _upload(api, _valid_slide(tmp_path / "after.tiff", seed=21))
    assert status == 201, body
    assert (body["width"], body["height"], body["mpp"]) == (600, 500, pytest.approx(0.5))
    assert list(api.settings.incoming_dir.iterdir()) == []
    assert len(_stored(api)) == kept + 1
