"""One output folder per scored slide, never overwritten and never left half written.

A slide is scored into a hidden staging folder inside the output root, `.<stem>.partial-<hex>`,
which is renamed to its final name only once scoring succeeded: `<stem>`, or `<stem>-2`,
`<stem>-3`, ... when that name is already taken (by an earlier input of this run with the same
stem, or by an earlier run). A failed slide's staging folder is removed. One that a killed run
left behind is removed by a later run once it is older than STALE_AFTER_S.
"""
from __future__ import annotations

import errno
import os
import re
import secrets
import shutil
import time
from itertools import count
from pathlib import Path
from types import TracebackType

from scoring.errors import TpsError

STALE_AFTER_S = 24 * 3600  # a staging folder this old belongs to a run that was killed
_PARTIAL = re.compile(r"^\..+\.partial-[0-9a-f]{8}$")
_MAX_STEM_IN_PARTIAL = 100  # keeps the staging name under the 255-byte file-name limit


def folder_stem(slide: Path) -> str:
    """The slide's stem, or `slide` where the path has none usable as a folder name."""
    stem = slide.stem
    return "slide" if stem in ("", ".", "..") else stem


def remove_stale_partials(root: Path, max_age_s: float = STALE_AFTER_S) -> list[Path]:
    """Remove staging folders in root older than max_age_s; return those removed."""
    removed: list[Path] = []
    if not root.is_dir():
        return removed
    now = time.time()
    with os.scandir(root) as entries:
        for entry in entries:
            if not _PARTIAL.match(entry.name) or not entry.is_dir(follow_symlinks=False):
                continue
            if now - entry.stat(follow_symlinks=False).st_mtime < max_age_s:
                continue  # may belong to a run still going
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(Path(entry.path))
    return removed


def _publish(staging: Path, root: Path, stem: str) -> Path:
    """Rename staging to the first free name of stem, stem-2, stem-3, ... in root."""
    for n in count(1):
        final = root / (stem if n == 1 else f"{stem}-{n}")
        if os.path.lexists(final):
            continue
        try:
            os.rename(staging, final)
        except OSError as exc:  # taken between the check and the rename
            if exc.errno in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR):
                continue
            raise
        return final
    raise AssertionError("unreachable")


class StagedFolder:
    """`with StagedFolder(root, stem) as staging:` write into staging, then `publish()`.

    Leaving the block without publishing (an error, or Ctrl-C) removes the staging folder.
    """

    def __init__(self, root: Path, stem: str) -> None:
        self.root = root
        self.stem = stem
        self.staging: Path | None = None
        self.final: Path | None = None

    def __enter__(self) -> Path:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            while self.staging is None:
                candidate = self.root / (f".{self.stem[:_MAX_STEM_IN_PARTIAL]}.partial-"
                                         f"{secrets.token_hex(4)}")
                try:
                    candidate.mkdir()  # not mkdtemp: the folder keeps the umask's permissions
                except FileExistsError:
                    continue
                self.staging = candidate
        except OSError as exc:
            raise TpsError(f"cannot create an output folder in {self.root} "
                           f"({exc.strerror or exc})") from exc
        return self.staging

    def publish(self) -> Path:
        """Move the finished staging folder to its final name and return that."""
        assert self.staging is not None, "publish() outside the with block"
        try:
            self.final = _publish(self.staging, self.root, self.stem)
        except OSError as exc:
            raise TpsError(f"cannot name the output folder {self.stem} in {self.root} "
                           f"({exc.strerror or exc})") from exc
        return self.final

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.final is None and self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)
