"""The caller token's format, the contract between a hub that signs it and a site that reads it (issue 8).

Header, issuer, algorithm, claim names and lifetimes, and the claims built and read as pure functions.
No cryptography here: mx_hub.trust signs, site_adapter.access verifies the signature (issue 14, item 5).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

HEADER = "X-MXHub-Caller"
ISSUER = "mxhub-hub"
ALGORITHM = "EdDSA"  # Ed25519 signatures (RFC 8037)
DEFAULT_TTL = 60  # s: the hub signs for one site and one minute
MAX_LIFETIME = 300  # s: a site refuses a token that lives longer than this (issue 15)
LEEWAY = 5  # s of clock difference a site forgives on exp and iat

# Claim names (RFC 7519 registered claims, then ours).
SUBJECT = "sub"
AUDIENCE = "aud"
ISSUER_CLAIM = "iss"
EXPIRES = "exp"
ISSUED_AT = "iat"
TOKEN_ID = "jti"
STAFF = "mxhub_staff"  # beamlines the caller is staff for, `*` for all
ADMIN = "mxhub_admin"
REQUIRED = (EXPIRES, ISSUED_AT, AUDIENCE, ISSUER_CLAIM)  # a token without any of these is refused


class MalformedClaims(ValueError):
    """Verified claims that no hub of ours makes: the site refuses the token (CALLER_TOKEN_INVALID)."""


@dataclass(frozen=True, slots=True)
class CallerClaims:
    """Who a verified token names: login (None: anonymous or the bootstrap admin), staff beamlines
    (lower case, `*` kept), and whether the caller is a hub admin."""

    login: str | None
    staff_beamlines: frozenset[str]
    admin: bool


def build_claims(
    login: str | None,
    staff_beamlines: Iterable[str],
    admin: bool,
    audience: str,
    *,
    now: int | None = None,
    ttl: int = DEFAULT_TTL,
) -> dict[str, Any]:
    """The claims naming a caller for one site (`audience`), valid `ttl` seconds from `now`."""
    issued = int(time.time()) if now is None else now
    claims: dict[str, Any] = {
        ISSUER_CLAIM: ISSUER,
        AUDIENCE: audience,
        STAFF: sorted(staff_beamlines),
        ADMIN: bool(admin),
        ISSUED_AT: issued,
        EXPIRES: issued + ttl,
        TOKEN_ID: secrets.token_hex(16),
    }
    if login is not None:
        claims[SUBJECT] = login
    return claims


def read_claims(claims: Mapping[str, Any]) -> CallerClaims:
    """The caller named by claims whose signature, issuer, audience and expiry are already verified;
    MalformedClaims for a token no hub of ours makes (too long-lived, several audiences, odd staff)."""
    # A hub signs for one site and a minute; a token valid for years, or for several sites at once, is
    # no token a hub of ours makes (issue 15): refuse it rather than honour it.
    lifetime = claims.get(EXPIRES, 0) - claims.get(ISSUED_AT, 0)
    if not isinstance(lifetime, (int, float)) or lifetime > MAX_LIFETIME or lifetime <= 0:
        raise MalformedClaims(
            f"the caller token lives {lifetime} s; this site accepts at most {MAX_LIFETIME} s"
        )
    if not isinstance(claims.get(AUDIENCE), str):
        raise MalformedClaims("the caller token names several audiences; a hub signs for one site")
    staff = claims.get(STAFF) or []
    if not isinstance(staff, list) or not all(isinstance(b, str) for b in staff):
        raise MalformedClaims("malformed caller token")
    login = claims.get(SUBJECT)
    return CallerClaims(
        login=login if isinstance(login, str) and login else None,
        staff_beamlines=frozenset(b.lower() if b != "*" else b for b in staff),
        admin=claims.get(ADMIN) is True,
    )


def key_id(raw_public_key: bytes) -> str:
    """The `kid` of an Ed25519 public key: the first 16 hex characters of sha256 over its raw 32 bytes
    (docs/security.md, boundary 2). Safe to show: it identifies, it does not unlock."""
    return hashlib.sha256(raw_public_key).hexdigest()[:16]
