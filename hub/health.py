"""Health checks of every registered source: one round asks each for its schema version and SDL (a LIMS
for its SDL) and marks it up or down in the registry, naming why; a site's SDL and version are refreshed,
so an upgraded site's capabilities are seen (issue 21) -- unless the site now serves what registration
would refuse (another major version, a missing core): then it is down, named, with its last good SDL
kept. With N hubs on one registry, one of them runs each round (shared.py) and all read its marks.
Changes nothing but the registry's records."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from mx_hub.client import SiteAnswer, SiteClient, SiteFailure
from mx_hub.compat import differences
from mx_hub.registration import refusal
from mx_hub.registry import Registry
from mx_hub.shared import MemoryState, SharedState
from mx_schema.errors import SITE_ERROR, SITE_INCOMPATIBLE

log = logging.getLogger("mxhub.hub")


async def check_health(registry: Registry, client: SiteClient, timeout: float = 5.0) -> None:
    """One round of health checks: every registered source, concurrently, each given `timeout` s."""
    await asyncio.gather(
        *(_check_one(registry, client, s.name, s.url, s.kind, timeout) for s in registry.sites(kind=None)),
        return_exceptions=True,
    )


async def _check_one(
    registry: Registry, client: SiteClient, name: str, url: str, kind: str, timeout: float
) -> None:
    start = time.perf_counter()
    query = "{ siteInfo { schemaVersion } _service { sdl } }" if kind == "site" else "{ _service { sdl } }"
    try:
        answer = await client.query(name, url, query, timeout=timeout)
        if answer.errors or not answer.data:
            raise SiteFailure(name, SITE_ERROR, _why_unhealthy(name, answer))
    except SiteFailure as failure:
        await registry.mark(name, "down", error=str(failure))
        return
    latency = (time.perf_counter() - start) * 1000
    served = _served(answer) if kind == "site" else None
    if served is not None:
        problems = differences(served[1], served[0])
        if problems:  # what registration would refuse: the stored, served SDL stays as it was
            await registry.mark(name, "down", error=_incompatible(name, served[0], problems))
            return
    await registry.mark(name, "up", latency_ms=latency, served=served)


def _incompatible(name: str, version: str, problems: list[str]) -> str:
    return (
        f"{SITE_INCOMPATIBLE}: site {name} now serves schema {version}, which this hub cannot serve: "
        + "; ".join(problems[:5])
    )


def _served(answer: SiteAnswer) -> tuple[str, str] | None:
    """(schema version, SDL) from a site's health answer, when it carries both."""
    data = answer.data or {}
    version = (data.get("siteInfo") or {}).get("schemaVersion")
    sdl = (data.get("_service") or {}).get("sdl")
    return (version, sdl) if isinstance(version, str) and isinstance(sdl, str) and sdl else None


def _why_unhealthy(name: str, answer: SiteAnswer) -> str:
    """Named as registration names it (a refused caller token says which key, which name)."""
    why = refusal(name, answer, None, doing="check the health of") if answer.errors else None
    if why is not None:
        return str(why)
    first: Any = answer.errors[0] if answer.errors and isinstance(answer.errors[0], dict) else {}
    ext = first.get("extensions")
    code = ext.get("code") if isinstance(ext, dict) else None
    detail = f" ({code}: {str(first.get('message'))[:200]})" if code else ""
    return f"site {name} answered errors to a health check{detail}"


async def health_loop(
    registry: Registry,
    client: SiteClient,
    interval: float,
    timeout: float,
    shared: SharedState | None = None,
) -> None:
    """Health checks every `interval` s until cancelled; a failed round is logged, not fatal. With shared
    state, the hub that claims a round runs it (N hubs do not each check every site each interval)."""
    shared = shared or MemoryState(0)
    while True:
        await asyncio.sleep(interval)
        try:
            if not await shared.claim("health-round", interval * 0.9):
                continue
            # The site timeout, not a fixed 5 s: a site slow on a loaded machine is slow, not down.
            await check_health(registry, client, timeout)
        except Exception:  # noqa: BLE001 - a failed round must not end the loop
            log.exception("health check round failed")
