"""`mxhub index PATH...`: parse options, run the indexer's scan against the site store, print; and the
broker side of indexing (issue 18): `mxhub index worker`, `mxhub index publish`, `mxhub index list`.
Over 400 lines because it is one command group (one module per group) whose length is click options,
each with its MXHUB_* variable and help; the work is in site_adapter.indexer."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

import click


def _path_map(values: tuple[str, ...]) -> list[tuple[str, str]]:
    pairs = []
    for item in values:
        old, sep, new = item.partition("=")
        if not sep or not old or not new:
            raise click.BadParameter(f"expected OLD=NEW, got {item!r}", param_hint="--path-map")
        pairs.append((old, new))
    return pairs


def configured_store(dsn: str | None) -> str | None:
    """The image store named by --dsn or the environment, checked to be PostgreSQL; None when none is.

    An ISPyB site's MXHUB_SITE_DSN is its MariaDB: its images live in MXHUB_IMAGE_STORE_DSN instead."""
    if dsn and not dsn.startswith(("postgres://", "postgresql://")):
        raise click.UsageError(
            f"the image store is PostgreSQL, not {dsn.split(':', 1)[0]}: for an ISPyB site set "
            "MXHUB_IMAGE_STORE_DSN (the store `mxhub site serve --image-store-dsn` reads), or give --dsn"
        )
    if not dsn and os.environ.get("MXHUB_SITE_BACKEND") == "ispyb":
        raise click.UsageError(
            "an ISPyB site keeps its image sets in MXHUB_IMAGE_STORE_DSN: set it (or give --dsn)"
        )
    return dsn or None


async def site_store_dsn(dsn: str | None, site: str) -> str:
    """The site's own store: the configured DSN, else the database `mxhub site serve --name SITE` and the
    demo's site SITE use on embedded PostgreSQL (mxhub.embedded.site_database)."""
    from mxhub.embedded import site_database
    from mxhub.stores import resolve_pg_dsn

    return configured_store(dsn) or await resolve_pg_dsn(None, site_database(site))


async def _scan(paths: tuple[str, ...], dsn: str | None, site: str, **kwargs: Any) -> dict[str, Any]:
    import asyncpg

    from site_adapter.backends.native.migrate import migrate
    from site_adapter.indexer.scan import run_scan

    dsn = await site_store_dsn(dsn, site)
    conn = await asyncpg.connect(dsn)
    try:
        await migrate(conn)
        summary = await run_scan(conn, list(paths), site=site, **kwargs)
    finally:
        await conn.close()
    return summary.to_dict()


@click.command("scan")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option(
    "--verify",
    is_flag=True,
    envvar="MXHUB_INDEX_VERIFY",
    help="Also check each binary section's Content-MD5 (reads whole files) and decode "
    "byte-offset pixels for a summary. Env: MXHUB_INDEX_VERIFY.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    envvar="MXHUB_INDEX_JSON",
    help="Print one JSON object (files, indexed, failed, sweeps) instead of text. Env: MXHUB_INDEX_JSON.",
)
@click.option(
    "--dsn",
    envvar=["MXHUB_IMAGE_STORE_DSN", "MXHUB_SITE_DSN"],
    default=None,
    help="PostgreSQL DSN of the site's store (an ISPyB site's image store); without it the site's own "
    "database on embedded PostgreSQL, the one `mxhub site serve --name SITE` and `mxhub demo` "
    "use. Env: MXHUB_IMAGE_STORE_DSN, then MXHUB_SITE_DSN.",
)
@click.option(
    "--site",
    envvar="MXHUB_SITE_NAME",
    default="local",
    show_default=True,
    help="The site whose store is written (without --dsn) and whose name goes into the global ids of "
    "linked data collections, e.g. esrf for the demo's largest site. Env: MXHUB_SITE_NAME.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    envvar="MXHUB_INDEX_WORKERS",
    default=lambda: max(1, min(8, os.cpu_count() or 1)),
    help="Worker processes reading headers [default: CPUs, at most 8]. Env: MXHUB_INDEX_WORKERS.",
)
@click.option(
    "--follow-links-into",
    "follow_links_into",
    multiple=True,
    envvar="MXHUB_INDEX_FOLLOW_LINKS_INTO",
    type=click.Path(file_okay=False),
    help="A tree that symbolic links under PATH may point into (repeatable; env: several, "
    "separated by ':'). Links leaving PATH and these trees are reported, not followed. "
    "Env: MXHUB_INDEX_FOLLOW_LINKS_INTO.",
)
@click.option(
    "--path-map",
    "path_map",
    multiple=True,
    envvar="MXHUB_PATH_MAP",
    help="OLD=NEW: files recorded under directory OLD now live under NEW (archived data); "
    "repeatable. Env: MXHUB_PATH_MAP (pairs separated by whitespace).",
)
@click.option(
    "--previews/--no-previews",
    "previews",
    envvar="MXHUB_INDEX_PREVIEWS",
    default=True,
    show_default=True,
    help="Store pictures of each sweep's first, middle and last frames (and a grid scan's heat map) in "
    "the site store, so they outlive the raw files (docs/previews.md). Env: MXHUB_INDEX_PREVIEWS.",
)
def scan(
    paths: tuple[str, ...],
    verify: bool,
    as_json: bool,
    dsn: str | None,
    site: str,
    workers: int,
    follow_links_into: tuple[str, ...],
    path_map: tuple[str, ...],
    previews: bool,
) -> None:
    """Index raw image files (CBF, .cbf.gz/.bz2, NXmx masters) under PATH... into the site store,
    group them into sweeps and link each sweep to its data collection. Unchanged files are skipped;
    exit status 1 when any file could not be indexed. `mxhub index PATH...` is this command."""
    pairs = _path_map(tuple(p for v in path_map for p in v.split()))
    bar = None
    show_bar = not as_json and sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if not show_bar or total == 0:
            return
        if bar is None:
            bar = click.progressbar(length=total, label="Indexing", file=sys.stderr)
            bar.__enter__()
        # Redraw every 0.5 % (and at the end): a redraw per file cost more than reading its header.
        if done == total or done - bar.pos >= max(1, total // 200):
            bar.update(done - bar.pos)

    try:
        trees = [t for v in follow_links_into for t in v.split(os.pathsep) if t]
        result = asyncio.run(
            _scan(
                paths,
                dsn,
                site,
                verify=verify,
                workers=workers,
                path_map=pairs,
                progress=progress,
                follow_links_into=trees,
                previews=previews,
            )
        )
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    if as_json:
        click.echo(json.dumps(result, indent=None, ensure_ascii=False))
    else:
        _print_text(result)
        if (
            site == "local"
            and dsn is None
            and result["sweeps"]
            and all(s["linked"] is None for s in result["sweeps"])
        ):
            click.echo(
                "hint: no sweep matched a data collection of site 'local'; give --site NAME "
                "(MXHUB_SITE_NAME) to index into that site's store",
                err=True,
            )
    if result["failed"]:
        sys.exit(1)


def _print_text(result: dict[str, Any]) -> None:
    click.echo(
        f"{result['files']} files: {result['indexed']} indexed, {result['skipped']} unchanged, "
        f"{len(result['failed'])} failed"
    )
    for s in result["sweeps"]:
        gaps = f", missing {s['missing']}" if s["missing"] else ""
        link = f" -> {s['linked']}" if s["linked"] else " (not linked)"
        click.echo(
            f"  {s['directory']}/{s['template']} {s['first']}-{s['last']} "
            f"({s['count']} {s['kind']}){gaps}{link}"
        )
    for f in result["failed"]:
        click.echo(f"  FAILED {f['path']}: {f['reason']}", err=True)


_SCAN_ARGS = "mxhub.index.scan_args"


class IndexGroup(click.Group):
    """`mxhub index PATH...` scans (as before issue 18); `mxhub index worker|publish|list|scan ...` are
    subcommands. A first argument naming a subcommand (or --help) is one; anything else is the scan's,
    so `mxhub index some/dir --json` keeps working. A directory named like a subcommand: `./worker`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and (args[0] in self.commands or args[0] in ctx.help_option_names):
            return super().parse_args(ctx, args)
        ctx.meta[_SCAN_ARGS] = list(args)
        return []

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage(ctx.command_path, "[OPTIONS] PATH... | COMMAND [ARGS]...")

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The scan's options (what `mxhub index --help` always listed), then the subcommands."""
        records = [r for p in scan.get_params(ctx) if (r := p.get_help_record(ctx)) is not None]
        with formatter.section("Options"):
            formatter.write_dl(records)
        self.format_commands(ctx, formatter)

    def invoke(self, ctx: click.Context) -> object:
        args = ctx.meta.pop(_SCAN_ARGS, None)
        if args is None:
            return super().invoke(ctx)
        with scan.make_context(ctx.info_name, args, parent=ctx.parent) as sub:
            return scan.invoke(sub)


@click.group("index", cls=IndexGroup)
def index() -> None:
    """Index raw image files: `mxhub index PATH... [--verify] [--json]` (the `scan` command: see
    `mxhub index scan --help`), or index them on a facility's broker: post requests with `publish`,
    consume them with `worker` on any number of machines, print the store's sweeps with `list`."""


index.add_command(scan)


def _broker_options(f: Any) -> Any:
    f = click.option(
        "--queue",
        envvar="MXHUB_INDEX_QUEUE",
        default="mxhub.index",
        show_default=True,
        help="The queue of index requests; failed requests go to <queue>.failed. Env: MXHUB_INDEX_QUEUE.",
    )(f)
    return click.option(
        "--broker",
        envvar="MXHUB_BROKER_URL",
        default="amqp://guest:guest@127.0.0.1:5672/",
        show_default=True,
        help="The RabbitMQ (AMQP 0-9-1) URL. Env: MXHUB_BROKER_URL.",
    )(f)


def _store_options(f: Any) -> Any:
    """--dsn and --site, as `mxhub index` takes them (the worker writes, `list` reads, one store)."""
    f = click.option(
        "--site",
        envvar="MXHUB_SITE_NAME",
        default="local",
        show_default=True,
        help="The site, as for `mxhub index`. Env: MXHUB_SITE_NAME.",
    )(f)
    return click.option(
        "--dsn",
        envvar=["MXHUB_IMAGE_STORE_DSN", "MXHUB_SITE_DSN"],
        default=None,
        help="PostgreSQL DSN of the site's store, as for `mxhub index`. Env: MXHUB_IMAGE_STORE_DSN, then "
        "MXHUB_SITE_DSN.",
    )(f)


@index.command("publish")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option(
    "--collection",
    envvar="MXHUB_INDEX_COLLECTION",
    default=None,
    help="The data collection the files belong to (global or site-local id); carried with the request "
    "and its results. Env: MXHUB_INDEX_COLLECTION.",
)
@_broker_options
def publish(paths: tuple[str, ...], collection: str | None, broker: str, queue: str) -> None:
    """Post one index request for PATH... (files or directories, made absolute) to the queue."""
    from site_adapter.indexer.requests import IndexRequest
    from site_adapter.indexer.worker import publish as post

    request = IndexRequest(tuple(os.path.abspath(p) for p in paths), collection)
    try:
        asyncio.run(post(broker, queue, request))
    except (OSError, ConnectionError) as exc:
        raise click.ClickException(f"cannot reach the broker at {_safe(broker)}: {exc}") from None
    click.echo(f"posted {len(paths)} path(s) to {queue}", err=True)


def _safe(url: str) -> str:
    """A broker URL without its password, for messages."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url


@index.command("worker")
@_broker_options
@_store_options
@click.option(
    "--root",
    "roots",
    multiple=True,
    envvar="MXHUB_INDEX_ROOTS",
    type=click.Path(file_okay=False),
    help="A tree requests may name (repeatable; env: several, separated by ':'); a request with a path "
    "elsewhere is dead-lettered. Required. Env: MXHUB_INDEX_ROOTS.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 256),
    envvar="MXHUB_INDEX_CONCURRENCY",
    default=2,
    show_default=True,
    help="Batches of requests processed at once. Env: MXHUB_INDEX_CONCURRENCY.",
)
@click.option(
    "--batch",
    type=click.IntRange(1, 10_000),
    envvar="MXHUB_INDEX_BATCH",
    default=32,
    show_default=True,
    help="Requests already received that one scan indexes together (each is still acked or "
    "dead-lettered by itself); the prefetch is concurrency x batch. Env: MXHUB_INDEX_BATCH.",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    envvar="MXHUB_WORKER_METRICS_PORT",
    default=None,
    help="Serve GET /metrics (Prometheus text) on this port (0: a free one, printed). Env: "
    "MXHUB_WORKER_METRICS_PORT.",
)
@click.option(
    "--metrics-host",
    envvar="MXHUB_WORKER_METRICS_HOST",
    default="127.0.0.1",
    show_default=True,
    help="The address /metrics listens on. Env: MXHUB_WORKER_METRICS_HOST.",
)
@click.option(
    "--verify",
    is_flag=True,
    envvar="MXHUB_INDEX_VERIFY",
    help="Check Content-MD5, as `mxhub index --verify`. Env: MXHUB_INDEX_VERIFY.",
)
@click.option(
    "--path-map",
    "path_map",
    multiple=True,
    envvar="MXHUB_PATH_MAP",
    help="OLD=NEW, as for `mxhub index`. Env: MXHUB_PATH_MAP.",
)
def worker(
    broker: str,
    queue: str,
    dsn: str | None,
    site: str,
    roots: tuple[str, ...],
    concurrency: int,
    batch: int,
    metrics_port: int | None,
    metrics_host: str,
    verify: bool,
    path_map: tuple[str, ...],
) -> None:
    """Consume index requests from the queue and index them into the site store, until SIGTERM or
    Ctrl-C; then stop taking requests, finish and ack those in flight, and exit 0."""
    from site_adapter.indexer.metrics import WorkerMetrics, serve
    from site_adapter.indexer.worker import WorkerSettings, roots_from

    resolved_roots = roots_from(roots)
    if not resolved_roots:
        raise click.UsageError("give --root DIR (or MXHUB_INDEX_ROOTS): the trees requests may name")
    metrics = WorkerMetrics()
    if metrics_port is not None:
        server, _ = serve(metrics, metrics_port, metrics_host)
        click.echo(f"metrics: http://{metrics_host}:{server.server_port}/metrics", err=True)
    pairs = tuple(_path_map(tuple(p for v in path_map for p in v.split())))
    store = asyncio.run(site_store_dsn(dsn, site))
    settings = WorkerSettings(
        dsn=store,
        roots=resolved_roots,
        broker=broker,
        queue=queue,
        concurrency=concurrency,
        batch=batch,
        site=site,
        path_map=pairs,
        verify=verify,
    )
    asyncio.run(_work(settings, metrics))


async def _work(settings: Any, metrics: Any) -> None:
    import signal

    from site_adapter.indexer.worker import IndexWorker

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    click.echo(f"worker: consuming {settings.queue} at {_safe(settings.broker)}", err=True)
    await IndexWorker(settings, metrics).run(stop)
    click.echo("worker: drained, exiting", err=True)


@index.command("list")
@_store_options
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    envvar="MXHUB_INDEX_JSON",
    help='Print one JSON object {"sweeps": [...]}, entries as `mxhub index --json`\'s. Env: MXHUB_INDEX_JSON.',
)
def list_(dsn: str | None, site: str, as_json: bool) -> None:
    """Print the sweeps in the site store."""
    sweeps = asyncio.run(_list(dsn, site))
    if as_json:
        click.echo(json.dumps({"sweeps": sweeps}, ensure_ascii=False))
        return
    for s in sweeps:
        gaps = f", missing {s['missing']}" if s["missing"] else ""
        link = f" -> {s['linked']}" if s["linked"] else " (not linked)"
        click.echo(
            f"{s['directory']}/{s['template']} {s['first']}-{s['last']} ({s['count']} {s['kind']}){gaps}{link}"
        )


async def _list(dsn: str | None, site: str) -> list[dict[str, Any]]:
    import asyncpg

    from site_adapter.backends.native.migrate import migrate
    from site_adapter.indexer.scan import list_sweeps

    conn = await asyncpg.connect(await site_store_dsn(dsn, site))
    try:
        await migrate(conn)
        return await list_sweeps(conn, site)
    finally:
        await conn.close()
