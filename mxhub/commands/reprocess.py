"""`mxhub reprocess`: print XDS.INP, a dials.import command or a MOSFLM script for a data collection.

With an ID it asks a site adapter or the hub over GraphQL; with --image it reads one image's header here.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

import click
import httpx

from mxhub.urls import graphql_endpoint
from site_adapter.reprocess import (
    FORMATS,
    MissingGeometry,
    NotRotation,
    geometry_from_header,
    render,
    template_from_filename,
)

if TYPE_CHECKING:
    from site_adapter.indexer.cbf_header import CbfHeader

FIELDS = {"xds": "xdsInp", "dials": "dialsImport", "mosflm": "mosflm"}
QUERY = (
    "query($id: ID!) { node(id: $id) { ... on DataCollection { "
    "reprocessing { xdsInp dialsImport mosflm } } } }"
)


class ReprocessError(Exception):
    """One line a user can act on; the command prints it and exits with status 1."""


def global_id(value: str, site: str | None) -> str:
    """The global id for ID: as given when it already is one, else built from --site and the local id."""
    from mx_schema.errors import InvalidGlobalId
    from mx_schema.ids import decode_id, encode_id

    try:
        gid = decode_id(value)
    except InvalidGlobalId:
        if not site:
            raise ReprocessError(
                f"{value!r} is not a global id; give --site NAME (or MXHUB_SITE_NAME) "
                "to use it as a site-local data collection id"
            ) from None
        return encode_id(site, "DataCollection", value)
    if gid.type != "DataCollection":
        raise ReprocessError(f"{value!r} is a {gid.type} id, not a DataCollection id")
    return value


def fetch_reprocessing(url: str, gid: str, fmt: str, timeout: float = 30.0) -> str:
    """POST the reprocessing query to a GraphQL endpoint and return the chosen text."""
    try:
        response = httpx.post(
            url,
            json={"query": QUERY, "variables": {"id": gid}},
            timeout=timeout,
            headers={"Accept": "application/graphql-response+json, application/json"},
        )
    except httpx.HTTPError as exc:
        raise ReprocessError(f"cannot reach {url}: {exc}") from None
    try:
        body: Any = response.json()
    except ValueError:
        raise ReprocessError(
            f"{url} answered HTTP {response.status_code} without a GraphQL response"
        ) from None
    if not isinstance(body, dict):
        raise ReprocessError(f"{url} answered HTTP {response.status_code} without a GraphQL response")
    errors = body.get("errors")
    if errors:
        first: dict[str, Any] = errors[0] if isinstance(errors[0], dict) else {"message": str(errors[0])}
        ext: dict[str, Any] = first.get("extensions") or {}
        where = ", ".join(f"{k} {ext[k]}" for k in ("site", "code") if ext.get(k))
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ReprocessError(f"{first.get('message', 'GraphQL error')}{f' [{where}]' if where else ''}{more}")
    node = (body.get("data") or {}).get("node")
    if node is None:
        raise ReprocessError(f"no data collection with id {gid} at {url}")
    text = (node.get("reprocessing") or {}).get(FIELDS[fmt])
    if not text:
        raise ReprocessError(f"{url} returned no {FIELDS[fmt]} for {gid}")
    return str(text)


def indexed_sweep(path: str, dsn: str | None, site: str | None) -> tuple[str, str, int, int] | None:
    """(directory, template, first, number of images) of the indexed sweep holding `path` in the site's
    store (as `mxhub index` wrote it), or None when there is no store or the image is not indexed.

    Issue 13: --image assumed a sweep of 1 image although the indexer had just recorded the whole sweep."""
    import asyncio

    from mxhub.commands.index import configured_store
    from mxhub.embedded import data_root, site_database

    try:
        configured = configured_store(dsn)
    except click.UsageError:
        return None  # e.g. an ISPyB site's MariaDB DSN: no image store to ask
    if configured is None and not (data_root() / "pg-default" / "PG_VERSION").exists():
        return None  # no embedded store on this machine: do not create one just to look

    async def look() -> tuple[str, str, int, int] | None:
        import asyncpg

        from mxhub.embedded import embedded_dsn, with_database
        from site_adapter.indexer.store import sweep_of_file

        store_dsn = configured
        if store_dsn is None:
            try:
                server = await asyncio.to_thread(embedded_dsn, "default")
            except Exception:  # the lookup is optional: an embedded server that will not start means none
                return None
            # Looking creates nothing: a site database that does not exist means no sweep.
            store_dsn = with_database(server, site_database(site or "local"))
        try:
            conn = await asyncpg.connect(store_dsn, timeout=10)
        except (OSError, asyncpg.PostgresError):
            return None
        try:
            found = await sweep_of_file(conn, sorted({os.path.abspath(path), os.path.realpath(path)}))
        except asyncpg.PostgresError:  # a store without the image tables
            return None
        finally:
            await conn.close()
        # The range spans the sweep (first..last), gaps included: what DATA_RANGE and dials.import need.
        return (
            None
            if found is None
            else (found.directory, found.template, found.first, found.last - found.first + 1)
        )

    return asyncio.run(look())


def _first_of_sweep(header: CbfHeader, offset: int) -> CbfHeader:
    """The header as the sweep's first image would have it: `offset` images earlier, so the start angle
    (and every scanned axis of an imgCIF header) steps back by offset increments (the indexer groups
    only images whose angles follow)."""
    import dataclasses

    changes: dict[str, Any] = {}
    start, inc = header.start_angle, header.angle_increment
    if start is not None and inc:
        changes["start_angle"] = start - offset * inc
    axes = header.axes
    if axes is not None:
        changes["axes"] = dataclasses.replace(
            axes,
            axes=tuple(
                dataclasses.replace(a, start=a.start - offset * a.increment) if a.increment else a
                for a in axes.axes
            ),
        )
    return dataclasses.replace(header, **changes) if changes else header


MASTER_SUFFIXES = (".h5", ".nxs", ".nx5", ".hdf5")  # NXmx masters (x_master.h5, DLS x.nxs)


def from_master(path: str, fmt: str, template: str | None, images: int | None) -> str:
    """Render from an NXmx master: images 1..n from the master's scan, the master itself as the template
    (the writers turn x_master.h5 into the data files' name); missing data files become a note."""
    from dataclasses import replace

    from site_adapter.indexer.nexus import read_nexus

    try:
        header = read_nexus(path)
    except (OSError, ValueError) as exc:
        raise ReprocessError(f"cannot read the header of {path}: {exc}") from None
    directory = os.path.dirname(os.path.abspath(path))
    if template is not None and "/" in template:
        directory, template = template.rsplit("/", 1)
    n_images = images or int(header.extra.get("n_images") or 1)
    try:
        g = geometry_from_header(
            header,
            template=template or os.path.basename(path),
            image_directory=directory,
            number_of_images=n_images,
            first_image=1,
        )
    except MissingGeometry as exc:
        raise ReprocessError(
            f"cannot write reprocessing input for {path}: missing {', '.join(exc.missing)}"
        ) from None
    if header.extra.get("warnings"):
        g = replace(g, notes=g.notes + (header.extra["warnings"],))
    try:
        return render(fmt, g)
    except NotRotation as exc:
        raise ReprocessError(f"cannot write {fmt} input for {path}: {exc}") from None


def _read_image_header(path: str) -> CbfHeader:
    """One image's header, or a header saved as text (`.txt`); ReprocessError says why not."""
    from site_adapter.indexer.cbf_header import TruncatedHeader, parse_header_text, read_header

    try:
        return read_header(path)
    except TruncatedHeader:
        if not path.endswith(".txt"):
            raise ReprocessError(
                f"cannot read the header of {path}: the file ends before its image data"
            ) from None
        # A header saved as text (like ../shared/fixtures/seed/id29_pilatus3_6m_header.cbf.txt) is what
        # the user has when the images are gone; its header is complete even though the data is not.
        with open(path, encoding="latin-1") as fh:
            return parse_header_text(fh.read())
    except (OSError, ValueError) as exc:
        raise ReprocessError(f"cannot read the header of {path}: {exc}") from None


def from_image(
    path: str,
    fmt: str,
    template: str | None,
    images: int | None,
    sweep: tuple[str, str, int, int] | None = None,
) -> str:
    """Render from one image's header: template and first image number from the indexed `sweep` when
    given, else from the file name; an explicit template or image count wins. A master is its own sweep."""
    if path.lower().endswith(MASTER_SUFFIXES):
        return from_master(path, fmt, template, images)
    header = _read_image_header(path)
    directory = os.path.dirname(os.path.abspath(path))
    derived = template_from_filename(path)
    first = derived[1] if derived else None
    if template is None and sweep is not None:
        # The store's template leaves out .gz/.bz2 (as ISPyB does); the file's own suffix is kept.
        suffix = derived[0][len(sweep[1]) :] if derived and derived[0].startswith(sweep[1]) else ""
        directory, template = sweep[0], sweep[1] + suffix
        if first is not None and first != sweep[2]:
            header = _first_of_sweep(header, first - sweep[2])
        first = sweep[2]
        images = images if images is not None else sweep[3]
    if template is None:
        template = derived[0] if derived else None
    elif "/" in template:
        directory, template = template.rsplit("/", 1)
    try:
        g = geometry_from_header(
            header, template=template, image_directory=directory, number_of_images=images, first_image=first
        )
    except MissingGeometry as exc:
        raise ReprocessError(
            f"cannot write reprocessing input for {path}: missing {', '.join(exc.missing)}"
        ) from None
    try:
        return render(fmt, g)
    except NotRotation as exc:
        raise ReprocessError(f"cannot write {fmt} input for {path}: {exc}") from None


@click.command(
    "reprocess",
    help="Print reprocessing input (XDS.INP, a dials.import command or a MOSFLM "
    "script) for a data collection ID (global, or site-local with --site), or "
    "for one image with --image.",
)
@click.argument("id", required=False)
# --format, --image, --template, --images and --timeout describe one invocation, not a configuration,
# so only the endpoint, the site name and its store come from the environment.
@click.option(
    "--format", "fmt", type=click.Choice(FORMATS), required=True, help="Which program's input to print."
)
@click.option(
    "--image",
    type=click.Path(exists=True, dir_okay=False),
    help="Use this image's header instead of a data collection ID (.cbf, .cbf.gz, .cbf.bz2, an "
    "NXmx master x_master.h5 / .nxs, or a header saved as .txt).",
)
@click.option(
    "--template",
    help="With --image: the sweep's file template, '#' (or '?') per digit, optionally with its "
    "directory; default: the indexed sweep holding the image (see --dsn), else from the image's "
    "file name.",
)
@click.option(
    "--images",
    type=click.IntRange(min=1),
    help="With --image: number of images in the sweep; default: the indexed sweep's, else the "
    "header's N_oscillations when above 1, else 1.",
)
@click.option(
    "--url",
    envvar=["MXHUB_URL", "MXHUB_HUB_URL"],
    help="Base URL of a site adapter or the hub, e.g. http://127.0.0.1:8000 (a trailing /graphql is "
    "tolerated). [env MXHUB_URL, then MXHUB_HUB_URL]",
)
@click.option(
    "--site",
    envvar="MXHUB_SITE_NAME",
    help="Site name, when ID is a site-local id (e.g. ISPyB dataCollectionId); with --image, the site "
    "whose store holds the indexed sweep. [env MXHUB_SITE_NAME]",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=30.0,
    show_default=True,
    help="Seconds to wait for the GraphQL answer.",
)
@click.option(
    "--dsn",
    envvar=["MXHUB_IMAGE_STORE_DSN", "MXHUB_SITE_DSN"],
    help="With --image: the site store `mxhub index` wrote, to take the sweep's template, first image "
    "and count from; default: the --site's store on embedded PostgreSQL. "
    "[env MXHUB_IMAGE_STORE_DSN, then MXHUB_SITE_DSN]",
)
def reprocess(
    id: str | None,
    fmt: str,
    image: str | None,
    template: str | None,
    images: int | None,
    url: str | None,
    site: str | None,
    timeout: float,
    dsn: str | None,
) -> None:
    if (id is None) == (image is None):
        raise click.UsageError("give either a data collection ID or --image FILE (not both)")
    try:
        if image is not None:
            sweep = indexed_sweep(image, dsn, site) if template is None else None
            text = from_image(image, fmt, template, images, sweep)
        else:
            if template is not None or images is not None:
                raise click.UsageError("--template and --images go with --image")
            if not url:
                raise click.UsageError("no GraphQL endpoint: give --url or set MXHUB_URL / MXHUB_HUB_URL")
            # One meaning for every URL variable (issue 13): a base URL, as `mxhub hub ...` takes it.
            text = fetch_reprocessing(graphql_endpoint(url), global_id(id, site), fmt, timeout)  # type: ignore[arg-type]
    except (ReprocessError, MissingGeometry) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(text, nl=not text.endswith("\n"))
