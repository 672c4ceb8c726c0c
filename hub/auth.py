"""Who is calling the hub: bearer tokens to a `Caller` (issue 8).

Three kinds of bearer token: the bootstrap admin token, API tokens issued by the hub (stored as
sha256 hashes, scoped, revocable, expiring), and OIDC/JWT access tokens verified against the
configured issuer's keys. No header means anonymous; a bad token is an error, never anonymous.
This module decides identity only; what a caller may see is decided at each site.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import jwt

from mx_schema.errors import ContractError

log = logging.getLogger("mxhub.hub.auth")

API_TOKEN_PREFIX = "mxh_"
ADMIN_ROLES = frozenset({"admin", "mxhub-admin"})
STAFF_PREFIX = "staff:"
# Asymmetric algorithms only: an HMAC algorithm would let anyone who knows the public key forge tokens.
OIDC_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
JWKS_TIMEOUT = 5.0
JWKS_MAX_AGE = 300.0
JWKS_MIN_REFRESH = (
    10.0  # an unknown `kid` refetches the keys at most this often (forged kids cannot flood the issuer)
)


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
    staff: set[str] = set()
    admin = False
    for role in roles:
        if not isinstance(role, str):
            continue
        if role in ADMIN_ROLES:
            admin = True
        elif role.startswith(STAFF_PREFIX) and len(role) > len(STAFF_PREFIX):
            staff.add(role[len(STAFF_PREFIX) :])
    return Caller(login=login, staff_beamlines=frozenset(staff), admin=admin, via=via)


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
    """Access tokens of one OIDC issuer, checked against its JWKS (a file path or an http(s) URL)."""

    def __init__(self, issuer: str, jwks: str, audience: str | None = None) -> None:
        self.issuer = issuer
        self.source = jwks
        self.audience = audience
        self._keys: dict[str | None, Any] = {}
        self._fetched = 0.0
        self._lock = asyncio.Lock()

    async def _load(self) -> None:
        if self.source.startswith(("http://", "https://")):
            async with httpx.AsyncClient(timeout=JWKS_TIMEOUT, follow_redirects=False) as client:
                response = await client.get(self.source)
                response.raise_for_status()
                data = response.json()
        else:
            data = json.loads(Path(self.source).read_text(encoding="utf-8"))
        keyset = jwt.PyJWKSet.from_dict(data)
        self._keys = {k.key_id: k for k in keyset.keys}
        self._fetched = time.monotonic()

    async def _key(self, kid: str | None) -> Any:
        stale = time.monotonic() - self._fetched > JWKS_MAX_AGE
        if stale or (kid not in self._keys and time.monotonic() - self._fetched > JWKS_MIN_REFRESH):
            async with self._lock:
                try:
                    await self._load()
                except (OSError, ValueError, httpx.HTTPError, jwt.PyJWTError) as exc:
                    log.warning("cannot load the OIDC issuer's keys from %s: %s", self.source, exc)
                    if not self._keys:
                        raise AuthError("the identity provider's keys are unavailable") from None
        if kid in self._keys:
            return self._keys[kid]
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        raise AuthError("token signed by an unknown key")

    async def verify(self, token: str) -> Caller:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthError("malformed bearer token") from None
        if header.get("alg") not in OIDC_ALGORITHMS:
            raise AuthError("token algorithm not accepted")
        key = await self._key(header.get("kid"))
        options: jwt.types.Options = {"require": ["exp", "iss"], "verify_aud": self.audience is not None}
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[header["alg"]],
                issuer=self.issuer,
                audience=self.audience,
                options=options,
                leeway=30,
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("token expired") from None
        except jwt.InvalidAudienceError:
            raise AuthError("token not meant for this hub (audience)") from None
        except jwt.InvalidIssuerError:
            raise AuthError("token from an issuer this hub does not trust") from None
        except jwt.PyJWTError:
            raise AuthError("token signature or claims invalid") from None
        login = claims.get("preferred_username") or claims.get("sub")
        if not isinstance(login, str) or not login:
            raise AuthError("token names no user (preferred_username or sub)")
        roles = claims.get("roles")
        return caller_from_roles(login, roles if isinstance(roles, list) else [], "oidc")


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
