"""A facility's OIDC issuer for tests (issue 20): a small real Starlette app on loopback serving its
discovery document and JWKS, an RSA key generated here, access tokens signed with pyjwt; and the SQL
that says which data collections a caller may see (docs/security.md, "The access rule")."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.fixtures.sites import serve_in_thread

AUDIENCE = "mx-facility"


class FacilityIssuer:
    """The issuer at `url` (set once served); `jwks_fetches` counts requests for its keys."""

    def __init__(self, kid: str = "facility-1") -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = kid
        self.url = ""
        self.jwks_fetches = 0

    def app(self) -> Starlette:
        async def discovery(request: Request) -> JSONResponse:
            base = str(request.base_url).rstrip("/")
            return JSONResponse({"issuer": base, "jwks_uri": f"{base}/jwks"})

        async def jwks(request: Request) -> JSONResponse:
            self.jwks_fetches += 1
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
            jwk.update(kid=self.kid, use="sig", alg="RS256")
            return JSONResponse({"keys": [jwk]})

        return Starlette(routes=[Route("/.well-known/openid-configuration", discovery), Route("/jwks", jwks)])

    def token(
        self,
        login: str,
        roles: list[str] | None = None,
        *,
        ttl: int = 300,
        audience: str = AUDIENCE,
        issuer: str | None = None,
        key: Any = None,
    ) -> str:
        now = int(time.time())
        claims = {
            "iss": issuer or self.url,
            "aud": audience,
            "sub": f"id-{login}",
            "preferred_username": login,
            "iat": now,
            "exp": now + ttl,
            "roles": roles or [],
        }
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": self.kid})

    @staticmethod
    def headers(token: str) -> dict[str, str]:
        return {"authorization": f"Bearer {token}"}


@contextmanager
def served_issuer() -> Iterator[FacilityIssuer]:
    issuer = FacilityIssuer()
    with serve_in_thread(issuer.app()) as url:
        issuer.url = url
        yield issuer


async def visible_collections(
    dsn: str, *, login: str | None = None, staff: str | None = None, embargo_years: float = 3.0
) -> set[str]:
    """Ids of the native store's data collections the access rule's truth table shows this caller:
    public after the embargo, or on a session or proposal the login is a member of, or on the staff
    beamline (compared in lower case)."""
    cutoff = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=365.25 * embargo_years)
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            """SELECT dc.id FROM data_collection dc JOIN session se ON se.id = dc.session_id
               WHERE se.end_time < $1
                  OR lower(se.beamline) = lower($2)
                  OR se.id IN (SELECT sm.session_id FROM session_member sm JOIN person p ON p.id = sm.person_id
                               WHERE p.login = $3)
                  OR se.proposal_id IN (SELECT pm.proposal_id FROM proposal_member pm
                                        JOIN person p ON p.id = pm.person_id WHERE p.login = $3)""",
            cutoff,
            staff,
            login,
        )
    finally:
        await conn.close()
    return {str(r["id"]) for r in rows}


async def member_with_embargoed_data(dsn: str, embargo_years: float = 3.0) -> str:
    """A login that is a member of a proposal with a session still under embargo (or never ended)."""
    cutoff = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=365.25 * embargo_years)
    conn = await asyncpg.connect(dsn)
    try:
        login = await conn.fetchval(
            """SELECT p.login FROM person p JOIN proposal_member pm ON pm.person_id = p.id
               JOIN session se ON se.proposal_id = pm.proposal_id
               JOIN data_collection dc ON dc.session_id = se.id
               WHERE se.end_time IS NULL OR se.end_time >= $1
               GROUP BY p.login ORDER BY count(*) DESC, p.login LIMIT 1""",
            cutoff,
        )
    finally:
        await conn.close()
    assert isinstance(login, str), "the demo store has no member with embargoed collections"
    return login


async def all_collections(dsn: str) -> set[str]:
    """Ids of every data collection in the native store (what an admin sees)."""
    conn = await asyncpg.connect(dsn)
    try:
        return {str(r["id"]) for r in await conn.fetch("SELECT id FROM data_collection")}
    finally:
        await conn.close()
