"""`node(id:)` and federation `_entities`: a global id back to one record of this site, for every type
that implements Node in schema/mxhub.graphql (tests/site_adapter/test_node_types.py checks the list)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from strawberry.dataloader import DataLoader
from strawberry.types import Info

from mx_schema.errors import NOT_FOUND, ContractError
from mx_schema.ids import decode_id
from site_adapter.graphql.context import SiteContext

if TYPE_CHECKING:
    from site_adapter.graphql.types import Node


async def load_node(info: Info, global_id: str, expected: str | None = None) -> Node | None:
    """The record behind `global_id`, or None when this site has no such record."""
    from site_adapter.graphql import types as t
    from site_adapter.graphql.collection import DataCollection

    c: SiteContext = info.context["site"]
    gid = decode_id(global_id)
    if expected is not None and gid.type != expected:
        raise ContractError(f"id names a {gid.type}, not a {expected}")
    if gid.site != c.site:
        raise ContractError(f"id belongs to site {gid.site!r}, this is {c.site!r}", code=NOT_FOUND)
    loaders = c.loaders
    table: dict[str, tuple[DataLoader[str, Any], Callable[[str, Any], Node]]] = {
        "DataCollection": (loaders.data_collections, DataCollection.of),
        "Session": (loaders.sessions, t.Session.of),
        "Proposal": (loaders.proposals, t.Proposal.of),
        "Sample": (loaders.samples, t.Sample.of),
        "Crystal": (loaders.crystals, t.Crystal.of),
        "Protein": (loaders.proteins, t.Protein.of),
        "Detector": (loaders.detectors, t.Detector.of),
        "DataCollectionGroup": (loaders.groups, t.DataCollectionGroup.of),
    }
    if gid.type == "ProcessingResult":
        return await _processing_result(c, gid.local_id)
    if gid.type not in table:
        raise ContractError(f"{gid.type} ids cannot be looked up directly", code=NOT_FOUND)
    loader, wrap = table[gid.type]
    record = await loader.load(gid.local_id)
    return None if record is None else wrap(c.site, record)


async def _processing_result(c: SiteContext, local_id: str) -> Node | None:
    """A processing result is visible when its data collection is: the access rule is checked through
    the collection's own (access-controlled) lookup, so no backend needs a rule of its own for it."""
    from site_adapter.graphql import types as t

    result = await c.loaders.processing_results.load(local_id) if c.loaders.processing_results else None
    if result is None or await c.loaders.data_collections.load(result.data_collection_local_id) is None:
        return None
    return t.ProcessingResult.of(c.site, result)
