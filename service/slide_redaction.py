"""The upload path's step between "the slide opens" and "the slide is stored": with
`strip_label_images` on (the default), its label and macro images are removed
(scoring/label_removal.py says how, per format), or the upload is refused (422) when they
cannot be, so that no label stays on disk once a slide is accepted.

The slide's sha256 and size stay those of the bytes the lab sent: a second upload of the same
file is still recognised, and the lab can check the digest against its own copy.
"""
from __future__ import annotations

import logging
from pathlib import Path

import anyio

from scoring.errors import SlideError
from scoring.label_removal import LabelImageKept, strip_label_images
from service.errors import UnreadableSlide
from service.settings import ApiSettings

log = logging.getLogger(__name__)


async def remove_label_images(path: Path, settings: ApiSettings) -> None:
    """Strip the accepted upload at `path` in place (a file or a DICOM series folder), in a
    thread: a large SVS is copied whole."""
    if not settings.strip_label_images:
        return
    try:
        done = await anyio.to_thread.run_sync(strip_label_images, path)
    except LabelImageKept as exc:
        raise UnreadableSlide(f"{exc} (the service keeps no label images)") from None
    except SlideError as exc:
        raise UnreadableSlide(str(exc)) from None
    if done.removed:
        # Logged by storage name only: the client's file name may be a patient's.
        log.info("removed %s image(s) from %s upload %s", "/".join(done.removed), done.vendor,
                 path.name)
