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


@click.command("index")
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
def index(
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
