"""Streaming a slide upload to disk: written once, hashed while written, checked, then probed."""
from __future__ import annotations

import asyncio
import json
import re
import shutil
import sys
import unicodedata
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scoring.file_kind import HEAD_BYTES, is_slide_container, refusal, sniff
from service.errors import PayloadTooLarge, UnreadableSlide, UnsupportedMedia
from service.upload_writer import BlockWriter

# Write in large blocks: fewer syscalls and thread hops than the ~64 KiB chunks the server hands us.
_BLOCK = 4 * 1024 * 1024
_EMPTY_ZIP = b"PK\x05\x06"
ZIP_HINT = ("a zip archive: unzip it and upload the slide file itself, or send a DICOM WSI "
            "series as one zip with Content-Type application/zip")
_KEPT_SUFFIXES = {".svs", ".tif", ".tiff", ".ndpi", ".scn", ".bif", ".dcm"}


@dataclass(frozen=True)
class StoredUpload:
    path: Path
    sha256: str
    size_bytes: int
    suffix: str


def _sniff(head: bytes, archive: bool) -> str | None:
    # An empty zip is only its end record: refused later for what it lacks, not as "not a zip".
    return "zip" if archive and head.startswith(_EMPTY_ZIP) else sniff(head)


def _refuse_kind(kind: str | None, archive: bool = False) -> None:
    """415 unless the magic bytes say TIFF (also SVS, NDPI, SCN, BIF, BigTIFF) or DICOM, or a
    zip for an `archive`. MIRAX (.mrxs) is a folder of files and cannot come as one upload."""
    if archive:
        if kind != "zip":
            raise UnsupportedMedia("not a zip archive (magic bytes); a slide that is one file "
                                   "is sent as application/octet-stream")
    elif kind == "zip":
        raise UnsupportedMedia(f"not a TIFF-family or DICOM slide (magic bytes): {ZIP_HINT}")
    elif kind is None or not is_slide_container(kind):
        hint = "" if kind in (None, "unknown") else f": {refusal(kind)}"
        raise UnsupportedMedia(f"not a TIFF-family or DICOM slide (magic bytes){hint}")


_LABEL_MAX = 200
_LABEL_ENDS = re.compile(r"^[\s.]+|[\s.]+$")


def sanitise_label(name: str) -> str:
    """The client's file name as the slide's label: its last path component ('\\' counts as a
    separator too), NFC-normalised, without control and other invisible characters (Unicode
    categories C*, and the line and paragraph separators), without spaces and dots at either
    end, at most 200 characters; "slide" when nothing is left. Letters of any script are kept:
    a lab names its slides in its own language."""
    base = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    kept = "".join(c for c in base if unicodedata.category(c)[0] != "C"
                   and unicodedata.category(c) not in ("Zl", "Zp"))
    return _LABEL_ENDS.sub("", _LABEL_ENDS.sub("", kept)[:_LABEL_MAX]) or "slide"


def storage_suffix(label: str, kind: str) -> str:
    # openslide recognises some formats partly by extension, so a known one is kept.
    suffix = Path(label).suffix.lower()
    if suffix in _KEPT_SUFFIXES:
        return suffix
    return ".dcm" if kind == "dicom" else ".tiff"


async def receive(chunks: AsyncIterator[bytes], incoming_dir: Path, max_bytes: int,
                  label: str, archive: bool = False) -> StoredUpload:
    """Stream `chunks` to a temp file; 413 past `max_bytes`, 415 on unknown magic bytes. With
    `archive` the body must be a zip; it is not fsynced (it is unpacked, then deleted)."""
    incoming_dir.mkdir(parents=True, exist_ok=True)
    tmp = incoming_dir / f"{uuid.uuid4().hex}.part"
    writer = BlockWriter(tmp)
    size, kind, head, pending, pending_size = 0, None, b"", list[bytes](), 0
    try:
        async for chunk in chunks:
            size += len(chunk)
            if size > max_bytes:
                raise PayloadTooLarge(f"upload exceeds the limit of {max_bytes} bytes")
            if kind is None:
                head = (head + chunk)[:HEAD_BYTES]
                kind = _sniff(head, archive)
                if kind is not None:
                    _refuse_kind(kind, archive)
            pending.append(chunk)  # no copy: the block is the list of the server's chunks
            pending_size += len(chunk)
            if pending_size >= _BLOCK:
                await writer.put(pending)
                pending, pending_size = [], 0
        if size == 0:
            raise UnreadableSlide("the file is empty (0 bytes); copy it again")
        _refuse_kind(kind, archive)
        assert kind is not None
        await writer.put(pending)
        await writer.finish(durable=not archive)
    except BaseException:
        await writer.close()
        tmp.unlink(missing_ok=True)
        raise
    await writer.close()
    return StoredUpload(tmp, writer.digest.hexdigest(), size, storage_suffix(label, kind))


def discard(path: Path) -> None:
    """Remove a stored upload: a file, or a folder (a DICOM series) with what it holds."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


async def probe(path: Path, timeout_s: float) -> dict[str, Any]:
    """Open the slide in a child process; 422 with openslide's reason when it cannot."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "scoring.slide_probe", str(path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout_s)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise UnreadableSlide(f"opening the slide took longer than {timeout_s:g} s") from None
    try:
        info: dict[str, Any] = json.loads(out.decode() or "{}")
    except json.JSONDecodeError:
        info = {}
    if proc.returncode != 0 or "error" in info or "width" not in info:
        reason = info.get("error") or err.decode(errors="replace").strip()[-300:] or "crashed"
        raise UnreadableSlide(str(reason))
    return info
