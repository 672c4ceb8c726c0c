"""The search page: `/` (index.html) and `/static/{path}` (files packaged in mx_hub/static).

Serves files only; the page talks to the hub through the public /graphql like any other client.
Must not read anything outside the packaged static folder.
"""

from __future__ import annotations

import hashlib
import re
from importlib import resources

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

# Explicit, so a platform's mimetypes table cannot serve JavaScript as text/plain (ES modules need it right).
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
}
# One path segment: letters, digits, `-`, `_` and dots, not starting with a dot (no `..`, no hidden files).
SEGMENT = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*")
# Every asset is the page's own: no CDN, no inline script. Blob URLs are the downloads (XDS.INP, ...).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


class StaticFiles:
    """Files of the `mx_hub/static` package folder, read once and kept with their ETag."""

    def __init__(self, package: str = "mx_hub", folder: str = "static") -> None:
        self.root = resources.files(package).joinpath(folder)
        # Per instance (an lru_cache on the method would hold every instance for good): at most 64 paths.
        self._cache: dict[str, tuple[bytes, str, str] | None] = {}

    def get(self, path: str) -> tuple[bytes, str, str] | None:
        """(content, content type, etag) of `path`, or None when it is not a servable file."""
        if path not in self._cache:
            if len(self._cache) >= 64:
                self._cache.pop(next(iter(self._cache)))
            self._cache[path] = self._read(path)
        return self._cache[path]

    def _read(self, path: str) -> tuple[bytes, str, str] | None:
        parts = path.split("/")
        if not path or not all(SEGMENT.fullmatch(p) for p in parts):
            return None
        suffix = "." + parts[-1].rsplit(".", 1)[-1] if "." in parts[-1] else ""
        media = CONTENT_TYPES.get(suffix.lower())
        if media is None:
            return None
        node = self.root
        for p in parts:
            node = node.joinpath(p)
        if not node.is_file():
            return None
        content = node.read_bytes()
        return content, media, '"' + hashlib.sha256(content).hexdigest()[:16] + '"'


def _respond(request: Request, found: tuple[bytes, str, str]) -> Response:
    content, media, etag = found
    headers = {
        "etag": etag,
        "cache-control": "no-cache",
        "x-content-type-options": "nosniff",
        "content-security-policy": CSP,
        "referrer-policy": "no-referrer",
    }
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(content, media_type=media, headers=headers)


def web_routes(files: StaticFiles | None = None) -> list[Route]:
    """Routes for the hub's app: `/` and `/static/{path}`."""
    files = files or StaticFiles()

    async def index(request: Request) -> Response:
        found = files.get("index.html")
        if found is None:
            return PlainTextResponse("the search page is not installed", status_code=404)
        return _respond(request, found)

    async def static(request: Request) -> Response:
        found = files.get(request.path_params["path"])
        if found is None:
            return PlainTextResponse("not found", status_code=404)
        return _respond(request, found)

    return [
        Route("/", index, methods=["GET", "HEAD"]),
        Route("/static/{path:path}", static, methods=["GET", "HEAD"]),
    ]
