"""Batch reports: one row per slide, as JSON or as CSV that spreadsheets cannot execute; and
what the PDF reports (scoring/pdf_report.py) are drawn from."""
from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path
from typing import Any

from jobs.records import Job, Slide
from scoring.pdf_report import SlideEntry

COUNT_KEYS = ("tumor_pos", "tumor_neg", "nontumor_pos", "nontumor_neg")
COLUMNS = (
    "label", "slide_id", "job_id", "state", "tps", "ci95_low", "ci95_high", "category",
    *COUNT_KEYS, "flags", "model_version", "queued_at", "started_at", "finished_at",
    "scoring_s", "error",
)
# A cell starting with one of these is a formula to Excel and LibreOffice (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() + "Z" if moment is not None else None


def _percent(value: Any) -> Any:
    """TPS figures to 0.01 %: a report is read by people; result.json keeps full precision."""
    return round(value, 2) if isinstance(value, float) else value


def _ci(result: dict[str, Any]) -> tuple[Any, Any]:
    ci = result.get("tps_ci95")
    if isinstance(ci, list | tuple) and len(ci) == 2:
        return _percent(ci[0]), _percent(ci[1])
    return None, None


def _flags(result: dict[str, Any]) -> list[str]:
    flags = result.get("flags") or []
    if isinstance(flags, dict):
        return sorted(name for name, on in flags.items() if on)
    return [str(f) for f in flags]


def report_row(slide: Slide, job: Job) -> dict[str, Any]:
    """The scoring engine's result.json fields a lab reports on, flattened."""
    result = job.result or {}
    counts = result.get("counts") or {}
    model = result.get("model") or {}
    low, high = _ci(result)
    scoring_s = None
    if job.started_at is not None and job.finished_at is not None:
        scoring_s = round((job.finished_at - job.started_at).total_seconds(), 3)
    return {
        "label": slide.label, "slide_id": slide.id, "job_id": job.id, "state": job.state,
        "tps": _percent(result.get("tps")), "ci95_low": low, "ci95_high": high,
        "category": result.get("category"),
        **{key: counts.get(key) for key in COUNT_KEYS},
        "flags": _flags(result), "model_version": model.get("version"),
        "queued_at": _iso(job.queued_at), "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at), "scoring_s": scoring_s, "error": job.error,
    }


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    text = ";".join(value) if isinstance(value, list) else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def to_csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([csv_cell(row[column]) for column in COLUMNS])
    return buffer.getvalue()


def pdf_entry(slide: Slide, job: Job) -> SlideEntry:
    """A job as a PDF report draws it: the lab's label, its result and result folder, the time
    it finished (the report's date) and its error. Plain values, so that the database session
    can be closed before the PDF is drawn."""
    return SlideEntry(label=slide.label, state=job.state, result=job.result,
                      result_dir=Path(job.result_dir) if job.result_dir else None,
                      finished_at=job.finished_at, error=job.error)
