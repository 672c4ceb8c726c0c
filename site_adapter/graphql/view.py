"""The site's thin HTTP view: GraphQL over HTTP on Starlette, GraphiQL for browsers (served from
mx_schema.graphiql, no CDN), for site adapters and LIMS sources alike."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from mx_schema import graphiql, http
from mx_schema.errors import CALLER_TOKEN_IGNORED
from site_adapter import access
from site_adapter.access import AccessPolicy
from site_adapter.graphql.context import SiteContext


class GraphQLView:
    def __init__(
        self, schema: Any, make_context: Callable[[Request], SiteContext], policy: AccessPolicy | None = None
    ) -> None:
        self.schema = schema
        self.make_context = make_context
        self.policy = policy

    def routes(self, path: str = "/graphql") -> list[Route]:
        """The GraphQL endpoint and, beside it, the files of its GraphiQL page."""
        folder = path.rsplit("/", 1)[0]
        return [
            Route(path, self.handle, methods=["GET", "POST"]),
            Route(f"{folder}/{graphiql.PREFIX}/{{name}}", self.graphiql_asset, methods=["GET", "HEAD"]),
        ]

    async def graphiql_asset(self, request: Request) -> Response:
        found = graphiql.asset(request.path_params["name"])
        if found is None:
            return PlainTextResponse("not found", status_code=404)
        path, media = found
        return FileResponse(path, media_type=media, headers={"cache-control": graphiql.ASSET_CACHE_CONTROL})

    async def handle(self, request: Request) -> Response:
        accept = request.headers.get("accept", "")
        if request.method == "GET" and "query" not in request.query_params and "text/html" in accept:
            return HTMLResponse(
                graphiql.page("GraphiQL · mxhub"),
                headers={"content-security-policy": graphiql.CONTENT_SECURITY_POLICY},
            )
        media = http.negotiate(accept)
        try:
            body = await http.read_body(request) if request.method == "POST" else b""
            gql = http.parse_request(
                request.method, request.headers.get("content-type"), body, request.query_params
            )
        except http.RequestError as exc:
            return JSONResponse(http.request_error_body(str(exc)), status_code=exc.status, media_type=media)
        except ClientDisconnect:
            return Response(status_code=499)  # the caller (e.g. a hub past its deadline) has gone
        context = self.make_context(request)
        if request.method == "GET" and _is_mutation(gql.query):
            return JSONResponse(
                http.request_error_body("mutations need POST"), status_code=405, media_type=media
            )
        scope = None
        if self.policy is not None:
            try:
                viewer = self.policy.viewer(request.headers.get(access.CALLER_HEADER), context.site)
            except access.Unauthenticated as exc:
                extensions = {"code": exc.code, "site": context.site, **exc.extensions}
                return JSONResponse(
                    {"errors": [{"message": str(exc), "extensions": extensions}]},
                    status_code=401,
                    media_type=media,
                )
            scope = access.Scope(viewer, self.policy.embargo)
            ignored = self.policy.ignored(request.headers.get(access.CALLER_HEADER))
            if ignored:  # said in every answer, so the hub can tell its operator (issue 13)
                context.warn(CALLER_TOKEN_IGNORED, ignored)
        scope_token = access.SCOPE.set(scope)
        touched: set[str] = set()
        touched_token = access.TOUCHED.set(touched)
        try:
            result = await self.schema.execute(
                gql.query,
                variable_values=gql.variables,
                operation_name=gql.operation_name,
                context_value={"site": context, "request": request},
            )
        finally:
            access.SCOPE.reset(scope_token)
            access.TOUCHED.reset(touched_token)
        if self.policy is not None and self.policy.audit is not None:
            self.policy.audit.record(
                scope.viewer if scope else None, gql.query, gql.variables, touched, gql.operation_name
            )
        formatted = [http.format_error(e, extra={"site": context.site}) for e in result.errors or []]
        payload, status = http.result_body(result.data, result.errors, formatted, media)
        extensions: dict[str, Any] = {"site": context.site, "schemaVersion": context.schema_version}
        if context.warnings:
            extensions["warnings"] = context.warnings
        payload["extensions"] = extensions
        return Response(orjson.dumps(payload, default=str), status_code=status, media_type=media)


def _is_mutation(query: str) -> bool:
    return query.lstrip().startswith("mutation")
