"""Resolvers of the hub schema: root connections fan out and merge, node(id) goes to one site,
and everything below a site's record is read from the site's answer by response key.

Over 400 lines because the registry and admin operations (sites, API tokens, viewer) share its
context and settings; who the caller is, is decided before (auth.py), never here."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLResolveInfo, GraphQLSchema
from graphql.execution import Executor

from mx_hub import plan, stitch
from mx_hub.auth import ANONYMOUS, ApiTokenInfo, ApiTokens, Caller
from mx_hub.client import SiteClient, SiteFailure
from mx_hub.fanout import (
    SiteReport,
    down_entry,
    failure_entry,
    gather_with_deadline,
    site_error_entries,
)
from mx_hub.limits import MAX_PAGE_SIZE
from mx_hub.merge import SiteEdge, SitePage, decode_hub_cursor, merge_pages
from mx_hub.registration import register_site
from mx_hub.registry import Registry, SiteRecord
from mx_hub.sdl import ROOT_FILTERS
from mx_schema import SCHEMA_VERSION
from mx_schema.errors import FORBIDDEN, NOT_FOUND, PAGE_SIZE_LIMIT, SITE_ERROR, UNAUTHENTICATED, ContractError
from mx_schema.ids import decode_id

DEFAULT_PAGE_SIZE = 20
TWO_PHASE_MIN_PAGE = 25


class Local(dict):
    """An object the hub built itself: its fields resolve by field name, not by response key."""


class SiteNode(dict):
    """A record exactly as a site answered it (already shaped by the forwarded selection): the hub
    passes it through without walking it again (see HubExecutionContext)."""

    def completed(self) -> dict:
        out = dict(self)
        out.pop(plan.TYPENAME_KEY, None)
        return out


class HubExecutor(Executor):
    """Site answers are already complete for the caller's selection; re-walking a page of them in
    Python cost the hub tens of milliseconds per request, so they are returned as they are."""

    def complete_value(self, return_type, *rest):  # type: ignore[override]
        result = rest[3]  # (field details, info, path, result, position context): graphql-core 3.3
        if isinstance(result, SiteNode):
            return result.completed()
        return super().complete_value(return_type, *rest)


@dataclass
class HubSettings:
    site_timeout: float = 10.0
    soft_deadline: float = 1.0
    health_interval: float = 15.0
    admin_token: str | None = None
    signing_key: str | None = None  # PEM of the hub's Ed25519 key; else kept in the registry database
    oidc_issuer: str | None = None
    oidc_jwks: str | None = None  # a JWKS file path or URL
    oidc_audience: str | None = None
    rate_limit: int = 600  # requests per minute per caller (0: off)


@dataclass
class HubContext:
    registry: Registry
    client: SiteClient
    settings: HubSettings
    caller: Caller = ANONYMOUS
    api_tokens: ApiTokens | None = None
    raw_variables: dict[str, Any] = field(default_factory=dict)  # as the caller sent them: forwarded as-is
    site_errors: list[dict[str, Any]] = field(default_factory=list)
    reports: dict[str, SiteReport] = field(default_factory=dict)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    total_complete: bool = True
    site_wait_ms: float = (
        0.0  # time spent waiting for sites (per phase, the slowest): the rest is the hub's own
    )

    @property
    def is_admin(self) -> bool:
        return self.caller.admin

    def report(self, name: str, status: str, ms: float | None = None) -> None:
        previous = self.reports.get(name)
        if previous is None or previous.status == "ok":
            self.reports[name] = SiteReport(name, status, None if ms is None else round(ms, 2))


def field_resolver(source: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
    """Site answers are keyed by the caller's response keys (aliases); hub objects by field name."""
    if isinstance(source, Local):
        return source.get(info.field_name)
    if isinstance(source, dict):
        return source.get(info.path.key)
    return getattr(source, info.field_name, None)


def type_resolver(value: Any, info: GraphQLResolveInfo, abstract_type: Any) -> str | None:
    return value.get(plan.TYPENAME_KEY) if isinstance(value, dict) else None


def _path(info: GraphQLResolveInfo) -> list[Any]:
    return list(info.path.as_list())


def _page_size(ctx: HubContext, first: int | None) -> int:
    size = DEFAULT_PAGE_SIZE if first is None else first
    if size < 0:
        raise ContractError(f"`first` must be zero or more, got {size}")
    if size > MAX_PAGE_SIZE:
        ctx.warnings.append({"code": PAGE_SIZE_LIMIT, "message": f"`first` {size} capped to {MAX_PAGE_SIZE}"})
        size = MAX_PAGE_SIZE
    return size


def _chosen_sites(ctx: HubContext, site_filter: dict[str, Any]) -> list[SiteRecord]:
    sites = ctx.registry.sites("site")
    wanted: set[str] | None = None
    one, many = site_filter.pop("site", None), site_filter.pop("sites", None)
    if one is not None or many is not None:
        wanted = set(many or []) | ({one} if one is not None else set())
        unknown = sorted(wanted - {s.name for s in sites})
        if unknown:
            raise ContractError(
                f"unknown site(s): {', '.join(unknown)}; registered: "
                f"{', '.join(s.name for s in sites) or 'none'}"
            )
    return [s for s in sites if wanted is None or s.name in wanted]


def connection_resolver(root_field: str):
    filter_type = ROOT_FILTERS[root_field]

    async def resolve(
        _: Any,
        info: GraphQLResolveInfo,
        filter: dict[str, Any] | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Local:
        ctx: HubContext = info.context
        size = _page_size(ctx, first)
        site_filter = dict(filter or {})
        chosen = _chosen_sites(ctx, site_filter)
        if after is not None:
            start = decode_hub_cursor(root_field, after)
            chosen = [s for s in chosen if s.name in start]
        else:
            start = {s.name: None for s in chosen}
        path = _path(info)
        rw = stitch.rewrite(info.schema, info.field_nodes, info.fragments, info.return_type)
        if site_filter.get("mine") and ctx.caller.anonymous:  # said once here, not once per site
            raise ContractError(
                "`mine` needs a signed-in caller: send a token (Authorization: Bearer ...); "
                "anonymous callers see public data only",
                code=UNAUTHENTICATED,
            )
        lims_filter = site_filter.pop("lims", None)
        if lims_filter is not None:
            found = await stitch.search_keys(
                ctx.client, ctx.registry.sites("lims"), lims_filter, path, ctx.settings.site_timeout
            )
            ctx.site_errors.extend(found.errors)
            ctx.warnings.extend(found.warnings)
            for name, st in found.status.items():
                ctx.report(name, st)
            if not found.complete:
                ctx.total_complete = False
            keys = found.keys
            if keys is None:  # no LIMS could answer: nothing can be said about which collections match
                return _empty_connection(after)
            given = site_filter.get("sampleKeys")
            if given:  # both: AND, as every other pair of filters
                keys = {
                    "crystalUuids": sorted(
                        set(keys["crystalUuids"]) & {u.lower() for u in given.get("crystalUuids") or []}
                    ),
                    "barcodes": sorted(set(keys["barcodes"]) & set(given.get("barcodes") or [])),
                }
            if not keys["crystalUuids"] and not keys["barcodes"]:
                return _empty_connection(after)  # no crystal matches: no site can have a collection of one
            site_filter["sampleKeys"] = keys
        live = []
        for s in chosen:
            if s.status == "down":
                ctx.site_errors.append(down_entry(s.name, path))
                ctx.report(s.name, "down")
                ctx.total_complete = False
            else:
                live.append(s)
        # Two phases when several sites answer: positions first (cheap), then only the records that
        # make the page, so N sites render `first` records between them instead of N x `first`.
        # Small pages go in one phase: a second round trip costs more than rendering a few records.
        two_phase = (
            len(live) > 1 and size >= TWO_PHASE_MIN_PAGE and plan.selects_nodes(rw.field_nodes, rw.fragments)
        )

        def forward(site: SiteRecord, first: int, with_nodes: bool):
            q = plan.plan_connection(
                root_field,
                filter_type,
                rw.field_nodes,
                rw.fragments,
                info.operation,
                ctx.raw_variables,
                site_filter or None,
                first,
                start.get(site.name),
                with_nodes,
            )
            return ctx.client.query(
                site.name, site.url, q.text, q.variables, timeout=ctx.settings.site_timeout
            )

        pages = await fetch_pages(
            ctx, root_field, {s.name: forward(s, size, not two_phase) for s in live}, path
        )
        if two_phase:
            probe = merge_pages(root_field, pages, size, start)
            taken = Counter(site_name for _, site_name, _ in probe.edges)
            by_name = {s.name: s for s in live}
            full = {
                p.site: p
                for p in await fetch_pages(
                    ctx, root_field, {n: forward(by_name[n], k, True) for n, k in taken.items()}, path
                )
            }
            rebuilt = []
            for p in pages:
                more = p.has_next_page or len(p.edges) > taken.get(p.site, 0)
                if p.site in full:
                    rebuilt.append(SitePage(p.site, full[p.site].edges, more, p.total_count))
                else:
                    # Nothing needed from it, or it failed in phase two (named already): its position
                    # stays where it was, so the next page asks it again and nothing is skipped.
                    rebuilt.append(SitePage(p.site, [], more or p.site in taken, p.total_count))
            pages = rebuilt
        try:
            merged = merge_pages(root_field, pages, size, start)
        except ContractError:
            raise ContractError("a site answered an invalid cursor", code=SITE_ERROR) from None
        if rw.needed:
            await _stitch(ctx, [node for _, _, node in merged.edges], rw, path)
        edges = [
            Local(cursor=c, node=SiteNode(node) if isinstance(node, dict) else node)
            for c, _, node in merged.edges
        ]
        return Local(
            totalCount=sum(p.total_count for p in pages),
            pageInfo=Local(
                hasNextPage=merged.has_next_page,
                hasPreviousPage=after is not None,
                startCursor=edges[0]["cursor"] if edges else None,
                endCursor=edges[-1]["cursor"] if edges else None,
            ),
            edges=edges,
        )

    return resolve


def _empty_connection(after: str | None) -> Local:
    return Local(
        totalCount=0,
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
    for name, st in status.items():
        ctx.report(name, st)


async def fetch_pages(
    ctx: HubContext, root_field: str, calls: dict[str, Any], path: list[Any]
) -> list[SitePage]:
    """Send `calls` under the deadline; return the pages that came back, naming every site that failed."""
    started = time.perf_counter()
    result = await gather_with_deadline(
        calls, timeout=ctx.settings.site_timeout, soft_deadline=ctx.settings.soft_deadline
    )
    ctx.site_wait_ms += (time.perf_counter() - started) * 1000
    pages: list[SitePage] = []
    for failure in result.failures.values():
        _record_failure(ctx, failure, path)
    for name, answer in result.answers.items():
        conn = (answer.data or {}).get(root_field)
        if answer.errors:
            ctx.site_errors.extend(site_error_entries(name, answer, path))
        if not isinstance(conn, dict):
            ctx.report(name, "error", answer.ms)
            ctx.total_complete = False
            continue
        try:
            edges = [SiteEdge(e["cursor"], e.get("node")) for e in conn.get("edges") or []]
            pages.append(
                SitePage(name, edges, bool(conn["pageInfo"]["hasNextPage"]), int(conn["totalCount"]))
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            ctx.site_errors.append(
                failure_entry(SiteFailure(name, SITE_ERROR, f"site {name} answered a malformed page"), path)
            )
            ctx.report(name, "error", answer.ms)
            ctx.total_complete = False
            continue
        ctx.report(name, "ok", answer.ms)
    return pages


def _record_failure(ctx: HubContext, failure: SiteFailure, path: list[Any]) -> None:
    ctx.site_errors.append(failure_entry(failure, path))
    ctx.report(
        failure.site,
        {"SITE_TIMEOUT": "timeout", "SITE_UNAVAILABLE": "unavailable"}.get(failure.code, "error"),
    )
    ctx.total_complete = False


async def resolve_node(_: Any, info: GraphQLResolveInfo, id: str) -> Any:
    ctx: HubContext = info.context
    gid = decode_id(id)
    site = ctx.registry.get(gid.site)
    if site is None or site.kind != "site":
        raise ContractError(f"id names site {gid.site!r}, which is not registered", code=NOT_FOUND)
    rw = stitch.rewrite(info.schema, info.field_nodes, info.fragments, info.return_type)
    q = plan.plan_node(rw.field_nodes, rw.fragments, info.operation, ctx.raw_variables, id)
    path = _path(info)
    started = time.perf_counter()
    try:
        answer = await ctx.client.query(
            site.name, site.url, q.text, q.variables, timeout=ctx.settings.site_timeout
        )
    except SiteFailure as failure:
        _record_failure(ctx, failure, path)
        return None
    finally:
        ctx.site_wait_ms += (time.perf_counter() - started) * 1000
    ctx.report(site.name, "ok", answer.ms)
    if answer.errors:
        ctx.site_errors.extend(site_error_entries(site.name, answer, path))
    node = (answer.data or {}).get("node")
    if rw.needed and isinstance(node, dict):
        await _stitch(ctx, [node], rw, path)
    return SiteNode(node) if isinstance(node, dict) else node


def resolve_sites(_: Any, info: GraphQLResolveInfo) -> list[Local]:
    ctx: HubContext = info.context
    return [_site_object(s) for s in ctx.registry.sites(kind=None)]


def _site_object(s: SiteRecord) -> Local:
    return Local(
        name=s.name,
        url=s.url,
        kind=s.kind,
        status=s.status,
        schemaVersion=s.schema_version,
        backend=s.backend,
        lastSeen=s.last_seen.isoformat() if s.last_seen else None,
        latencyMs=s.latency_ms,
        lastError=s.last_error,
    )


def resolve_site_info(_: Any, info: GraphQLResolveInfo) -> Local:
    return Local(name="hub", backend="hub", schemaVersion=SCHEMA_VERSION)


def _require_admin(ctx: HubContext) -> None:
    if not ctx.is_admin:
        raise ContractError("admin rights needed: send `Authorization: Bearer <admin token>`", code=FORBIDDEN)


def _tokens(ctx: HubContext) -> ApiTokens:
    _require_admin(ctx)
    if ctx.api_tokens is None:
        raise RuntimeError("the hub has no API token store")
    return ctx.api_tokens


def _token_object(t: ApiTokenInfo) -> Local:
    return Local(
        id=t.id,
        login=t.login,
        roles=t.roles,
        scope=t.scope,
        createdAt=t.created_at.isoformat(),
        expiresAt=t.expires_at.isoformat() if t.expires_at else None,
        revokedAt=t.revoked_at.isoformat() if t.revoked_at else None,
    )


def resolve_viewer(_: Any, info: GraphQLResolveInfo) -> Local:
    c: Caller = info.context.caller
    return Local(login=c.login, staffBeamlines=sorted(c.staff_beamlines), admin=c.admin, via=c.via)


async def resolve_api_tokens(_: Any, info: GraphQLResolveInfo) -> list[Local]:
    return [_token_object(t) for t in await _tokens(info.context).issued()]


async def resolve_issue_api_token(
    _: Any,
    info: GraphQLResolveInfo,
    login: str,
    roles: list[str] | None = None,
    expiresInDays: int | None = 90,
) -> Local:
    info_, secret = await _tokens(info.context).issue(login, list(roles or []), expiresInDays)
    out = _token_object(info_)
    out["token"] = secret
    return out


async def resolve_revoke_api_token(_: Any, info: GraphQLResolveInfo, id: str) -> bool:
    return await _tokens(info.context).revoke(id)


async def resolve_register_site(
    _: Any, info: GraphQLResolveInfo, name: str, url: str, kind: str = "site"
) -> Local:
    ctx: HubContext = info.context
    _require_admin(ctx)
    return _site_object(await register_site(ctx, name, url, kind))


async def resolve_deregister_site(_: Any, info: GraphQLResolveInfo, name: str) -> bool:
    ctx: HubContext = info.context
    _require_admin(ctx)
    return await ctx.registry.remove(name)


def bind_resolvers(schema: GraphQLSchema) -> GraphQLSchema:
    query = schema.query_type
    if query is None:
        raise RuntimeError("the hub schema has no Query type")
    for root in ROOT_FILTERS:
        query.fields[root].resolve = connection_resolver(root)
    query.fields["node"].resolve = resolve_node
    query.fields["sites"].resolve = resolve_sites
    query.fields["siteInfo"].resolve = resolve_site_info
    query.fields["viewer"].resolve = resolve_viewer
    query.fields["apiTokens"].resolve = resolve_api_tokens
    mutation = schema.mutation_type
    if mutation is not None:
        mutation.fields["registerSite"].resolve = resolve_register_site
        mutation.fields["deregisterSite"].resolve = resolve_deregister_site
        mutation.fields["issueApiToken"].resolve = resolve_issue_api_token
        mutation.fields["revokeApiToken"].resolve = resolve_revoke_api_token
    for type_ in schema.type_map.values():
        if hasattr(type_, "resolve_type") and not type_.name.startswith("__"):
            type_.resolve_type = type_resolver
    return schema
