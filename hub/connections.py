"""The root fields that read site records: a connection fanned out over the chosen sites and merged into
one page, and node(id) from the one site the id names. One function per step of the fan-out.

Planning and merging are pure (plan.py, merge.py); every call goes through the site client. Who may see
what is decided by the sites, never here.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLResolveInfo, get_named_type

from mx_hub import capability_warnings, lims_search, plan, prune, stitch
from mx_hub.capabilities import capabilities
from mx_hub.client import SiteAnswer, SiteFailure
from mx_hub.context import HubContext
from mx_hub.execution import Local, SiteNode
from mx_hub.fanout import down_entry, failure_entry, gather_with_deadline, site_error_entries
from mx_hub.limits import MAX_PAGE_SIZE
from mx_hub.merge import (
    MergedPage,
    SiteEdge,
    SitePage,
    decode_hub_cursor,
    merge_pages,
    merged_count,
    rebuild_after_probe,
    taken_per_site,
)
from mx_hub.registry import SiteRecord
from mx_hub.sdl import ROOT_FILTERS
from mx_schema.cursors import SortOrder, sort_order
from mx_schema.errors import NOT_FOUND, PAGE_SIZE_LIMIT, SITE_ERROR, UNAUTHENTICATED, ContractError
from mx_schema.ids import decode_id

DEFAULT_PAGE_SIZE = 20
# Two phases when several sites answer: positions first (cheap), then only the records that make the
# page, so N sites render `first` records between them instead of N x `first`. Small pages go in one
# phase: a second round trip costs more than rendering a few records.
TWO_PHASE_MIN_PAGE = 25

Resolver = Callable[..., Awaitable[Local]]
NODE_PATH = ("edges", "node")  # below a forwarded connection field: where its records are selected
ORDER_BY = "Query.dataCollections(orderBy)"  # as a site of 1.0/1.1 lacks it (capabilities.missing_inputs)


@dataclass
class Fanout:
    """One root connection of one request: what to ask, of which sites, from which positions."""

    ctx: HubContext
    root_field: str
    size: int
    site_filter: dict[str, Any]
    start: dict[str, str | None]
    sites: list[SiteRecord]
    rewrite: stitch.Rewrite
    info: GraphQLResolveInfo[HubContext]
    path: list[Any]
    # Sites of another minor version: the filter each is sent (without null fields it lacks), issue 21.
    filters: dict[str, dict[str, Any]] = field(default_factory=dict)
    order: SortOrder | None = None  # dataCollections(orderBy:); None: the default order (since 1.2.0)
    # Sort keys of the sites' cursors, decoded once for both merges of a two-phase page (merge.py).
    keys: dict[tuple[str, str], tuple[Any, ...]] = field(default_factory=dict)

    def planned(
        self, site: SiteRecord, first: int, with_nodes: bool
    ) -> tuple[plan.ForwardedQuery, prune.Pruned | None]:
        """The query `site` is sent, and for a site that lacks fields what was taken out of it."""
        caps = capabilities(site.sdl)
        count_kind = f"{get_named_type(self.info.return_type).name}.totalCountKind" not in caps.missing_fields
        q = plan.plan_connection(
            self.root_field,
            ROOT_FILTERS[self.root_field],
            self.rewrite.field_nodes,
            self.rewrite.fragments,
            self.info.operation,
            self.ctx.raw_variables,
            self.filters.get(site.name, self.site_filter) or None,
            first,
            self.start.get(site.name),
            with_nodes,
            _order_input(self.order),
            count_kind,
        )
        if not with_nodes or caps.complete:
            return q, None
        root_path = (self.root_field, *NODE_PATH)
        pruned = prune.prune_document(q.text, self.info.schema, caps, root_path, _node_type(self))
        return plan.ForwardedQuery(pruned.text, q.variables), pruned

    def call(self, site: SiteRecord, first: int, with_nodes: bool) -> Awaitable[SiteAnswer]:
        q, _ = self.planned(site, first, with_nodes)
        return self.ctx.client.query(
            site.name, site.url, q.text, q.variables, timeout=self.ctx.settings.site_timeout
        )


def connection_resolver(root_field: str) -> Resolver:
    async def resolve(
        _: Any,
        info: GraphQLResolveInfo[HubContext],
        filter: dict[str, Any] | None = None,
        first: int | None = None,
        after: str | None = None,
        orderBy: dict[str, Any] | None = None,  # noqa: N803 (the argument's GraphQL name)
    ) -> Local:
        order = sort_order(orderBy["field"], orderBy.get("direction") == "DESC") if orderBy else None
        fan = _fanout(info, root_field, dict(filter or {}), first, after, order)
        lims_filter = fan.site_filter.pop("lims", None)
        if lims_filter is not None and not await _narrow_by_lims(fan, lims_filter):
            return _empty_connection(after)
        fan.sites = _capable_sites(fan, _live_sites(fan.ctx, fan.sites, fan.path))
        pages = await (_two_phases(fan) if _wants_two_phases(fan) else _one_phase(fan))
        try:
            merged = merge_pages(root_field, pages, fan.size, fan.start, fan.order, keys=fan.keys)
        except ContractError:
            raise ContractError("a site answered an invalid cursor", code=SITE_ERROR) from None
        if fan.rewrite.needed:
            await _stitch(fan.ctx, [node for _, _, node in merged.edges], fan.rewrite, fan.path)
        return _connection(pages, merged, after)

    return resolve


def _fanout(
    info: GraphQLResolveInfo[HubContext],
    root_field: str,
    site_filter: dict[str, Any],
    first: int | None,
    after: str | None,
    order: SortOrder | None = None,
) -> Fanout:
    ctx: HubContext = info.context
    size = _page_size(ctx, first)
    chosen = _chosen_sites(ctx, site_filter)
    if after is not None:
        start = decode_hub_cursor(root_field, after, order)
        chosen = [s for s in chosen if s.name in start]
    else:
        start = {s.name: None for s in chosen}
    path = list(info.path.as_list())
    rw = stitch.rewrite(info.schema, info.field_nodes, info.fragments, info.return_type)
    if site_filter.get("mine") and ctx.caller.anonymous:  # said once here, not once per site
        raise ContractError(
            "`mine` needs a signed-in caller: send a token (Authorization: Bearer ...); "
            "anonymous callers see public data only",
            code=UNAUTHENTICATED,
        )
    return Fanout(ctx, root_field, size, site_filter, start, chosen, rw, info, path, order=order)


def _page_size(ctx: HubContext, first: int | None) -> int:
    size = DEFAULT_PAGE_SIZE if first is None else first
    if size < 0:
        raise ContractError(f"`first` must be zero or more, got {size}")
    if size > MAX_PAGE_SIZE:
        ctx.warnings.append({"code": PAGE_SIZE_LIMIT, "message": f"`first` {size} capped to {MAX_PAGE_SIZE}"})
        size = MAX_PAGE_SIZE
    return size


def _chosen_sites(ctx: HubContext, site_filter: dict[str, Any]) -> list[SiteRecord]:
    """The sites the `site`/`sites` filter names (taken out of the filter: sites do not know it)."""
    sites = ctx.registry.sites("site")
    one, many = site_filter.pop("site", None), site_filter.pop("sites", None)
    if one is None and many is None:
        return sites
    wanted = set(many or []) | ({one} if one is not None else set())
    unknown = sorted(wanted - {s.name for s in sites})
    if unknown:
        raise ContractError(
            f"unknown site(s): {', '.join(unknown)}; registered: {', '.join(s.name for s in sites) or 'none'}"
        )
    return [s for s in sites if s.name in wanted]


async def _narrow_by_lims(fan: Fanout, lims_filter: dict[str, Any]) -> bool:
    """Turn the `lims` filter into sample keys the sites know; False when no collection can match."""
    ctx = fan.ctx
    found = await lims_search.search_keys(
        ctx.client, ctx.registry.sites("lims"), lims_filter, fan.path, ctx.settings.site_timeout
    )
    ctx.site_errors.extend(found.errors)
    ctx.warnings.extend(found.warnings)
    for name, status in found.status.items():
        ctx.report(name, status)
    if not found.complete:
        ctx.total_complete = False
    keys = found.keys
    if keys is None:  # no LIMS could answer: nothing can be said about which collections match
        return False
    given = fan.site_filter.get("sampleKeys")
    if given:  # both: AND, as every other pair of filters
        keys = {
            "crystalUuids": sorted(
                set(keys["crystalUuids"]) & {u.lower() for u in given.get("crystalUuids") or []}
            ),
            "barcodes": sorted(set(keys["barcodes"]) & set(given.get("barcodes") or [])),
        }
    if not keys["crystalUuids"] and not keys["barcodes"]:
        return False  # no crystal matches: no site can have a collection of one
    fan.site_filter["sampleKeys"] = keys
    return True


def _live_sites(ctx: HubContext, chosen: list[SiteRecord], path: list[Any]) -> list[SiteRecord]:
    """The chosen sites not known to be down; the down ones are named, not asked."""
    live = []
    for s in chosen:
        if s.status == "down":
            ctx.failed(s.name, down_entry(s.name, path), "down")
        else:
            live.append(s)
    return live


def serving_sites(ctx: HubContext, sites: list[SiteRecord], needs: str, path: list[Any]) -> list[SiteRecord]:
    """The sites whose SDL serves `needs` (Type.field, e.g. Query.distinctProteins); the others are left
    out with a named SITE_EXCLUDED warning (an optional root field of a later minor version)."""
    kept = []
    for s in sites:
        if needs in capabilities(s.sdl).missing_fields:
            ctx.warn(capability_warnings.excluded(s.name, s.schema_version, [needs], path))
            ctx.report(s.name, "excluded")
        else:
            kept.append(s)
    return kept


def _order_input(order: SortOrder | None) -> dict[str, Any] | None:
    """The DataCollectionOrder a site is sent; None (no argument) for the default order."""
    if order is None:
        return None
    return {"field": order.field, "direction": "DESC" if order.descending else "ASC"}


def _node_type(fan: Fanout) -> str:
    """The type of the connection's records (DataCollection for dataCollections)."""
    edges = get_named_type(fan.info.return_type)
    edge = get_named_type(getattr(edges, "fields", {})["edges"].type)
    name: str = get_named_type(getattr(edge, "fields", {})["node"].type).name
    return name


def _capable_sites(fan: Fanout, live: list[SiteRecord]) -> list[SiteRecord]:
    """The live sites that can answer this query: a site of another minor version is left out (named)
    when the filter or an argument needs what it lacks; the fields it lacks are named once (issue 21)."""
    ctx, kept = fan.ctx, []
    for s in live:
        caps = capabilities(s.sdl)
        if caps.complete:
            kept.append(s)
            continue
        needs, site_filter = prune.filter_needs(
            fan.info.schema, ROOT_FILTERS[fan.root_field], fan.site_filter, caps
        )
        if fan.order is not None and ORDER_BY in caps.missing_inputs:
            needs = [*needs, ORDER_BY]  # a 1.0/1.1 site cannot order: left out, never answered unordered
        fan.filters[s.name] = site_filter
        try:
            if needs:
                raise prune.Unanswerable(needs)
            _, found = fan.planned(s, fan.size, True)
        except prune.Unanswerable as lacking:
            ctx.warn(capability_warnings.excluded(s.name, s.schema_version, lacking.needs, fan.path))
            ctx.report(s.name, "excluded")
            ctx.total_complete = False
            continue
        if found is not None and found.fields:
            ctx.warn(capability_warnings.unavailable(s.name, s.schema_version, found.fields, found.paths))
        kept.append(s)
    return kept


def _wants_two_phases(fan: Fanout) -> bool:
    return (
        len(fan.sites) > 1
        and fan.size >= TWO_PHASE_MIN_PAGE
        and plan.selects_nodes(fan.rewrite.field_nodes, fan.rewrite.fragments)
    )


async def _one_phase(fan: Fanout) -> list[SitePage]:
    return await fetch_pages(
        fan.ctx, fan.root_field, {s.name: fan.call(s, fan.size, True) for s in fan.sites}, fan.path
    )


async def _two_phases(fan: Fanout) -> list[SitePage]:
    """Positions from every site, then records only from the sites that contribute to the page."""
    probe_pages = await fetch_pages(
        fan.ctx, fan.root_field, {s.name: fan.call(s, fan.size, False) for s in fan.sites}, fan.path
    )
    probe = merge_pages(
        fan.root_field, probe_pages, fan.size, fan.start, fan.order, cursors=False, keys=fan.keys
    )
    taken = taken_per_site(probe)
    by_name = {s.name: s for s in fan.sites}
    calls = {name: fan.call(by_name[name], k, True) for name, k in taken.items()}
    full = {p.site: p for p in await fetch_pages(fan.ctx, fan.root_field, calls, fan.path)}
    return rebuild_after_probe(probe_pages, taken, full)


async def fetch_pages(
    ctx: HubContext, root_field: str, calls: dict[str, Awaitable[SiteAnswer]], path: list[Any]
) -> list[SitePage]:
    """Send `calls` under the deadline; return the pages that came back, naming every site that failed."""
    started = time.perf_counter()
    result = await gather_with_deadline(
        calls, timeout=ctx.settings.site_timeout, soft_deadline=ctx.settings.soft_deadline
    )
    ctx.site_wait_ms += (time.perf_counter() - started) * 1000
    for failure in result.failures.values():
        ctx.record_failure(failure, path)
    pages = [_page(ctx, root_field, name, answer, path) for name, answer in result.answers.items()]
    return [p for p in pages if p is not None]


def _page(
    ctx: HubContext, root_field: str, name: str, answer: SiteAnswer, path: list[Any]
) -> SitePage | None:
    """One site's answer as a page, or None (named) when it holds none."""
    if answer.errors:
        ctx.site_errors.extend(site_error_entries(name, answer, path))
    conn = (answer.data or {}).get(root_field)
    if not isinstance(conn, dict):
        ctx.report(name, "error", answer.ms)
        ctx.total_complete = False
        return None
    try:
        edges = [SiteEdge(e["cursor"], e.get("node")) for e in conn.get("edges") or []]
        exact = conn.get("totalCountKind", "EXACT") == "EXACT"  # a site before 1.2.0 counts exactly
        page = SitePage(name, edges, bool(conn["pageInfo"]["hasNextPage"]), int(conn["totalCount"]), exact)
    except (KeyError, TypeError, ValueError, AttributeError):
        failure = SiteFailure(name, SITE_ERROR, f"site {name} answered a malformed page")
        ctx.failed(name, failure_entry(failure, path), "error", answer.ms)
        return None
    ctx.report(name, "ok", answer.ms)
    return page


def _connection(pages: list[SitePage], merged: MergedPage, after: str | None) -> Local:
    edges = [
        Local(cursor=c, node=SiteNode(node, site) if isinstance(node, dict) else node)
        for c, site, node in merged.edges
    ]
    total, kind = merged_count(pages)
    return Local(
        totalCount=total,
        totalCountKind=kind,
        pageInfo=Local(
            hasNextPage=merged.has_next_page,
            hasPreviousPage=after is not None,
            startCursor=edges[0]["cursor"] if edges else None,
            endCursor=edges[-1]["cursor"] if edges else None,
        ),
        edges=edges,
    )


def _empty_connection(after: str | None) -> Local:
    return Local(
        totalCount=0,
        totalCountKind="EXACT",
        edges=[],
        pageInfo=Local(
            hasNextPage=False, hasPreviousPage=after is not None, startCursor=None, endCursor=None
        ),
    )


async def _stitch(ctx: HubContext, nodes: list[Any], rw: stitch.Rewrite, path: list[Any]) -> None:
    started = time.perf_counter()
    errors, status = await stitch.attach(
        ctx.client,
        ctx.registry.sites("lims"),
        nodes,
        rw,
        path,
        ctx.settings.site_timeout,
        ctx.settings.soft_deadline,
    )
    ctx.site_wait_ms += (time.perf_counter() - started) * 1000
    ctx.site_errors.extend(errors)
    for name, status_ in status.items():
        ctx.report(name, status_)


async def resolve_node(_: Any, info: GraphQLResolveInfo[HubContext], id: str) -> Any:
    """node(id): asked of the one site the global id names, never of all."""
    ctx: HubContext = info.context
    gid = decode_id(id)
    site = ctx.registry.get(gid.site)
    if site is None or site.kind != "site":
        raise ContractError(f"id names site {gid.site!r}, which is not registered", code=NOT_FOUND)
    rw = stitch.rewrite(info.schema, info.field_nodes, info.fragments, info.return_type)
    q = plan.plan_node(rw.field_nodes, rw.fragments, info.operation, ctx.raw_variables, id)
    path = list(info.path.as_list())
    caps = capabilities(site.sdl)
    if not caps.complete:  # a site of another minor version: only what it serves (issue 21)
        try:
            pruned = prune.prune_document(q.text, info.schema, caps, ("node",), "Node")
        except prune.Unanswerable as lacking:
            ctx.warn(capability_warnings.excluded(site.name, site.schema_version, lacking.needs, path))
            return None
        if pruned.fields:
            ctx.warn(
                capability_warnings.unavailable(site.name, site.schema_version, pruned.fields, pruned.paths)
            )
        q = plan.ForwardedQuery(pruned.text, q.variables)
    started = time.perf_counter()
    try:
        answer = await ctx.client.query(
            site.name, site.url, q.text, q.variables, timeout=ctx.settings.site_timeout
        )
    except SiteFailure as failure:
        ctx.record_failure(failure, path)
        return None
    finally:
        ctx.site_wait_ms += (time.perf_counter() - started) * 1000
    ctx.report(site.name, "ok", answer.ms)
    if answer.errors:
        ctx.site_errors.extend(site_error_entries(site.name, answer, path))
    node = (answer.data or {}).get("node")
    if rw.needed and isinstance(node, dict):
        await _stitch(ctx, [node], rw, path)
    return SiteNode(node, site.name) if isinstance(node, dict) else node
