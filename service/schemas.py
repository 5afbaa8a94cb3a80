"""The response bodies of the API (every JSON route returns one of these), and how a route
documents and sends them. The JSON request bodies are in service/request_bodies.py."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal, overload

from fastapi.responses import Response
from pydantic import BaseModel, Field

JobState = Literal["queued", "running", "succeeded", "failed"]


class SlideOut(BaseModel):
    id: str
    label: str
    sha256: str
    size_bytes: int
    width: int
    height: int
    mpp: float | None
    vendor: str
    created_at: datetime


class Progress(BaseModel):
    done: int
    total: int


class JobOut(BaseModel):
    id: str
    slide_id: str
    state: JobState
    params: dict[str, Any]
    progress: Progress
    attempts: int
    max_attempts: int
    error: str | None
    created_at: datetime
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class BatchOut(BaseModel):
    id: str
    created_at: datetime
    total: int
    by_state: dict[str, int]
    done: bool
    job_ids: list[str]


class MeOut(BaseModel):
    lab: str
    key_prefix: str
    expires_at: datetime | None


class ReportRow(BaseModel):
    """One slide of a batch report (service/reports.py: the CSV has the same columns)."""

    label: str
    slide_id: str
    job_id: str
    state: JobState
    tps: float | None
    ci95_low: float | None
    ci95_high: float | None
    category: str | None
    tumor_pos: int | None
    tumor_neg: int | None
    nontumor_pos: int | None
    nontumor_neg: int | None
    flags: list[str]
    model_version: str | None
    queued_at: str | None
    started_at: str | None
    finished_at: str | None
    scoring_s: float | None
    error: str | None


class ViewerInfo(BaseModel):
    width: int = Field(description="level-0 pixels")
    height: int
    offset: list[int] = Field(description="level-0 position of the image's top-left corner")
    mpp: float | None = Field(description="um per level-0 pixel; null when the slide states none")
    tile_size: int
    overlap: int
    format: str
    level_count: int


class CellRegion(BaseModel):
    classes: list[str]
    cells: list[tuple[float, float, int, float, float]] = Field(
        description="[x, y, class_index, p_obj, p_class] per cell, level-0 pixels")
    truncated: bool
    total_in_region: int


_BINARY = {"schema": {"type": "string", "format": "binary"}}
# The upload is a raw streamed body (service/routes_slides.py), not a form: `curl -T FILE`.
UPLOAD_BODY: dict[str, Any] = {"requestBody": {
    "required": True,
    "description": "The slide file's bytes as the body, named by an X-Filename or "
                   "Content-Disposition header: a TIFF-family slide (SVS, NDPI, SCN, BIF, "
                   "generic tiled TIFF) or a DICOM file, or a DICOM WSI series as a zip.",
    "content": {"application/octet-stream": _BINARY, "application/zip": _BINARY}}}


def json_response(model: BaseModel, status_code: int = 200) -> Response:
    """A model sent as it is: FastAPI would validate a returned model a second time."""
    return Response(model.model_dump_json(), status_code=status_code,
                    media_type="application/json")


def media_response(media_type: str) -> dict[int | str, dict[str, Any]]:
    """The `responses=` entry of a route whose 200 is a file of this media type."""
    return {200: {"content": {media_type: {}}}}


@overload
def as_utc(moment: datetime) -> datetime: ...
@overload
def as_utc(moment: None) -> None: ...
def as_utc(moment: datetime | None) -> datetime | None:
    """The store keeps naive UTC; the API says so explicitly."""
    return moment.replace(tzinfo=UTC) if moment is not None else None
