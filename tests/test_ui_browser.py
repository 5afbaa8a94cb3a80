"""The browser pages in a real browser against a real `tps serve`: a lab's day, end to end.

Chromium comes from Debian (`apt-get install chromium`, which .ci/run does) and is driven by
Playwright's Python package (the dev extra); `playwright install` is never run. Without either,
these tests skip with the reason.

The server is a `tps serve` subprocess (API + in-process worker, SQLite in tmp) with the marker
model of tests/marker_model.py, so the job's result is exact and quick. With
TPS_UI_SCREENSHOTS=1 the walk also writes docs/ui-upload.png, ui-jobs.png, ui-result.png and
ui-viewer.png (left alone otherwise, so a test run does not change the tree).
"""
from __future__ import annotations

import csv
import io
import os
import re
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from scoring.slide_images import OUTLINE_RGB
from tests.browser_pages import colour_share, new_page, pixels, screenshot, sign_in
from tests.marker_model import build_marker_model
from tests.served import run, serving
from tests.ui_uploads import UNICODE_NAME, write_uploads

sync_api = pytest.importorskip(
    "playwright.sync_api",
    reason="playwright is not installed (pip install -e '.[dev]'); the browser tests need it")

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CHROMIUM = os.environ.get("TPS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
TPS_RED = (220, 40, 40)  # the tumour-positive colour of the overlay (scoring/class_colors.py)

if not Path(CHROMIUM).is_file():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set TPS_CHROMIUM)",
                allow_module_level=True)

pytestmark = pytest.mark.timeout(300)


@dataclass
class Server:
    base: str
    key_a: str
    key_b: str
    slide: Path        # a markers slide, 1500 x 1200
    other_slide: Path  # another one, to upload under a Unicode name
    not_a_slide: Path  # a PNG: refused with 415
    grey_slide: Path   # a greyscale scan: its job fails with the reason
    log: Path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("ui")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TPS_")}
    env.update(TPS_DATA_DIR=str(tmp / "data"),
               TPS_MODEL_PATH=str(build_marker_model(tmp / "marker.onnx")))
    tps = BIN / "tps"
    key_a = run(tps, "keys", "create", "--lab", "A", env=env).strip().splitlines()[-1]
    key_b = run(tps, "keys", "create", "--lab", "B", env=env).strip().splitlines()[-1]
    slide, other, png, grey = write_uploads(tmp, tps, env)

    log = tmp / "serve.log"
    with serving(tps, env, tmp, log) as base:
        yield Server(base, key_a, key_b, slide, other, png, grey, log)


@pytest.fixture(scope="module")
def browser(server: Server) -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            yield chromium
        finally:
            chromium.close()


def test_bad_key_gets_a_clear_message(server: Server, browser: Any) -> None:
    context, page, problems = new_page(browser)
    page.goto(f"{server.base}/#/jobs")
    page.wait_for_url("**/#/signin")  # a page that needs a key sends you to sign in
    # By keyboard alone: the key field has the focus, Enter sends it.
    sync_api.expect(page.get_by_label("Lab API key")).to_be_focused()
    page.keyboard.type("tps_this_is_not_a_key")
    page.keyboard.press("Enter")
    alert = page.get_by_role("alert")
    sync_api.expect(alert).to_contain_text("This key is not valid")
    assert page.evaluate("sessionStorage.getItem('tps.key')") is None
    # The right key, typed over it, goes on to the page first asked for.
    page.get_by_label("Lab API key").fill(server.key_a)
    page.keyboard.press("Enter")
    page.wait_for_url("**/#/jobs")
    sync_api.expect(page.get_by_role("heading", level=1)).to_have_text("Jobs")
    assert problems.errors == []
    context.close()


def test_a_labs_day(server: Server, browser: Any) -> None:
    # Earlier, through the API: a greyscale scan, whose job fails (before any tile is read).
    lab_a = httpx.Client(base_url=server.base, headers={"X-API-Key": server.key_a}, timeout=30)
    grey = lab_a.put("/v1/slides", content=server.grey_slide.read_bytes(),
                     headers={"X-Filename": "grey.tiff", "Content-Type": "application/octet-stream"})
    assert grey.status_code == 201, grey.text
    assert lab_a.post("/v1/jobs", json={"slide_id": grey.json()["id"]}).status_code == 202

    context, page, problems = new_page(browser)
    tiles: list[int] = []
    page.on("response", lambda r: tiles.append(r.status) if "/viewer_files/" in r.url else None)

    # Sign in; the key is kept for this tab only.
    sign_in(page, server.base, server.key_a)
    assert page.evaluate("sessionStorage.getItem('tps.key')") == server.key_a
    assert page.evaluate("localStorage.length") == 0

    # Upload three files at once: two slides (one with a Unicode name) and a PNG.
    page.get_by_role("navigation").get_by_role("link", name="Upload and score").click()
    page.get_by_label("Slides to upload").set_input_files(
        [server.slide, server.other_slide, server.not_a_slide])
    page.get_by_role("button", name="Upload 3 files").click()
    rows = page.locator("#uploads tbody tr")
    sync_api.expect(rows.locator("td.answer:not(:empty)")).to_have_count(3, timeout=60_000)
    first, second, png = (rows.nth(i) for i in range(3))
    sync_api.expect(first.locator("td.answer")).to_contain_text("New slide: slide-1.tiff")
    sync_api.expect(second.locator("td.answer")).to_contain_text(f"New slide: {UNICODE_NAME}")
    for row in (first, second):
        assert row.locator("progress").evaluate("p => p.value") == 1
        sync_api.expect(row.locator(".progress-text")).to_have_text("100 %")
    sync_api.expect(png.locator("td.answer")).to_contain_text("Refused (415)")
    sync_api.expect(png.locator("td.answer")).to_contain_text("PNG")
    # The same bytes again: recognised, not stored twice.
    page.get_by_label("Slides to upload").set_input_files(server.slide)
    page.get_by_role("button", name="Upload", exact=True).click()
    sync_api.expect(rows.nth(3).locator("td.answer")).to_contain_text(
        "Already uploaded (same contents): slide-1.tiff")
    sync_api.expect(page.locator("#slides tbody tr")).to_have_count(3)
    screenshot(page, "upload")

    # A slide on its own opens in the viewer (no job: no cells to show).
    page.get_by_role("link", name=f"View {UNICODE_NAME}").click()
    sync_api.expect(page.get_by_role("heading", level=1)).to_have_text(UNICODE_NAME)
    sync_api.expect(page.locator("#osd")).to_have_attribute("data-tiles", re.compile(r"^[1-9]"))
    sync_api.expect(page.get_by_label("Tumour, PD-L1 positive", exact=True)).to_be_disabled()
    sync_api.expect(page.get_by_label("Tissue outline")).to_be_disabled()
    page.go_back()
    sync_api.expect(page.locator("#slides tbody tr")).to_have_count(3)
    sync_api.expect(page.get_by_label("Score grey.tiff")).not_to_be_checked()

    # Score only slide-1, with 28-8.
    page.get_by_label(f"Score {UNICODE_NAME}").uncheck()
    page.get_by_label("Assay").select_option("28-8")
    page.get_by_role("button", name="Score the ticked slide").click()
    page.wait_for_url("**/#/jobs")
    sync_api.expect(page.locator("main .message.ok")).to_have_text("Started 1 job (28-8).")

    # The list follows the job to the end by itself (no reload).
    failed = page.locator("#jobs tbody tr", has_text="grey.tiff")
    sync_api.expect(failed).to_have_attribute("data-state", "failed", timeout=60_000)
    sync_api.expect(failed).to_contain_text(
        "grey.tiff: the slide has no colour")  # the server's reason, as it gave it
    row = page.locator("#jobs tbody tr", has_text="slide-1.tiff")
    sync_api.expect(row).to_contain_text("28-8")
    sync_api.expect(row).to_have_attribute("data-state", "succeeded", timeout=90_000)
    job_id = row.get_attribute("data-job")
    assert job_id
    progress = row.locator("progress")
    assert progress.evaluate("p => p.value === p.max && p.max > 0")
    sync_api.expect(row).to_contain_text("1 of 3")
    page.get_by_label("Show", exact=True).select_option("failed")
    sync_api.expect(page.locator("#jobs tbody tr")).to_have_count(1)
    sync_api.expect(page.locator("#jobs tbody tr")).to_contain_text("grey.tiff")
    page.get_by_label("Show", exact=True).select_option("running")
    sync_api.expect(page.locator("#jobs-empty")).to_have_text("No running jobs.")
    page.get_by_label("Show", exact=True).select_option("")
    sync_api.expect(page.locator("#jobs tbody tr")).to_have_count(2)

    # A batch of the job, and its CSV downloaded with the key.
    page.get_by_label("Select the job for slide-1.tiff").check()
    page.get_by_role("button", name="Report on the 1 selected job").click()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Report CSV").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    table = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert [(r["label"], r["job_id"], r["state"]) for r in table] == [
        ("slide-1.tiff", job_id, "succeeded")]
    screenshot(page, "jobs")

    # The result: TPS, interval and category as the API has them.
    truth = lab_a.get(f"/v1/jobs/{job_id}/result").json()
    row.get_by_role("link", name="Result for slide-1.tiff").click()
    page.wait_for_url(f"**/#/jobs/{job_id}")
    sync_api.expect(page.locator("#tps")).to_have_text(f"{truth['tps']:.1f} %")
    low, high = truth["tps_ci95"]
    sync_api.expect(page.locator(".score")).to_contain_text(f"95 % CI {low:.1f}–{high:.1f} %")
    sync_api.expect(page.locator("#category")).to_have_text(truth["category"])
    sync_api.expect(page.locator("#counts")).to_contain_text(f"{truth['counts']['tumor_pos']:,}")
    fragments = page.locator("#fragments tbody tr")
    sync_api.expect(fragments).to_have_count(len(truth["fragments"]))
    sync_api.expect(page.locator("#model")).to_contain_text(
        f"{truth['model']['name']} version {truth['model']['version']}")
    sync_api.expect(page.locator("#flags")).to_have_text("No flags.")
    heatmap = page.locator("#heatmap")
    sync_api.expect(heatmap).to_be_visible()
    assert heatmap.evaluate("img => img.complete && img.naturalWidth > 0")
    screenshot(page, "result")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="report.pdf").click()
    assert Path(download_info.value.path()).read_bytes().startswith(b"%PDF")

    # The viewer: tiles over HTTP with the key, cells from the visible region, layers.
    page.get_by_role("link", name="Open in the slide viewer").click()
    page.wait_for_url(f"**/#/jobs/{job_id}/view")
    viewer = page.locator("#osd")
    sync_api.expect(viewer).to_have_attribute("data-cells", str(sum(truth["counts"].values())))
    sync_api.expect(viewer).to_have_attribute("data-tiles", re.compile(r"^([2-9]|\d\d+)$"))
    page.wait_for_timeout(800)  # let OpenSeadragon finish blending the tiles in
    assert tiles and all(status == 200 for status in tiles), tiles
    drawn = page.evaluate("""() => {
        const canvas = document.querySelector('#osd canvas.slide-pixels');
        const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let tissue = 0;
        for (let i = 0; i < data.length; i += 4) {
            if (data[i + 3] > 0 && (data[i] < 230 || data[i + 1] < 230 || data[i + 2] < 230)) tissue++;
        }
        return tissue / (data.length / 4);
    }""")
    assert drawn > 0.05, f"the slide canvas is blank ({drawn:.3f} of its pixels drawn)"
    # The tissue outline is on at first, laid over the slide (tissue.png, fetched with the key).
    sync_api.expect(page.get_by_label("Tissue outline")).to_be_checked()
    sync_api.expect(viewer).to_have_attribute("data-outline", "1")
    page.wait_for_timeout(300)
    with_layer = pixels(viewer)
    red = colour_share(with_layer, TPS_RED)
    assert red.sum() > 100, "no tumour-positive cells drawn"
    # A click on a drawn positive cell tells its class and probabilities.
    inside = red[2:-2, 2:-2] & red[:-4, 2:-2] & red[4:, 2:-2] & red[2:-2, :-4] & red[2:-2, 4:]
    ys, xs = (v + 2 for v in np.nonzero(inside))
    box = viewer.bounding_box()
    page.mouse.click(box["x"] + float(xs[len(xs) // 2]), box["y"] + float(ys[len(ys) // 2]))
    info = page.locator("#cell-info")
    sync_api.expect(info).to_contain_text("Tumour, PD-L1 positive")
    sync_api.expect(info).to_contain_text("p(class)")
    screenshot(page, "viewer")
    page.get_by_label("Tumour, PD-L1 positive", exact=True).uncheck()
    page.wait_for_timeout(200)
    without = pixels(viewer)
    assert colour_share(without, TPS_RED).sum() < red.sum() / 20
    assert np.any(with_layer != without, axis=-1).sum() > 100
    # Switched off, the dark edge around the tissue goes; switched on, it is back.
    page.get_by_label("Tissue outline").uncheck()
    page.wait_for_timeout(300)
    no_outline = pixels(viewer)
    edge = colour_share(without, OUTLINE_RGB) & ~colour_share(no_outline, OUTLINE_RGB)
    assert edge.sum() > 300, f"the outline covered {edge.sum()} pixels"
    assert np.any(np.abs(without - no_outline) > 30, axis=-1).sum() > 300
    page.get_by_label("Tissue outline").check()
    page.wait_for_timeout(300)
    assert colour_share(pixels(viewer), OUTLINE_RGB)[edge].mean() > 0.9
    # The heatmap layer lies over the slide.
    page.get_by_label("Heatmap (TPS per tile)").check()
    page.wait_for_timeout(1000)
    with_heatmap = pixels(viewer)
    assert np.any(np.abs(with_heatmap - without) > 30, axis=-1).sum() > 1000
    scale = page.locator(".scalebar")
    sync_api.expect(scale).to_contain_text("µm")

    # Sign out: the key leaves the tab, and the pages ask for it again.
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/#/signin")
    assert page.evaluate("sessionStorage.getItem('tps.key')") is None
    page.goto(f"{server.base}/#/jobs/{job_id}")
    page.wait_for_url("**/#/signin")
    assert problems.errors == [], problems.errors
    context.close()

    # Lab B sees none of it: a plain "not found" for lab A's job, its viewer and its slide.
    slide_id = lab_a.get(f"/v1/jobs/{job_id}").json()["slide_id"]
    lab_a.close()
    context, page, problems = new_page(browser)
    sign_in(page, server.base, server.key_b)
    sync_api.expect(page.locator("#jobs-empty")).to_contain_text("No jobs yet")
    for path in (f"#/jobs/{job_id}", f"#/jobs/{job_id}/view", f"#/slides/{slide_id}/view"):
        page.goto(f"{server.base}/{path}")
        sync_api.expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
        sync_api.expect(page.locator("main")).not_to_contain_text("slide-1.tiff")
    assert problems.errors == [], problems.errors
    context.close()
