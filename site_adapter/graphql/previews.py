"""GraphQL types of an image set's previews (issue 22, since 1.2.0): the stored pictures with URLs that work
at the site and through the hub alike, total counts per image, and the rings geometry as JSON.

Reads through site_adapter.indexer.preview_store; the pictures themselves are served by preview_http.py.
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.scalars import JSON

from site_adapter.graphql.preview_http import preview_json
from site_adapter.graphql.types import d
from site_adapter.indexer import preview_store
from site_adapter.indexer.rings import DEFAULT_RINGS, from_header


@strawberry.type(
    description="A stored picture of an image set (since 1.2.0): made at index time, kept after the raw files are gone."
)
class Preview:
    kind: str = strawberry.field(
        description="frame (one detector frame) or heatmap (a grid scan's total counts per frame)."
    )
    frame: int | None = strawberry.field(
        description=d("image number", "The frame shown; null for a heat map.")
    )
    size: int = strawberry.field(
        description=d("px", "The longest side the picture was made for (512 or 1024).")
    )
    width: int = strawberry.field(description=d("px"))
    height: int = strawberry.field(description=d("px"))
    binning: int = strawberry.field(
        description=d(
            "detector pixels per picture pixel",
            "Along each axis; picture pixel i covers detector pixels i*binning to (i+1)*binning - 1.",
        )
    )
    url: str = strawberry.field(
        description="Path of the PNG, the same at the site and at the hub (/previews/{image set id}/...)."
    )


@strawberry.type(description="Total counts of one image (since 1.2.0), summed over pixels that count (>= 0).")
class ImageCounts:
    image: int = strawberry.field(description=d("image number"))
    counts: float = strawberry.field(description=d("counts", "Sum of the detector counts of the image."))


async def previews_of(pool: Any, global_id: str, local_id: str) -> list[Preview]:
    if pool is None or not local_id.isdigit():
        return []
    stored = (await preview_store.previews_of(pool, [int(local_id)]))[int(local_id)]
    return [Preview(**preview_json(global_id, p)) for p in stored]


async def counts_of(pool: Any, local_id: str) -> list[ImageCounts]:
    if pool is None or not local_id.isdigit():
        return []
    series = (await preview_store.counts_per_image(pool, [int(local_id)]))[int(local_id)]
    return [ImageCounts(image=n, counts=float(c)) for n, c in series]


def geometry_of(header: dict[str, Any] | None, d_spacings: list[float] | None) -> JSON | None:
    """Rings and beam centre (rings.DetectorGeometry.to_json), or None when the header lacks geometry."""
    from site_adapter.reprocess.geometry import MissingGeometry

    if header is None:
        return None
    try:
        g = from_header(header)
    except MissingGeometry:
        return None
    spacings = tuple(v for v in (d_spacings or ()) if v > 0)[:50] or DEFAULT_RINGS
    return JSON(g.to_json(spacings))
