"""Slides: a streamed upload, validated and probed, stored once per lab and content."""
from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import unquote

from fastapi import APIRouter, Header, Request, Response
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from jobs.records import Job, Slide, new_id
from service import dicom_upload, slide_redaction, uploads
from service.audit import Audit
from service.deletion import delete_job_rows, remove_files, result_folders
from service.deps import DbSession, LabId, State
from service.errors import (
    BadRequest,
    Conflict,
    NotFound,
    PayloadTooLarge,
    UnsupportedMedia,
    error_responses,
)
from service.route_class import SessionReleasingRoute
from service.schemas import UPLOAD_BODY, SlideOut, as_utc

router = APIRouter(prefix="/v1/slides", tags=["slides"], route_class=SessionReleasingRoute)

# A DICOM WSI series comes as a zip; Windows browsers label a .zip as the second.
_ZIP_MEDIA = ("application/zip", "application/x-zip-compressed")
# RFC 6266: `filename*=charset'lang'percent-encoded` (RFC 8187) is preferred to `filename=`.
_DISPOSITION_EXT = re.compile(r"filename\*\s*=\s*([\w!#$%&+^`{}~-]+)'[^']*'([^;\s]+)", re.IGNORECASE)
_DISPOSITION_NAME = re.compile(r'filename\s*=\s*(?:"([^"]*)"|([^";\s]+))', re.IGNORECASE)


def slide_out(slide: Slide) -> SlideOut:
    return SlideOut(
        id=slide.id, label=slide.label, sha256=slide.sha256, size_bytes=slide.size_bytes,
        width=slide.width, height=slide.height, mpp=slide.mpp, vendor=slide.vendor,
        created_at=as_utc(slide.created_at),
    )


def _header_text(value: str) -> str:
    """A header value as the client wrote it: the server decodes header bytes as Latin-1, while
    clients (curl, browsers) send a non-ASCII file name as UTF-8."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def _client_filename(x_filename: str | None, disposition: str | None) -> str:
    if x_filename:
        return _header_text(x_filename)
    extended = _DISPOSITION_EXT.search(disposition or "")
    if extended is not None:
        try:
            return unquote(extended.group(2), encoding=extended.group(1), errors="strict")
        except (LookupError, UnicodeDecodeError):
            pass  # an unknown charset or bytes not in it: the plain filename, if any
    match = _DISPOSITION_NAME.search(disposition or "")
    if match is None:
        raise BadRequest("name the file with an X-Filename or Content-Disposition header")
    return _header_text(match.group(1) or match.group(2))


def _existing(session: DbSession, lab_id: str, sha256: str) -> Slide | None:
    query = select(Slide).where(Slide.lab_id == lab_id, Slide.sha256 == sha256)
    return session.scalars(query).one_or_none()


async def upload_slide(
    request: Request, response: Response, state: State, session: DbSession, lab_id: LabId,
    audit: Audit,
    x_filename: Annotated[str | None, Header()] = None,
    content_disposition: Annotated[str | None, Header()] = None,
) -> SlideOut:
    """Upload a raw body (`application/octet-stream`), or a DICOM WSI series as one zip
    (`application/zip`, see service/dicom_upload.py); 201 when new, 200 when the lab already
    has this slide (the same bytes; for a series, the same files)."""
    settings = state.settings
    media = request.headers.get("content-type", "application/octet-stream").split(";")[0]
    media = media.strip().lower()
    if media != "application/octet-stream" and media not in _ZIP_MEDIA:
        raise UnsupportedMedia("send the slide as a raw application/octet-stream body, or a "
                               "DICOM WSI series as one application/zip")
    label = uploads.sanitise_label(_client_filename(x_filename, content_disposition))
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > settings.max_upload_bytes:
        raise PayloadTooLarge(f"upload exceeds the limit of {settings.max_upload_bytes} bytes")
    if media in _ZIP_MEDIA:
        stored = await dicom_upload.receive_series(request.stream(), settings.incoming_dir,
                                                   settings.max_upload_bytes, label)
    else:
        stored = await uploads.receive(request.stream(), settings.incoming_dir,
                                       settings.max_upload_bytes, label)
    try:
        found = _existing(session, lab_id, stored.sha256)
        if found is not None:
            response.status_code = 200
            return slide_out(found)
        info = await uploads.probe(stored.path, settings.probe_timeout_s)
        await slide_redaction.remove_label_images(stored.path, settings)
        slide_id = new_id()
        storage_name = f"{slide_id}{stored.suffix}"
        settings.slides_dir.mkdir(parents=True, exist_ok=True)
        final = settings.slides_dir / storage_name
        stored.path.rename(final)
        slide = Slide(id=slide_id, lab_id=lab_id, sha256=stored.sha256, label=label,
                      storage_name=storage_name, size_bytes=stored.size_bytes,
                      width=int(info["width"]), height=int(info["height"]),
                      mpp=info.get("mpp"), vendor=str(info["vendor"]))
        session.add(slide)
        try:
            audit.add(session, "upload", slide)
            session.commit()
        except IntegrityError:
            # The same bytes arrived twice at once; the other upload won.
            session.rollback()
            uploads.discard(final)
            winner = _existing(session, lab_id, stored.sha256)
            if winner is None:
                raise
            response.status_code = 200
            return slide_out(winner)
    finally:
        uploads.discard(stored.path)  # gone already when renamed into place
    response.status_code = 201
    return slide_out(slide)


for method in ("PUT", "POST"):
    router.add_api_route("", upload_slide, methods=[method], response_model=SlideOut,
                         status_code=201, name=f"upload_slide_{method.lower()}",
                         responses=error_responses(400, 401, 413, 415, 422),
                         openapi_extra=UPLOAD_BODY)


@router.get("", response_model=list[SlideOut], responses=error_responses(401))
def list_slides(session: DbSession, lab_id: LabId) -> list[SlideOut]:
    rows = session.scalars(select(Slide).where(Slide.lab_id == lab_id).order_by(Slide.created_at))
    return [slide_out(s) for s in rows]


def lab_slide(session: DbSession, lab_id: str, slide_id: str) -> Slide:
    slide = session.get(Slide, slide_id)
    if slide is None or slide.lab_id != lab_id:
        raise NotFound(f"no slide {slide_id}")
    return slide


@router.get("/{slide_id}", response_model=SlideOut, responses=error_responses(401, 404))
def get_slide(slide_id: str, session: DbSession, lab_id: LabId) -> SlideOut:
    return slide_out(lab_slide(session, lab_id, slide_id))


@router.delete("/{slide_id}", status_code=204, response_class=Response,
                responses=error_responses(401, 404, 409))
def delete_slide(slide_id: str, state: State, session: DbSession, lab_id: LabId,
                 audit: Audit) -> Response:
    """The slide's file, its jobs (their result folders and batch memberships) and its row;
    409 while one of its jobs is running. A second DELETE is 404: it is gone."""
    slide = lab_slide(session, lab_id, slide_id)
    jobs = list(session.scalars(select(Job).where(Job.slide_id == slide.id)))
    files = [state.settings.slides_dir / slide.storage_name]
    files += [folder for job in jobs for folder in result_folders(state.settings, job)]
    delete_job_rows(session, jobs)
    session.execute(delete(Slide).where(Slide.id == slide.id))
    audit.add(session, "delete", slide)
    try:
        session.commit()
    except IntegrityError:
        # A job for the slide was queued after its jobs were read: nothing was deleted.
        session.rollback()
        raise Conflict(f"slide {slide_id} got a new job while it was being deleted; "
                       "try again") from None
    session.close()
    remove_files(files)  # after the commit: see service/deletion.py
    return Response(status_code=204)
