"""The HTTP under the hub's GraphQL calls to sites: one httpcore connection pool per site origin, kept alive.

Why not httpx's client (issue 17): profiled at 10 sites, httpx's client layers (request building, cookies,
auth and redirect handling) and one shared pool -- which scans every idle connection to every site, with
a poll of each socket, before each request -- took about half of the hub's CPU. Per-origin pools scan only
that site's connections. The wire is the same: HTTP/1.1 with keep-alive, HTTP/2 over TLS where the site
offers it (when h2 is installed), TCP_NODELAY, httpx's own TLS verification, no proxy, no redirects.

Sends and returns bytes only: what a GraphQL answer means is client.py's job. Errors are httpcore's
(PoolError below): the caller says what they mean for the site.
"""

from __future__ import annotations

import socket
import ssl
from collections import OrderedDict

import httpcore
import httpx

# Every error httpcore raises for a request that got no complete HTTP answer.
PoolError = (
    httpcore.TimeoutException,
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.UnsupportedProtocol,
    httpcore.ProxyError,
    httpcore.ConnectionNotAvailable,
)
_SOCKET_OPTIONS = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]  # small requests never wait for an ACK
_KEEPALIVE_EXPIRY = 5.0  # s, as httpx's transport: an idle connection older than this is not reused
_URLS_MAX = 1024


class SitePools:
    """Connection pools by origin (scheme, host, port); `max_connections` is per origin."""

    def __init__(self, *, max_connections: int, http2: bool) -> None:
        self.max_connections = max_connections
        self.http2 = http2
        self._ssl: ssl.SSLContext | None = None  # made on the first https site: it reads the CA bundle
        self._pools: dict[tuple[bytes, bytes, int | None], httpcore.AsyncConnectionPool] = {}
        # Parsed once per site URL, with its Host header (httpx's: IPv6 in brackets, no default port).
        self._urls: OrderedDict[str, tuple[httpcore.URL, bytes]] = OrderedDict()

    async def post(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, bytes]:
        """POST `body` to `url`: (status, the whole response body). Raises one of PoolError."""
        parsed, host = self._url(url)
        response = await self._pool(parsed).request(
            "POST",
            parsed,
            headers=[(b"Host", host), *headers.items()],
            content=body,
            extensions={"timeout": {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}},
        )
        return response.status, response.content

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()

    def _url(self, url: str) -> tuple[httpcore.URL, bytes]:
        found = self._urls.get(url)
        if found is None:
            checked = httpx.URL(url)  # httpx's parser: the same URLs are accepted (and refused) as before
            if checked.scheme not in ("http", "https") or not checked.host:
                raise httpcore.UnsupportedProtocol(f"cannot POST to {url!r}: not an http(s) URL")
            parsed = httpcore.URL(
                scheme=checked.raw_scheme, host=checked.raw_host, port=checked.port, target=checked.raw_path
            )
            found = self._urls[url] = (parsed, checked.netloc)
            if len(self._urls) > _URLS_MAX:
                self._urls.popitem(last=False)
        return found

    def _pool(self, url: httpcore.URL) -> httpcore.AsyncConnectionPool:
        """The pool of the URL's origin, made on its first call."""
        key = (url.scheme, url.host, url.port)
        pool = self._pools.get(key)
        if pool is None:
            if url.scheme == b"https" and self._ssl is None:
                self._ssl = httpx.create_ssl_context()  # httpx's default verification (certifi, SSL_CERT_*)
            pool = self._pools[key] = httpcore.AsyncConnectionPool(
                ssl_context=self._ssl,
                max_connections=self.max_connections,
                max_keepalive_connections=self.max_connections,
                keepalive_expiry=_KEEPALIVE_EXPIRY,
                http1=True,
                http2=self.http2,
                socket_options=_SOCKET_OPTIONS,
            )
        return pool
