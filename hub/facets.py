"""dataCollectionFacets at the hub (since 1.2.0, docs/facets.md): every site's facet counts for the same
filter, summed per (field, value), the `first` most frequent of each field.

Each site is asked for its SITE_FIRST most frequent values per field. A site that listed fewer holds no
other value; one that listed SITE_FIRST may hold more, so a value it did not list may be missing that
site's part: the sum is then flagged ESTIMATE (as is any sum with an estimated part), never shown as
exact. Merging is pure (merge_facets); calls go through connections.fetch_pages' client and deadline.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLResolveInfo

from mx_hub.client import SiteAnswer
from mx_hub.connections import _chosen_sites, _live_sites, serving_sites
from mx_hub.context import HubContext
from mx_hub.execution import Local
from mx_hub.fanout import gather_with_deadline, site_error_entries
from mx_schema.errors import SITE_ERROR, UNAUTHENTICATED, ContractError

ROOT = "dataCollectionFacets"
NEEDS = "Query.dataCollectionFacets"  # what a site before this 1.2.0 field lacks
DEFAULT_FIRST = 10
MAX_FIRST = 100
SITE_FIRST = MAX_FIRST  # values asked of each site per field: most fields have fewer, so most sums are whole

QUERY = f"""query HubFacets($mxhub_filter: DataCollectionFilter, $mxhub_fields: [FacetField!]!, $mxhub_first: Int) {{
  {ROOT}(filter: $mxhub_filter, fields: $mxhub_fields, first: $mxhub_first) {{
    field values {{ value count countKind }}
  }}
}}"""


@dataclass
class Sum:
    count: int = 0
    estimate: bool = False
    sites: set[str] = field(default_factory=set)


def merge_facets(
    parts: dict[str, list[dict[str, Any]]], fields: list[str], first: int, site_first: int = SITE_FIRST
) -> list[dict[str, Any]]:
    """Per field, the sites' counts summed per value and the `first` most frequent (count descending,
    value by code point, null last). `parts`: each site's facets as it answered them."""
    out = []
    for name in fields:
        sums: dict[str | None, Sum] = {}
        full: set[str] = set()  # sites that may hold values they did not list
        for site, facets in parts.items():
            for facet in facets:
                if facet.get("field") != name:
                    continue
                values = facet.get("values") or []
                if len(values) >= site_first:
                    full.add(site)
                for v in values:
                    s = sums.setdefault(v["value"], Sum())
                    s.count += int(v["count"])
                    s.estimate = s.estimate or v.get("countKind") != "EXACT"
                    s.sites.add(site)
        ordered = sorted(sums.items(), key=lambda kv: (-kv[1].count, kv[0] is None, kv[0] or ""))
        out.append(
            {
                "field": name,
                "values": [
                    {
                        "value": value,
                        "count": s.count,
                        "countKind": "ESTIMATE" if s.estimate or (full - s.sites) else "EXACT",
                    }
                    for value, s in ordered[:first]
                ],
            }
        )
    return out


def _answer(ctx: HubContext, name: str, answer: SiteAnswer, path: list[Any]) -> list[dict[str, Any]] | None:
    """A site's facets, or None (named) when it answered none."""
    facets = (answer.data or {}).get(ROOT)
    if answer.errors:
        ctx.site_errors.extend(site_error_entries(name, answer, path))
    if not isinstance(facets, list):
        if not answer.errors:
            ctx.site_errors.append(
                {
                    "message": f"site {name} answered no facets",
                    "path": path,
                    "extensions": {"code": SITE_ERROR, "site": name},
                }
            )
        ctx.report(name, "error", answer.ms)
        return None
    ctx.report(name, "ok", answer.ms)
    return [f for f in facets if isinstance(f, dict)]


async def resolve_data_collection_facets(
    _: Any,
    info: GraphQLResolveInfo[HubContext],
    fields: list[str],
    filter: dict[str, Any] | None = None,
    first: int | None = DEFAULT_FIRST,
) -> list[Local]:
    ctx: HubContext = info.context
    size = DEFAULT_FIRST if first is None else first
    if size < 0 or size > MAX_FIRST:
        raise ContractError(f"`first` of {ROOT} must be 0 to {MAX_FIRST}, got {size}")
    site_filter = dict(filter or {})
    if site_filter.pop("lims", None) is not None:
        raise ContractError(f"{ROOT} does not take the `lims` filter")
    if site_filter.get("mine") and ctx.caller.anonymous:
        raise ContractError("`mine` needs a signed-in caller", code=UNAUTHENTICATED)
    path = list(info.path.as_list())
    wanted = list(dict.fromkeys(fields))
    sites = serving_sites(ctx, _live_sites(ctx, _chosen_sites(ctx, site_filter), path), NEEDS, path)
    variables = {"mxhub_filter": site_filter or None, "mxhub_fields": wanted, "mxhub_first": SITE_FIRST}
    calls: dict[str, Awaitable[SiteAnswer]] = {
        s.name: ctx.client.query(s.name, s.url, QUERY, variables, timeout=ctx.settings.site_timeout)
        for s in sites
    }
    started = time.perf_counter()
    result = await gather_with_deadline(
        calls, timeout=ctx.settings.site_timeout, soft_deadline=ctx.settings.soft_deadline
    )
    ctx.site_wait_ms += (time.perf_counter() - started) * 1000
    for failure in result.failures.values():
        ctx.record_failure(failure, path)
    parts = {}
    for name, answer in result.answers.items():
        facets = _answer(ctx, name, answer, path)
        if facets is not None:
            parts[name] = facets
    return [
        Local(field=f["field"], values=[Local(v) for v in f["values"]])
        for f in merge_facets(parts, wanted, size)
    ]
