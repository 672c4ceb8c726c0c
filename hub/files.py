"""GET /files/{global id} at the hub: a site's result file or snapshot, streamed through (issue 16).

The hub is a proxy, not a signer of URLs: it routes by the site the id names, forwards the caller's
identity as it does for GraphQL (a caller token signed for that site) and the Range headers, and
streams the site's answer back unchanged. GraphQL answers are not rewritten: a file's `url` is relative
(`/files/{id}`), so the same answer works at the site and at the hub (docs/files.md).
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
from mx_schema.errors import NOT_FOUND, SITE_ERROR, SITE_TIMEOUT, ContractError
from mx_schema.ids import decode_file_id
from mx_schema.view import Refused

# What a download request may tell the site, and what of the site's answer goes back to the caller.
FORWARDED = ("range", "if-range", "if-none-match", "if-modified-since")
RETURNED = (
    "content-type",
    "content-length",
    "content-range",
    "accept-ranges",
    "content-disposition",
    "last-modified",
    "etag",
)


def _problem(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> Response:
    body = {"errors": [{"message": message, "extensions": {"code": str(code), **extra}}]}
    return JSONResponse(body, status_code=status, headers=headers)


def files_url(graphql_url: str, global_id: str) -> str:
    """The site's download URL beside its GraphQL endpoint: http://h/x/graphql -> http://h/x/files/{id}."""
    return f"{graphql_url.rsplit('/', 1)[0]}/files/{quote(global_id, safe='')}"


def file_routes(registry: Registry, runtime: Runtime, gate: Gate) -> list[Route]:
    async def download(request: Request) -> Response:
        raw: str = request.path_params["file_id"]
        try:
            gid = decode_file_id(raw)
        except ContractError as exc:
            return _problem(400, exc.code, str(exc))
        site = registry.get(gid.site)
        if site is None or site.kind != "site":
            return _problem(404, NOT_FOUND, f"the id names site {gid.site!r}, which this hub does not know")
        try:
            caller = await gate.admit(request)
        except Refused as exc:
            return _problem(exc.status, exc.extensions.get("code", ""), str(exc), exc.headers)
        headers = {k: v for k in FORWARDED if (v := request.headers.get(k)) is not None}
        token = CURRENT_CALLER.set(CallerScope(caller))
        try:
            answer = await runtime.client.open_file(site.name, files_url(site.url, raw), headers)
        except SiteFailure as exc:
            status = 504 if exc.code == SITE_TIMEOUT else 502
            return _problem(status, exc.code, str(exc), site=site.name)
        finally:
            CURRENT_CALLER.reset(token)
        if answer.status_code >= 400 and not answer.headers.get("content-type", "").startswith(
            "application/json"
        ):
            # Not our refusal (a site older than 1.2.0 has no /files route, a proxy in front of it...): coded here.
            await answer.aclose()
            return _problem(
                502 if answer.status_code >= 500 else 404,
                SITE_ERROR if answer.status_code >= 500 else NOT_FOUND,
                f"site {site.name} does not serve this file (HTTP {answer.status_code}; a site older than "
                "schema 1.2.0 serves no files)",
                site=site.name,
            )
        returned = {k: v for k in RETURNED if (v := answer.headers.get(k)) is not None}
        if request.method == "HEAD":
            await answer.aclose()
            return Response(status_code=answer.status_code, headers=returned)
        return StreamingResponse(
            answer.aiter_raw(),
            status_code=answer.status_code,
            headers=returned,
            background=BackgroundTask(answer.aclose),
        )

    return [Route("/files/{file_id:path}", download, methods=["GET", "HEAD"])]
