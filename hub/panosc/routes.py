"""HTTP of the PaNOSC provider under /panosc/: /Datasets, /Documents, /Instruments, each with /{pid}
and /count (search-api doc/api-calls.md). Malformed filters are 400 with the reason; sites that failed
are named in the X-Mxhub-Failed-Sites header (and in /count's body), never dropped silently.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mx_hub.endpoint import GraphQLEndpoint
from mx_hub.inprocess import HubQuery, Refused
from mx_hub.panosc import provider
from mx_hub.panosc.filters import Filter, FilterError, parse_filter, parse_where
from mx_hub.panosc.model import RELATIONS

FAILED_HEADER = "x-mxhub-failed-sites"


def error(status: int, message: str, name: str = "BadRequestError") -> JSONResponse:
    """LoopBack's error body: {"error": {"statusCode", "name", "message"}}."""
    return JSONResponse(
        {"error": {"statusCode": status, "name": name, "message": message}}, status_code=status
    )


def answer(payload: Any, failed: set[str]) -> JSONResponse:
    headers = {"x-mxhub-complete": "false" if failed else "true", "cache-control": "private, no-cache"}
    if failed:
        headers[FAILED_HEADER] = ",".join(sorted(failed))
    return JSONResponse(payload, headers=headers)


def counted(result: provider.Result) -> JSONResponse:
    body = {
        "count": result.count,
        "complete": not result.failed_sites,
        "failedSites": sorted(result.failed_sites),
    }
    return answer(body, result.failed_sites)


Handler = Callable[[HubQuery, Filter, Request], Awaitable[Response]]


class PanoscProvider:
    """The search-api's endpoints over the hub's own GraphQL, for each request's caller."""

    def __init__(self, endpoint: GraphQLEndpoint) -> None:
        self.endpoint = endpoint

    def registered(self, name: str) -> bool:
        site = self.endpoint.registry.get(name)
        return site is not None and site.kind == "site"

    async def run(self, request: Request, model: str, handler: Handler) -> Response:
        try:
            query = await HubQuery.admit(self.endpoint, request)
            flt = parse_filter(request.query_params.get("filter"), RELATIONS, model)
            return await handler(query, flt, request)
        except Refused as refused:
            response = error(refused.status, str(refused), "Refused")
            response.headers.update(refused.headers)  # www-authenticate, retry-after
            return response
        except FilterError as exc:
            return error(400, str(exc))

    def pid(self, request: Request) -> tuple[str, str] | None:
        """(site, rest) of a Document's or Instrument's pid `site:rest`, for a registered site only."""
        parts = provider.split_pid(unquote(request.path_params["pid"]))
        return parts if parts is not None and self.registered(parts[0]) else None

    async def list_datasets(self, query: HubQuery, flt: Filter, request: Request) -> Response:
        result = await provider.datasets(query, flt, self.registered)
        return answer(result.items, result.failed_sites)

    async def get_dataset(self, query: HubQuery, flt: Filter, request: Request) -> Response:
        item, failed = await provider.dataset(query, unquote(request.path_params["pid"]), flt)
        if item is None:
            if failed:
                return error(502, f"site(s) did not answer: {', '.join(sorted(failed))}", "SiteUnavailable")
            return error(404, "no dataset with this pid is visible to you", "NotFoundError")
        return answer(item, failed)

    async def count_datasets(self, query: HubQuery, flt: Filter, request: Request) -> Response:
        return counted(await provider.count_datasets(query, parse_where(request.query_params.get("where"))))

    async def with_datasets(
        self, query: HubQuery, items: list[dict[str, Any]], flt: Filter, by: str
    ) -> set[str]:
        """Attach each item's `datasets` when included: `by` is the hub filter its pid's rest names
        (`proposal` for documents, `beamline` for instruments)."""
        failed: set[str] = set()
        for inc in flt.include:
            if inc.relation != "datasets":
                continue
            for item in items:
                site, rest = provider.split_pid(item["pid"]) or ("", "")
                item["datasets"], bad = await provider.datasets_of(query, {"site": site, by: rest}, inc)
                failed |= bad
        return failed

    async def list_documents(self, query: HubQuery, flt: Filter, request: Request) -> Response:
        result = await provider.documents(query, flt.where)
        items = provider.page(result.items, flt)
        failed = result.failed_sites | await self.with_datasets(query, items, flt, "proposal")
        return answer(items, failed)

    async def get_document(self, query: HubQuery, flt: Filter, request: Request) -> Response:
        parts = self.pid(request)
        result = (
            await provider.documents(query, {}, {"f": {"site": parts[0], "code": parts[1]}})
            if parts
            else provider.Result()
        )
        if not result.items:
            return error(404, "no document with this pid is visible to you", "NotFoundError")
        items = result.items[:1]
        failed = result.failed_sites | await self.with_datasets(query, items, flt, "proposal")
        return answer(items[0], failed)

    async def count_documents(self, query: HubQuery, flt: Filter, request: Request) -> Response:
        result = await provider.documents(query, parse_where(request.query_params.get("where")))
        result.count = len(result.items)
        return counted(result)

    async def list_instruments(self, query: HubQuery, flt: Filter, request: Request) -> Response:
        result = await provider.instruments(query, flt.where)
        items = provider.page(result.items, flt)
        failed = result.failed_sites | await self.with_datasets(query, items, flt, "beamline")
        return answer(items, failed)

    async def get_instrument(self, query: HubQuery, flt: Filter, request: Request) -> Response:
        parts = self.pid(request)
        result = (
            await provider.instruments(query, {}, {"f": {"site": parts[0], "beamline": parts[1]}})
            if parts
            else provider.Result()
        )
        items = [i for i in result.items if parts and i["name"] == parts[1]][:1]
        if not items:
            return error(404, "no instrument with this pid is visible to you", "NotFoundError")
        failed = result.failed_sites | await self.with_datasets(query, items, flt, "beamline")
        return answer(items[0], failed)

    async def count_instruments(self, query: HubQuery, flt: Filter, request: Request) -> Response:
        result = await provider.instruments(query, parse_where(request.query_params.get("where")))
        result.count = len(result.items)
        return counted(result)


def panosc_routes(endpoint: GraphQLEndpoint, prefix: str = "/panosc") -> list[Route]:
    """The provider's routes; `{pid}` may hold slashes (search-api pids are DOIs and handles)."""
    p = PanoscProvider(endpoint)
    table: list[tuple[str, str, Handler]] = [
        ("/Datasets", "Dataset", p.list_datasets),
        ("/Datasets/count", "Dataset", p.count_datasets),
        ("/Datasets/{pid:path}", "Dataset", p.get_dataset),
        ("/Documents", "Document", p.list_documents),
        ("/Documents/count", "Document", p.count_documents),
        ("/Documents/{pid:path}", "Document", p.get_document),
        ("/Instruments", "Instrument", p.list_instruments),
        ("/Instruments/count", "Instrument", p.count_instruments),
        ("/Instruments/{pid:path}", "Instrument", p.get_instrument),
    ]
    return [Route(prefix + path, _bind(p, model, handler), methods=["GET"]) for path, model, handler in table]


def _bind(p: PanoscProvider, model: str, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return await p.run(request, model, handler)

    return endpoint
