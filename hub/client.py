"""Every call from the hub to a site goes through here: one pooled httpx client, timeouts, the
caller's signed identity on every request (X-MXHub-Caller), and de-duplication of identical
concurrent requests of the same caller (sent once, answered to each) -- across hub processes too when
their state is shared (shared.py) -- each call a traced, counted span. Never shares across callers.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import importlib.util
import socket
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import httpcore
import httpx
import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from opentelemetry import trace

from mx_hub import tracing
from mx_hub.auth import ANONYMOUS, Caller
from mx_hub.metrics import HubMetrics
from mx_hub.shared import MemoryState, SharedState
from mx_hub.site_pools import PoolError, SitePools
from mx_hub.trust import DEFAULT_TTL, HEADER, sign_caller
from mx_schema.errors import SITE_ERROR, SITE_TIMEOUT, SITE_UNAVAILABLE

# How a failed call is counted in the hub's metrics (mxhub_hub_site_calls_total's `outcome`).
_OUTCOMES: dict[str, str] = {SITE_TIMEOUT: "timeout", SITE_UNAVAILABLE: "unavailable"}


class SiteFailure(Exception):
    """A site did not give a usable answer; `code` says how (unavailable, timeout, error)."""

    def __init__(self, site: str, code: str, message: str) -> None:
        super().__init__(message)
        self.site = site
        self.code = code


@dataclass
class CallerScope:
    """The caller of one hub request: its token per site is signed once and reused by both phases."""

    caller: Caller
    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)  # audience -> (token, signed at)


# Set by the hub's view for each request. A context variable rather than an argument, so that no
# call to a site (fan-out, stitching, registration, health) can go out without the caller's token:
# outside a request (health checks) the caller is anonymous.
CURRENT_CALLER: ContextVar[CallerScope | None] = ContextVar("mxhub_caller", default=None)


@dataclass(frozen=True, slots=True)
class SiteAnswer:
    site: str
    data: dict[str, Any] | None
    errors: list[dict[str, Any]]
    ms: float
    extensions: dict[str, Any] = field(
        default_factory=dict
    )  # the site's own (warnings: registration reads them)


_HTTP2 = importlib.util.find_spec("h2") is not None  # httpx speaks HTTP/2 only with h2 installed


class SiteClient:
    def __init__(
        self,
        *,
        timeout: float = 10.0,
        max_connections: int = 200,
        headers: dict[str, str] | None = None,
        signing_key: Ed25519PrivateKey | None = None,
        shared: SharedState | None = None,
        metrics: HubMetrics | None = None,
    ) -> None:
        # TCP_NODELAY: small GraphQL requests must not wait for the peer's delayed ACK.
        # Keep-alive to every site; HTTP/2 (one multiplexed connection) to sites that speak it over TLS,
        # when h2 is installed (httpx[http2]); plain-http sites keep HTTP/1.1 (issue 17).
        transport = httpx.AsyncHTTPTransport(
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
            http2=_HTTP2,
        )
        self.timeout = timeout
        # httpx for files (streamed bodies); GraphQL calls, the hot path, go through per-site pools.
        self._http = httpx.AsyncClient(
            transport=transport, timeout=timeout, headers=headers or {}, follow_redirects=False
        )
        self._headers = dict(headers or {})
        self._pools = SitePools(max_connections=max_connections, http2=_HTTP2)
        self.signing_key = signing_key
        self._in_flight: dict[tuple[str, bytes, Caller], asyncio.Task[SiteAnswer]] = {}
        self.sent = 0  # requests actually sent (tests check de-duplication with it)
        self.shared: SharedState = shared or MemoryState(0)
        self.metrics = metrics

    async def close(self) -> None:
        await self._http.aclose()
        await self._pools.aclose()

    async def query(
        self,
        site: str,
        url: str,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,
        headers: dict[str, str] | None = None,
    ) -> SiteAnswer:
        body = orjson.dumps(
            {"query": query, "variables": variables or {}}, option=orjson.OPT_SORT_KEYS, default=str
        )
        scope = CURRENT_CALLER.get() or CallerScope(ANONYMOUS)
        # The caller is part of the key: an answer shaped by one caller's rights is never given to another.
        key = (url, body + orjson.dumps(headers or {}, option=orjson.OPT_SORT_KEYS), scope.caller)
        pending = self._in_flight.get(key)
        if pending is None:
            # The request runs as a task of its own, owned by no caller: a caller whose deadline passes
            # (or whose client goes away) stops waiting, and the others sharing the call still get the
            # answer. Cancelling the shared call under them made CancelledError escape as an HTTP 500.
            pending = asyncio.get_running_loop().create_task(
                self._send_shared(
                    key,
                    site,
                    url,
                    body,
                    timeout or self.timeout,
                    {**(headers or {}), **self._identity(scope, site)},
                )
            )
            self._in_flight[key] = pending
            pending.add_done_callback(functools.partial(self._finished, key))
        return await asyncio.shield(pending)

    async def open_file(self, site: str, url: str, headers: dict[str, str]) -> httpx.Response:
        """GET a site's file (GET /files/{id}) as the current caller, the body left to stream: the caller
        reads it with aiter_bytes() and closes it. Not de-duplicated (bodies are not shared); SiteFailure
        when the site cannot be reached."""
        scope = CURRENT_CALLER.get() or CallerScope(ANONYMOUS)
        request = self._http.build_request("GET", url, headers={**headers, **self._identity(scope, site)})
        self.sent += 1
        try:
            return await self._http.send(request, stream=True)
        except httpx.TimeoutException:
            raise SiteFailure(
                site, SITE_TIMEOUT, f"site {site} did not answer within {self.timeout:g} s"
            ) from None
        except httpx.HTTPError as exc:
            raise SiteFailure(
                site, SITE_UNAVAILABLE, f"site {site} is unreachable ({type(exc).__name__})"
            ) from None

    def _finished(self, key: tuple[str, bytes, Caller], task: asyncio.Task[SiteAnswer]) -> None:
        if self._in_flight.get(key) is task:
            del self._in_flight[key]
        if not task.cancelled():
            task.exception()  # retrieved here: a failure nobody waits for any more is not logged as lost

    def _identity(self, scope: CallerScope, audience: str) -> dict[str, str]:
        if self.signing_key is None:
            return {}
        now = time.monotonic()
        token, signed = scope.tokens.get(audience, ("", -DEFAULT_TTL))
        if now - signed > DEFAULT_TTL / 2:  # a long request re-signs rather than send a nearly expired token
            token = sign_caller(self.signing_key, scope.caller, audience)
            scope.tokens[audience] = (token, now)
        return {HEADER: token}

    async def _send_shared(
        self,
        key: tuple[str, bytes, Caller],
        site: str,
        url: str,
        body: bytes,
        timeout: float,
        headers: dict[str, str],
    ) -> SiteAnswer:
        """The call, sent by this process or by another hub already sending the same one (shared.py)."""
        if isinstance(self.shared, MemoryState):  # nothing shared: no key to hash, no answer to encode
            return await self._send(site, url, body, timeout, headers)
        ran = False

        async def run() -> bytes:
            nonlocal ran
            ran = True
            try:
                return _encode(await self._send(site, url, body, timeout, headers))
            except SiteFailure as failure:
                return orjson.dumps({"failure": failure.code, "message": str(failure)})

        encoded = await self.shared.single_flight(_shared_key(key), timeout + 1.0, run)
        if not ran and self.metrics is not None:
            self.metrics.shared_calls.inc()
        return _decode(site, encoded)

    async def _send(
        self, site: str, url: str, body: bytes, timeout: float, headers: dict[str, str] | None
    ) -> SiteAnswer:
        with tracing.tracer.start_as_current_span(
            f"POST {site}",
            kind=trace.SpanKind.CLIENT,
            attributes={"mxhub.site": site, "http.request.method": "POST", "url.full": url},
        ) as span:
            outgoing = {
                **self._headers,
                "content-type": "application/json",
                "accept": "application/json",
                **(headers or {}),
            }
            tracing.outgoing(outgoing)  # traceparent of this span, and the hub's request id
            start = time.perf_counter()
            outcome = "error"
            try:
                answer = await self._post(site, url, body, timeout, outgoing)
                outcome = "ok" if not answer.errors else "error"
                return answer
            except SiteFailure as failure:
                outcome = _OUTCOMES.get(failure.code, "error")
                span.set_status(trace.Status(trace.StatusCode.ERROR, str(failure)))
                raise
            finally:
                if self.metrics is not None:
                    self.metrics.site_calls.labels(site, outcome).inc()
                    self.metrics.site_latency.labels(site).observe(time.perf_counter() - start)

    async def _post(
        self, site: str, url: str, body: bytes, timeout: float, headers: dict[str, str]
    ) -> SiteAnswer:
        self.sent += 1
        start = time.perf_counter()
        try:
            status, content = await self._pools.post(url, body, headers, timeout)
        except httpcore.TimeoutException:
            raise SiteFailure(
                site, SITE_TIMEOUT, f"site {site} did not answer within {timeout:g} s"
            ) from None
        except PoolError as exc:
            raise SiteFailure(
                site, SITE_UNAVAILABLE, f"site {site} is unreachable ({type(exc).__name__})"
            ) from None
        ms = (time.perf_counter() - start) * 1000
        try:
            payload = orjson.loads(content)  # several times faster than json on large pages
        except ValueError:
            raise SiteFailure(site, SITE_ERROR, f"site {site} answered HTTP {status} without JSON") from None
        if not isinstance(payload, dict) or ("data" not in payload and "errors" not in payload):
            raise SiteFailure(
                site, SITE_ERROR, f"site {site} answered something that is not a GraphQL response"
            )
        errors = payload.get("errors") or []
        if not isinstance(errors, list):
            raise SiteFailure(site, SITE_ERROR, f"site {site} answered malformed errors")
        data = payload.get("data")
        if data is not None and not isinstance(data, dict):
            raise SiteFailure(site, SITE_ERROR, f"site {site} answered malformed data")
        extensions = payload.get("extensions")
        return SiteAnswer(
            site=site,
            data=data,
            errors=errors,
            ms=ms,
            extensions=extensions if isinstance(extensions, dict) else {},
        )


def _shared_key(key: tuple[str, bytes, Caller]) -> str:
    """The in-flight key as every hub process spells it: the caller by its fields, in a fixed order."""
    url, body, caller = key
    who = orjson.dumps([caller.login, sorted(caller.staff_beamlines), caller.admin, caller.via])
    return hashlib.sha256(url.encode() + b"\0" + body + b"\0" + who).hexdigest()


def _encode(answer: SiteAnswer) -> bytes:
    return orjson.dumps(
        {"data": answer.data, "errors": answer.errors, "ms": answer.ms, "extensions": answer.extensions},
        default=str,
    )


def _decode(site: str, raw: bytes) -> SiteAnswer:
    """A call's answer as _send_shared encoded it (here or in another hub); a failure is raised again."""
    found = orjson.loads(raw)
    if "failure" in found:
        raise SiteFailure(site, found["failure"], found["message"])
    return SiteAnswer(site, found["data"], found["errors"], found["ms"], found["extensions"])
