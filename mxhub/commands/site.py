"""`mxhub site ...`: serve one site adapter over a native store or an ISPyB database."""

from __future__ import annotations

import asyncio

import click

from mxhub.serve import Served, serve_all


@click.group(help="Run a site adapter: one facility's metadata served through the common schema.")
def site() -> None:
    pass


async def open_backend(backend: str, dsn: str | None, name: str, demo_collections: int):
    """Start the chosen backend (loading demo data into an empty native store when asked)."""
    from site_adapter.backends.base import BackendError

    if backend == "native":
        import asyncpg

        from mxhub.stores import resolve_pg_dsn
        from site_adapter.backends.native import NativeBackend
        from site_adapter.backends.native.loader import load_demo

        try:
            resolved = await resolve_pg_dsn(dsn, f"mxhub_site_{name.replace('-', '_')}")
        except (OSError, asyncpg.PostgresError) as exc:
            raise BackendError(f"cannot reach PostgreSQL: {exc}") from None
        b = NativeBackend(resolved)
        await b.start()
        if demo_collections > 0:
            async with b.pool.acquire() as conn:
                await load_demo(conn, name, demo_collections)
        return b
    if not dsn:
        raise click.UsageError("--backend ispyb needs --dsn mysql://user:password@host:3306/ispyb")
    from site_adapter.backends.ispyb import IspybBackend

    b = IspybBackend(dsn)
    await b.start()
    return b


@site.command("serve", help="Serve one site adapter at http://HOST:PORT/graphql (GraphiQL in a browser).")
@click.option("--backend", type=click.Choice(["native", "ispyb"]), default="native", show_default=True,
              envvar="MXHUB_SITE_BACKEND", help="The store behind the site. [env MXHUB_SITE_BACKEND]")
@click.option("--dsn", envvar="MXHUB_SITE_DSN",
              help="postgresql://... (native) or mysql://... (ispyb); native without it uses embedded "
                   "PostgreSQL. [env MXHUB_SITE_DSN]")
@click.option("--name", required=True, envvar="MXHUB_SITE_NAME",
              help="The site's registered name, e.g. esrf (lower case). [env MXHUB_SITE_NAME]")
@click.option("--host", default="127.0.0.1", show_default=True, envvar="MXHUB_SITE_HOST",
              help="Address to listen on. [env MXHUB_SITE_HOST]")
@click.option("--port", default=8001, show_default=True, type=int, envvar="MXHUB_SITE_PORT",
              help="Port to listen on (0 picks a free one). [env MXHUB_SITE_PORT]")
@click.option("--demo-collections", default=0, show_default=True, type=click.IntRange(min=0),
              envvar="MXHUB_DEMO_COLLECTIONS",
              help="Fill an empty native store with this many demo data collections. [env MXHUB_DEMO_COLLECTIONS]")
def serve(backend: str, dsn: str | None, name: str, host: str, port: int, demo_collections: int) -> None:
    from mx_schema.ids import SITE_NAME
    from site_adapter.app import create_app
    from site_adapter.backends.base import BackendError

    if not SITE_NAME.match(name):
        raise click.BadParameter("lower-case letters, digits, '-' and '_' only", param_hint="--name")

    async def run() -> None:
        try:
            b = await open_backend(backend, dsn, name, demo_collections)
        except BackendError as exc:
            raise click.ClickException(str(exc)) from None
        try:
            served = Served(name, create_app(b, site=name, manage_backend=False), host, port).bind()

            async def started() -> None:
                click.echo(f"site {name} ({b.kind}) serving {served.url}/graphql", err=True)

            await serve_all([served], on_started=started)
        finally:
            await b.close()

    try:
        asyncio.run(run())
    except OSError as exc:
        raise click.ClickException(str(exc)) from None
