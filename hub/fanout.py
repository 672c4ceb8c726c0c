"""Fan-out: one root field of a hub query sent to many sites at once, under a deadline.

Once the first site has answered, the rest get at most the soft deadline more; a site that has not
answered by then is named (SITE_TIMEOUT) and the others' data is returned.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mx_hub.client import SiteAnswer, SiteFailure
from mx_schema.errors import SITE_ERROR, SITE_TIMEOUT, SITE_UNAVAILABLE

# How a failed call to a site shows in the response's per-site report.
FAILURE_STATUS: dict[str, str] = {SITE_TIMEOUT: "timeout", SITE_UNAVAILABLE: "unavailable"}


@dataclass
class SiteReport:
    """What one site did for one request: shown in the response's extensions."""

    name: str
    status: str  # ok | error | timeout | unavailable | down
    ms: float | None = None


@dataclass
class FanOutResult:
    answers: dict[str, SiteAnswer] = field(default_factory=dict)
    failures: dict[str, SiteFailure] = field(default_factory=dict)


async def gather_with_deadline(
    calls: Mapping[str, Awaitable[SiteAnswer]], *, timeout: float, soft_deadline: float
) -> FanOutResult:
    result = FanOutResult()
    if not calls:
        return result
    tasks = {asyncio.ensure_future(coro): site for site, coro in calls.items()}
    loop = asyncio.get_running_loop()
    hard_end = loop.time() + timeout
    pending = set(tasks)
    first_done_at: float | None = None
    while pending:
        now = loop.time()
        end = hard_end if first_done_at is None else min(hard_end, first_done_at + soft_deadline)
        if now >= end:
            break
        done, pending = await asyncio.wait(pending, timeout=end - now, return_when=asyncio.FIRST_COMPLETED)
        if done and first_done_at is None:
            first_done_at = loop.time()
        for task in done:
            site = tasks[task]
            exc = task.exception()
            if exc is None:
                result.answers[site] = task.result()
            elif isinstance(exc, SiteFailure):
                result.failures[site] = exc
            else:
                result.failures[site] = SiteFailure(
                    site, SITE_ERROR, f"site {site} failed ({type(exc).__name__})"
                )
    for task in pending:
        task.cancel()
        site = tasks[task]
        waited = timeout if first_done_at is None else soft_deadline
        result.failures[site] = SiteFailure(
            site, SITE_TIMEOUT, f"site {site} did not answer in time ({waited:g} s)"
        )
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
    return result


def site_error_entries(site: str, answer: SiteAnswer, path: list[Any]) -> list[dict[str, Any]]:
    """A site's own GraphQL errors, re-issued by the hub with the site named."""
    out = []
    for err in answer.errors:
        ext = dict(err.get("extensions") or {}) if isinstance(err, dict) else {}
        code = ext.get("code") or SITE_ERROR
        message = err.get("message") if isinstance(err, dict) else None
        out.append(
            {
                "message": f"site {site}: {message or 'error'}",
                "path": path,
                "extensions": {"code": code, "site": site},
            }
        )
    return out


def failure_entry(failure: SiteFailure, path: list[Any]) -> dict[str, Any]:
    return {"message": str(failure), "path": path, "extensions": {"code": failure.code, "site": failure.site}}


def down_entry(site: str, path: list[Any]) -> dict[str, Any]:
    return {
        "message": f"site {site} is down (last health check failed); its records are missing",
        "path": path,
        "extensions": {"code": SITE_UNAVAILABLE, "site": site},
    }
