"""Error codes shared by sites and the hub: what a client sees in `errors[].extensions.code`."""

from __future__ import annotations

BAD_USER_INPUT = "BAD_USER_INPUT"
INVALID_CURSOR = "INVALID_CURSOR"
INVALID_ID = "INVALID_ID"
PAGE_SIZE_LIMIT = "PAGE_SIZE_LIMIT"
BACKEND_UNAVAILABLE = "BACKEND_UNAVAILABLE"
SITE_UNAVAILABLE = "SITE_UNAVAILABLE"
SITE_TIMEOUT = "SITE_TIMEOUT"
SITE_ERROR = "SITE_ERROR"
NOT_FOUND = "NOT_FOUND"
FORBIDDEN = "FORBIDDEN"
UNAUTHENTICATED = "UNAUTHENTICATED"
INTERNAL = "INTERNAL_SERVER_ERROR"
MISSING_GEOMETRY = "MISSING_GEOMETRY"  # reprocessing: `message` names each missing item
NOT_ROTATION = "NOT_ROTATION"  # reprocessing: XDS/MOSFLM asked for stills or a grid scan

# Why a site refused the hub's caller token (X-MXHub-Caller), in its 401 answer; the hub names the
# same cause when registration fails (issue 13). Key ids only (docs/security.md), never key material.
UNTRUSTED_HUB_KEY = "UNTRUSTED_HUB_KEY"  # signed by a key the site does not trust: `keyId`, `trustedKeyIds`
SITE_NAME_MISMATCH = "SITE_NAME_MISMATCH"  # for another site name (`audience`) than the site's own (`site`)
CALLER_TOKEN_EXPIRED = "CALLER_TOKEN_EXPIRED"  # expired (or the hub's and site's clocks disagree)
CALLER_TOKEN_INVALID = "CALLER_TOKEN_INVALID"  # not a token, wrong issuer, malformed claims
# A warning, not an error: a site that trusts no hub key serves every caller as anonymous.
CALLER_TOKEN_IGNORED = "CALLER_TOKEN_IGNORED"
# Registration (hub): what stops a site from being registered.
SITE_INCOMPATIBLE = "SITE_INCOMPATIBLE"  # schema (major version, contract fields) the hub cannot serve
WRONG_SITE_KIND = "WRONG_SITE_KIND"  # a LIMS registered as a site, or a site as a LIMS
SITE_TLS_ERROR = "SITE_TLS_ERROR"  # the TLS handshake failed (certificate, or https to a plain-HTTP port)


class ContractError(Exception):
    """An error whose message is safe to show and whose code goes to `extensions.code`."""

    code = BAD_USER_INPUT

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class InvalidGlobalId(ContractError):
    code = INVALID_ID


class InvalidCursor(ContractError):
    code = INVALID_CURSOR
