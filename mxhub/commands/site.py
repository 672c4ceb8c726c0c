"""`mxhub site ...`: serve one site adapter over a native store or an ISPyB database."""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING, Any

import click

from mxhub.serve import Served, serve_all

if TYPE_CHECKING:
    from mx_schema.oidc import OidcVerifier
    from site_adapter.access import AccessPolicy
    from site_adapter.backends.base import Backend
    from site_adapter.reprocess import Overrides


@click.group(help="Run a site adapter: one facility's metadata served through the common schema.")
def site() -> None:
    pass


async def open_backend(
    backend: str,
    dsn: str | None,
    name: str,
    demo_collections: int,
    time_zone: str | None = None,
    counting: dict[str, Any] | None = None,
) -> Backend:
    """Start the chosen backend (loading demo data into an empty native store when asked) in the
    facility's time zone (docs/time.md); `counting`: a native store's totalCount limits
    (NativeBackend's exact_count_limit, count_max_cost)."""
    from site_adapter.backends.base import BackendError

    if backend == "native":
        import asyncpg

        from mxhub.embedded import site_database
        from mxhub.stores import resolve_pg_dsn
        from site_adapter.backends.native import NativeBackend
        from site_adapter.backends.native.loader import load_demo

        try:
            resolved = await resolve_pg_dsn(dsn, site_database(name))
        except (OSError, asyncpg.PostgresError) as exc:
            raise BackendError(f"cannot reach PostgreSQL: {exc}") from None
        b = NativeBackend(resolved, time_zone=time_zone, **(counting or {}))
        await b.start()
        if demo_collections > 0:
            async with b.pool.acquire() as conn:
                await load_demo(conn, name, demo_collections)
        return b
    if not dsn:
        raise click.UsageError("--backend ispyb needs --dsn mysql://user:password@host:3306/ispyb")
    from site_adapter.backends.ispyb import IspybBackend

    ispyb = IspybBackend(dsn, time_zone=time_zone)
    await ispyb.start()
    return ispyb


@site.command("serve", help="Serve one site adapter at http://HOST:PORT/graphql (GraphiQL in a browser).")
@click.option(
    "--backend",
    type=click.Choice(["native", "ispyb"]),
    default="native",
    show_default=True,
    envvar="MXHUB_SITE_BACKEND",
    help="The store behind the site. [env MXHUB_SITE_BACKEND]",
)
@click.option(
    "--dsn",
    envvar="MXHUB_SITE_DSN",
    help="postgresql://... (native) or mysql://... (ispyb); native without it uses embedded "
    "PostgreSQL. [env MXHUB_SITE_DSN]",
)
@click.option(
    "--name",
    required=True,
    envvar="MXHUB_SITE_NAME",
    help="The site's registered name, e.g. esrf (lower case). [env MXHUB_SITE_NAME]",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    envvar="MXHUB_SITE_HOST",
    help="Address to listen on. [env MXHUB_SITE_HOST]",
)
@click.option(
    "--port",
    default=8001,
    show_default=True,
    type=int,
    envvar="MXHUB_SITE_PORT",
    help="Port to listen on (0 picks a free one). [env MXHUB_SITE_PORT]",
)
@click.option(
    "--time-zone",
    default="UTC",
    show_default=True,
    envvar="MXHUB_SITE_TIME_ZONE",
    callback=lambda ctx, param, value: _time_zone(value),
    help="The facility's IANA time zone, e.g. Europe/London: an ISPyB store's local wall-clock times "
    "are read in it (docs/time.md). [env MXHUB_SITE_TIME_ZONE]",
)
@click.option(
    "--exact-count-limit",
    default=20_000,
    show_default=True,
    type=click.IntRange(min=0),
    envvar="MXHUB_SITE_EXACT_COUNT_LIMIT",
    help="Native store: a totalCount is counted exactly up to this many matches; past it, the store's "
    "estimate, answered as totalCountKind ESTIMATE (issue 17). [env MXHUB_SITE_EXACT_COUNT_LIMIT]",
)
@click.option(
    "--count-max-cost",
    default=10_000.0,
    show_default=True,
    type=click.FloatRange(min=0),
    envvar="MXHUB_SITE_COUNT_MAX_COST",
    help="Native store: the most an exact count may cost, in PostgreSQL planner units (10,000 is about "
    "15-25 ms on a 2-core machine); a costlier count is estimated. [env MXHUB_SITE_COUNT_MAX_COST]",
)
@click.option(
    "--schema-version",
    default=None,
    envvar="MXHUB_SITE_SCHEMA_VERSION",
    callback=lambda ctx, param, value: _schema_version(value),
    help="Serve an older minor version of the common schema, e.g. 1.0, as a site of that version "
    "would (docs/facility.md); default: the current. [env MXHUB_SITE_SCHEMA_VERSION]",
)
@click.option(
    "--demo-collections",
    default=0,
    show_default=True,
    type=click.IntRange(min=0),
    envvar="MXHUB_DEMO_COLLECTIONS",
    help="Fill an empty native store with this many demo data collections. [env MXHUB_DEMO_COLLECTIONS]",
)
@click.option(
    "--trust-hub-key",
    "hub_keys",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    envvar="MXHUB_TRUSTED_HUB_KEYS",
    help="PEM public key of a hub whose caller tokens this site accepts (repeatable; `mxhub hub key` "
    "prints a hub's). [env MXHUB_TRUSTED_HUB_KEYS, paths separated by ':']",
)
@click.option(
    "--oidc-issuer",
    envvar="MXHUB_SITE_OIDC_ISSUER",
    help="Also accept the facility's own OIDC access tokens (Authorization: Bearer) from this issuer "
    "(its `iss`), for callers a facility's router forwards (docs/router.md). [env MXHUB_SITE_OIDC_ISSUER]",
)
@click.option(
    "--oidc-jwks",
    envvar="MXHUB_SITE_OIDC_JWKS",
    help="The issuer's signing keys: a JWKS file or URL (default: the jwks_uri of the issuer's "
    "/.well-known/openid-configuration). [env MXHUB_SITE_OIDC_JWKS]",
)
@click.option(
    "--oidc-audience",
    envvar="MXHUB_SITE_OIDC_AUDIENCE",
    help="The `aud` the facility's tokens must carry (unchecked without it). [env MXHUB_SITE_OIDC_AUDIENCE]",
)
@click.option(
    "--embargo-years",
    default=3.0,
    show_default=True,
    type=float,
    envvar="MXHUB_EMBARGO_YEARS",
    help="Data is public this long after its session ended. [env MXHUB_EMBARGO_YEARS]",
)
@click.option(
    "--embargo",
    "embargo_beamlines",
    multiple=True,
    envvar="MXHUB_EMBARGO_BEAMLINES",
    help="BEAMLINE=YEARS, a beamline's own embargo (negative: never public). [env MXHUB_EMBARGO_BEAMLINES]",
)
@click.option(
    "--audit-log",
    envvar="MXHUB_AUDIT_LOG",
    type=click.Path(dir_okay=False),
    help="Write who queried what to this file (rotated). [env MXHUB_AUDIT_LOG]",
)
@click.option(
    "--open-access",
    is_flag=True,
    envvar="MXHUB_OPEN_ACCESS",
    help="No access control: show every record to anyone who can reach the port (a trusted "
    "network only). [env MXHUB_OPEN_ACCESS]",
)
@click.option(
    "--image-store-dsn",
    envvar="MXHUB_IMAGE_STORE_DSN",
    help="PostgreSQL with the indexer's image sets, for an ISPyB site (a native site keeps them in "
    "its own store). [env MXHUB_IMAGE_STORE_DSN]",
)
@click.option(
    "--file-root",
    "file_roots",
    multiple=True,
    type=click.Path(file_okay=False),
    envvar="MXHUB_SITE_FILE_ROOTS",
    help="A directory result files and snapshots may be downloaded from (repeatable; none: no downloads; "
    "docs/files.md). [env MXHUB_SITE_FILE_ROOTS, paths separated by ':']",
)
@click.option(
    "--metrics-token",
    envvar="MXHUB_METRICS_TOKEN",
    help="GET /metrics asks for `Authorization: Bearer <this>`; open without it (keep the port "
    "internal). [env MXHUB_METRICS_TOKEN]",
)
def serve(
    backend: str,
    dsn: str | None,
    name: str,
    host: str,
    port: int,
    time_zone: str,
    exact_count_limit: int,
    count_max_cost: float,
    schema_version: str | None,
    demo_collections: int,
    hub_keys: tuple[str, ...],
    oidc_issuer: str | None,
    oidc_jwks: str | None,
    oidc_audience: str | None,
    embargo_years: float,
    embargo_beamlines: tuple[str, ...],
    audit_log: str | None,
    open_access: bool,
    image_store_dsn: str | None,
    file_roots: tuple[str, ...],
    metrics_token: str | None,
) -> None:
    from mx_schema.ids import SITE_NAME
    from site_adapter.app import create_app
    from site_adapter.backends.base import BackendError
    from site_adapter.files import FileRoots
    from site_adapter.graphql.context import SiteServices

    if not SITE_NAME.match(name):
        raise click.BadParameter("lower-case letters, digits, '-' and '_' only", param_hint="--name")
    per_beamline = _embargo_per_beamline(embargo_beamlines)
    policy = None
    if not open_access:
        oidc = oidc_verifier(oidc_issuer, oidc_jwks, oidc_audience, "this site")
        policy = _access_policy(hub_keys, embargo_years, per_beamline, audit_log, oidc is not None)
        policy.oidc = oidc
    elif oidc_issuer:
        raise click.UsageError("--open-access shows everything to anyone: it takes no --oidc-issuer")
    overrides = _detector_overrides()

    async def run() -> None:
        try:
            counting = {"exact_count_limit": exact_count_limit, "count_max_cost": count_max_cost}
            b = await open_backend(backend, dsn, name, demo_collections, time_zone, counting)
        except BackendError as exc:
            raise click.ClickException(str(exc)) from None
        image_pool = None
        try:
            if image_store_dsn:
                import asyncpg

                image_pool = await asyncpg.create_pool(image_store_dsn, min_size=1, max_size=4)
            services = SiteServices(
                image_pool=image_pool, detector_overrides=overrides, file_roots=FileRoots(file_roots)
            )
            app = create_app(
                b,
                site=name,
                manage_backend=False,
                access_policy=policy,
                services=services,
                schema_version=schema_version,
                metrics_token=metrics_token or None,
            )
            served = Served(name, app, host, port).bind()

            async def started() -> None:
                click.echo(f"site {name} ({b.kind}) serving {served.url}/graphql", err=True)

            await serve_all([served], on_started=started)
        finally:
            if image_pool is not None:
                await image_pool.close()
            await b.close()

    try:
        asyncio.run(run())
    except OSError as exc:
        raise click.ClickException(str(exc)) from None


def _time_zone(value: str) -> str:
    """--time-zone checked against the IANA database, so an unknown zone stops the site at once."""
    from site_adapter.zones import UnknownTimeZone, facility_zone

    try:
        return facility_zone(value).key
    except UnknownTimeZone as exc:
        raise click.BadParameter(str(exc), param_hint="--time-zone") from None


def _schema_version(value: str | None) -> str | None:
    """--schema-version checked against the versions kept, so an unknown one stops the site at once."""
    if value is None:
        return None
    from mx_schema.versioning import resolve_version

    try:
        return resolve_version(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--schema-version") from None


def _embargo_per_beamline(items: tuple[str, ...]) -> dict[str, float]:
    """--embargo BEAMLINE=YEARS values as {beamline (lower case): years}."""
    per_beamline = {}
    for item in items:
        beamline, _, years = item.partition("=")
        try:
            per_beamline[beamline.strip().lower()] = float(years)
        except ValueError:
            raise click.BadParameter(f"{item!r} is not BEAMLINE=YEARS", param_hint="--embargo") from None
    return per_beamline


def _access_policy(
    hub_keys: tuple[str, ...],
    embargo_years: float,
    per_beamline: dict[str, float],
    audit_log: str | None,
    facility_tokens: bool = False,
) -> AccessPolicy:
    """The site's access policy: the hub keys it trusts, the embargo, the audit log; says what it trusts."""
    from site_adapter.access import AccessPolicy, AuditLog, EmbargoPolicy

    keys = [k for path in hub_keys for k in path.split(":") if k]
    policy = AccessPolicy.from_pem_files(
        keys, EmbargoPolicy(embargo_years, per_beamline), AuditLog(audit_log) if audit_log else None
    )
    if not keys and facility_tokens:
        click.echo(
            "no --trust-hub-key: a hub's callers are served as anonymous here; users who send the "
            "facility's own access token (through its router) see what the access rule gives them",
            err=True,
        )
    elif not keys:
        # What the site then does (site_adapter/access.py): a hub's caller token is ignored, not refused.
        click.echo(
            "warning: no --trust-hub-key: this site trusts no hub, so every caller (a hub's too) is "
            "served as anonymous: public, embargo-expired records only. To serve members and staff "
            "their records, give it the hub's key: `mxhub hub key --hub HUB_URL > hub.pem`, then "
            "--trust-hub-key hub.pem",
            err=True,
        )
    else:
        click.echo(f"trusting hub key(s) {', '.join(policy.trusted_key_ids)}", err=True)
    return policy


def oidc_verifier(
    issuer: str | None, jwks: str | None, audience: str | None, party: str
) -> OidcVerifier | None:
    """The facility's OIDC issuer a site or LIMS checks bearer tokens against (issue 20), or None."""
    if not issuer:
        if jwks or audience:
            raise click.UsageError("--oidc-jwks and --oidc-audience need --oidc-issuer")
        return None
    if not issuer.startswith(("https://", "http://")):
        raise click.BadParameter(
            "an issuer is its https:// URL (the tokens' `iss`)", param_hint="--oidc-issuer"
        )
    from mx_schema.oidc import OidcVerifier

    click.echo(
        f"accepting OIDC access tokens of {issuer} (keys: {jwks or 'from its discovery document'}; "
        f"audience: {audience or 'not checked'})",
        err=True,
    )
    return OidcVerifier(issuer, jwks, audience, party=party)


def _detector_overrides() -> Overrides | None:
    """The site's detector and beamline facts from the file MXHUB_DETECTOR_OVERRIDES names, if any."""
    path = os.environ.get("MXHUB_DETECTOR_OVERRIDES")
    if not path:
        return None
    from site_adapter.reprocess import Overrides

    return Overrides.from_file(path)
