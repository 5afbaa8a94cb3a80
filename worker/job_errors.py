"""What a failed job's error says: the lab's name for the slide, never the server's file name."""
from __future__ import annotations

from pathlib import Path


def job_error(label: str, storage_path: Path, reason: str) -> str:
    """`reason` as "<label>: <reason>", with the slide's storage path, and its file name alone
    (the server-generated `<slide id>.<suffix>`), replaced by the label wherever they occur.

    The engine may start its message with the file name ("<id>.tiff: corrupt ..."); that
    becomes the label, which is then not repeated in front.
    """
    text = reason.replace(str(storage_path), label)
    if storage_path.name:
        text = text.replace(storage_path.name, label)
    return text if text.startswith(f"{label}:") else f"{label}: {text}"
