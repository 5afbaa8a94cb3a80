"""The browser pages without a browser: served at / with no key, each file with its type, only
from service/ui, everything local (air-gapped sites: no CDN), the vendored OpenSeadragon with
its licence, the page scripts as ES modules that import each other by relative path (no bundler,
no build step), and every file shipped as package data."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from service.routes_ui import UI_DIR
from tests.api_client import Api

REPO = Path(__file__).resolve().parents[1]
OSD = UI_DIR / "vendor" / "openseadragon"
# Our own scripts: every .js file under service/ui but the vendored ones.
SCRIPTS = sorted(p for p in UI_DIR.rglob("*.js") if OSD not in p.parents)
MODULE_MAX_LINES = 200  # one role per module: a page that outgrows this is split
IMPORT = re.compile(r'^import\s*\{([^}]*)\}\s*from\s*"([^"]+)";', re.MULTILINE)
EXPORT = re.compile(r"^export\s+(?:async\s+)?(?:function|const|let|class)\s+([\w$]+)", re.MULTILINE)


def _name(path: Path) -> str:
    return path.relative_to(UI_DIR).as_posix()


def test_index_needs_no_key_and_says_what_it_loads(api: Api) -> None:
    page = api.client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    html = page.text
    assert '<html lang="en">' in html and "<title>PD-L1 TPS</title>" in html
    # Everything it loads comes from this server, and is there.
    loaded = re.findall(r'(?:src|href)="([^"#]+)"', html)
    assert "/ui/app.js" in loaded and "/ui/style.css" in loaded
    # app.js is a module (it imports the rest); OpenSeadragon, a classic script, runs first.
    assert '<script type="module" src="/ui/app.js"></script>' in html
    assert html.index("openseadragon.min.js") < html.index("/ui/app.js")
    assert "/ui/vendor/openseadragon/openseadragon.min.js" in loaded
    for url in loaded:
        assert url.startswith("/"), f"{url} is not served by this server"
        if url.startswith("/ui/"):
            assert api.client.get(url).status_code == 200, url
    # The pages are not part of the API's description.
    assert "/" not in api.client.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize(("path", "media"), [
    ("/ui/app.js", "text/javascript; charset=utf-8"),
    ("/ui/api.js", "text/javascript; charset=utf-8"),
    ("/ui/pages/viewer.js", "text/javascript; charset=utf-8"),
    ("/ui/style.css", "text/css; charset=utf-8"),
    ("/ui/favicon.svg", "image/svg+xml"),
    ("/ui/index.html", "text/html; charset=utf-8"),
    ("/ui/vendor/openseadragon/openseadragon.min.js", "text/javascript; charset=utf-8"),
    ("/ui/vendor/openseadragon/images/zoomin_rest.png", "image/png"),
    ("/ui/vendor/openseadragon/LICENSE.txt", "text/plain; charset=utf-8"),
])
def test_static_files_have_their_types(api: Api, path: str, media: str) -> None:
    answer = api.client.get(path)
    assert answer.status_code == 200, path
    assert answer.headers["content-type"] == media
    assert answer.content == (UI_DIR / path.removeprefix("/ui/")).read_bytes()


@pytest.mark.parametrize("path", [
    "/ui/nothing.js", "/ui/../app.py", "/ui/%2e%2e/app.py", "/ui/..%2fapp.py",
    "/ui/%2e%2e/%2e%2e/pyproject.toml", "/ui/vendor/openseadragon/VERSION", "/ui/vendor",
    "/ui/", "/ui//etc/passwd",
])
def test_nothing_else_is_served(api: Api, path: str) -> None:
    answer = api.client.get(path)
    assert answer.status_code == 404, f"{path}: {answer.status_code}"
    assert "root:" not in answer.text and "[project]" not in answer.text


def test_the_api_still_wants_a_key(api: Api) -> None:
    assert api.client.get("/v1/jobs").status_code == 401


def test_openseadragon_is_vendored_with_its_licence() -> None:
    script = (OSD / "openseadragon.min.js").read_text(encoding="utf-8")
    header = re.match(r"//! openseadragon (\d+\.\d+\.\d+)", script)
    assert header, "openseadragon.min.js lost its header"
    version = header.group(1)
    note = (OSD / "VERSION").read_text(encoding="utf-8")
    assert f"OpenSeadragon {version}" in note and f"openseadragon@{version}" in note
    licence = (OSD / "LICENSE.txt").read_text(encoding="utf-8")
    assert "OpenSeadragon contributors" in licence
    assert "Redistribution and use in source and binary forms" in licence
    # The navigation buttons it draws from prefixUrl.
    for name in ("zoomin", "zoomout", "home", "fullpage"):
        for state in ("rest", "hover", "pressed", "grouphover"):
            assert (OSD / "images" / f"{name}_{state}.png").is_file()


def test_the_pages_use_the_public_api_and_nothing_else() -> None:
    """Every script talks to /v1 only (the pages are a client of the documented API), names no
    other host, and never parses server text as HTML; the key is kept for the tab only."""
    assert len(SCRIPTS) > 10, "the page scripts moved"
    for script in SCRIPTS:
        text = script.read_text(encoding="utf-8")
        for path in re.findall(r"""["'`](/[^"'`\s]*)""", text):
            assert path.startswith(("/v1/", "/ui/")), f"{_name(script)} uses {path}"
        assert "innerHTML" not in text and "outerHTML" not in text, _name(script)
        assert "insertAdjacentHTML" not in text and "document.write" not in text, _name(script)
        assert "localStorage" not in text, _name(script)  # the key lives in sessionStorage
        assert "eval(" not in text and "new Function" not in text, _name(script)
    for own in [*SCRIPTS, UI_DIR / "style.css", UI_DIR / "index.html"]:
        text = own.read_text(encoding="utf-8")
        assert not re.search(r"(?:https?:)?//[\w.-]+\.\w+/", text), \
            f"{_name(own)} names another host"
    # The key goes with every request, from each place that makes them: fetch (api.js), the
    # upload's PUT with progress (uploads.js), OpenSeadragon's tile requests (viewer.js).
    for sender in ("api.js", "pages/uploads.js", "pages/viewer.js"):
        assert "X-API-Key" in (UI_DIR / sender).read_text(encoding="utf-8"), sender
    # sessionStorage is touched in session.js alone.
    assert [_name(s) for s in SCRIPTS if "sessionStorage" in s.read_text(encoding="utf-8")] == [
        "session.js"]


def test_the_modules_import_what_the_others_export() -> None:
    """Without a build step nothing checks imports before a browser does: each module's
    imports name a file of ours by relative path and names it exports, every module is reached
    from app.js, and none grows past MODULE_MAX_LINES."""
    exports = {script: set(EXPORT.findall(script.read_text(encoding="utf-8")))
               for script in SCRIPTS}
    graph: dict[Path, set[Path]] = {}
    for script in SCRIPTS:
        text = script.read_text(encoding="utf-8")
        assert "require(" not in text and "import(" not in text, _name(script)
        statements = [line for line in text.splitlines() if line.startswith("import ")]
        found = IMPORT.findall(text)
        assert len(found) == len(statements), f"{_name(script)}: an import not in the form kept"
        graph[script] = set()
        for names, spec in found:
            assert spec.startswith(("./", "../")) and spec.endswith(".js"), \
                f"{_name(script)} imports {spec}"
            target = (script.parent / spec).resolve()
            assert target in exports, f"{_name(script)} imports {spec}: no such module"
            wanted = {n.strip() for n in names.split(",") if n.strip()}
            assert wanted <= exports[target], \
                f"{_name(script)} imports {wanted - exports[target]} from {spec}, not exported"
            graph[script].add(target)
        lines = len(text.splitlines())
        assert lines <= MODULE_MAX_LINES, f"{_name(script)} has {lines} lines"
    reached, todo = set(), [UI_DIR / "app.js"]
    while todo:
        module = todo.pop()
        if module not in reached:
            reached.add(module)
            todo.extend(graph[module])
    assert reached == set(SCRIPTS), "not imported from app.js: " + ", ".join(
        _name(p) for p in sorted(set(SCRIPTS) - reached))


def test_every_page_file_is_package_data() -> None:
    """A wheel carries service/ui: the patterns in pyproject.toml cover every file there."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["service"]
    package = REPO / "service"
    shipped = {p for pattern in patterns for p in package.glob(pattern) if p.is_file()}
    present = {p for p in UI_DIR.rglob("*") if p.is_file()}
    assert present - shipped == set(), "not in package-data: " + ", ".join(
        str(p.relative_to(package)) for p in sorted(present - shipped))
