"""GraphiQL from this package, not a CDN: the page and its files, for the hub's, sites' and LIMS' views.

Framework-neutral: `page()` is the HTML and `asset(name)` a served file's path and media type; each view
wraps them in its own responses. Standard library only; the hub and the sites both import it.

static/ holds npm's files byte for byte (NOTICE: package, version, sha256; LICENSE: the texts). To
upgrade, `npm pack graphiql@X react@Y react-dom@Y @graphiql/plugin-explorer@Z`, copy the UMD builds
under the same names, update NOTICE's table, and run tests/hub/web/test_graphiql_offline.py.
"""

from __future__ import annotations

import hashlib
import html
from functools import lru_cache
from pathlib import Path
from string import Template

STATIC = Path(__file__).parent / "static"
# Where a view serves asset(name): `<prefix>/<name>`, relative to the page so a proxy's path prefix works.
PREFIX = "graphiql"
MEDIA_TYPES = {
    "react.production.min.js": "text/javascript; charset=utf-8",
    "react-dom.production.min.js": "text/javascript; charset=utf-8",
    "graphiql.min.js": "text/javascript; charset=utf-8",
    "graphiql.min.css": "text/css; charset=utf-8",
    "plugin-explorer.umd.js": "text/javascript; charset=utf-8",
    "plugin-explorer.css": "text/css; charset=utf-8",
    "mxhub-graphiql.js": "text/javascript; charset=utf-8",
    "LICENSE": "text/plain; charset=utf-8",
    "NOTICE": "text/plain; charset=utf-8",
}
# The page loads only its own files and talks only to its own origin; styles may be inline because
# GraphiQL's components set some at run time.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'self'"
)
# Assets change only with the package: a day in caches; the page names each file with its digest.
ASSET_CACHE_CONTROL = "public, max-age=86400"


def asset(name: str) -> tuple[Path, str] | None:
    """The file served as `<prefix>/<name>` and its media type; None for any other name (no paths)."""
    media = MEDIA_TYPES.get(name)
    return (STATIC / name, media) if media is not None else None


@lru_cache(maxsize=1)
def _digests() -> dict[str, str]:
    return {
        f"v_{name.replace('.', '_').replace('-', '_')}": hashlib.sha256(
            (STATIC / name).read_bytes()
        ).hexdigest()[:12]
        for name in MEDIA_TYPES
    }


@lru_cache(maxsize=16)
def page(title: str = "GraphiQL", base: str = PREFIX) -> str:
    """The GraphiQL page for an endpoint that serves asset(name) at `<base>/<name>` beside it."""
    template = Template((Path(__file__).parent / "page.html").read_text(encoding="utf-8"))
    return template.substitute(title=html.escape(title), base=html.escape(base), **_digests())
