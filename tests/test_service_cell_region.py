"""The viewer's cells of a region: exactly those inside it, subsampled evenly when crowded,
from an index built once."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from scoring.cell_exports import write_cells_csv
from scoring.cells import CELL_DTYPE, CellSink
from service.cell_index import INDEX_NAME
from tests.api_client import Api
from tests.viewer_jobs import CLASSES, picture_job, result_of, succeed, write_cells_rows


def _cells(api: Api, job_id: str, region: tuple[float, float, float, float],
           limit: int | None = None, headers: dict[str, str] | None = None) -> Any:
    x, y, w, h = region
    query = f"x={x}&y={y}&width={w}&height={h}" + ("" if limit is None else f"&limit={limit}")
    return api.client.get(f"/v1/jobs/{job_id}/cells?{query}", headers=headers or api.a())


def test_cells_of_a_region_are_exactly_those_inside_it(api: Api, tmp_path: Path) -> None:
    folder = tmp_path / "result"
    write_cells_rows(folder, [
        (100.00, 50.00, "tumor_neg", 0.91234, 0.5557),   # on the left and top edges: in
        (149.96, 80.04, "tumor_pos", 0.5, 0.9994),        # inside, rounds to 150.0, 80.0
        (150.00, 60.00, "tumor_pos", 0.9, 0.9),           # on the right edge: out
        (120.00, 90.00, "nontumor_neg", 0.9, 0.9),        # on the bottom edge: out
        (99.99, 70.00, "tumor_pos", 0.9, 0.9),            # just left: out
        (120.00, 49.99, "tumor_pos", 0.9, 0.9),           # just above: out
        (130.00, 89.99, "other", 0.75, 0.6),              # inside; a class the model lacks
        (125.00, 55.54, "nontumor_pos", 0.8004, 0.2996),  # inside
        (5000.0, 60.00, "tumor_pos", 0.9, 0.9),           # the same band, far right: out
    ])
    job_id = picture_job(api, tmp_path)
    region = (100, 50, 50, 40)
    assert _cells(api, job_id, region).status_code == 409  # queued
    succeed(api, job_id, folder, result_of())
    assert _cells(api, job_id, region, headers=api.b()).status_code == 404
    assert api.client.get("/v1/jobs/nope/cells?x=0&y=0&width=1&height=1",
                          headers=api.a()).status_code == 404

    r = _cells(api, job_id, region)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.json() == {
        "classes": [*CLASSES, "other"],
        "cells": [[100.0, 50.0, 1, 0.912, 0.556],   # y order
                  [125.0, 55.5, 2, 0.8, 0.3],
                  [150.0, 80.0, 0, 0.5, 0.999],
                  [130.0, 90.0, 4, 0.75, 0.6]],
        "truncated": False, "total_in_region": 4}
    assert _cells(api, job_id, (0, 0, 10, 10)).json()["cells"] == []
    # The slide is 600 x 400 but cells are wherever the CSV puts them: the whole plane.
    assert _cells(api, job_id, (-1e6, -1e6, 2e6, 2e6)).json()["total_in_region"] == 9


def test_bad_region_queries_are_400(api: Api, tmp_path: Path) -> None:
    folder = tmp_path / "result"
    write_cells_rows(folder, [(1, 1, "tumor_pos", 0.9, 0.9)])
    job_id = picture_job(api, tmp_path)
    succeed(api, job_id, folder, result_of())
    for query in ("x=0&y=0&width=0&height=5", "x=0&y=0&width=5&height=5&limit=0",
                  "x=0&y=0&width=5&height=5&limit=50001", "y=0&width=5&height=5",
                  "x=a&y=0&width=5&height=5"):
        r = api.client.get(f"/v1/jobs/{job_id}/cells?{query}", headers=api.a())
        assert r.status_code == 400, query


def test_a_crowded_region_is_an_even_subsample(api: Api, tmp_path: Path) -> None:
    folder = tmp_path / "result"
    grid = [(float(x), float(y)) for y in range(0, 400, 10) for x in range(0, 400, 10)]  # 1600
    write_cells_rows(folder, [(x, y, CLASSES[int(x) // 10 % 4], 0.9, 0.9) for x, y in grid])
    job_id = picture_job(api, tmp_path)
    succeed(api, job_id, folder, result_of())
    region = (100, 100, 200, 200)  # x and y in 100, 110, ... 290: 20 x 20 cells
    inside = [[x, y] for x, y in grid if 100 <= x < 300 and 100 <= y < 300]

    full = _cells(api, job_id, region, limit=400).json()
    assert not full["truncated"] and full["total_in_region"] == 400
    assert sorted(c[:2] for c in full["cells"]) == sorted(inside)

    some = _cells(api, job_id, region, limit=100).json()
    assert some["truncated"] and some["total_in_region"] == 400 and len(some["cells"]) == 100
    # Every 4th in y order: every row of the region is represented, 5 cells each.
    assert [c[:2] for c in some["cells"]] == [c[:2] for c in full["cells"]][::4]
    rows = [c[1] for c in some["cells"]]
    assert sorted(set(rows)) == [float(y) for y in range(100, 300, 10)]
    assert all(rows.count(y) == 5 for y in set(rows))

    odd = _cells(api, job_id, region, limit=7).json()  # 400 / 7 is no whole step
    assert len(odd["cells"]) == 7 and odd["truncated"]
    assert len({tuple(c[:2]) for c in odd["cells"]}) == 7
    assert _cells(api, job_id, region).json()["total_in_region"] == 400  # limit 5000


def test_the_index_is_built_once(api: Api, tmp_path: Path) -> None:
    folder = tmp_path / "result"
    rng = np.random.default_rng(1)
    rows = [(float(x), float(y), CLASSES[c], 0.9, 0.9) for x, y, c in
            zip(rng.uniform(0, 1000, 500), rng.uniform(0, 1000, 500), rng.integers(0, 4, 500))]
    write_cells_rows(folder, rows)
    job_id = picture_job(api, tmp_path)
    succeed(api, job_id, folder, result_of())
    assert not (folder / INDEX_NAME).exists()
    first = _cells(api, job_id, (0, 0, 500, 500)).json()
    built = (folder / INDEX_NAME).stat().st_mtime_ns
    index = np.load(folder / INDEX_NAME)
    assert len(index) == 500 and np.all(np.diff(index["y"]) >= 0)
    again = _cells(api, job_id, (0, 0, 500, 500)).json()
    assert (folder / INDEX_NAME).stat().st_mtime_ns == built
    assert again == first
    expected = sum(1 for x, y, *_ in rows if round(x, 2) < 500 and round(y, 2) < 500)
    assert first["total_in_region"] == expected
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_the_engines_own_export_reads_back(api: Api, tmp_path: Path) -> None:
    """cells.csv.gz as scoring.cell_exports writes it, queried, gives the engine's cells."""
    rng = np.random.default_rng(2)
    cells = np.zeros(3000, CELL_DTYPE)
    cells["x"], cells["y"] = rng.uniform(0, 2000, 3000), rng.uniform(0, 1500, 3000)
    cells["cls"] = rng.integers(0, 4, 3000)
    cells["p_obj"], cells["p_class"] = rng.uniform(0.5, 1, 3000), rng.uniform(0.25, 1, 3000)
    folder = tmp_path / "result"
    folder.mkdir()
    with CellSink(tmp_path / "cells.bin") as sink:
        sink.append(cells)
    assert write_cells_csv(folder / "cells.csv.gz", tmp_path / "cells.bin", tuple(CLASSES),
                           0.5) == 3000
    job_id = picture_job(api, tmp_path)
    succeed(api, job_id, folder, result_of())
    got = _cells(api, job_id, (500, 400, 700, 600)).json()
    x, y = cells["x"].round(2), cells["y"].round(2)  # the CSV keeps 2 decimals
    inside = cells[(x >= 500) & (x < 1200) & (y >= 400) & (y < 1000)]
    inside = inside[np.argsort(inside["y"], kind="stable")]
    assert got["total_in_region"] == len(inside) > 300
    rows = np.array(got["cells"])
    # Rounded twice (2 decimals in the CSV, 1 here; 4 then 3 for probabilities).
    assert np.abs(rows[:, 0] - inside["x"]).max() < 0.056
    assert np.abs(rows[:, 1] - inside["y"]).max() < 0.056
    assert rows[:, 2].tolist() == inside["cls"].tolist()
    assert np.abs(rows[:, 3] - inside["p_obj"]).max() < 0.00056
    assert np.abs(rows[:, 4] - inside["p_class"]).max() < 0.00056


def test_a_result_without_cells_is_404_and_no_cells_is_empty(api: Api, tmp_path: Path) -> None:
    folder = tmp_path / "result"
    folder.mkdir()
    job_id = picture_job(api, tmp_path)
    succeed(api, job_id, folder, result_of())
    assert _cells(api, job_id, (0, 0, 5, 5)).status_code == 404
    write_cells_rows(folder, [])  # a slide without tissue: the header alone
    assert _cells(api, job_id, (0, 0, 5, 5)).json() == {
        "classes": CLASSES, "cells": [], "truncated": False, "total_in_region": 0}
