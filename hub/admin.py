"""Resolvers of the registry and administration fields: sites, siteInfo, viewer, API tokens, and
registering or removing a site. Admin rights are checked here; who the caller is, is decided in auth.py."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo

from mx_hub.auth import ApiTokenInfo, ApiTokens, Caller
from mx_hub.capabilities import capabilities
from mx_hub.context import HubContext
from mx_hub.execution import Local
from mx_hub.registration import register_site
from mx_hub.registry import SiteRecord
from mx_schema import SCHEMA_VERSION
from mx_schema.errors import FORBIDDEN, ContractError


def resolve_sites(_: Any, info: GraphQLResolveInfo[HubContext]) -> list[Local]:
    ctx: HubContext = info.context
    return [site_object(s) for s in ctx.registry.sites(kind=None)]


def site_object(s: SiteRecord) -> Local:
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
        capabilities=_capabilities(s),
    )


def _capabilities(s: SiteRecord) -> Local | None:
    if s.kind != "site":
        return None
    caps = capabilities(s.sdl)
    return Local(
        complete=caps.complete,
        missingFields=sorted(caps.missing_fields),
        missingInputs=sorted(caps.missing_inputs),
    )


def resolve_site_info(_: Any, info: GraphQLResolveInfo[HubContext]) -> Local:
    return Local(name="hub", backend="hub", schemaVersion=SCHEMA_VERSION)


def resolve_viewer(_: Any, info: GraphQLResolveInfo[HubContext]) -> Local:
    c: Caller = info.context.caller
    return Local(login=c.login, staffBeamlines=sorted(c.staff_beamlines), admin=c.admin, via=c.via)


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


async def resolve_api_tokens(_: Any, info: GraphQLResolveInfo[HubContext]) -> list[Local]:
    return [_token_object(t) for t in await _tokens(info.context).issued()]


async def resolve_issue_api_token(
    _: Any,
    info: GraphQLResolveInfo[HubContext],
    login: str,
    roles: list[str] | None = None,
    expiresInDays: int | None = 90,
) -> Local:
    info_, secret = await _tokens(info.context).issue(login, list(roles or []), expiresInDays)
    out = _token_object(info_)
    out["token"] = secret
    return out


async def resolve_revoke_api_token(_: Any, info: GraphQLResolveInfo[HubContext], id: str) -> bool:
    return await _tokens(info.context).revoke(id)


async def resolve_register_site(
    _: Any, info: GraphQLResolveInfo[HubContext], name: str, url: str, kind: str = "site"
) -> Local:
    ctx: HubContext = info.context
    _require_admin(ctx)
    return site_object(await register_site(ctx, name, url, kind))


async def resolve_deregister_site(_: Any, info: GraphQLResolveInfo[HubContext], name: str) -> bool:
    ctx: HubContext = info.context
    _require_admin(ctx)
    return await ctx.registry.remove(name)
