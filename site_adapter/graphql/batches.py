"""Relations written once, over a list of parents (issue 17): the page executor calls them once per page
level, and a field's own resolver calls them with one parent, so both paths give the same answer.

A batch function takes the request's SiteContext and the parents, plus the field's arguments by their
Python names, and returns one value per parent, in order. No SQL here: it loads through the request's
DataLoaders, which share one cache between the two paths.
"""

from __future__ import annotations

import asyncio
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
    key is asked once, and keys no one has asked for yet go to the store as one batch of this call's own."""
    if loader is None:
        return [None] * len(keys)
    distinct = list(dict.fromkeys(k for k in keys if k is not None))
    if not distinct:
        return [None] * len(keys)
    found = await _load_distinct(loader, distinct)
    return [None if k is None else found[k] for k in keys]


async def _load_distinct(loader: DataLoader[str, Any], keys: list[str]) -> dict[str, Any]:
    """DataLoader.load_many without a future to await per key (issue 17: a page asks for hundreds): values
    already loaded are read from the loader's cache, the rest loaded at once, and their futures put in the
    cache first, so a load of the same keys meanwhile (another field, another level) waits for this one."""
    if not loader.cache:
        return dict(zip(keys, await loader.load_many(keys), strict=True))
    cache = loader.cache_map
    found: dict[str, Any] = {}
    pending: list[tuple[str, Any]] = []
    missing: list[str] = []
    for key in keys:
        future = cache.get(key)
        if future is None or future.cancelled():
            missing.append(key)
        elif future.done():
            found[key] = future.result()  # a failed load raises here, as awaiting it would
        else:
            pending.append((key, future))
    if missing:
        found.update(await _load_missing(loader, missing))
    for key, future in pending:
        found[key] = await future
    return found


async def _load_missing(loader: DataLoader[str, Any], keys: list[str]) -> dict[str, Any]:
    """One batch of keys no one has asked for, their futures in the loader's cache while it runs."""
    loop = asyncio.get_running_loop()
    futures = [loop.create_future() for _ in keys]
    for key, future in zip(keys, futures, strict=True):
        loader.cache_map.set(key, future)
    try:
        values = list(await loader.load_fn(keys))
        if len(values) != len(keys):
            raise RuntimeError(f"a batch of {len(keys)} keys gave {len(values)} values")
    except Exception as error:  # cached as failed, as DataLoader's own dispatch leaves them
        for future in futures:
            future.set_exception(error)
            future.exception()  # read: no "never retrieved" warning for those no one awaits
        raise
    except BaseException:  # cancelled: whoever waits on these keys is cancelled too
        for future in futures:
            future.cancel()
        raise
    found: dict[str, Any] = {}
    failure: BaseException | None = None
    for key, future, value in zip(keys, futures, values, strict=True):
        if isinstance(value, BaseException):
            future.set_exception(value)
            future.exception()
            failure = failure or value
        else:
            future.set_result(value)
            found[key] = value
    if failure is not None:
        raise failure
    return found
