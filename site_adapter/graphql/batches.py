"""Relations written once, over a list of parents (issue 17): the page executor calls them once per page
level, and a field's own resolver calls them with one parent, so both paths give the same answer.

A batch function takes the request's SiteContext and the parents, plus the field's arguments by their
Python names, and returns one value per parent, in order. No SQL here: it loads through the request's
DataLoaders, which share one cache between the two paths.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from strawberry.dataloader import DataLoader

from site_adapter.graphql.context import SiteContext

PAGE_BATCH = "mxhub.page_batch"  # the key in a strawberry field's metadata

Batch = Callable[..., Awaitable[list[Any]]]


def batched(fn: Batch) -> dict[str, Batch]:
    """Field metadata naming `fn` as the field's batch form: `@strawberry.field(metadata=batched(fn))`.
    The page executor calls what it holds with the request's context value (`info.context`)."""

    def over_context(context: Any, parents: Sequence[Any], **args: Any) -> Awaitable[list[Any]]:
        site: SiteContext = context["site"]
        return fn(site, parents, **args)

    return {PAGE_BATCH: over_context}


async def load(loader: DataLoader[str, Any] | None, keys: Sequence[str | None]) -> list[Any]:
    """The loader's value for each key, in order; None for a None key or a missing loader. Each distinct
    key is asked once."""
    if loader is None:
        return [None] * len(keys)
    distinct = list(dict.fromkeys(k for k in keys if k is not None))
    if not distinct:
        return [None] * len(keys)
    found = dict(zip(distinct, await loader.load_many(distinct), strict=True))
    return [None if k is None else found[k] for k in keys]
