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
