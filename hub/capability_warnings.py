"""The warnings a caller gets about sites of another minor version (issue 21): fields answered null
(FIELD_UNAVAILABLE) and sites left out (SITE_EXCLUDED). Builds entries only; decides nothing."""

from __future__ import annotations

from typing import Any

from mx_schema.errors import FIELD_UNAVAILABLE, SITE_EXCLUDED


def unavailable(site: str, version: str | None, fields: list[str], paths: list[str]) -> dict[str, Any]:
    """`fields` (Type.field) the site lacks, at `paths` (response paths below its records' root field)."""
    return {
        "code": FIELD_UNAVAILABLE,
        "site": site,
        "schemaVersion": version,
        "fields": fields,
        "paths": paths,
        "message": f"site {site} (schema {version or 'unknown'}) does not serve {', '.join(fields)}: "
        "answered null for its records",
    }


def excluded(site: str, version: str | None, needs: list[str], path: list[Any]) -> dict[str, Any]:
    """The site cannot honour `needs` (Input.field, Type.field(arg), or a non-null Type.field): left out."""
    return {
        "code": SITE_EXCLUDED,
        "site": site,
        "schemaVersion": version,
        "fields": needs,
        "path": path,
        "message": f"site {site} (schema {version or 'unknown'}) cannot honour {', '.join(needs)}: "
        "its records are left out of this answer, not answered without it",
    }
