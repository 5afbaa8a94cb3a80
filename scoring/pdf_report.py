"""The one-page PDF a pathologist reads for a slide, and a batch's PDF (a summary table, then a
page per scored slide). Built from a result folder and its result.json; no scanner metadata.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from scoring.errors import TpsError
from scoring.pdf_layout import GREY, ReportPdf, date_text, find_unicode_font, is_demonstration

# flag: (words for a table, a sentence for the slide's page), in the order they are listed
FLAGS = {
    "not_ihc": ("not IHC", ("Not IHC: the stain looks like H&E, so no TPS is given; the cell "
                            "counts are for review only.")),
    "no_tumor_cells": ("no tumour cells", "No tumour cells were found: the TPS is undefined."),
    "inadequate": ("< 100 tumour cells",
                   "Fewer than 100 viable tumour cells: too few for a reliable TPS."),
    "near_cutoff": ("near a cutoff",
                    "Near a cutoff: the 95 % interval straddles a category cutoff."),
    "stain_disagrees": ("stain disagrees",
                        ("The stain disagrees: measured DAB calls a different share of these "
                         "tumour cells positive (see cross_check); look at the slide twice.")),
}
DEMO_WARNING = ("Demonstration model, not a clinical tool. The bundled model was trained on "
                "synthetic PD-L1-like tiles and real Ki-67 images, with no PD-L1 cell-level data; "
                "this score must not be reported for a patient (see models/MODEL_CARD.md).")
CLASS_NAMES = {"tumor_pos": "Tumour cells, PD-L1 positive",
               "tumor_neg": "Tumour cells, PD-L1 negative",
               "nontumor_pos": "Other cells, PD-L1 positive",
               "nontumor_neg": "Other cells, PD-L1 negative"}
_RED, _AMBER = (170, 20, 20), (255, 243, 205)
_PICTURES = ((15, "overlay.png", "Cells found, by class (overlay.png)"),
             (105, "heatmap.png", "TPS across the tissue (heatmap.png)"))


@dataclass(frozen=True)
class SlideEntry:
    """One slide of a report; only a succeeded one gets a page of its own."""
    label: str
    state: str = "succeeded"
    result: dict[str, Any] | None = None
    result_dir: Path | None = None
    finished_at: datetime | None = None
    error: str | None = None


def percent(value: float, cutoffs: Sequence[float] = ()) -> str:
    """One decimal, or more where one would round across a cutoff (49.96 is not 50.0)."""
    for digits in range(1, 5):
        text = f"{value:.{digits}f}"
        if all((float(text) >= c) == (value >= c) for c in cutoffs):
            return text
    return f"{value:.4f}"


def has_score(result: dict[str, Any]) -> bool:
    return (isinstance(result.get("tps"), int | float)
            and not (result.get("flags") or {}).get("not_ihc"))


def score_words(result: dict[str, Any]) -> tuple[str, str, str]:
    """(TPS, 95 % interval, category) as printed; a TPS withheld or undefined is no number."""
    if not has_score(result):
        withheld = (result.get("flags") or {}).get("not_ihc")
        return ("TPS withheld" if withheld else "TPS undefined"), "none", "none"
    cutoffs = [float(c) for c in result.get("cutoffs") or ()]
    low, high = result.get("tps_ci95") or (None, None)
    interval = f"{percent(low)}-{percent(high)} %" if low is not None and high is not None else "-"
    return (f"TPS {percent(result['tps'], cutoffs)} %", interval,
            str(result.get("category") or "-"))


def flags_on(result: dict[str, Any]) -> list[str]:
    on = [name for name, value in (result.get("flags") or {}).items() if value]
    return sorted(on, key=lambda n: list(FLAGS).index(n) if n in FLAGS else len(FLAGS))


def _warning(pdf: ReportPdf, y: float) -> float:
    pdf.style(9, bold=True, colour=_RED)
    pdf.set_fill_color(*_AMBER)
    pdf.set_xy(15, y)
    pdf.multi_cell(180, 4.5, pdf.clean(DEMO_WARNING), fill=True, padding=2, align="L")
    pdf.set_fill_color(255, 255, 255)
    return pdf.get_y() + 2


def _slide_page(pdf: ReportPdf, entry: SlideEntry) -> None:
    result, folder = entry.result or {}, entry.result_dir
    pdf.add_page()
    pdf.style(9, colour=GREY)
    pdf.line_at(15, 10, 180, "PD-L1 tumour proportion score (TPS)")
    pdf.line_at(15, 10, 180, date_text(entry.finished_at), align="R")
    pdf.style(14, bold=True)
    y = pdf.paragraph(15, 17, 180, entry.label, h=6.5) + 2
    tps, interval, category = score_words(result)
    pdf.style(30, bold=True, colour=(0, 0, 0) if has_score(result) else _RED)
    pdf.line_at(15, y, 100, tps, h=14)
    pdf.style(11)
    tumour = sum((result.get("counts") or {}).get(k, 0) for k in ("tumor_pos", "tumor_neg"))
    for i, line in enumerate((f"95 % interval: {interval}", f"Category: {category}",
                              f"Viable tumour cells: {tumour:,}")):
        pdf.line_at(118, y + i * 5, 77, line)
    y += 18
    pdf.style(10, bold=True, colour=_RED)
    for name in flags_on(result):
        y = pdf.paragraph(15, y, 180, FLAGS.get(name, (name, f"Flag: {name}"))[1])
    if not flags_on(result):
        pdf.style(10, colour=GREY)
        y = pdf.paragraph(15, y, 180, "No flags.")
    y = _warning(pdf, y + 2) if is_demonstration(result) else y + 2
    pdf.style(8, bold=True, colour=GREY)
    pdf.line_at(15, y, 87, "CELLS COUNTED")
    pdf.line_at(118, y, 77, "ASSAY AND MODEL")
    pdf.style(10)
    counts = list((result.get("counts") or {}).items())[:8]
    for i, (name, n) in enumerate(counts):
        pdf.line_at(15, y + 5 + i * 5, 62, CLASS_NAMES.get(name, name))
        pdf.line_at(77, y + 5 + i * 5, 25, f"{n:,}", align="R")
    params, model = result.get("params") or {}, result.get("model") or {}
    cutoffs = ", ".join(f"{float(c):g} %" for c in result.get("cutoffs") or ())
    details = (f"Assay: {params.get('assay', '-')}", f"Cutoffs: {cutoffs or '-'}",
               f"Model: {model.get('name', '-')} {model.get('version', '')}",
               f"Tissue: {float(result.get('tissue_area_mm2') or 0):.2f} mm2")
    for i, line in enumerate(details):
        pdf.line_at(118, y + 5 + i * 5, 77, line)
    y += 5 * (1 + max(len(counts), len(details))) + 1
    pdf.set_font("courier", "", 8)  # a core font: ASCII only
    sha256 = str(model.get("sha256", "-")).encode("ascii", "replace").decode()
    pdf.line_at(15, y, 180, f"model sha256 {sha256}")
    crops = [c for c in result.get("review_crops") or [] if isinstance(c, dict)][:3]
    pictures_h = min(100.0, 285 - (y + 7) - (55 if crops else 0))
    y = max(pdf.picture(folder / name if folder else None, x, y + 7, 88, pictures_h, caption)
            for x, name, caption in _PICTURES)
    if crops:
        pdf.style(8, bold=True, colour=GREY)
        pdf.line_at(15, y + 2, 180, "REGIONS TO REVIEW")
    for i, crop in enumerate(crops):
        name = Path(str(crop.get("file", ""))).name  # a file of this folder, never a path
        caption = f"{crop.get('reason', 'review')} (x {crop.get('x')}, y {crop.get('y')})"
        pdf.picture(folder / name if folder and name else None, 15 + i * 61, y + 7, 58,
                    min(50.0, 285 - y - 7), caption)


def _summary_row(entry: SlideEntry) -> tuple[str, ...]:
    result = entry.result or {}
    if entry.state != "succeeded":
        state = f"{entry.state}: {entry.error}" if entry.error else entry.state
        return entry.label, "-", "-", "-", "-", "-", state[:160]
    tps, interval, category = score_words(result)
    flags = ", ".join(FLAGS.get(n, (n,))[0] for n in flags_on(result)) or "-"
    tumour = result.get("tumor_cells")
    return (entry.label, tps.removeprefix("TPS "), interval, category,
            f"{tumour:,}" if isinstance(tumour, int) else "-", flags, entry.state)


def _summary_page(pdf: ReportPdf, entries: Sequence[SlideEntry]) -> None:
    pdf.add_page()
    pdf.set_auto_page_break(True, margin=15)  # a long batch's table runs on
    pdf.style(16, bold=True)
    pdf.line_at(15, 15, 180, f"PD-L1 TPS batch report: {len(entries)} slides", h=8)
    pdf.style(9, colour=GREY)
    pdf.line_at(15, 24, 180, f"Made {date_text(None)}; a page per scored slide follows.")
    y = 31.0
    if any(e.state == "succeeded" and is_demonstration(e.result or {}) for e in entries):
        y = _warning(pdf, y)
    pdf.set_xy(15, y)
    pdf.style(8)
    pdf.set_draw_color(150, 150, 150)
    heads = ("Label", "TPS", "95 % interval", "Category", "Tumour cells", "Flags", "State")
    with pdf.table(col_widths=(46, 18, 22, 18, 16, 28, 32), line_height=4,
                   text_align="LEFT", padding=1) as table:
        for row in [heads, *(_summary_row(e) for e in entries)]:
            cells = table.row()
            for text in row:
                cells.cell(pdf.clean(text))
    pdf.set_auto_page_break(False)


def slide_report_pdf(entry: SlideEntry) -> bytes:
    pdf = ReportPdf(find_unicode_font())
    _slide_page(pdf, entry)
    return bytes(pdf.output())


def batch_report_pdf(entries: Sequence[SlideEntry]) -> bytes:
    """A summary page (more for a long batch), then a page per succeeded slide, in order."""
    pdf = ReportPdf(find_unicode_font())
    _summary_page(pdf, entries)
    for entry in entries:
        if entry.state == "succeeded" and entry.result is not None:
            _slide_page(pdf, entry)
    return bytes(pdf.output())


def _save(render: Callable[[], bytes], out_path: Path) -> None:
    data = render()
    try:
        out_path.write_bytes(data)
    except OSError as exc:
        raise TpsError(f"cannot write {out_path.name} ({exc.strerror or exc})") from exc


def write_slide_report(result_dir: Path, result: dict[str, Any], label: str, out_path: Path,
                       finished_at: datetime | None = None) -> None:
    """report.pdf for one scored slide: label, TPS, flags, counts, pictures, assay, model."""
    entry = SlideEntry(label, "succeeded", result, result_dir, finished_at)
    _save(lambda: slide_report_pdf(entry), out_path)


def write_batch_report(entries: Sequence[SlideEntry], out_path: Path) -> None:
    _save(lambda: batch_report_pdf(entries), out_path)
