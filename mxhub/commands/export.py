"""`mxhub export ID --format mmcif`: print a deposition-ready mmCIF fragment for a data collection.

It asks a site adapter or the hub for `DataCollection.export(format: MMCIF)` and, when the endpoint
stitches a LIMS in (the hub), adds `_exptl_crystal_grow` from `sample { crystallisation }` through the
same writer (site_adapter.export.mmcif). The ID resolves as `mxhub reprocess ID` resolves it.
"""

from __future__ import annotations

import sys
from typing import Any

import click
import httpx

from mxhub.commands.reprocess import ReprocessError, global_id
from mxhub.urls import graphql_endpoint

FORMATS = ("mmcif",)
EXPORT_QUERY = (
    "query($id: ID!, $processing: ID, $program: String) { node(id: $id) { ... on DataCollection { "
    "export(format: MMCIF, processing: $processing, program: $program) } } }"
)
CRYSTALLISATION_QUERY = (
    "query($id: ID!) { node(id: $id) { ... on DataCollection { sample { crystallisation { "
    "method ph temperature screen components { name concentration unit } } } } } }"
)


class ExportError(Exception):
    """One line a user can act on; the command prints it and exits with status 1."""


def _post(
    url: str, query: str, variables: dict[str, Any], token: str | None, timeout: float
) -> dict[str, Any]:
    headers = {"Accept": "application/graphql-response+json, application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        response = httpx.post(
            url, json={"query": query, "variables": variables}, headers=headers, timeout=timeout
        )
    except httpx.HTTPError as exc:
        raise ExportError(f"cannot reach {url}: {exc}") from None
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ExportError(f"{url} answered HTTP {response.status_code} without a GraphQL response")
    return body


def _error_line(errors: list[Any]) -> str:
    first: dict[str, Any] = errors[0] if isinstance(errors[0], dict) else {"message": str(errors[0])}
    ext: dict[str, Any] = first.get("extensions") or {}
    where = ", ".join(f"{k} {ext[k]}" for k in ("site", "code") if ext.get(k))
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{first.get('message', 'GraphQL error')}{f' [{where}]' if where else ''}{more}"


def fetch_export(
    url: str, gid: str, processing: str | None, program: str | None, token: str | None, timeout: float
) -> str:
    """The site's (or hub's) mmCIF fragment; ExportError with the GraphQL error's message and code, or
    NOT_FOUND when the endpoint shows no such collection (absent, or not visible to this caller)."""
    body = _post(url, EXPORT_QUERY, {"id": gid, "processing": processing, "program": program}, token, timeout)
    if body.get("errors"):
        raise ExportError(_error_line(body["errors"]))
    node = (body.get("data") or {}).get("node")
    if node is None or not node.get("export"):
        raise ExportError(f"no data collection with id {gid} at {url} that you may see [code NOT_FOUND]")
    return str(node["export"])


def crystal_grow(url: str, gid: str, token: str | None, timeout: float) -> Any:
    """The LIMS record as a mmcif.CrystalGrow, or None: at a site alone (no `crystallisation` field),
    or when no LIMS knows the sample."""
    from site_adapter.export.mmcif import CrystalGrow

    body = _post(url, CRYSTALLISATION_QUERY, {"id": gid}, token, timeout)
    if body.get("errors"):
        return None
    node = (body.get("data") or {}).get("node") or {}
    xtal = (node.get("sample") or {}).get("crystallisation")
    if not xtal:
        return None
    parts = []
    for c in xtal.get("components") or []:
        amount = (
            f"{c['concentration']:g} {c.get('unit') or ''}".strip()
            if c.get("concentration") is not None
            else ""
        )
        parts.append(" ".join(x for x in (amount, c.get("name") or "") if x))
    if xtal.get("ph") is not None:
        parts.append(f"pH {xtal['ph']:g}")
    details = ", ".join(p for p in parts if p) or xtal.get("screen")
    return CrystalGrow(
        method=xtal.get("method"), ph=xtal.get("ph"), temperature=xtal.get("temperature"), details=details
    )


def with_crystal_grow(text: str, grow: Any) -> str:
    """The fragment with `_exptl_crystal_grow` added (the writer's own function, so one writer)."""
    import gemmi

    from site_adapter.export import mmcif

    doc = gemmi.cif.read_string(text)
    mmcif.add_crystal_grow(doc.sole_block(), grow)
    return mmcif.as_text(doc)


@click.command(
    "export",
    help="Print a deposition-ready metadata fragment (PDBx/mmCIF) for a data collection ID (global, or "
    "site-local with --site), from a site adapter or the hub. Through the hub, the crystallisation "
    "record of a LIMS becomes _exptl_crystal_grow.",
)
@click.argument("id")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="mmcif",
    show_default=True,
    envvar="MXHUB_EXPORT_FORMAT",
    help="Output format. [env MXHUB_EXPORT_FORMAT]",
)
@click.option(
    "--processing",
    envvar="MXHUB_EXPORT_PROCESSING",
    help="The processing result (its global or local id) for _reflns; default: the best. "
    "[env MXHUB_EXPORT_PROCESSING]",
)
@click.option(
    "--program",
    envvar="MXHUB_EXPORT_PROGRAM",
    help="Take _reflns from the best result of this pipeline (a substring, e.g. xia2). "
    "[env MXHUB_EXPORT_PROGRAM]",
)
@click.option(
    "--url",
    envvar=["MXHUB_URL", "MXHUB_HUB_URL"],
    help="Base URL of a site adapter or the hub. [env MXHUB_URL, then MXHUB_HUB_URL]",
)
@click.option(
    "--site", envvar="MXHUB_SITE_NAME", help="Site name, when ID is a site-local id. [env MXHUB_SITE_NAME]"
)
@click.option(
    "--token",
    envvar="MXHUB_TOKEN",
    help="API token for the hub (to export your own embargoed data). [env MXHUB_TOKEN]",
)
@click.option(
    "--lims/--no-lims",
    default=True,
    show_default=True,
    envvar="MXHUB_EXPORT_LIMS",
    help="Ask the endpoint for the sample's crystallisation (at the hub) for _exptl_crystal_grow. "
    "[env MXHUB_EXPORT_LIMS]",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=30.0,
    show_default=True,
    envvar="MXHUB_EXPORT_TIMEOUT",
    help="Seconds to wait for each GraphQL answer. [env MXHUB_EXPORT_TIMEOUT]",
)
def export(
    id: str,
    fmt: str,
    processing: str | None,
    program: str | None,
    url: str | None,
    site: str | None,
    token: str | None,
    lims: bool,
    timeout: float,
) -> None:
    if not url:
        raise click.UsageError("no GraphQL endpoint: give --url or set MXHUB_URL / MXHUB_HUB_URL")
    if processing is not None and program is not None:
        raise click.UsageError("give --processing or --program, not both")
    endpoint = graphql_endpoint(url)
    try:
        gid = global_id(id, site)
        text = fetch_export(endpoint, gid, processing, program, token, timeout)
        grow = crystal_grow(endpoint, gid, token, timeout) if lims else None
    except (ReprocessError, ExportError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    if grow is not None:
        text = with_crystal_grow(text, grow)
    click.echo(text, nl=not text.endswith("\n"))
