from __future__ import annotations

from service.reports import COLUMNS, csv_cell, to_csv


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
