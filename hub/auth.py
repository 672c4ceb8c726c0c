"""Who is calling the hub: bearer tokens to a `Caller` (issue 8).

Three kinds of bearer token: the bootstrap admin token, API tokens issued by the hub (stored as
sha256 hashes, scoped, revocable, expiring), and OIDC/JWT access tokens verified against the
configured issuer's keys. No header means anonymous; a bad token is an error, never anonymous.
This module decides identity only; what a caller may see is decided at each site.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import asyncpg

from mx_schema import oidc
from mx_schema.errors import ContractError

log = logging.getLogger("mxhub.hub.auth")

API_TOKEN_PREFIX = "mxh_"
ADMIN_ROLES = oidc.ADMIN_ROLES
STAFF_PREFIX = oidc.STAFF_PREFIX
JWKS_MIN_REFRESH = oidc.JWKS_MIN_REFRESH  # an unknown `kid` refetches the keys at most this often


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated identity. `staff_beamlines` holds "*" for staff of every beamline."""

    login: str | None
    staff_beamlines: frozenset[str] = frozenset()
    admin: bool = False
    via: str = "anonymous"  # anonymous | api-token | oidc | admin-token

    @property
    def anonymous(self) -> bool:
        return self.login is None and not self.admin


ANONYMOUS = Caller(login=None)


class AuthError(Exception):
    """The bearer token was present but not acceptable: HTTP 401, code UNAUTHENTICATED."""


def caller_from_roles(login: str | None, roles: Iterable[Any], via: str) -> Caller:
    """Roles as both API tokens and OIDC `roles` claims spell them: admin, staff:<beamline>."""
    staff, admin = oidc.read_roles(roles)
    return Caller(login=login, staff_beamlines=staff, admin=admin, via=via)


def check_roles(roles: Iterable[str]) -> list[str]:
    out = []
    for role in roles:
        if role in ADMIN_ROLES:
            out.append("admin")
        elif role.startswith(STAFF_PREFIX) and len(role) > len(STAFF_PREFIX) and " " not in role:
            out.append(role)
        else:
            raise ContractError(
                f"unknown role {role!r}: use `admin` or `staff:<beamline>` (`staff:*` for all)"
            )
    return sorted(set(out))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class ApiTokenInfo:
    id: str
    login: str
    roles: list[str]
    scope: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None


class ApiTokens:
    """Hub-issued tokens in the registry database (table api_token): only their hashes are stored."""

    def __init__(self, pool_of: Any) -> None:
        self._pool_of = pool_of  # a callable: the registry's pool exists only once it has started

    async def issue(
        self, login: str, roles: list[str], expires_in_days: int | None
    ) -> tuple[ApiTokenInfo, str]:
        if not login or len(login) > 200 or login != login.strip():
            raise ContractError("login must be a non-empty name without surrounding spaces")
        if expires_in_days is not None and not 1 <= expires_in_days <= 3650:
            raise ContractError("expiresInDays must be between 1 and 3650")
        roles = check_roles(roles)
        secret = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
        ident = "tok_" + secrets.token_hex(8)
        expires = (
            dt.datetime.now(dt.UTC) + dt.timedelta(days=expires_in_days)
            if expires_in_days is not None
            else None
        )
        row = await self._pool_of().fetchrow(
            "INSERT INTO api_token (id, token_hash, login, roles, scope, expires_at) VALUES ($1, $2, $3, $4, $5, $6)"
            " RETURNING *",
            ident,
            token_hash(secret),
            login,
            roles,
            "admin" if "admin" in roles else "read",
            expires,
        )
        return _info(row), secret

    async def revoke(self, ident: str) -> bool:
        done = await self._pool_of().execute(
            "UPDATE api_token SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL", ident
        )
        return str(done).endswith(" 1")

    async def issued(self) -> list[ApiTokenInfo]:
        return [
            _info(r) for r in await self._pool_of().fetch("SELECT * FROM api_token ORDER BY created_at, id")
        ]

    async def verify(self, secret: str) -> Caller:
        row = await self._pool_of().fetchrow(
            "SELECT * FROM api_token WHERE token_hash = $1", token_hash(secret)
        )
        if row is None:
            raise AuthError("unknown API token")
        if row["revoked_at"] is not None:
            raise AuthError("API token revoked")
        if row["expires_at"] is not None and row["expires_at"] <= dt.datetime.now(dt.UTC):
            raise AuthError("API token expired")
        caller = caller_from_roles(row["login"], row["roles"], "api-token")
        if row["scope"] != "admin" and caller.admin:  # a read-scoped token never acts as admin
            caller = Caller(caller.login, caller.staff_beamlines, False, caller.via)
        return caller


def _info(r: asyncpg.Record) -> ApiTokenInfo:
    return ApiTokenInfo(
        id=r["id"],
        login=r["login"],
        roles=list(r["roles"]),
        scope=r["scope"],
        created_at=r["created_at"],
        expires_at=r["expires_at"],
        revoked_at=r["revoked_at"],
    )


class OidcVerifier:
    """Access tokens of one OIDC issuer (mx_schema.oidc, shared with sites behind a facility's router),
    as the hub's callers: any token it does not accept is an AuthError (401, UNAUTHENTICATED)."""

    def __init__(self, issuer: str, jwks: str, audience: str | None = None) -> None:
        # JWKS_MIN_REFRESH is read when the hub starts, so a test may shorten it for one hub.
        self.verifier = oidc.OidcVerifier(
            issuer, jwks, audience, party="this hub", min_refresh=JWKS_MIN_REFRESH
        )

    async def verify(self, token: str) -> Caller:
        try:
            identity = await self.verifier.verify(token)
        except oidc.OidcError as exc:
            raise AuthError(str(exc)) from None
        return Caller(identity.login, identity.staff_beamlines, identity.admin, "oidc")


class Authenticator:
    """`Authorization` header -> Caller; raises AuthError for any token it cannot accept."""

    def __init__(self, *, admin_token: str | None, api_tokens: ApiTokens, oidc: OidcVerifier | None) -> None:
        self.admin_token = admin_token
        self.api_tokens = api_tokens
        self.oidc = oidc

    async def authenticate(self, authorization: str | None) -> Caller:
        if not authorization:
            return ANONYMOUS
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise AuthError("send `Authorization: Bearer <token>`")
        if self.admin_token and hmac.compare_digest(token.encode("utf-8"), self.admin_token.encode("utf-8")):
            return Caller(login=None, admin=True, via="admin-token")
        if token.startswith(API_TOKEN_PREFIX):
            return await self.api_tokens.verify(token)
        if self.oidc is None:
            raise AuthError("unknown bearer token (no OIDC issuer is configured)")
        return await self.oidc.verify(token)
