"""The hub's settings: timeouts, health checks, credentials and limits, as the command line gives them.

Values only; reading them from options or the environment is the command line's job (mxhub/)."""

from __future__ import annotations

from dataclasses import dataclass


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
    redis_url: str | None = (
        None  # shared state of N hubs on one registry (shared.py); None: this process's own
    )
    metrics_token: str | None = None  # GET /metrics needs `Authorization: Bearer <it>`; None: open
