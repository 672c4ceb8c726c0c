"""What of a site's error a caller may see: a message that carries internals (tracebacks, SQL, URLs,
addresses) is replaced by a correlation id, and the original is logged. Decides nothing else."""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from mx_schema.errors import INTERNAL

log = logging.getLogger("mxhub.hub")

# What a site's error message must not carry through the hub: tracebacks, SQL, URLs, addresses.
LEAKY = re.compile(
    r"Traceback|File \"|\b(SELECT|INSERT|UPDATE|DELETE)\b.*\b(FROM|INTO|SET|WHERE)\b|syntax error at"
    r"|asyncpg|asyncmy|psycopg|pymysql|[a-z+]+://|\b\d{1,3}(\.\d{1,3}){3}\b",
    re.IGNORECASE | re.DOTALL,
)


def mask_site_error(entry: dict[str, Any]) -> dict[str, Any]:
    """A site's error as the caller may see it: internals replaced by a correlation id that is logged."""
    ext = entry.get("extensions") or {}
    message = str(entry.get("message", ""))
    if ext.get("code") != INTERNAL and not LEAKY.search(message) and len(message) <= 1000:
        return entry
    correlation = ext.get("correlationId") or uuid.uuid4().hex[:16]
    log.error("site error masked %s: %s", correlation, message[:2000])
    site = ext.get("site", "?")
    return {
        **entry,
        "message": f"site {site}: internal error (correlation id {correlation})",
        "extensions": {
            **ext,
            "code": INTERNAL if ext.get("code") in (None, INTERNAL) else ext["code"],
            "correlationId": correlation,
        },
    }
