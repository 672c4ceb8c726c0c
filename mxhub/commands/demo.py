"""`mxhub demo`: a whole federation on one machine with zero set-up, on embedded PostgreSQL.

Sites with different demo facilities, the hub with them registered (and the LIMS source when it
is installed), all in one process; Ctrl-C or SIGTERM stops everything. The sites enforce the access
rule and trust only this hub's key; demo API tokens (a proposal member, beamline staff) are printed.
Each demo site's store is the one `mxhub site serve --name SITE` and `mxhub index --site SITE` use, and
the largest site holds collections of the real fixture images, so indexing them links (issue 13).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shlex
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mxhub.serve import Served, serve_all

if TYPE_CHECKING:
    from site_adapter.lims.store import LimsStore

# (site name, facility profile, share of --collections)
DEMO_SITES = (("esrf", "esrf", 1.0), ("diamond", "diamond", 0.6), ("maxiv", "maxiv", 0.25))
# Each demo facility's time zone (issue 21; docs/time.md).
DEMO_TIME_ZONES = {"esrf": "Europe/Paris", "diamond": "Europe/London", "maxiv": "Europe/Stockholm"}


async def _load(
    site: str,
    facility: str,
    n: int,
    dsn: str | None,
    images: Path | None = None,
    files_root: str | None = None,
) -> tuple[str, list[Any]]:
    """Load one demo site (once) into the site's own store; with `images`, also (re)point the
    real-image collections at that folder. Returns the DSN and the real-image sweeps."""
    import asyncpg

    from mxhub.embedded import site_database
    from mxhub.stores import resolve_pg_dsn
    from site_adapter.backends.native.loader import load_demo
    from site_adapter.backends.native.migrate import migrate

    resolved = await resolve_pg_dsn(dsn, site_database(site))
    conn = await asyncpg.connect(resolved)
    try:
        await migrate(conn)
        if await conn.fetchval("SELECT count(*) FROM data_collection") == 0:
            show = sys.stderr.isatty()
            with (
                click.progressbar(length=n, label=f"loading {site} demo data", file=sys.stderr, show_pos=True)
                if show
                else _Quiet() as bar
            ):
                await load_demo(conn, site, n, facility=facility, progress=bar.update)
        sweeps = await install_real_images(conn, images) if images is not None else []
        if files_root is not None:  # result files and snapshots that really exist (docs/files.md)
            from site_adapter.backends.native.loader import install_demo_files

            await install_demo_files(conn, os.path.join(files_root, site))
    finally:
        await conn.close()
    return resolved, sweeps


def fixture_images() -> Path | None:
    """The real fixture images: $MXHUB_FIXTURES/images, else ../shared/fixtures/images beside the checkout;
    None when absent (an installed package has none: the demo then runs without them)."""
    configured = os.environ.get("MXHUB_FIXTURES")
    root = (
        Path(configured) if configured else Path(__file__).resolve().parents[2].parent / "shared" / "fixtures"
    )
    images = root / "images"
    return Path(os.path.abspath(images)) if images.is_dir() else None


async def install_real_images(conn: Any, images: Path) -> list[Any]:
    """Upsert the data collections of the fixture sweeps under `images` (idempotent, on every start,
    so a moved fixtures folder is followed)."""
    from site_adapter.backends.native.loader import upsert_rows
    from site_adapter.demo_images import find_sweeps, rows

    sweeps = await asyncio.to_thread(find_sweeps, images)
    async with conn.transaction():
        for table, table_rows in rows(sweeps).items():  # in foreign-key order
            await upsert_rows(conn, table, table_rows)
    return sweeps


def index_command(site: str, sweeps: list[Any], store_dsn: str | None) -> str:
    """The `mxhub index` command that indexes the real-image sweeps into `site`'s own store."""
    folders = sorted({s.directory for s in sweeps})
    dsn = ["--dsn", store_dsn] if store_dsn else []
    return shlex.join(["mxhub", "index", "--site", site, *dsn, *folders])


class _Quiet:
    def __enter__(self) -> _Quiet:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def update(self, n: int) -> None:
        return None


async def run_demo(
    port: int,
    host: str,
    collections: int,
    dsn: str | None,
    ready: asyncio.Event | None = None,
    stop: asyncio.Event | None = None,
    site_ports: int = 0,
    images: Path | None = None,
) -> None:
    """Serve the demo federation until `stop` (or a signal). `site_ports` N > 0 pins the sites to N, N+1, ...
    and the LIMS after them; `images` is the fixture images folder (default: fixture_images())."""
    import httpx

    from mx_hub import trust
    from mx_hub.app import create_app as create_hub_app
    from mx_hub.registry import Registry
    from mx_hub.settings import HubSettings
    from mx_schema.examples import DEMO_EXAMPLES
    from mxhub.stores import resolve_pg_dsn
    from site_adapter.access import AccessPolicy
    from site_adapter.app import create_app as create_site_app
    from site_adapter.backends.native import NativeBackend
    from site_adapter.files import FileRoots
    from site_adapter.graphql.context import SiteServices
    from site_adapter.reprocess import Overrides

    site_dsns = {}
    images = images if images is not None else fixture_images()
    files_root = tempfile.mkdtemp(prefix="mxhub-demo-files-")  # the sites' --file-root, removed at the end
    real_sweeps: list[Any] = []
    for k, (site, facility, share) in enumerate(DEMO_SITES):
        # The largest site (first) holds the real-image collections.
        site_dsns[site], found = await _load(
            site,
            facility,
            max(50, int(collections * share)),
            dsn and _db(dsn, site),
            images if k == 0 else None,
            files_root,
        )
        real_sweeps += found
    real_site = DEMO_SITES[0][0]
    hub_dsn = await resolve_pg_dsn(dsn and _db(dsn, "hub"), "mxhub_demo_hub")
    token = secrets.token_urlsafe(24)
    # The hub's key first: the sites are configured to trust it, as a facility would at registration.
    registry = Registry(hub_dsn)
    await registry.start()
    try:
        hub_key = await trust.load_or_create_key(registry.pool)
    finally:
        await registry.close()
    settings = HubSettings(
        site_timeout=10,
        soft_deadline=1.0,
        health_interval=10,
        admin_token=token,
        signing_key=trust.private_pem(hub_key),
    )
    policy = AccessPolicy(trusted_keys=[hub_key.public_key()])
    ports = _site_ports(site_ports, len(site_dsns) + 1)
    # The demo sites' facts file (site_adapter/reprocess/demo_site_facts.json): their beamline table.
    facts = SiteServices(detector_overrides=Overrides.demo(), file_roots=FileRoots([files_root]))
    services = [
        Served(
            site,
            create_site_app(
                NativeBackend(d, min_size=1, max_size=5, time_zone=DEMO_TIME_ZONES[site]),
                site=site,
                access_policy=policy,
                services=facts,
            ),
            host,
            ports[k],
        )
        for k, (site, d) in enumerate(site_dsns.items())
    ]
    lims_store = await _open_lims(
        dsn, {site: max(50, int(collections * share)) for site, _, share in DEMO_SITES}
    )
    from site_adapter.lims.app import create_lims_app

    # The LIMS answers the demo hub only, as `mxhub lims serve --trust-hub-key` does (docs/lims.md).
    lims = Served(
        "lims",
        create_lims_app(lims_store, name="lims", manage_store=False, trusted_keys=[hub_key.public_key()]),
        host,
        ports[-1],
    )
    services.append(lims)
    hub = Served("hub", create_hub_app(hub_dsn, settings), host, port)
    services.append(hub)
    for s in services:
        s.bind()

    async def started() -> None:
        async with httpx.AsyncClient(timeout=30) as client:
            for s in services:
                if s.name == "hub":
                    continue
                kind = "lims" if s is lims else "site"
                r = await client.post(
                    f"{hub.url}/graphql",
                    headers={"authorization": f"Bearer {token}"},
                    json={
                        "query": "mutation($n: String!, $u: String!, $k: String) { registerSite(name: $n, url: $u, kind: $k) { name } }",
                        "variables": {"n": s.name, "u": f"{s.url}/graphql", "k": kind},
                    },
                )
                if r.json().get("errors"):
                    click.echo(f"could not register {s.name}: {r.json()['errors'][0]['message']}", err=True)
            demo_tokens = await _demo_tokens(client, f"{hub.url}/graphql", token)
        out = [
            "\nmxhub demo federation is running.\n",
            f"  search page (in a browser):           {hub.url}/",
            f"  hub (GraphQL, GraphiQL in a browser): {hub.url}/graphql",
        ]
        out += [
            f"  {'LIMS' if s is lims else 'site'} {s.name:8s} {s.url}/graphql"
            for s in services
            if s.name != "hub"
        ]
        out += [
            f"  admin token (for `mxhub hub register-site --token`): {token}",
            f"  hub public key (sites trust it): {trust.key_id(hub_key)}, at {hub.url}/hub-key",
            "",
            "Without a token you see public data only (sessions ended over 3 years ago). Demo API tokens:",
        ]
        out += [f"  {label}: {secret}" for label, secret in demo_tokens]
        out += [
            "  send one as `Authorization: Bearer <token>`; `{ viewer { login staffBeamlines } }` shows who you are.",
            "",
            "Example queries (paste into GraphiQL, or POST as JSON):",
        ]
        for title, query in DEMO_EXAMPLES:
            out += ["", f"# {title}", query]
        out += [
            "",
            f"curl -s {hub.url}/graphql -H 'content-type: application/json' "
            '-d \'{"query":"{ sites { name status } }"}\'',
        ]
        if real_sweeps:
            # Only with --dsn does the index command need one: otherwise both use the embedded server.
            store = site_dsns[real_site] if dsn else None
            out += [
                "",
                f"Real images: {len(real_sweeps)} data collections at site {real_site} are the fixture "
                "sweeps; index them into the site's own store and they link to those collections:",
                f"  {index_command(real_site, real_sweeps, store)}",
                "then ask the hub for them with their image sets:",
                '  { dataCollections(filter: {site: "'
                + real_site
                + '", proposal: "'
                + real_sweeps[0].experiment.proposal
                + '"}) { edges { node { id fileTemplate '
                "numberOfImages images { count kind } } } } }",
            ]
        out += ["", "Ctrl-C stops everything."]
        click.echo("\n".join(out))
        if ready is not None:
            ready.set()

    try:
        await serve_all(services, on_started=started, stop=stop)
    finally:
        await lims_store.close()
        shutil.rmtree(files_root, ignore_errors=True)


async def _demo_tokens(client: Any, url: str, admin_token: str) -> list[tuple[str, str]]:
    """API tokens for a member of the newest ESRF proposal and for staff of its beamline.

    Demo logins are `<proposal code>_user<k>` (site_adapter/demo_data.py)."""
    admin = {"authorization": f"Bearer {admin_token}"}
    newest = await client.post(
        url,
        headers=admin,
        json={
            "query": '{ sessions(first: 1, filter: {site: "esrf"}) { edges { node { proposal beamline } } } }'
        },
    )
    edges = ((newest.json().get("data") or {}).get("sessions") or {}).get("edges") or []
    if not edges:
        return []
    proposal, beamline = edges[0]["node"]["proposal"], edges[0]["node"]["beamline"]
    issue = "mutation($l: String!, $r: [String!]) { issueApiToken(login: $l, roles: $r) { token } }"
    out = []
    for label, login, roles in (
        (f"member of proposal {proposal} ({proposal}_user1)", f"{proposal}_user1", []),
        (f"staff of beamline {beamline} (demo-staff)", "demo-staff", [f"staff:{beamline}"]),
    ):
        r = await client.post(
            url, headers=admin, json={"query": issue, "variables": {"l": login, "r": roles}}
        )
        issued = (r.json().get("data") or {}).get("issueApiToken")
        if issued:
            out.append((label, issued["token"]))
    return out


async def _open_lims(dsn: str | None, sizes: dict[str, int]) -> LimsStore:
    """The demo crystallisation LIMS, sharing crystal UUIDs, pin barcodes and plate wells with the sites."""
    from mxhub.stores import resolve_pg_dsn
    from site_adapter.lims.demo import open_demo_store

    return await open_demo_store(await resolve_pg_dsn(dsn and _db(dsn, "lims"), "mxhub_demo_lims"), sizes)


def _db(dsn: str, name: str) -> str:
    from mxhub.embedded import site_database, with_database

    if name in {site for site, _, _ in DEMO_SITES}:
        return with_database(dsn, site_database(name))  # the site's own database, as `mxhub site serve` uses
    return with_database(dsn, f"mxhub_demo_{name}")


def _site_ports(start: int, n: int) -> list[int]:
    """Ports for the sites and the LIMS: start, start+1, ... when pinned, else 0 (free ports)."""
    if start <= 0:
        return [0] * n
    if start + n - 1 > 65535:
        raise click.BadParameter(f"{start}..{start + n - 1} is beyond port 65535", param_hint="--site-ports")
    return [start + k for k in range(n)]


@click.command(
    help="Start a complete demo federation on this machine with zero set-up: embedded PostgreSQL, "
    "three site adapters with realistic demo facilities, a crystallisation LIMS, and the hub with them "
    "registered. The largest site (esrf) also holds data collections of the real fixture images "
    "($MXHUB_FIXTURES or ../shared/fixtures, when present). "
    "Prints the hub URL, example queries and the `mxhub index` command that links those images; "
    "Ctrl-C stops everything."
)
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=int,
    envvar="MXHUB_DEMO_PORT",
    help="The hub's port. [env MXHUB_DEMO_PORT]",
)
@click.option(
    "--site-ports",
    default=0,
    show_default=True,
    type=click.IntRange(0, 65535),
    envvar="MXHUB_DEMO_SITE_PORTS",
    help="Pin the sites to ports N, N+1, N+2 (esrf, diamond, maxiv) and the LIMS to N+3; 0 takes free "
    "ports. [env MXHUB_DEMO_SITE_PORTS]",
)
@click.option(
    "--host", default="127.0.0.1", show_default=True, envvar="MXHUB_DEMO_HOST", help="[env MXHUB_DEMO_HOST]"
)
@click.option(
    "--collections",
    default=20000,
    show_default=True,
    type=click.IntRange(min=50),
    envvar="MXHUB_DEMO_COLLECTIONS",
    help="Data collections at the largest demo site (loaded once). [env MXHUB_DEMO_COLLECTIONS]",
)
@click.option(
    "--dsn",
    envvar="MXHUB_DEMO_DSN",
    help="A PostgreSQL server to use instead of the embedded one (databases mxhub_demo_*). "
    "[env MXHUB_DEMO_DSN]",
)
def demo(port: int, host: str, site_ports: int, collections: int, dsn: str | None) -> None:
    try:
        asyncio.run(run_demo(port, host, collections, dsn, site_ports=site_ports))
    except OSError as exc:
        raise click.ClickException(str(exc)) from None
