"""`mxhub lims ...`: serve a crystallisation LIMS source, and import LIMS exports into its store.

Parses options, calls one library function (site_adapter.lims), prints; no SQL and no parsing here.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mxhub.commands.site import oidc_verifier
from mxhub.serve import Served, serve_all

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

DEFAULT_DATABASE = "mxhub_lims"


@click.group(
    help="Run a crystallisation LIMS source (a federation subgraph that extends Sample with "
    "`crystallisation`) and import LIMS exports into its store."
)
def lims() -> None:
    pass


def demo_sizes(collections: int) -> dict[str, int]:
    """The sizes `mxhub demo` gives its sites for --collections, so the demo LIMS shares their keys."""
    from mxhub.commands.demo import DEMO_SITES

    return {site: max(50, int(collections * share)) for site, _facility, share in DEMO_SITES}


async def _resolve(dsn: str | None) -> str:
    import asyncpg

    from mxhub.stores import resolve_pg_dsn

    try:
        return await resolve_pg_dsn(dsn, DEFAULT_DATABASE)
    except (OSError, asyncpg.PostgresError) as exc:
        raise click.ClickException(f"cannot reach PostgreSQL: {exc}") from None


_dsn_option = click.option(
    "--dsn",
    envvar="MXHUB_LIMS_DSN",
    help=f"postgresql://... of the LIMS store; without it, database {DEFAULT_DATABASE} on embedded PostgreSQL. "
    "[env MXHUB_LIMS_DSN]",
)


@lims.command(
    "serve",
    help="Serve the LIMS source at http://HOST:PORT/graphql; register it with "
    "`mxhub hub register-site NAME URL` (kind lims).",
)
@_dsn_option
@click.option(
    "--name",
    default="lims",
    show_default=True,
    envvar="MXHUB_LIMS_NAME",
    help="The LIMS's registered name, reported as `source` (lower case). [env MXHUB_LIMS_NAME]",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    envvar="MXHUB_LIMS_HOST",
    help="Address to listen on. [env MXHUB_LIMS_HOST]",
)
@click.option(
    "--port",
    default=8010,
    show_default=True,
    type=int,
    envvar="MXHUB_LIMS_PORT",
    help="Port to listen on (0 picks a free one). [env MXHUB_LIMS_PORT]",
)
@click.option(
    "--demo/--no-demo",
    default=False,
    show_default=True,
    envvar="MXHUB_LIMS_DEMO",
    help="Fill an empty store with demo records sharing keys with `mxhub demo`'s sites. [env MXHUB_LIMS_DEMO]",
)
@click.option(
    "--demo-collections",
    default=20000,
    show_default=True,
    type=click.IntRange(min=50),
    envvar="MXHUB_DEMO_COLLECTIONS",
    help="The --collections `mxhub demo` runs with, so the demo keys match. [env MXHUB_DEMO_COLLECTIONS]",
)
@click.option(
    "--trust-hub-key",
    "hub_keys",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    envvar="MXHUB_TRUSTED_HUB_KEYS",
    help="PEM public key of a hub this LIMS answers (repeatable; `mxhub hub key --hub URL` prints "
    "it). The LIMS answers only requests such a hub vouches for. [env MXHUB_TRUSTED_HUB_KEYS, "
    "paths separated by ':']",
)
@click.option(
    "--oidc-issuer",
    envvar="MXHUB_LIMS_OIDC_ISSUER",
    help="Also answer requests with the facility's own OIDC access token (Authorization: Bearer) from "
    "this issuer, as a facility's router forwards them (docs/router.md); without a valid one a "
    "request is refused. [env MXHUB_LIMS_OIDC_ISSUER]",
)
@click.option(
    "--oidc-jwks",
    envvar="MXHUB_LIMS_OIDC_JWKS",
    help="The issuer's signing keys: a JWKS file or URL (default: the jwks_uri of the issuer's "
    "/.well-known/openid-configuration). [env MXHUB_LIMS_OIDC_JWKS]",
)
@click.option(
    "--oidc-audience",
    envvar="MXHUB_LIMS_OIDC_AUDIENCE",
    help="The `aud` the facility's tokens must carry (unchecked without it). [env MXHUB_LIMS_OIDC_AUDIENCE]",
)
@click.option(
    "--open-access",
    is_flag=True,
    envvar="MXHUB_OPEN_ACCESS",
    help="Answer anyone who can reach the port, embargoed samples' records included (a trusted "
    "network only). [env MXHUB_OPEN_ACCESS]",
)
@click.option(
    "--metrics-token",
    envvar="MXHUB_METRICS_TOKEN",
    help="GET /metrics asks for `Authorization: Bearer <this>`; open without it (keep the port "
    "internal). [env MXHUB_METRICS_TOKEN]",
)
def serve(
    dsn: str | None,
    name: str,
    host: str,
    port: int,
    demo: bool,
    demo_collections: int,
    hub_keys: tuple[str, ...],
    oidc_issuer: str | None,
    oidc_jwks: str | None,
    oidc_audience: str | None,
    open_access: bool,
    metrics_token: str | None,
) -> None:
    from mx_schema.ids import SITE_NAME
    from site_adapter.backends.base import BackendError
    from site_adapter.lims.app import create_lims_app
    from site_adapter.lims.demo import open_demo_store
    from site_adapter.lims.store import LimsStore

    if not SITE_NAME.match(name):
        raise click.BadParameter("lower-case letters, digits, '-' and '_' only", param_hint="--name")
    keys = _public_keys([k for path in hub_keys for k in path.split(":") if k])
    if open_access and oidc_issuer:
        raise click.UsageError("--open-access answers anyone: it takes no --oidc-issuer")
    oidc = oidc_verifier(oidc_issuer, oidc_jwks, oidc_audience, "this LIMS")
    if not keys and oidc is None and not open_access:
        # A LIMS cannot apply the sites' embargo (it knows no sessions): it answers its hubs only, and a
        # hub asks it only about samples the owning site let the caller see (issue 15); behind a
        # facility's router, users signed in with the facility's issuer (issue 20, docs/router.md).
        raise click.UsageError(
            "a LIMS answers only the hubs it trusts: give --trust-hub-key hub.pem "
            "(`mxhub hub key --hub HUB_URL > hub.pem`), --oidc-issuer behind a facility's router, "
            "or --open-access on a trusted network"
        )

    async def run() -> None:
        resolved = await _resolve(dsn)
        try:
            if demo:
                store = await open_demo_store(resolved, demo_sizes(demo_collections))
            else:
                store = LimsStore(resolved)
                await store.start()
        except BackendError as exc:
            raise click.ClickException(str(exc)) from None
        try:
            app = create_lims_app(
                store,
                name=name,
                manage_store=False,
                trusted_keys=keys if keys or oidc is not None else None,
                oidc=oidc,
                metrics_token=metrics_token or None,
            )
            served = Served(name, app, host, port).bind()

            async def started() -> None:
                counts = await store.counts()
                click.echo(
                    f"LIMS {name} serving {served.url}/graphql ({counts['crystals']} crystals, "
                    f"{counts['plates']} plates, {counts['screens']} screens); "
                    + (
                        "answering anyone (--open-access)"
                        if not keys and oidc is None
                        else "answering "
                        + " and ".join(
                            (["hub key(s) " + ", ".join(_key_ids(keys))] if keys else [])
                            + ([f"users of {oidc.issuer}"] if oidc is not None else [])
                        )
                        + " only"
                    ),
                    err=True,
                )

            await serve_all([served], on_started=started)
        finally:
            await store.close()

    try:
        asyncio.run(run())
    except OSError as exc:
        raise click.ClickException(str(exc)) from None


def _public_keys(paths: list[str]) -> list[PublicKeyTypes]:
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    keys = []
    for path in paths:
        with open(path, "rb") as fh:
            try:
                keys.append(load_pem_public_key(fh.read()))
            except ValueError:
                raise click.BadParameter(
                    f"{path} is not a PEM public key", param_hint="--trust-hub-key"
                ) from None
    return keys


def _key_ids(keys: list[PublicKeyTypes]) -> list[str]:
    from site_adapter.access import public_key_id

    return [public_key_id(k) for k in keys]


@lims.command(
    "import",
    help="Import LIMS exports: Rock Maker screen XML (*.xml), CRIMS-like plate/crystal "
    "CSV (*.csv) or JSON (*.json); formats in docs/lims.md. Bad rows are reported with "
    "their line; the rest imports. Exit status 1 when any row failed.",
)
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@_dsn_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["rockmaker-xml", "crims-csv", "crims-json"]),
    envvar="MXHUB_LIMS_FORMAT",
    help="The files' format (default: from each file's extension). [env MXHUB_LIMS_FORMAT]",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    envvar="MXHUB_LIMS_JSON",
    help="Print one JSON object {files: [report...]} instead of text. [env MXHUB_LIMS_JSON]",
)
def import_(files: tuple[Path, ...], dsn: str | None, fmt: str | None, as_json: bool) -> None:
    from mx_schema.errors import ContractError
    from site_adapter.backends.base import BackendError
    from site_adapter.lims.importers import import_file
    from site_adapter.lims.store import LimsStore

    async def run() -> list[dict[str, Any]]:
        store = LimsStore(await _resolve(dsn))
        try:
            await store.start()
        except BackendError as exc:
            raise click.ClickException(str(exc)) from None
        reports = []
        try:
            async with store.pool.acquire() as conn:
                for path in files:
                    try:
                        reports.append((await import_file(conn, path, fmt)).to_dict())
                    except (ContractError, UnicodeDecodeError) as exc:
                        reports.append(
                            {
                                "source": str(path),
                                "format": fmt,
                                "imported": 0,
                                "errors": [{"line": 0, "reason": str(exc)}],
                                "warnings": [],
                            }
                        )
        finally:
            await store.close()
        return reports

    reports = asyncio.run(run())
    if as_json:
        click.echo(json.dumps({"files": reports}))
    else:
        for r in reports:
            click.echo(f"{r['source']} ({r['format']}): {r['imported']} imported, {len(r['errors'])} failed")
            for e in r["errors"]:
                click.echo(f"  line {e['line']}: {e['reason']}")
            for w in r["warnings"]:
                click.echo(f"  line {w['line']}: warning: {w['reason']}")
    if any(r["errors"] for r in reports):
        raise SystemExit(1)
