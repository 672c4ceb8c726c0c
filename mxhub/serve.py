"""Run several ASGI apps on loopback ports in one event loop, stopping all on SIGINT/SIGTERM.

uvicorn's own signal capture assumes one server per process; here one handler stops every server.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # signals are handled once for all servers, by serve_all


_Socket = socket.socket  # inside Served, `socket` names the field


@dataclass
class Served:
    name: str
    app: Any
    host: str = "127.0.0.1"
    port: int = 0
    socket: socket.socket | None = field(default=None, repr=False)

    def bind(self) -> Served:
        """Bind now, so a port of 0 becomes a real port before anything starts."""
        self._listen()
        return self

    def _listen(self) -> _Socket:
        """The bound socket (bound now, if it was not yet)."""
        if self.socket is not None:
            return self.socket
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted sockets only when it is explicit,
        # and without it every keep-alive response waits ~40 ms for a delayed ACK.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            raise OSError(f"cannot listen on {self.host}:{self.port}: {exc.strerror}") from None
        sock.set_inheritable(True)
        self.socket = sock
        self.port = sock.getsockname()[1]
        return sock

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def make_server(served: Served, log_level: str = "warning") -> _Server:
    # X-Forwarded-For/-Proto are believed only from the proxies an operator names
    # (MXHUB_FORWARDED_ALLOW_IPS, comma-separated addresses): uvicorn's default trusts 127.0.0.1, which
    # let anyone on the machine (or behind a local proxy that passes the header on) pick the address
    # rate limits are counted by (issue 15). docs/security.md says so.
    allow = os.environ.get("MXHUB_FORWARDED_ALLOW_IPS", "").strip()
    config = uvicorn.Config(
        served.app,
        log_level=log_level,
        lifespan="on",
        timeout_graceful_shutdown=5,
        access_log=False,
        proxy_headers=bool(allow),
        forwarded_allow_ips=allow or None,
        server_header=False,
    )
    return _Server(config)


async def _started(servers: list[_Server], tasks: list[asyncio.Task[None]]) -> None:
    """Wait until every server listens; raise what stopped one that ended while starting."""
    while not all(server.started for server in servers):
        if any(t.done() for t in tasks):
            for t in tasks:
                exc = t.exception() if t.done() else None
                if exc is not None:
                    raise exc
            raise RuntimeError("a server stopped while starting")
        await asyncio.sleep(0.02)


async def serve_all(
    services: list[Served],
    *,
    on_started: Callable[[], Awaitable[None]] | None = None,
    stop: asyncio.Event | None = None,
    log_level: str = "warning",
) -> None:
    """Serve every service until SIGINT/SIGTERM (or `stop` is set), then shut all down cleanly."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    servers = []
    tasks = []
    for s in services:
        sock = s._listen()
        server = make_server(s, log_level)
        servers.append(server)
        tasks.append(asyncio.create_task(server.serve(sockets=[sock])))
    try:
        await _started(servers, tasks)
        if on_started is not None:
            await on_started()
        waiter = asyncio.create_task(stop.wait())
        await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
    finally:
        for server in servers:
            server.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
