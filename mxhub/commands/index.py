"""`mxhub index PATH...`: parse options, run the indexer's scan against the site store, print."""

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


async def _scan(paths: tuple[str, ...], dsn: str | None, **kwargs: Any) -> dict[str, Any]:
    import asyncpg

    from site_adapter.backends.native.migrate import migrate
    from site_adapter.indexer.scan import run_scan

    if not dsn:
        from mxhub.embedded import embedded_dsn, ensure_database

        dsn = await ensure_database(embedded_dsn("site"), "mxhub_site")
    conn = await asyncpg.connect(dsn)
    try:
        await migrate(conn)
        summary = await run_scan(conn, list(paths), **kwargs)
    finally:
        await conn.close()
    return summary.to_dict()


@click.command("index")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--verify", is_flag=True, envvar="MXHUB_INDEX_VERIFY",
              help="Also check each binary section's Content-MD5 (reads whole files) and decode "
                   "byte-offset pixels for a summary. Env: MXHUB_INDEX_VERIFY.")
@click.option("--json", "as_json", is_flag=True, envvar="MXHUB_INDEX_JSON",
              help="Print one JSON object (files, indexed, failed, sweeps) instead of text. "
                   "Env: MXHUB_INDEX_JSON.")
@click.option("--dsn", envvar="MXHUB_SITE_DSN", default=None,
              help="PostgreSQL DSN of the native site store; without it an embedded server is used. "
                   "Env: MXHUB_SITE_DSN.")
@click.option("--site", envvar="MXHUB_SITE_NAME", default="local", show_default=True,
              help="Site name used in the global ids of linked data collections. Env: MXHUB_SITE_NAME.")
@click.option("--workers", type=click.IntRange(1, 256), envvar="MXHUB_INDEX_WORKERS",
              default=lambda: max(1, min(8, os.cpu_count() or 1)),
              help="Worker processes reading headers [default: CPUs, at most 8]. Env: MXHUB_INDEX_WORKERS.")
@click.option("--path-map", "path_map", multiple=True, envvar="MXHUB_PATH_MAP",
              help="OLD=NEW: files recorded under directory OLD now live under NEW (archived data); "
                   "repeatable. Env: MXHUB_PATH_MAP (pairs separated by whitespace).")
def index(paths: tuple[str, ...], verify: bool, as_json: bool, dsn: str | None, site: str,
          workers: int, path_map: tuple[str, ...]) -> None:
    """Index raw image files (CBF, .cbf.gz/.bz2, NXmx masters) under PATH... into the site store,
    group them into sweeps and link each sweep to its data collection. Unchanged files are skipped;
    exit status 1 when any file could not be indexed."""
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
        bar.update(done - bar.pos)

    try:
        result = asyncio.run(_scan(paths, dsn, verify=verify, workers=workers, path_map=pairs,
                                   site=site, progress=progress))
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    if as_json:
        click.echo(json.dumps(result, indent=None))
    else:
        _print_text(result)
    if result["failed"]:
        sys.exit(1)


def _print_text(result: dict[str, Any]) -> None:
    click.echo(f"{result['files']} files: {result['indexed']} indexed, {result['skipped']} unchanged, "
               f"{len(result['failed'])} failed")
    for s in result["sweeps"]:
        gaps = f", missing {s['missing']}" if s["missing"] else ""
        link = f" -> {s['linked']}" if s["linked"] else " (not linked)"
        click.echo(f"  {s['directory']}/{s['template']} {s['first']}-{s['last']} "
                   f"({s['count']} {s['kind']}){gaps}{link}")
    for f in result["failed"]:
        click.echo(f"  FAILED {f['path']}: {f['reason']}", err=True)
