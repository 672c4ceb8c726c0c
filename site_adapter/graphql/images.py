"""Image sets found by the indexer and linked to data collections, with one image's parsed header.

The image store is the site's PostgreSQL (the native store, or a side store beside an ISPyB site);
this module only reads it through site_adapter.indexer.store.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.scalars import JSON
from strawberry.types import Info

from mx_schema.ids import encode_id
from site_adapter.graphql.preview_http import preview_json
from site_adapter.graphql.previews import ImageCounts, Preview, geometry_of
from site_adapter.graphql.types import ctx, d
from site_adapter.indexer import preview_store
from site_adapter.indexer import store as image_store


@strawberry.type(description="A set of image files (one sweep or scan) the site's indexer found and checked.")
class ImageSet:
    id: strawberry.ID
    local_id: str
    directory: str = strawberry.field(description="Where the files are now (after any path mapping).")
    template: str = strawberry.field(
        description="File name template; `#` stands for the image number's digits."
    )
    first: int = strawberry.field(description=d("image number"))
    last: int = strawberry.field(description=d("image number"))
    count: int = strawberry.field(description=d("images", "Files present."))
    missing: list[int] = strawberry.field(
        description=d("image number", "Image numbers absent between first and last.")
    )
    total_bytes: float = strawberry.field(
        description=d("bytes", "On disk, as stored (compressed files count compressed).")
    )
    verified: bool | None = strawberry.field(
        description="Content-MD5 of every binary section checked and right (null: not checked)."
    )
    format: str | None = strawberry.field(description="miniCBF, imgCIF or NXmx.")
    kind: str = strawberry.field(description="rotation, grid or still.")

    @classmethod
    def of(cls, site: str, s: image_store.ImageSet) -> ImageSet:
        return cls(
            id=strawberry.ID(encode_id(site, "ImageSet", s.local_id)),
            local_id=s.local_id,
            directory=s.directory,
            template=s.template,
            first=s.first,
            last=s.last,
            count=s.count,
            missing=list(s.missing),
            total_bytes=float(s.total_bytes),
            verified=s.verified,
            format=s.format,
            kind=s.kind,
        )

    @strawberry.field(
        description="One image's parsed header (canonical units), or null when it is not indexed."
    )
    async def header(self, info: Info, image_number: int | None = None) -> JSON | None:
        pool = image_pool(info)
        if pool is None:
            return None
        found = await image_store.image_header(
            pool, self.local_id, image_number if image_number is not None else self.first
        )
        return None if found is None else JSON(found)

    @strawberry.field(
        description="Stored pictures of the first, middle and last frames (and a grid scan's heat map), "
        "at 512 and 1024 px (since 1.2.0)."
    )
    async def previews(self, info: Info) -> list[Preview]:
        if image_pool(info) is None or not self.local_id.isdigit():
            return []
        stored = await _batched(info, "previews", preview_store.previews_of).load(int(self.local_id))
        return [Preview(**preview_json(str(self.id), p)) for p in stored]

    @strawberry.field(
        description="Total counts per image, for the images whose pixels were decoded (since 1.2.0)."
    )
    async def counts_per_image(self, info: Info) -> list[ImageCounts]:
        if image_pool(info) is None or not self.local_id.isdigit():
            return []
        series = await _batched(info, "counts", preview_store.counts_per_image).load(int(self.local_id))
        return [ImageCounts(image=n, counts=float(c)) for n, c in series]

    @strawberry.field(
        description="Resolution rings (at dSpacings, Å, else a default ladder), ice rings and the beam centre "
        "as pixel positions, with the geometry a page needs to compute the resolution at any pixel (since "
        "1.2.0). Null when the header lacks the geometry."
    )
    async def ring_geometry(self, info: Info, d_spacings: list[float] | None = None) -> JSON | None:
        pool = image_pool(info)
        if pool is None:
            return None
        header = await image_store.image_header(pool, self.local_id, self.first)
        return geometry_of(header, d_spacings)


def _batched(
    info: Info, name: str, fetch: Callable[[Any, list[int]], Awaitable[dict[int, Any]]]
) -> DataLoader[int, Any]:
    """This request's loader for one per-image-set relation (previews, counts): the image sets of a page
    ask one statement between them, not one each (issue 17), through the store's batch function."""
    loaders = ctx(info).loaders
    attribute = f"image_set_{name}"
    found: DataLoader[int, Any] | None = getattr(loaders, attribute, None)
    if found is None:
        pool = image_pool(info)

        async def load(ids: list[int]) -> list[Any]:
            got = await fetch(pool, list(ids))
            return [got.get(i, []) for i in ids]

        found = DataLoader(load_fn=load)
        setattr(loaders, attribute, found)
    return found


def image_pool(info: Info) -> Any:
    return ctx(info).services.image_pool


def loader_for(pool: Any) -> Callable[[list[str]], Awaitable[list[list[image_store.ImageSet]]]]:
    """A DataLoader body: image sets of a batch of collections, one statement."""

    async def load(ids: list[str]) -> list[list[image_store.ImageSet]]:
        if pool is None:
            return [[] for _ in ids]
        found = await image_store.image_sets_by_collection(pool, list(ids))
        return [found.get(i, []) for i in ids]

    return load


def header_loader_for(pool: Any) -> Callable[[list[str]], Awaitable[list[dict[str, Any] | None]]]:
    """A DataLoader body: the first image's header of a batch of image sets, one statement."""

    async def load(ids: list[str]) -> list[dict[str, Any] | None]:
        if pool is None:
            return [None for _ in ids]
        found = await image_store.first_image_headers(pool, list(ids))
        return [found.get(i) for i in ids]

    return load


def as_header(data: dict[str, Any] | None) -> Any:
    """A stored header (JSON) as the attribute-style object the reprocessing generators read."""
    if data is None:
        return None

    def wrap(v: Any) -> Any:
        if isinstance(v, dict):
            return SimpleNamespace(**{k: wrap(x) for k, x in v.items()})
        if isinstance(v, list):
            return tuple(wrap(x) for x in v)
        return v

    return wrap(data.get("header", data) if isinstance(data.get("header"), dict) else data)
