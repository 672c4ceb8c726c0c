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
# Warnings (`extensions.warnings[].code`): the answer stands, with something the caller should know.
UNKNOWN_TERM = "UNKNOWN_TERM"  # a LIMS search term (chemical, ligand) no registered LIMS records
LIMS_SEARCH_INCOMPLETE = "LIMS_SEARCH_INCOMPLETE"  # a LIMS did not answer: its crystals are missing


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
