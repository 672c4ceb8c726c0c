"""Who may send this request: the bearer token checked (auth.py) and the caller's rate limit taken.

Answers with the caller, or raises the 401/429/503 refusal to send instead; never executes anything."""

from __future__ import annotations

import logging

from starlette.requests import Request

from mx_hub.auth import ApiTokens, Authenticator, AuthError, Caller, OidcVerifier
from mx_hub.metrics import HubMetrics
from mx_hub.ratelimit import retry_after_header
from mx_hub.settings import HubSettings
from mx_hub.shared import MemoryState, SharedState
from mx_schema.errors import RATE_LIMITED, REGISTRY_UNAVAILABLE, UNAUTHENTICATED
from mx_schema.view import Refused

log = logging.getLogger("mxhub.hub")


class Gate:
    def __init__(
        self,
        settings: HubSettings,
        api_tokens: ApiTokens,
        shared: SharedState | None = None,
        metrics: HubMetrics | None = None,
    ) -> None:
        if settings.oidc_issuer and not settings.oidc_jwks:
            raise ValueError("an OIDC issuer needs its keys: give --oidc-jwks (a JWKS file or URL)")
        oidc = (
            OidcVerifier(settings.oidc_issuer, settings.oidc_jwks, settings.oidc_audience)
            if settings.oidc_issuer and settings.oidc_jwks
            else None
        )
        self.authenticator = Authenticator(admin_token=settings.admin_token, api_tokens=api_tokens, oidc=oidc)
        # The buckets live where every hub process on the registry sees them (shared.py), else here.
        self.shared: SharedState = shared or MemoryState(settings.rate_limit)
        self.per_minute = settings.rate_limit
        self.metrics = metrics

    async def admit(self, request: Request) -> Caller:
        """The caller; raises Refused (401, 429 or 503) instead."""
        address = f"ip:{request.client.host if request.client else '?'}"
        try:
            caller = await self.authenticator.authenticate(request.headers.get("authorization"))
        except AuthError as exc:
            raise await self._refusal(address, exc) from None
        except Exception as exc:  # noqa: BLE001 - the registry (API tokens) or the OIDC keys are out of reach
            log.error("cannot check credentials from %s: %s: %s", address, type(exc).__name__, exc)
            raise Refused(
                503,
                "the hub cannot check credentials just now (its registry is unavailable); retry shortly",
                {"code": REGISTRY_UNAVAILABLE},
                {"retry-after": "5"},
            ) from None
        wait = await self.shared.take(f"login:{caller.login}" if caller.login else address)
        if wait:
            if self.metrics is not None:
                self.metrics.rate_limited.inc()
            raise Refused(
                429,
                f"rate limit of {self.per_minute} requests a minute "
                f"exceeded; retry in {retry_after_header(wait)} s",
                {"code": RATE_LIMITED},
                {"retry-after": retry_after_header(wait)},
            )
        return caller

    async def _refusal(self, address: str, exc: AuthError) -> Refused:
        log.info("refused a bearer token from %s: %s", address, exc)
        wait = await self.shared.take(address)  # failed attempts count against the address
        if wait:
            return Refused(
                429, "too many requests", {"code": RATE_LIMITED}, {"retry-after": retry_after_header(wait)}
            )
        return Refused(
            401,
            f"not authenticated: {exc}",
            {"code": UNAUTHENTICATED},
            {"www-authenticate": 'Bearer error="invalid_token"'},
        )
