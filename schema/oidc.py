"""A facility's OIDC access tokens: verified against the issuer's keys, and mapped to who is calling.

The one implementation the hub (mx_hub.auth) and every site or LIMS behind a facility's own router
(issue 20) share: a token gives the same login, staff beamlines and admin flag wherever it is checked.
Identity only; what a caller may see is decided by the site's access rule. Here, not in mx_hub or
site_adapter, because each must not import the other; it is the one module of schema/ that needs the
network (httpx, for the issuer's JWKS and discovery document) and pyjwt.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt

from mx_schema.errors import ErrorCode

log = logging.getLogger("mxhub.oidc")

ADMIN_ROLES = frozenset({"admin", "mxhub-admin"})
STAFF_PREFIX = "staff:"
# Asymmetric algorithms only: an HMAC algorithm would let anyone who knows the public key forge tokens.
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
JWKS_TIMEOUT = 5.0  # s
JWKS_MAX_AGE = 300.0  # s: the keys are fetched again this often (the issuer rotates them)
JWKS_MIN_REFRESH = (
    10.0  # s: an unknown `kid` refetches at most this often (forged kids cannot flood the issuer)
)
LEEWAY = 30  # s of clock difference forgiven on exp, nbf and iat
DISCOVERY = "/.well-known/openid-configuration"  # OpenID Connect Discovery 1.0, section 4


class OidcError(Exception):
    """A bearer token this verifier does not accept; `code` says why (extensions.code at a site)."""

    def __init__(self, message: str, code: ErrorCode = ErrorCode.OIDC_TOKEN_INVALID) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class OidcIdentity:
    """Who a verified token names: its login and the roles the mapping below recognised."""

    login: str
    staff_beamlines: frozenset[str]  # as spelled in the token; "*" for staff of every beamline
    admin: bool


def read_roles(roles: Iterable[Any]) -> tuple[frozenset[str], bool]:
    """(staff beamlines, admin) from roles as API tokens and OIDC `roles` claims spell them:
    `admin` or `mxhub-admin`, and `staff:<beamline>` (`staff:*` for all); anything else is ignored."""
    staff: set[str] = set()
    admin = False
    for role in roles:
        if not isinstance(role, str):
            continue
        if role in ADMIN_ROLES:
            admin = True
        elif role.startswith(STAFF_PREFIX) and len(role) > len(STAFF_PREFIX):
            staff.add(role[len(STAFF_PREFIX) :])
    return frozenset(staff), admin


def bearer(authorization: str) -> str:
    """The token of an `Authorization: Bearer <token>` header (OidcError for any other form)."""
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise OidcError("send `Authorization: Bearer <token>`")
    return token


class OidcVerifier:
    """Access tokens of one OIDC issuer, checked against its JWKS: a file path, an http(s) URL, or
    (None) the `jwks_uri` of the issuer's discovery document. `party` names the checker in messages."""

    def __init__(
        self,
        issuer: str,
        jwks: str | None = None,
        audience: str | None = None,
        *,
        party: str = "this service",
        min_refresh: float = JWKS_MIN_REFRESH,
    ) -> None:
        self.issuer = issuer
        self.source = jwks
        self.audience = audience
        self.party = party
        self.min_refresh = min_refresh
        self._keys: dict[str | None, Any] = {}
        self._fetched = 0.0
        self._lock = asyncio.Lock()

    async def _get_json(self, client: httpx.AsyncClient, url: str) -> Any:
        response = await client.get(url)
        response.raise_for_status()
        return response.json()

    async def _load(self) -> None:
        source = self.source
        if source is not None and not source.startswith(("http://", "https://")):
            data = json.loads(Path(source).read_text(encoding="utf-8"))
        else:
            async with httpx.AsyncClient(timeout=JWKS_TIMEOUT, follow_redirects=False) as client:
                if source is None:
                    found = await self._get_json(client, self.issuer.rstrip("/") + DISCOVERY)
                    # The document must name the configured issuer (Discovery 1.0, section 4.3).
                    if not isinstance(found, dict) or found.get("issuer") != self.issuer:
                        raise ValueError(f"the discovery document of {self.issuer} names another issuer")
                    source = found.get("jwks_uri")
                    if not isinstance(source, str) or not source.startswith(("http://", "https://")):
                        raise ValueError(f"the discovery document of {self.issuer} has no jwks_uri")
                data = await self._get_json(client, source)
        keyset = jwt.PyJWKSet.from_dict(data)
        self._keys = {k.key_id: k for k in keyset.keys}
        self._fetched = time.monotonic()

    async def _key(self, kid: str | None) -> Any:
        age = time.monotonic() - self._fetched
        if age > JWKS_MAX_AGE or (kid not in self._keys and age > self.min_refresh):
            async with self._lock:
                try:
                    await self._load()
                except (OSError, ValueError, httpx.HTTPError, jwt.PyJWTError) as exc:
                    log.warning("cannot load the keys of OIDC issuer %s: %s", self.issuer, exc)
                    if not self._keys:
                        raise OidcError(
                            "the identity provider's keys are unavailable", ErrorCode.OIDC_KEYS_UNAVAILABLE
                        ) from None
        if kid in self._keys:
            return self._keys[kid]
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        raise OidcError("token signed by an unknown key")

    async def verify(self, token: str) -> OidcIdentity:
        """The identity `token` names; OidcError (with a code) for any token this issuer did not sign
        for this audience, or that has expired, or names no user."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise OidcError("malformed bearer token") from None
        if header.get("alg") not in ALGORITHMS:
            raise OidcError("token algorithm not accepted")
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
                leeway=LEEWAY,
            )
        except jwt.ExpiredSignatureError:
            raise OidcError("token expired", ErrorCode.OIDC_TOKEN_EXPIRED) from None
        except jwt.InvalidAudienceError:
            raise OidcError(
                f"token not meant for {self.party} (audience)", ErrorCode.OIDC_AUDIENCE_MISMATCH
            ) from None
        except jwt.InvalidIssuerError:
            raise OidcError(f"token from an issuer {self.party} does not trust") from None
        except jwt.PyJWTError:
            raise OidcError("token signature or claims invalid") from None
        login = claims.get("preferred_username") or claims.get("sub")
        if not isinstance(login, str) or not login:
            raise OidcError("token names no user (preferred_username or sub)")
        roles = claims.get("roles")
        staff, admin = read_roles(roles if isinstance(roles, list) else [])
        return OidcIdentity(login=login, staff_beamlines=staff, admin=admin)
