"""Error codes shared by sites and the hub: what a client sees in `errors[].extensions.code`.

The one home of every code (issue 14): Python code names `ErrorCode` members, and the search page imports
`hub/static/error_codes.js`, generated from this enum by `python -m mx_schema.errors --js` (a test keeps the
two equal). The module-level names are the same members, kept for existing imports.
"""

from __future__ import annotations

import sys
from enum import StrEnum


class ErrorCode(StrEnum):
    """A code in `errors[].extensions.code` or `extensions.warnings[].code`; its value is its wire form."""

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
    # The caller's requests a minute are used up: HTTP 429 with Retry-After.
    RATE_LIMITED = "RATE_LIMITED"
    INTERNAL = "INTERNAL_SERVER_ERROR"
    # The HTTP request is not a GraphQL request (no query, bad JSON, wrong media type).
    BAD_REQUEST = "BAD_REQUEST"
    # The document does not validate against the schema (graphql-core's validation rules).
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    # Query limits (mx_schema.limits): the same at hub, sites and LIMS.
    QUERY_TOO_DEEP = "QUERY_TOO_DEEP"
    TOO_MANY_ALIASES = "TOO_MANY_ALIASES"
    QUERY_TOO_LARGE = "QUERY_TOO_LARGE"
    QUERY_TOO_COSTLY = "QUERY_TOO_COSTLY"
    # The hub cannot reach its registry database: HTTP 503.
    REGISTRY_UNAVAILABLE = "REGISTRY_UNAVAILABLE"
    # A LIMS answers its trusted hubs only.
    CALLER_TOKEN_REQUIRED = "CALLER_TOKEN_REQUIRED"
    # Reprocessing: `message` names each missing item.
    MISSING_GEOMETRY = "MISSING_GEOMETRY"
    # Reprocessing: XDS/MOSFLM asked for stills or a grid scan.
    NOT_ROTATION = "NOT_ROTATION"
    # Why a site refused the hub's caller token (X-MXHub-Caller), in its 401 answer; the hub names the
    # same cause when registration fails (issue 13). Key ids only (docs/security.md), never key material.
    UNTRUSTED_HUB_KEY = "UNTRUSTED_HUB_KEY"  # signed by a key the site does not trust
    SITE_NAME_MISMATCH = "SITE_NAME_MISMATCH"  # for another site name (`audience`) than the site's own
    CALLER_TOKEN_EXPIRED = "CALLER_TOKEN_EXPIRED"  # expired (or the hub's and site's clocks disagree)
    CALLER_TOKEN_INVALID = "CALLER_TOKEN_INVALID"  # not a token, wrong issuer, malformed claims
    # A warning: a site that trusts no hub key serves every caller as anonymous.
    CALLER_TOKEN_IGNORED = "CALLER_TOKEN_IGNORED"
    # Registration (hub): what stops a site from being registered.
    SITE_INCOMPATIBLE = "SITE_INCOMPATIBLE"  # schema (major version, contract fields) the hub cannot serve
    WRONG_SITE_KIND = "WRONG_SITE_KIND"  # a LIMS registered as a site, or a site as a LIMS
    SITE_TLS_ERROR = "SITE_TLS_ERROR"  # the TLS handshake failed
    # Warnings (`extensions.warnings[].code`): the answer stands, with something the caller should know.
    UNKNOWN_TERM = "UNKNOWN_TERM"  # a LIMS search term (chemical, ligand) no registered LIMS records
    LIMS_SEARCH_INCOMPLETE = "LIMS_SEARCH_INCOMPLETE"  # a LIMS did not answer: its crystals are missing
    # A site of an older minor version lacks selected fields: answered null there (docs/facility.md).
    FIELD_UNAVAILABLE = "FIELD_UNAVAILABLE"
    # A site cannot honour a filter or argument the caller gave: left out of the answer, not answered wrongly.
    SITE_EXCLUDED = "SITE_EXCLUDED"
    # Why a site or LIMS refused a facility's OIDC bearer token sent through the facility's own router
    # (issue 20, mx_schema.oidc); the hub answers the same tokens with UNAUTHENTICATED.
    OIDC_TOKEN_INVALID = "OIDC_TOKEN_INVALID"  # forged, malformed, another issuer, unknown key, no user
    OIDC_TOKEN_EXPIRED = "OIDC_TOKEN_EXPIRED"  # expired (or the issuer's and the site's clocks disagree)
    OIDC_AUDIENCE_MISMATCH = "OIDC_AUDIENCE_MISMATCH"  # issued for another audience than the configured one
    OIDC_KEYS_UNAVAILABLE = "OIDC_KEYS_UNAVAILABLE"  # the issuer's JWKS cannot be fetched: HTTP 503
    # Previews (issue 22): a frame the image set does not hold (404), a region off the detector (400), a raw
    # file deleted since indexing (410: the stored previews are still served), pixels we do not decode (422).
    FRAME_OUT_OF_RANGE = "FRAME_OUT_OF_RANGE"
    REGION_OUTSIDE_DETECTOR = "REGION_OUTSIDE_DETECTOR"
    RAW_FILE_GONE = "RAW_FILE_GONE"
    PIXELS_NOT_DECODED = "PIXELS_NOT_DECODED"
    # File downloads (GET /files/{id}, docs/files.md): HTTP 404, 403, 400 and 416 with this code.
    FILE_MISSING = "FILE_MISSING"  # the store names the file, but it is not on the site's disk
    FILE_OUTSIDE_ROOTS = "FILE_OUTSIDE_ROOTS"  # the file (or a symlink's target) is outside the file roots
    BAD_FILE_PATH = "BAD_FILE_PATH"  # a request path with `..`, `/` or a path instead of a file id
    RANGE_NOT_SATISFIABLE = "RANGE_NOT_SATISFIABLE"  # a Range header outside the file


BAD_USER_INPUT = ErrorCode.BAD_USER_INPUT
INVALID_CURSOR = ErrorCode.INVALID_CURSOR
INVALID_ID = ErrorCode.INVALID_ID
PAGE_SIZE_LIMIT = ErrorCode.PAGE_SIZE_LIMIT
BACKEND_UNAVAILABLE = ErrorCode.BACKEND_UNAVAILABLE
SITE_UNAVAILABLE = ErrorCode.SITE_UNAVAILABLE
SITE_TIMEOUT = ErrorCode.SITE_TIMEOUT
SITE_ERROR = ErrorCode.SITE_ERROR
NOT_FOUND = ErrorCode.NOT_FOUND
FORBIDDEN = ErrorCode.FORBIDDEN
UNAUTHENTICATED = ErrorCode.UNAUTHENTICATED
RATE_LIMITED = ErrorCode.RATE_LIMITED
INTERNAL = ErrorCode.INTERNAL
BAD_REQUEST = ErrorCode.BAD_REQUEST
GRAPHQL_VALIDATION_FAILED = ErrorCode.GRAPHQL_VALIDATION_FAILED
QUERY_TOO_DEEP = ErrorCode.QUERY_TOO_DEEP
TOO_MANY_ALIASES = ErrorCode.TOO_MANY_ALIASES
QUERY_TOO_LARGE = ErrorCode.QUERY_TOO_LARGE
QUERY_TOO_COSTLY = ErrorCode.QUERY_TOO_COSTLY
REGISTRY_UNAVAILABLE = ErrorCode.REGISTRY_UNAVAILABLE
CALLER_TOKEN_REQUIRED = ErrorCode.CALLER_TOKEN_REQUIRED
MISSING_GEOMETRY = ErrorCode.MISSING_GEOMETRY
NOT_ROTATION = ErrorCode.NOT_ROTATION
UNTRUSTED_HUB_KEY = ErrorCode.UNTRUSTED_HUB_KEY
SITE_NAME_MISMATCH = ErrorCode.SITE_NAME_MISMATCH
CALLER_TOKEN_EXPIRED = ErrorCode.CALLER_TOKEN_EXPIRED
CALLER_TOKEN_INVALID = ErrorCode.CALLER_TOKEN_INVALID
CALLER_TOKEN_IGNORED = ErrorCode.CALLER_TOKEN_IGNORED
SITE_INCOMPATIBLE = ErrorCode.SITE_INCOMPATIBLE
WRONG_SITE_KIND = ErrorCode.WRONG_SITE_KIND
SITE_TLS_ERROR = ErrorCode.SITE_TLS_ERROR
UNKNOWN_TERM = ErrorCode.UNKNOWN_TERM
LIMS_SEARCH_INCOMPLETE = ErrorCode.LIMS_SEARCH_INCOMPLETE
FIELD_UNAVAILABLE = ErrorCode.FIELD_UNAVAILABLE
SITE_EXCLUDED = ErrorCode.SITE_EXCLUDED
OIDC_TOKEN_INVALID = ErrorCode.OIDC_TOKEN_INVALID
OIDC_TOKEN_EXPIRED = ErrorCode.OIDC_TOKEN_EXPIRED
OIDC_AUDIENCE_MISMATCH = ErrorCode.OIDC_AUDIENCE_MISMATCH
OIDC_KEYS_UNAVAILABLE = ErrorCode.OIDC_KEYS_UNAVAILABLE
FRAME_OUT_OF_RANGE = ErrorCode.FRAME_OUT_OF_RANGE
REGION_OUTSIDE_DETECTOR = ErrorCode.REGION_OUTSIDE_DETECTOR
RAW_FILE_GONE = ErrorCode.RAW_FILE_GONE
PIXELS_NOT_DECODED = ErrorCode.PIXELS_NOT_DECODED
FILE_MISSING = ErrorCode.FILE_MISSING
FILE_OUTSIDE_ROOTS = ErrorCode.FILE_OUTSIDE_ROOTS
BAD_FILE_PATH = ErrorCode.BAD_FILE_PATH
RANGE_NOT_SATISFIABLE = ErrorCode.RANGE_NOT_SATISFIABLE

# The codes that mean "this site did not answer (well)": a client names the site rather than failing.
SITE_FAILURE_CODES = frozenset({SITE_TIMEOUT, SITE_UNAVAILABLE, SITE_ERROR})


class ContractError(Exception):
    """An error whose message is safe to show and whose code goes to `extensions.code`."""

    code: str = BAD_USER_INPUT

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class InvalidGlobalId(ContractError):
    code = INVALID_ID


class InvalidCursor(ContractError):
    code = INVALID_CURSOR


def javascript() -> str:
    """The enum as an ES module for the search page: one frozen object, and the site-failure set."""
    lines = [
        "// Generated from schema/errors.py by `python -m mx_schema.errors --js`; do not edit by hand.",
        "export const ErrorCode = Object.freeze({",
        *(f'  {member.name}: "{member.value}",' for member in ErrorCode),
        "});",
        "export const SITE_FAILURE_CODES = new Set([",
        *(f"  ErrorCode.{ErrorCode(code).name}," for code in sorted(SITE_FAILURE_CODES)),
        "]);",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if sys.argv[1:] != ["--js"]:
        sys.exit("usage: python -m mx_schema.errors --js   (prints hub/static/error_codes.js)")
    sys.stdout.write(javascript())
