"""distinctProteins at the hub (since 1.2.0, docs/proteins.md): every site's protein groups after the
caller's key, merged by key into one group per key, paged exactly in key order.

A group key is the same at every site, so the hub cursor is the last key returned (a site's own group
cursor, passed unchanged to every site): each site answers its first `first` groups after it, and the
first `first` keys of their union are exactly the hub's page. Groups with the same key are the SAME
group: merged (per-site counts kept, a total), never interleaved. Merging is pure; calls go through
connections.fetch_pages (one pooled client).
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLResolveInfo,
    InlineFragmentNode,
    SelectionNode,
)

from mx_hub import plan
from mx_hub.client import SiteAnswer
from mx_hub.connections import _chosen_sites, _live_sites, _page_size, fetch_pages, serving_sites
from mx_hub.context import HubContext
from mx_hub.execution import Local, SiteNode
from mx_hub.merge import SitePage
from mx_hub.registry import SiteRecord
from mx_schema.cursors import decode_group_cursor, encode_group_cursor, group_merge_key
from mx_schema.errors import SITE_ERROR, ContractError, InvalidCursor

ROOT = "distinctProteins"
FILTER_TYPE = "ProteinFilter"
NEEDS = "Query.distinctProteins"  # what a 1.0/1.1 site (or an early 1.2.0 one) lacks


@dataclass
class MergedGroup:
    kind: str
    key: str
    parts: list[tuple[str, Any]]  # (site, node as the site answered it), sites by name


def merge_groups(pages: list[SitePage], first: int) -> tuple[list[MergedGroup], bool]:
    """The first `first` keys of all sites' pages, each key's groups merged; and whether more follow.

    Exact because each site sent its first `first` groups after the same key: a key among the first
    `first` of the union is among the first `first` of every site that holds it."""
    found: dict[tuple[str, str], MergedGroup] = {}
    for page in sorted(pages, key=lambda p: p.site):
        for edge in page.edges:
            try:
                kind, key = decode_group_cursor(ROOT, edge.cursor)
            except InvalidCursor:
                raise ContractError(f"site {page.site} answered an invalid cursor", code=SITE_ERROR) from None
            group = found.setdefault((kind, key), MergedGroup(kind, key, []))
            group.parts.append((page.site, edge.node))
    ordered = sorted(found.values(), key=lambda g: group_merge_key(g.kind, g.key))
    has_next = len(ordered) > first or any(p.has_next_page for p in pages)
    return ordered[:first], has_next


def node_fields(
    field_nodes: list[FieldNode], fragments: dict[str, FragmentDefinitionNode]
) -> list[tuple[str, str]]:
    """(response key, field name) of everything the caller selected on a group node, through fragments."""
    out: list[tuple[str, str]] = []
    for field in field_nodes:
        for edges in _fields(field.selection_set.selections if field.selection_set else (), fragments):
            if edges.name.value != "edges" or edges.selection_set is None:
                continue
            for node in _fields(edges.selection_set.selections, fragments):
                if node.name.value == "node" and node.selection_set is not None:
                    out += [
                        ((f.alias or f.name).value, f.name.value)
                        for f in _fields(node.selection_set.selections, fragments)
                    ]
    return out


def _fields(
    selections: tuple[SelectionNode, ...] | list[SelectionNode], fragments: dict[str, FragmentDefinitionNode]
) -> Iterator[FieldNode]:
    for sel in selections:
        if isinstance(sel, FieldNode):
            yield sel
        elif isinstance(sel, InlineFragmentNode):
            yield from _fields(sel.selection_set.selections, fragments)
        elif isinstance(sel, FragmentSpreadNode) and sel.name.value in fragments:
            yield from _fields(fragments[sel.name.value].selection_set.selections, fragments)


def merge_node(parts: list[tuple[str, Any]], fields: list[tuple[str, str]]) -> dict[str, Any]:
    """One group from each site's copy: counts summed, site lists and members concatenated (sites by
    name), accessions united, acronym and name the smallest by code point."""
    nodes = [n for _, n in parts if isinstance(n, dict)]
    merged: dict[str, Any] = dict(nodes[0]) if nodes else {}
    for response_key, name in fields:
        values = [n.get(response_key) for n in nodes]
        present = [v for v in values if v is not None]
        if name in ("sites", "members"):
            merged[response_key] = [item for v in present for item in v]
        elif name == "totalCount":
            merged[response_key] = sum(int(v) for v in present)
        elif name == "uniprotIds":
            merged[response_key] = sorted({u for v in present for u in v})
        elif name in ("acronym", "name"):
            merged[response_key] = min(present) if present else None
    return merged


def _capable(ctx: HubContext, sites: list[SiteRecord], path: list[Any]) -> list[SiteRecord]:
    """Sites that serve distinctProteins; a site left out makes the total incomplete."""
    kept = serving_sites(ctx, sites, NEEDS, path)
    if len(kept) < len(sites):
        ctx.total_complete = False
    return kept


async def resolve_distinct_proteins(
    _: Any,
    info: GraphQLResolveInfo[HubContext],
    filter: dict[str, Any] | None = None,
    first: int | None = None,
    after: str | None = None,
) -> Local:
    ctx: HubContext = info.context
    size = _page_size(ctx, first)
    if after is not None:
        decode_group_cursor(ROOT, after)  # an INVALID_CURSOR here, before any site is asked
    site_filter = dict(filter or {})
    path = list(info.path.as_list())
    sites = _capable(ctx, _live_sites(ctx, _chosen_sites(ctx, site_filter), path), path)
    calls: dict[str, Awaitable[SiteAnswer]] = {}
    for s in sites:
        q = plan.plan_connection(
            ROOT,
            FILTER_TYPE,
            list(info.field_nodes),
            info.fragments,
            info.operation,
            ctx.raw_variables,
            site_filter or None,
            size,
            after,
        )
        calls[s.name] = ctx.client.query(
            s.name, s.url, q.text, q.variables, timeout=ctx.settings.site_timeout
        )
    pages = await fetch_pages(ctx, ROOT, calls, path)
    groups, has_next = merge_groups(pages, size)
    fields = node_fields(list(info.field_nodes), info.fragments)
    edges = [
        Local(
            cursor=encode_group_cursor(ROOT, g.kind, g.key),
            node=SiteNode(merge_node(g.parts, fields), ",".join(site for site, _ in g.parts)),
        )
        for g in groups
    ]
    return Local(
        totalCount=sum(p.total_count for p in pages),
        pageInfo=Local(
            hasNextPage=has_next,
            hasPreviousPage=after is not None,
            startCursor=edges[0]["cursor"] if edges else None,
            endCursor=edges[-1]["cursor"] if edges else None,
        ),
        edges=edges,
    )
