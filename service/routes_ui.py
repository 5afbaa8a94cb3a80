"""The browser pages: static files from service/ui, a client of the public /v1 API only.

`/` is the single page (it asks for the lab's key itself, so it needs none); `/ui/...` are its
scripts (ES modules: ui/app.js imports the rest, ui/pages/ one module per page part, loaded as
they are, no build step), styles, pictures and the vendored OpenSeadragon. Nothing here reads
the database or knows a lab: every object the pages show comes from /v1 with the key the user
typed.
"""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from service.errors import NotFound

UI_DIR = Path(__file__).resolve().parent / "ui"

# Only these kinds are served, each with its type stated (not guessed from the host's
# mime.types, which differ between machines).
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
}

# Same origin only: no CDN, no inline script, nothing framed. Images may be blob: URLs (the
# pictures and heatmap are fetched with the key and shown from memory); OpenSeadragon sets
# element styles and draws tiles from blobs.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' blob: data:; connect-src 'self'; object-src 'none'; "
        "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

router = APIRouter(include_in_schema=False)


def _file(path: Path) -> FileResponse:
    return FileResponse(path, media_type=MEDIA_TYPES[path.suffix.lower()],
                        headers=SECURITY_HEADERS)


@router.get("/")
async def index() -> FileResponse:
    return _file(UI_DIR / "index.html")


@router.get("/ui/{name:path}")
async def ui_file(name: str) -> FileResponse:
    root = UI_DIR
    path = (root / name).resolve()
    if (not path.is_relative_to(root) or not path.is_file()
            or path.suffix.lower() not in MEDIA_TYPES):
        raise NotFound(f"no page file {name}")
    return _file(path)
