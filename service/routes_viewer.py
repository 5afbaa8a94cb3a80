"""What a browser slide viewer reads: Deep Zoom tiles of a slide's main image, its scale, and
a job's cells one visible region at a time (never the whole GeoJSON)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Response

from service import cell_index, deepzoom
from service.audit import Audit
from service.deps import DbSession, LabId, State
from service.errors import NotFound, error_responses
from service.route_class import SessionReleasingRoute
from service.routes_jobs import finished_job, lab_job
from service.routes_slides import lab_slide
from service.schemas import CellRegion, ViewerInfo, media_response

router = APIRouter(prefix="/v1", tags=["viewer"], route_class=SessionReleasingRoute)

# A stored slide's pixels never change: the browser may keep its tiles.
_IMMUTABLE = {"Cache-Control": "private, max-age=3600"}
MAX_CELLS = 50_000


def _slide(state: State, session: DbSession, lab_id: str,
           slide_id: str) -> tuple[Path, float | None]:
    """The lab's slide's file and mpp; the session is closed: no connection while reading it."""
    slide = lab_slide(session, lab_id, slide_id)
    path, mpp = state.settings.slides_dir / slide.storage_name, slide.mpp
    session.close()
    return path, mpp


@router.get("/slides/{slide_id}/viewer.dzi", response_class=Response,
            responses={**media_response("application/xml"), **error_responses(401, 404)})
def viewer_dzi(slide_id: str, state: State, session: DbSession, lab_id: LabId,
               audit: Audit) -> Response:
    """The Deep Zoom descriptor of the slide's main image (tiles: `viewer_files/`)."""
    path, _mpp = _slide(state, session, lab_id, slide_id)
    audit.record("view", "slide", slide_id)  # once per viewing: not per tile
    return Response(deepzoom.dzi(path), media_type="application/xml", headers=_IMMUTABLE)


@router.get("/slides/{slide_id}/viewer.json", response_model=ViewerInfo,
            responses=error_responses(401, 404))
def viewer_json(slide_id: str, state: State, session: DbSession,
                lab_id: LabId) -> dict[str, object]:
    """The Deep Zoom image's size in level-0 pixels, the level-0 position of its top-left
    corner (`offset`), um per pixel (null when the slide states none) and the tiling."""
    return deepzoom.viewer_info(*_slide(state, session, lab_id, slide_id))


@router.get("/slides/{slide_id}/viewer_files/{level:int}/{col:int}_{row:int}.jpeg",
            response_class=Response,
            responses={**media_response("image/jpeg"), **error_responses(401, 404)})
def viewer_tile(slide_id: str, level: int, col: int, row: int, state: State,
                session: DbSession, lab_id: LabId) -> Response:
    """One Deep Zoom tile; 404 for a level, column or row outside the pyramid."""
    path, _mpp = _slide(state, session, lab_id, slide_id)
    tile = deepzoom.tile_jpeg(path, level, col, row)
    if tile is None:
        raise NotFound(f"no tile {level}/{col}_{row} in slide {slide_id}")
    return Response(tile, media_type="image/jpeg", headers=_IMMUTABLE)


@router.get("/jobs/{job_id}/cells", response_class=Response,
            responses={200: {"model": CellRegion}, **error_responses(400, 401, 404, 409)})
def region_cells(
    job_id: str, session: DbSession, lab_id: LabId,
    x: Annotated[float, Query(description="level-0 px, left edge")],
    y: Annotated[float, Query(description="level-0 px, top edge")],
    width: Annotated[float, Query(gt=0)], height: Annotated[float, Query(gt=0)],
    limit: Annotated[int, Query(ge=1, le=MAX_CELLS)] = 5000,
) -> Response:
    """The job's cells with x in [x, x + width) and y in [y, y + height) (level-0 pixels):
    `{"classes": [...], "cells": [[x, y, class_index, p_obj, p_class], ...], "truncated",
    "total_in_region"}`; beyond `limit`, an even subsample of `limit` cells."""
    job = finished_job(lab_job(session, lab_id, job_id))
    result_dir = job.result_dir
    known = list(((job.result or {}).get("counts") or {}).keys())  # the model's classes, in order
    session.close()  # a first query builds the index: no database connection meanwhile
    folder = Path(result_dir or "")
    if not result_dir or not (folder / cell_index.CSV_NAME).is_file():
        raise NotFound(f"job {job_id} has no {cell_index.CSV_NAME}")
    index = cell_index.open_index(folder, known)
    found = cell_index.cells_in_region(index, x, y, width, height, limit)
    body = {"classes": index.classes, "cells": cell_index.as_rows(found.cells),
            "truncated": found.total > limit, "total_in_region": found.total}
    # Serialised here: FastAPI's encoder would walk every number of up to 50,000 rows.
    return Response(json.dumps(body, separators=(",", ":")), media_type="application/json")
