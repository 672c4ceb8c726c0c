"""GET /previews/{image set id}/... at the hub: a site's diffraction previews, rings geometry and counts,
forwarded to the site the id names (issue 22).

A proxy like GET /files/{id}: it routes by the id's site, forwards the caller's identity as it does for
GraphQL (a caller token signed for that site, through the one site client) and streams the site's answer
back unchanged, so the same relative URL works at the site and at the hub. The site applies the access
rule; the hub adds none of its own and rewrites nothing.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from mx_hub.callers import Gate
from mx_hub.client import CURRENT_CALLER, CallerScope, SiteFailure
from mx_hub.registry import Registry
from mx_hub.runtime import Runtime
from mx_schema.errors import NOT_FOUND, SITE_TIMEOUT, ContractError
from mx_schema.ids import decode_id
from mx_schema.view import Refused

PREFIX = "/previews"
# What of the site's answer goes back: the picture or JSON, its caching, and how it maps to the detector.
RETURNED = (
    "content-type",
    "content-length",
    "cache-control",
    "x-mxhub-binning",
    "x-mxhub-width",
    "x-mxhub-height",
)
FORWARDED = ("if-none-match",)


def _problem(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> Response:
    body = {"errors": [{"message": message, "extensions": {"code": str(code), **extra}}]}
    return JSONResponse(body, status_code=status, headers=headers)


def site_url(graphql_url: str, path: str, query: str) -> str:
    """The site's URL for `path` beside its GraphQL endpoint: http://h/x/graphql -> http://h/x/previews/..."""
    return f"{graphql_url.rsplit('/', 1)[0]}{path}" + (f"?{query}" if query else "")


def preview_routes(registry: Registry, runtime: Runtime, gate: Gate) -> list[Route]:
    async def forward(request: Request) -> Response:
        raw: str = request.path_params["id"]
        try:
            gid = decode_id(raw)
        except ContractError as exc:
            return _problem(400, exc.code, str(exc))
        if gid.type != "ImageSet":
            return _problem(404, NOT_FOUND, f"{raw} is a {gid.type} id, not an image set's")
        site = registry.get(gid.site)
        if site is None or site.kind != "site":
            return _problem(404, NOT_FOUND, f"the id names site {gid.site!r}, which this hub does not know")
        try:
            caller = await gate.admit(request)
        except Refused as exc:
            return _problem(exc.status, exc.extensions.get("code", ""), str(exc), dict(exc.headers or {}))
        rest = request.path_params.get("rest", "")
        path = f"{PREFIX}/{quote(raw, safe='')}" + (f"/{quote(rest)}" if rest else "")
        headers = {k: v for k in FORWARDED if (v := request.headers.get(k)) is not None}
        token = CURRENT_CALLER.set(CallerScope(caller))
        try:
            answer = await runtime.client.open_file(
                site.name, site_url(site.url, path, request.url.query), headers
            )
        except SiteFailure as exc:
            return _problem(504 if exc.code == SITE_TIMEOUT else 502, exc.code, str(exc), site=site.name)
        finally:
            CURRENT_CALLER.reset(token)
        returned = {k: v for k in RETURNED if (v := answer.headers.get(k)) is not None}
        return StreamingResponse(
            answer.aiter_raw(),
            status_code=answer.status_code,
            headers=returned,
            background=BackgroundTask(answer.aclose),
        )

    return [
        Route(PREFIX + "/{id}", forward, methods=["GET"]),
        Route(PREFIX + "/{id}/{rest:path}", forward, methods=["GET"]),
    ]
