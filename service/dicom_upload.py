"""A DICOM WSI series sent as one zip (Content-Type application/zip): checked member by member
and unpacked flat into one folder, which is the stored slide (OpenSlide opens a series from the
folder its instances share).

Refused, with nothing left on disk: a path that leads outside the archive (absolute, a drive
letter, '..'), a symbolic link, an encrypted member, a compression other than deflate or none
(bzip2 and lzma inflate without a bound per read), more than MAX_MEMBERS entries, more bytes
unpacked than the upload limit (declared or actual), two kept files of one name, a damaged
archive, no WSI instance at all, and instances of more than one series.
Skipped: folders, files that are not DICOM (no 'DICM' magic: a README, macOS's __MACOSX and
.DS_Store) and DICOM files that are not WSI instances (a DICOMDIR, a structured report).

The digest follows scoring.slide_reader.file_sha256 for a folder (the kept files' names and bytes
in name order), taken as the files are written: a series has one sha256 here and in `tps score`.
"""
from __future__ import annotations

import hashlib
import os
import re
import stat
import struct
import uuid
import zipfile
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pydicom
from pydicom.errors import BytesLengthException, InvalidDicomError

from scoring.file_kind import HEAD_BYTES, sniff
from service import uploads
from service.errors import PayloadTooLarge, UnreadableSlide, UnsupportedMedia

WSI_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.77.1.6"  # VL Whole Slide Microscopy Image Storage
MAX_MEMBERS = 10_000  # a series is tens of instances; this bounds the work a crafted zip asks
_READ = 1024 * 1024
_COMPRESSIONS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
_DRIVE = re.compile(r"^[A-Za-z]:")
_NOT_PARSED = (InvalidDicomError, BytesLengthException, NotImplementedError, ValueError,
               EOFError, OverflowError, struct.error)
NO_WSI = ("the zip holds no DICOM whole-slide image (WSI) files; zip the files of one DICOM WSI "
          "series (the folder the scanner or archive exported)")


async def receive_series(chunks: AsyncIterator[bytes], incoming_dir: Path, max_bytes: int,
                         label: str) -> uploads.StoredUpload:
    """Stream the zip to a temp file, then unpack it (in a thread) into a temp folder beside it;
    the caller renames that folder into the slides folder, or discards it."""
    archive = await uploads.receive(chunks, incoming_dir, max_bytes, label, archive=True)
    folder = incoming_dir / f"{uuid.uuid4().hex}.series"
    try:
        sha256, size = await anyio.to_thread.run_sync(unpack_series, archive.path, folder,
                                                       max_bytes)
    except BaseException:
        uploads.discard(folder)
        raise
    finally:
        archive.path.unlink(missing_ok=True)
    return uploads.StoredUpload(folder, sha256, size, suffix="")


def unpack_series(archive: Path, folder: Path, max_bytes: int) -> tuple[str, int]:
    """Unpack the WSI instances of `archive` into `folder` (made here): (sha256, bytes)."""
    try:
        with zipfile.ZipFile(archive) as zipped:
            members = _members(zipped.infolist(), max_bytes)
            folder.mkdir()
            digest, total, series = hashlib.sha256(), 0, set[str]()
            for name, info in members:
                kept = _extract(zipped, info, folder / name, digest.copy(), max_bytes - total)
                if kept is None:
                    continue
                uid = _series_uid(folder / name)
                if uid is None:
                    (folder / name).unlink()
                    continue
                digest, size = kept
                total += size
                series.add(uid)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise UnreadableSlide(f"the zip archive is damaged or incomplete ({exc}); copy it "
                              "again") from None
    if not series:
        raise UnreadableSlide(NO_WSI)
    if len(series) > 1:
        raise UnreadableSlide(f"the zip holds {len(series)} DICOM WSI series; a slide is one "
                              "series: send each series as a zip of its own")
    return digest.hexdigest(), total


def _members(infos: list[zipfile.ZipInfo], max_bytes: int) -> list[tuple[str, zipfile.ZipInfo]]:
    """The files to look at, by the name each gets in the folder, in name order; refuses the
    whole archive on the first entry that is not safe to unpack."""
    if len(infos) > MAX_MEMBERS:
        raise PayloadTooLarge(f"the zip holds {len(infos)} entries; at most {MAX_MEMBERS}")
    declared = sum(info.file_size for info in infos)
    if declared > max_bytes:
        raise PayloadTooLarge(f"the zip unpacks to {declared} bytes, over the upload limit of "
                              f"{max_bytes} bytes")
    members = []
    for info in infos:
        parts = info.filename.replace("\\", "/").split("/")
        if parts[0] == "" and len(parts) > 1 or _DRIVE.match(parts[0]) or ".." in parts:
            raise UnreadableSlide(f"the zip holds a path that leads outside it "
                                  f"({info.filename!r}); zip the series' files themselves")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise UnreadableSlide(f"the zip holds a symbolic link ({info.filename!r}); zip the "
                                  "files themselves")
        if info.is_dir() or parts[-1] in ("", "."):
            continue
        if info.flag_bits & 0x1:
            raise UnreadableSlide("the zip is encrypted; send it without a password")
        if info.compress_type not in _COMPRESSIONS or len(parts[-1].encode()) > 255:
            raise UnsupportedMedia(f"{info.filename!r} in the zip is compressed in a way not "
                                   "read here, or its name is too long; zip the series again "
                                   "with the usual (deflate) compression")
        members.append((parts[-1], info))
    return sorted(members, key=lambda member: member[0])


def _extract(zipped: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, digest: Any,
             budget: int) -> tuple[Any, int] | None:
    """Write a DICOM member to `path`, `digest` updated as file_sha256 would; None (nothing
    written) when its magic bytes say it is not DICOM."""
    with zipped.open(info) as source:
        block = source.read(HEAD_BYTES)
        if sniff(block) != "dicom":
            return None
        digest.update(path.name.encode() + b"\0")
        size = 0
        try:
            out = open(path, "xb")  # noqa: SIM115 (closed below; "x": two of one name refused)
        except FileExistsError:
            raise UnreadableSlide(f"the zip holds two files named {path.name!r}; give each "
                                  "file of the series its own name") from None
        with out:
            while block:
                size += len(block)
                if size > budget:  # the declared sizes were checked; this holds if they lie
                    raise PayloadTooLarge("the zip unpacks to more than the upload limit")
                digest.update(block)
                out.write(block)
                block = source.read(_READ)
            out.flush()
            os.fsync(out.fileno())
    return digest, size


def _series_uid(path: Path) -> str | None:
    """The instance's SeriesInstanceUID; None when it is not a WSI instance."""
    try:
        header = pydicom.dcmread(path, stop_before_pixels=True,
                                 specific_tags=["SOPClassUID", "SeriesInstanceUID"])
    except _NOT_PARSED as exc:
        raise UnreadableSlide(f"the DICOM file {path.name!r} in the zip is damaged ({exc}); "
                              "copy the series again") from None
    if header.get("SOPClassUID") != WSI_SOP_CLASS:
        return None
    return str(header.get("SeriesInstanceUID", ""))
