from __future__ import annotations

from types import SimpleNamespace

from service.reports import COLUMNS, csv_cell, report_row, to_csv


def test_formula_cells_are_escaped() -> None:
    for text in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx"):
        assert csv_cell(text) == "'" + text
    assert csv_cell("a=b") == "a=b"
    assert csv_cell(-3.5) == "'-3.5"  # numbers too: the rule is on the cell's text
    assert csv_cell(None) == ""
    assert csv_cell(["near_cutoff", "inadequate"]) == "near_cutoff;inadequate"


def test_csv_has_one_header_and_one_row_per_input() -> None:
    row = {column: None for column in COLUMNS} | {"label": "x", "tps": 1.0}
    lines = to_csv([row, row]).splitlines()
    assert lines[0] == ",".join(COLUMNS)
    assert len(lines) == 3 and lines[1].startswith("x,,,,1.0,")


def test_report_rows_give_tps_to_a_hundredth_of_a_percent() -> None:
    slide = SimpleNamespace(label="a.tiff", id="s1")
    job = SimpleNamespace(id="j1", state="succeeded", error=None, queued_at=None,
                          started_at=None, finished_at=None,
                          result={"tps": 36.54991000969127,
                                  "tps_ci95": [35.44675494186831, 37.66736398447843]})
    row = report_row(slide, job)  # type: ignore[arg-type]
    assert (row["tps"], row["ci95_low"], row["ci95_high"]) == (36.55, 35.45, 37.67)
    assert to_csv([row]).splitlines()[1].startswith("a.tiff,s1,j1,succeeded,36.55,35.45,37.67,")
