"""GraphQL run inside the hub for its other faces (landing pages, the PaNOSC search-api): the caller is
admitted by the same gate and the document runs through the same endpoint as POST /graphql.

Never a shortcut to the sites: what a caller may see is what /graphql would answer them (issue 19).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from mx_hub.endpoint import GraphQLEndpoint
from mx_schema import http
from mx_schema.errors import SITE_FAILURE_CODES
from mx_schema.view import Refused


@dataclass
class Answer:
    """One executed document: its data, its errors as /graphql would show them, the sites that failed."""

    data: dict[str, Any] | None
    errors: list[dict[str, Any]] = field(default_factory=list)
    failed_sites: list[str] = field(default_factory=list)
    complete: bool = True  # every site that was asked answered (totals are exact)

    def user_errors(self) -> list[dict[str, Any]]:
        """Errors that are not a site's failure: the caller's input was refused."""
        return [e for e in self.errors if (e.get("extensions") or {}).get("code") not in SITE_FAILURE_CODES]


class HubQuery:
    """Runs documents for one HTTP request with that request's caller (admitted once)."""

    def __init__(self, endpoint: GraphQLEndpoint, request: Request, caller: Any) -> None:
        self.endpoint = endpoint
        self.request = request
        self.caller = caller

    @classmethod
    async def admit(cls, endpoint: GraphQLEndpoint, request: Request) -> HubQuery:
        """The caller of `request` through the hub's gate; raises Refused (401, 429, 503) as /graphql does."""
        return cls(endpoint, request, await endpoint.admit(request))

    @property
    def anonymous(self) -> bool:
        return bool(getattr(self.caller, "anonymous", True))

    def has_field(self, type_name: str, field_name: str) -> bool:
        """Whether the hub's schema has `type_name.field_name` (fields other branches may add)."""
        type_ = self.endpoint.schema.type_map.get(type_name)
        return field_name in (getattr(type_, "fields", None) or {})

    async def run(self, query: str, variables: dict[str, Any] | None = None) -> Answer:
        gql = http.GraphQLRequest(query, variables or {}, None)
        outcome = await self.endpoint.execute(self.request, gql, self.caller)
        errors = [http.format_error(e) for e in outcome.errors]
        errors.extend(outcome.shaped_errors)
        reports = outcome.extensions.get("sites") or []
        failed = sorted({r["name"] for r in reports if r.get("status") != "ok"})
        failed_from_errors = {
            (e.get("extensions") or {}).get("site")
            for e in errors
            if (e.get("extensions") or {}).get("code") in SITE_FAILURE_CODES
        }
        failed = sorted(set(failed) | {s for s in failed_from_errors if s})
        complete = bool(outcome.extensions.get("totalCountComplete", True)) and not failed
        return Answer(outcome.data, errors, failed, complete)


__all__ = ["Answer", "HubQuery", "Refused"]
