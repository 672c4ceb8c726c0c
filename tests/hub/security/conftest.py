"""Fixtures for the hub's security tests: hubs with chosen settings, sites that enforce the access
rule and trust test hubs (HUB_KEY), an OIDC issuer's keys in a JWKS file, and a recording site."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from mx_hub.app import create_app as create_hub_app
from mx_hub.settings import HubSettings
from tests.fixtures.hub import ADMIN_TOKEN, GENEROUS, HUB_KEY_PEM, RunningHub, trusted_site_app
from tests.fixtures.sites import serve_in_thread

ISSUER = "https://login.example.org/realms/mx"
AUDIENCE = "mxhub"


@contextmanager
def hub_with(dsn: str, **overrides: Any) -> Iterator[RunningHub]:
    """A hub on loopback with `overrides` on the test settings."""
    settings = HubSettings(
        **{
            **GENEROUS,
            "health_interval": 0,  # correctness, whatever the machine's load
            "admin_token": ADMIN_TOKEN,
            "signing_key": HUB_KEY_PEM,
            **overrides,
        }
    )
    app = create_hub_app(dsn, settings)
    with serve_in_thread(app) as url:
        yield RunningHub(url, app, dsn)


class Issuer:
    """An OIDC issuer: an RSA key published in a JWKS file, and access tokens it signs."""

    def __init__(self, path: str, kid: str = "k1") -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = kid
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update(kid=kid, use="sig", alg="RS256")
        with open(path, "w", encoding="utf-8") as fh:
            json.dump({"keys": [jwk]}, fh)
        self.jwks = path

    def token(
        self,
        login: str = "alice",
        roles: list[str] | None = None,
        *,
        ttl: int = 300,
        issuer: str = ISSUER,
        audience: str = AUDIENCE,
        key: Any = None,
        kid: str | None = None,
        alg: str = "RS256",
        **claims: Any,
    ) -> str:
        now = int(time.time())
        body = {
            "iss": issuer,
            "aud": audience,
            "sub": f"id-{login}",
            "preferred_username": login,
            "iat": now,
            "exp": now + ttl,
            "roles": roles or [],
            **claims,
        }
        return jwt.encode(body, key or self.key, algorithm=alg, headers={"kid": kid or self.kid})


@pytest.fixture
def issuer(tmp_path) -> Issuer:
    return Issuer(str(tmp_path / "jwks.json"))


@pytest.fixture
def oidc_hub(hub_dsn, issuer) -> Iterator[RunningHub]:
    with hub_with(hub_dsn, oidc_issuer=ISSUER, oidc_jwks=issuer.jwks, oidc_audience=AUDIENCE) as hub:
        yield hub


@pytest.fixture(scope="session")
def secured_sites(esrf_demo_dsn, diamond_demo_dsn) -> Iterator[dict[str, str]]:
    """esrf and diamond demo sites enforcing the access rule, trusting test hubs."""
    with ExitStack() as stack:
        yield {
            name: stack.enter_context(serve_in_thread(trusted_site_app(dsn, name)))
            for name, dsn in (("esrf", esrf_demo_dsn), ("diamond", diamond_demo_dsn))
        }


class Recorder:
    """Wraps a real site app and keeps the X-MXHub-Caller header of every GraphQL request."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.tokens: list[str | None] = []

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"] == "/graphql":
            headers = dict(scope["headers"])
            raw = headers.get(b"x-mxhub-caller")
            self.tokens.append(raw.decode() if raw else None)
        await self.app(scope, receive, send)
