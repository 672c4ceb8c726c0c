"""The site's preview endpoints (issue 22): plain GETs under /previews/{image set global id}/..., the stored
pictures (served after the raw files are gone), any frame or region on demand while the raw file exists,
the rings geometry, the resolution at a pixel, and total counts per image.

The same access rule as the collection: the caller the hub's token names must see the image set's data
collection (the backend applies the rule, access.py); an unlinked set only to callers who see everything.
A set the caller may not see is answered exactly as one that does not exist. Bad input gets a coded 4xx
(`{"errors": [{"message", "extensions": {"code"}}]}`), never a 500. No SQL here: preview_store.py.
"""

from __future__ import annotations

import asyncio
import math
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mx_schema.errors import (
    BAD_USER_INPUT,
    FRAME_OUT_OF_RANGE,
    INVALID_ID,
    MISSING_GEOMETRY,
    NOT_FOUND,
    PIXELS_NOT_DECODED,
    RAW_FILE_GONE,
    REGION_OUTSIDE_DETECTOR,
    InvalidGlobalId,
)
from mx_schema.ids import decode_id
from site_adapter import access
from site_adapter.access import AccessPolicy
from site_adapter.backends.base import Backend
from site_adapter.indexer import preview_store
from site_adapter.indexer.cbf_header import HeaderError
from site_adapter.indexer.frame_cache import ByteLru
from site_adapter.indexer.frames import Frame, Gone, Unsupported, is_nexus, read_frame
from site_adapter.indexer.preview_store import SetFile
from site_adapter.indexer.previews import SIZES, BadRegion, Picture, render, render_region
from site_adapter.indexer.rings import DEFAULT_RINGS, DetectorGeometry, from_header

PREFIX = "/previews"
CACHE_CONTROL = "private, max-age=3600"  # a stored preview changes only when its file does
MAX_RINGS = 50


class Problem(Exception):
    """An answer other than 200: HTTP status, error code, message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(frozen=True, slots=True)
class Target:
    """An image set the caller may see: its id and row (files are read only by the handlers that need them)."""

    global_id: str
    local_id: int
    row: dict[str, Any]
    stored: preview_store.StoredPreview | None = None  # the stored preview asked for, when there is one

    async def file_for(self, pool: Any, number: int) -> tuple[SetFile, int]:
        """The file holding image `number` and the frame's index in it; Problem when there is none."""
        first, last = self.row["first_image"], self.row["last_image"]
        if not first <= number <= last:
            raise Problem(404, FRAME_OUT_OF_RANGE, f"image {number} is not in this set ({first}-{last})")
        f = await preview_store.set_file(pool, self.local_id, number)
        if f is None:
            raise Problem(
                404, FRAME_OUT_OF_RANGE, f"image {number} is missing from this set ({first}-{last})"
            )
        nexus = f.format == "NXmx" or is_nexus(f.path)
        return f, (number - first if nexus else 0)


def _json(payload: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status, media_type="application/json")


def _problem(site: str, p: Problem) -> Response:
    return _json({"errors": [{"message": str(p), "extensions": {"code": p.code, "site": site}}]}, p.status)


def _int(request: Request, name: str, default: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        if default is None:
            raise Problem(400, BAD_USER_INPUT, f"query parameter {name} is required")
        return default
    try:
        return int(raw)
    except ValueError:
        raise Problem(400, BAD_USER_INPUT, f"{name}={raw!r} is not an integer") from None


def _float(request: Request, name: str) -> float:
    raw = request.query_params.get(name)
    try:
        value = float(raw) if raw is not None else math.nan
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise Problem(400, BAD_USER_INPUT, f"query parameter {name} must be a number, not {raw!r}")
    return value


def _size(request: Request) -> int:
    size = _int(request, "size", SIZES[0])
    if size not in SIZES:
        raise Problem(400, BAD_USER_INPUT, f"size must be one of {', '.join(map(str, SIZES))}, not {size}")
    return size


def _png(p: Picture | preview_store.StoredPreview, data: bytes | None = None) -> Response:
    headers = {
        "cache-control": CACHE_CONTROL,
        "x-mxhub-binning": str(p.binning),
        "x-mxhub-width": str(p.width),
        "x-mxhub-height": str(p.height),
    }
    return Response(data if data is not None else p.data, 200, headers, media_type=p.media_type)


class PreviewRoutes:
    """The endpoints of one site; `pool_of` gives the image store's pool (None: the site keeps none)."""

    def __init__(
        self,
        site: str,
        backend: Backend,
        pool_of: Callable[[], Any],
        policy: AccessPolicy | None,
        cache_bytes: int = 256 << 20,
    ) -> None:
        self.site = site
        self.backend = backend
        self.pool_of = pool_of
        self.policy = policy
        self.frames: ByteLru[Frame] = ByteLru(cache_bytes * 3 // 4, lambda f: int(f.pixels.nbytes))
        self.pictures: ByteLru[Picture] = ByteLru(cache_bytes // 4, lambda p: len(p.data))
        # A 12M frame holds ~150 MB while it decodes: at most two decode at once, whatever the callers.
        self.decoding = asyncio.Semaphore(2)

    def routes(self) -> list[Route]:
        def guarded(
            handler: Callable[[Request, Target], Awaitable[Response]],
            wants: Callable[[Request], tuple[str, int, int]] | None = None,
        ) -> Callable[[Request], Awaitable[Response]]:
            async def endpoint(request: Request) -> Response:
                try:
                    target = await self._target(request, wants(request) if wants else None)
                    return await handler(request, target)
                except Problem as p:
                    return _problem(self.site, p)

            return endpoint

        base = PREFIX + "/{id}"
        return [
            Route(base, guarded(self.listing)),
            Route(
                base + "/frames/{number:int}",
                guarded(self.frame, lambda r: ("frame", r.path_params["number"], _size(r))),
            ),
            Route(base + "/heatmap", guarded(self.heatmap, lambda r: ("heatmap", 0, _size(r)))),
            Route(base + "/view", guarded(self.view)),
            Route(base + "/geometry", guarded(self.geometry)),
            Route(base + "/resolution", guarded(self.resolution)),
            Route(base + "/counts", guarded(self.counts)),
        ]

    async def _target(self, request: Request, wants: tuple[str, int, int] | None = None) -> Target:
        """The image set named in the path, if this caller may see it; with `wants` (kind, frame, size),
        its stored preview read in the same statement (serving one is then a single round trip)."""
        raw = request.path_params["id"]
        try:
            gid = decode_id(raw)
        except InvalidGlobalId as exc:
            raise Problem(400, INVALID_ID, str(exc)) from None
        if gid.type != "ImageSet" or gid.site != self.site or not gid.local_id.isdigit():
            raise Problem(404, NOT_FOUND, f"no image set {raw} at site {self.site}")
        pool = self.pool_of()
        if pool is None:
            raise Problem(404, NOT_FOUND, f"site {self.site} keeps no image index")
        scope = self._scope(request)
        row, stored = await preview_store.image_set_row(pool, int(gid.local_id), wants)
        if row is None or not await self._visible(scope, row.get("data_collection_id")):
            raise Problem(404, NOT_FOUND, f"no image set {raw} at site {self.site}")
        return Target(raw, int(gid.local_id), row, stored)

    def _scope(self, request: Request) -> access.Scope | None:
        if self.policy is None:
            return None
        try:
            viewer = self.policy.viewer(request.headers.get(access.CALLER_HEADER), self.site)
        except access.Unauthenticated as exc:
            raise Problem(401, exc.code, str(exc)) from None
        return access.Scope(viewer, self.policy.embargo)

    async def _visible(self, scope: access.Scope | None, dc_id: int | None) -> bool:
        """The collection's rule: the backend answers only collections the scope may see."""
        if scope is None or not scope.restricted:
            return True
        if dc_id is None:
            return False
        token = access.SCOPE.set(scope)
        try:
            found = await self.backend.data_collections_by_id([str(dc_id)])
        finally:
            access.SCOPE.reset(token)
        return str(dc_id) in found

    # --- stored pictures -------------------------------------------------------------------------

    async def listing(self, request: Request, t: Target) -> Response:
        pool = self.pool_of()
        stored = (await preview_store.previews_of(pool, [t.local_id]))[t.local_id]
        return _json(
            {
                "imageSet": t.global_id,
                "first": t.row["first_image"],
                "last": t.row["last_image"],
                "kind": t.row["kind"],
                "rawFilesPresent": await preview_store.files_present(pool, t.local_id),
                "previews": [preview_json(t.global_id, p) for p in stored],
            }
        )

    async def frame(self, request: Request, t: Target) -> Response:
        """A frame at a preview size: stored when made at index time, else drawn from the raw file."""
        number, size = request.path_params["number"], _size(request)
        if t.stored is not None:
            return _png(t.stored)
        f, index = await t.file_for(self.pool_of(), number)
        key = ("whole", f.path, index, size, _stamp(f.path))
        picture = self.pictures.get(key)
        if picture is None:
            frame = await self._frame(f, index)
            picture = await asyncio.to_thread(render, frame.pixels, size, frame.count_cutoff)
            self.pictures.put(key, picture)
        return _png(picture)

    async def heatmap(self, request: Request, t: Target) -> Response:
        if t.stored is None:
            raise Problem(404, NOT_FOUND, "no heat map: only grid scans indexed with previews have one")
        return _png(t.stored)

    # --- on demand, from the raw file ------------------------------------------------------------

    async def view(self, request: Request, t: Target) -> Response:
        """Any region of any frame: x, y, w, h in detector pixels (default: the whole frame), `bin`
        detector pixels per picture pixel (default: what keeps the picture within 2048 px)."""
        number = _int(request, "frame", t.row["first_image"])
        f, index = await t.file_for(self.pool_of(), number)
        frame = await self._frame(f, index)
        ny, nx = frame.pixels.shape
        x, y = _int(request, "x", 0), _int(request, "y", 0)
        w, h = _int(request, "w", nx - x), _int(request, "h", ny - y)
        binning = _int(request, "bin", max(1, math.ceil(max(w, h) / 2048)))
        key = ("region", f.path, index, x, y, w, h, binning, _stamp(f.path))
        picture = self.pictures.get(key)
        if picture is None:
            try:
                picture = await asyncio.to_thread(
                    render_region, frame.pixels, x, y, w, h, binning, frame.count_cutoff
                )
            except BadRegion as exc:
                raise Problem(400, REGION_OUTSIDE_DETECTOR, str(exc)) from None
            self.pictures.put(key, picture)
        return _png(picture)

    async def _frame(self, f: SetFile, index: int) -> Frame:
        if f.gone:
            raise Problem(
                410, RAW_FILE_GONE, "the raw file has been deleted since indexing; the stored previews remain"
            )
        try:
            stamp = os.stat(f.path).st_mtime_ns  # a rewritten file is a new frame, not a cached one
        except OSError:
            raise Problem(
                410, RAW_FILE_GONE, "the raw file is no longer on disk; the stored previews remain"
            ) from None
        key = (f.path, index, stamp)
        frame = self.frames.get(key)
        if frame is not None:
            return frame
        try:
            async with self.decoding:
                frame = await asyncio.to_thread(read_frame, f.path, index)
        except Gone as exc:
            raise Problem(410, RAW_FILE_GONE, f"{exc}; the stored previews remain") from None
        except Unsupported as exc:
            raise Problem(422, PIXELS_NOT_DECODED, str(exc)) from None
        except (HeaderError, OSError, EOFError) as exc:
            raise Problem(422, PIXELS_NOT_DECODED, f"the frame cannot be read: {exc}") from None
        self.frames.put(key, frame)
        return frame

    # --- geometry and series ---------------------------------------------------------------------

    async def _detector(self, t: Target) -> DetectorGeometry:
        from site_adapter.reprocess.geometry import MissingGeometry

        header = await preview_store.first_header(self.pool_of(), t.local_id)
        if header is None:
            raise Problem(422, MISSING_GEOMETRY, "no indexed header for this image set")
        try:
            return from_header(header)
        except MissingGeometry as exc:
            raise Problem(422, MISSING_GEOMETRY, str(exc)) from None

    async def geometry(self, request: Request, t: Target) -> Response:
        """Rings (at `d`, comma-separated Å, else a default ladder), ice rings, beam centre, and the
        geometry that lets a page compute the resolution at any pixel itself."""
        spacings = _spacings(request.query_params.get("d"))
        g = await self._detector(t)
        return _json({"imageSet": t.global_id, **g.to_json(spacings)})

    async def resolution(self, request: Request, t: Target) -> Response:
        x, y = _float(request, "x"), _float(request, "y")
        g = await self._detector(t)
        if not (-0.5 <= x <= g.nx - 0.5 and -0.5 <= y <= g.ny - 0.5):
            raise Problem(
                400, REGION_OUTSIDE_DETECTOR, f"pixel ({x:g}, {y:g}) is not on the {g.nx} x {g.ny} detector"
            )
        return _json({"x": x, "y": y, "d": g.resolution_at(x, y), "unit": "Å"})

    async def counts(self, request: Request, t: Target) -> Response:
        series = (await preview_store.counts_per_image(self.pool_of(), [t.local_id]))[t.local_id]
        return _json(
            {
                "imageSet": t.global_id,
                "series": "totalCounts",
                "unit": "counts",
                "points": [[n, c] for n, c in series],
            }
        )


def preview_json(global_id: str, p: preview_store.StoredPreview) -> dict[str, Any]:
    """One stored preview as the listing and GraphQL describe it; the URL is the same at site and hub."""
    path = "heatmap" if p.kind == "heatmap" else f"frames/{p.image_number}"
    return {
        "kind": p.kind,
        "frame": p.image_number if p.kind == "frame" else None,
        "size": p.size,
        "width": p.width,
        "height": p.height,
        "binning": p.binning,
        "url": f"{PREFIX}/{global_id}/{path}?size={p.size}",
    }


def _stamp(path: str) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def _spacings(raw: str | None) -> tuple[float, ...]:
    if not raw:
        return DEFAULT_RINGS
    try:
        values = tuple(float(v) for v in raw.split(",") if v.strip())
    except ValueError:
        raise Problem(400, BAD_USER_INPUT, f"d={raw!r}: comma-separated d-spacings in Å expected") from None
    if not values or len(values) > MAX_RINGS or any(not math.isfinite(v) or v <= 0 for v in values):
        raise Problem(400, BAD_USER_INPUT, f"d: 1 to {MAX_RINGS} positive d-spacings in Å expected")
    return values
