"""Who may send this request: the bearer token checked (auth.py) and the caller's rate limit taken.

Answers with the caller, or with the 401/429/503 response to send instead; never executes anything."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mx_hub.auth import ApiTokens, Authenticator, AuthError, Caller, OidcVerifier
from mx_hub.ratelimit import RateLimiter, retry_after_header
from mx_hub.settings import HubSettings
from mx_schema.errors import REGISTRY_UNAVAILABLE, UNAUTHENTICATED

log = logging.getLogger("mxhub.hub")

# Not yet a member of mx_schema.errors.ErrorCode (schema/ is another helper's area): to move there.
RATE_LIMITED = "RATE_LIMITED"


def error_response(status: int, code: str, message: str, media: str, headers: dict[str, str]) -> JSONResponse:
    # refused before execution: no `data` entry (GraphQL spec, Response Format)
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": code}}]},
        status_code=status,
        media_type=media,
        headers=headers,
    )


class Gate:
    def __init__(self, settings: HubSettings, api_tokens: ApiTokens) -> None:
        if settings.oidc_issuer and not settings.oidc_jwks:
            raise ValueError("an OIDC issuer needs its keys: give --oidc-jwks (a JWKS file or URL)")
        oidc = (
            OidcVerifier(settings.oidc_issuer, settings.oidc_jwks, settings.oidc_audience)
            if settings.oidc_issuer and settings.oidc_jwks
            else None
        )
        self.authenticator = Authenticator(admin_token=settings.admin_token, api_tokens=api_tokens, oidc=oidc)
        self.limiter = RateLimiter(settings.rate_limit)
        self.per_minute = settings.rate_limit

    async def admit(self, request: Request, media: str) -> Caller | Response:
        """The caller, or the 401/429/503 response to send instead."""
        address = f"ip:{request.client.host if request.client else '?'}"
        try:
            caller = await self.authenticator.authenticate(request.headers.get("authorization"))
        except AuthError as exc:
            return self._refuse(address, exc, media)
        except Exception as exc:  # noqa: BLE001 - the registry (API tokens) or the OIDC keys are out of reach
            log.error("cannot check credentials from %s: %s: %s", address, type(exc).__name__, exc)
            return error_response(
                503,
                REGISTRY_UNAVAILABLE,
                "the hub cannot check credentials just now (its registry is unavailable); retry shortly",
                media,
                {"retry-after": "5"},
            )
        wait = self.limiter.take(f"login:{caller.login}" if caller.login else address)
        if wait:
            return error_response(
                429,
                RATE_LIMITED,
                f"rate limit of {self.per_minute} requests a minute "
                f"exceeded; retry in {retry_after_header(wait)} s",
                media,
                {"retry-after": retry_after_header(wait)},
            )
        return caller

    def _refuse(self, address: str, exc: AuthError, media: str) -> Response:
        log.info("refused a bearer token from %s: %s", address, exc)
        wait = self.limiter.take(address)  # failed attempts count against the address
        if wait:
            return error_response(
                429, RATE_LIMITED, "too many requests", media, {"retry-after": retry_after_header(wait)}
            )
        return error_response(
            401,
            UNAUTHENTICATED,
            f"not authenticated: {exc}",
            media,
            {"www-authenticate": 'Bearer error="invalid_token"'},
        )
