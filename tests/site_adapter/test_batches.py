"""batches.load: what DataLoader.load_many answers, with one store call per set of new keys, shared with
DataLoader's own loads through its cache, failures kept as DataLoader keeps them."""

from __future__ import annotations

import asyncio

import pytest
from strawberry.dataloader import DataLoader

from site_adapter.graphql.batches import load


def counting_loader(fail: set[str] | None = None) -> tuple[DataLoader[str, str], list[list[str]]]:
    calls: list[list[str]] = []

    async def fetch(keys: list[str]) -> list[str]:
        calls.append(list(keys))
        await asyncio.sleep(0)
        if fail and fail & set(keys):
            raise RuntimeError("store down")
        return [k.upper() for k in keys]

    return DataLoader(load_fn=fetch), calls


def test_values_in_order_with_none_for_none_and_each_key_asked_once() -> None:
    async def go() -> None:
        loader, calls = counting_loader()
        assert await load(loader, ["a", None, "b", "a"]) == ["A", None, "B", "A"]
        assert calls == [["a", "b"]]
        assert await load(loader, ["b", "c"]) == ["B", "C"]  # b from the cache
        assert calls == [["a", "b"], ["c"]]
        assert await load(None, ["x", None]) == [None, None]
        assert await loader.load("c") == "C"  # DataLoader's own load sees what load() cached
        assert calls == [["a", "b"], ["c"]]

    asyncio.run(go())


def test_concurrent_loads_ask_the_store_for_each_key_once() -> None:
    async def go() -> None:
        loader, calls = counting_loader()
        first, second, third = await asyncio.gather(
            load(loader, ["a", "b"]), load(loader, ["b", "a"]), loader.load("a")
        )
        assert (first, second, third) == (["A", "B"], ["B", "A"], "A")
        # DataLoader's load("a") is made first (gather's arguments), so a goes in its batch, b in ours
        assert sorted(k for call in calls for k in call) == ["a", "b"]
        calls.clear()
        fourth, fifth = await asyncio.gather(load(loader, ["c", "d"]), load(loader, ["d", "c"]))
        assert (fourth, fifth) == (["C", "D"], ["D", "C"]) and calls == [["c", "d"]]

    asyncio.run(go())


def test_a_failed_batch_fails_every_waiter_and_stays_failed_as_in_dataloader() -> None:
    async def go() -> None:
        loader, calls = counting_loader(fail={"bad"})
        results = await asyncio.gather(
            load(loader, ["ok", "bad"]), load(loader, ["bad"]), return_exceptions=True
        )
        assert all(isinstance(r, RuntimeError) for r in results)
        with pytest.raises(RuntimeError):
            await loader.load("bad")  # DataLoader keeps a failed key's future
        assert calls == [["ok", "bad"]]

    asyncio.run(go())
