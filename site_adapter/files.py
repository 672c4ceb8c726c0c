"""The site's file roots and its download route, GET /files/{global id} (issue 16, docs/files.md).

A file is served when its record is visible to the caller (the same rule as its data collection: the
collection's own access-controlled lookup decides) and its real path, symlinks resolved, lies inside one
of the configured roots. Knows the Backend protocol, never a store's SQL; never serves a path a request
names: requests name ids, paths come from the store.
"""

from __future__ import annotations

import mimetypes
import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from mx_schema.errors import (
    FILE_MISSING,
    FILE_OUTSIDE_ROOTS,
    NOT_FOUND,
    RANGE_NOT_SATISFIABLE,
    ContractError,
)
from mx_schema.ids import GlobalId, decode_file_id
from site_adapter import access
from site_adapter.access import AccessPolicy
from site_adapter.backends.base import Backend, BackendError

ROUTE = "/files/{file_id:path}"


def url_of(global_id: str) -> str:
    """The download path of a file, relative to whoever answers the GraphQL request (a site or the hub:
    both serve GET /files/{id}), so the same answer works through either (docs/files.md)."""
    return f"/files/{global_id}"


def media_type(name: str) -> str:
    """The Content-Type of a file by its name; logs and unknown text-like kinds as text/plain."""
    guessed, _ = mimetypes.guess_type(name)
    if guessed is not None:
        return guessed
    if name.endswith((".log", ".lp", ".LP", ".txt", ".xds", ".INP")):
        return "text/plain"
    return "application/octet-stream"


@dataclass(frozen=True, slots=True)
class Located:
    """Where a stored path leads: `state` is ok, missing or outside (the roots); size in bytes when ok."""

    state: str
    path: str | None = None
    size: int | None = None

    @property
    def exists(self) -> bool:
        return self.state == "ok"


class FileRoots:
    """The directories a site may serve files from (`--file-root`, MXHUB_SITE_FILE_ROOTS); none: no files."""

    def __init__(self, roots: Sequence[str] = ()) -> None:
        self.roots = tuple(os.path.realpath(r) for r in roots if r)

    def locate(self, directory: str | None, name: str) -> Located:
        """The stored file (directory + name, as the store has them) resolved: a relative path, a path
        whose real target is outside every root (a symlink out included) or not a regular file is not
        served. Blocking (one stat): fine on local and cluster file systems the site already reads."""
        path = os.path.join(directory or "", name)
        if not os.path.isabs(path) or "\0" in path:
            return Located("outside")
        real = os.path.realpath(path)
        try:
            st = os.stat(real)
        except OSError:
            return Located("missing")
        if not any(real == root or real.startswith(root.rstrip(os.sep) + os.sep) for root in self.roots):
            return Located("outside")
        if not stat.S_ISREG(st.st_mode):
            return Located("missing")
        return Located("ok", real, st.st_size)


def problem(
    status: int, code: str, message: str, site: str, headers: dict[str, str] | None = None
) -> Response:
    """A refusal in the shape of a GraphQL error, so one client reads both: errors[].extensions.code."""
    body = {"errors": [{"message": message, "extensions": {"code": str(code), "site": site}}]}
    return JSONResponse(body, status_code=status, headers=headers)


_RANGE_SPEC = re.compile(r"(\d*)-(\d*)")


def range_answer(range_header: str | None, size: int) -> str:
    """What to do with a request's Range for a file of `size` bytes: `serve` it (no header, or ranges
    the response can serve), `ignore` it and send the whole file (another unit, a malformed or invalid
    range: RFC 9110 14.2 lets a server ignore Range; Starlette would answer an uncoded 400 or 416), or
    `refuse` it (416: no range overlaps the file, RFC 9110 15.5.17)."""
    if not range_header:
        return "serve"
    unit, _, specs = range_header.strip().partition("=")
    if unit.strip().lower() != "bytes" or not specs.strip():
        return "ignore"
    satisfiable = []
    for spec in specs.split(","):
        m = _RANGE_SPEC.fullmatch(spec.strip())
        if m is None or m.groups() == ("", ""):
            return "ignore"
        first, last = m.groups()
        if first and last and int(last) < int(first):
            return "ignore"  # invalid (RFC 9110 14.1.1)
        satisfiable.append(int(first) < size if first else int(last) > 0)
    if not any(satisfiable):
        return "refuse"
    return "serve" if all(satisfiable) else "ignore"  # Starlette refuses a mix: the whole file instead


class _File(FileResponse):
    """A FileResponse that may ignore the request's Range (range_answer says `ignore`)."""

    def __init__(self, path: str, name: str, *, honour_range: bool) -> None:
        super().__init__(path, media_type=media_type(name), filename=name, content_disposition_type="inline")
        self.honour_range = honour_range

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if not self.honour_range:
            scope = {**scope, "headers": [(k, v) for k, v in scope["headers"] if k != b"range"]}
        await super().__call__(scope, receive, send)


class _Refusal(Exception):  # noqa: N818 - an answer, not a failure
    def __init__(self, response: Response) -> None:
        self.response = response


async def _record(backend: Backend, type_: str, local_id: str) -> tuple[str, str | None, str] | None:
    """(data collection local id, directory, name) of a file record, or None when there is none."""
    if type_ == "ResultFile":
        found = (await backend.files_by_id([local_id])).get(local_id)
        return None if found is None else (found.data_collection_local_id, found.directory, found.name)
    snap = (await backend.snapshots_by_id([local_id])).get(local_id)
    if snap is None:
        return None
    directory, name = os.path.split(snap.path)
    return snap.data_collection_local_id, directory, name


async def _visible_record(
    backend: Backend, site: str, policy: AccessPolicy | None, request: Request, gid: GlobalId
) -> tuple[str | None, str]:
    """(directory, name) of the file when the caller may see its data collection; refusals raised."""
    scope: access.Scope | None = None
    if policy is not None:
        try:
            viewer = policy.viewer(request.headers.get(access.CALLER_HEADER), site)
        except access.Unauthenticated as exc:
            raise _Refusal(problem(401, exc.code, str(exc), site)) from None
        scope = access.Scope(viewer, policy.embargo)
    token = access.SCOPE.set(scope)
    try:
        found = await _record(backend, gid.type, gid.local_id)
        visible = found is not None and bool(await backend.data_collections_by_id([found[0]]))
    except BackendError as exc:
        raise _Refusal(problem(503, exc.code, str(exc), site)) from None
    finally:
        access.SCOPE.reset(token)
    if found is None or not visible:  # an invisible file is as unknown as a missing record
        raise _Refusal(problem(404, NOT_FOUND, "no such file at this site (or not visible to you)", site))
    return found[1], found[2]


def _serve(located: Located, name: str, range_header: str | None, site: str) -> Response:
    if located.state == "missing":
        return problem(404, FILE_MISSING, f"{name} is recorded but not on this site's disk", site)
    if located.path is None or located.size is None:
        return problem(
            403, FILE_OUTSIDE_ROOTS, f"{name} is outside the directories this site serves files from", site
        )
    answer = range_answer(range_header, located.size)
    if answer == "refuse":
        return problem(
            416,
            RANGE_NOT_SATISFIABLE,
            f"the range is outside the file ({located.size} bytes)",
            site,
            {"content-range": f"bytes */{located.size}"},
        )
    # FileResponse answers Range (206, several ranges as multipart) and HEAD itself.
    return _File(located.path, name, honour_range=answer == "serve")


def file_routes(backend: Backend, site: str, policy: AccessPolicy | None, roots: FileRoots) -> list[Route]:
    """GET (and HEAD) /files/{global id} for this site."""

    async def download(request: Request) -> Response:
        try:
            gid = decode_file_id(request.path_params["file_id"])
        except ContractError as exc:
            return problem(400, exc.code, str(exc), site)
        if gid.site != site:
            return problem(404, NOT_FOUND, f"id belongs to site {gid.site!r}, this is {site!r}", site)
        try:
            directory, name = await _visible_record(backend, site, policy, request, gid)
        except _Refusal as refusal:
            return refusal.response
        return _serve(roots.locate(directory, name), name, request.headers.get("range"), site)

    return [Route(ROUTE, download, methods=["GET", "HEAD"])]
