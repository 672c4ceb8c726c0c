"""`mxhub demo`: a whole federation on one machine with zero set-up, on embedded PostgreSQL.

Sites with different demo facilities, the hub with them registered (and the LIMS source when it
is installed), all in one process; Ctrl-C or SIGTERM stops everything. The sites enforce the access
rule and trust only this hub's key; demo API tokens (a proposal member, beamline staff) are printed.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
from typing import Any

import click

from mxhub.serve import Served, serve_all

# (site name, facility profile, share of --collections)
DEMO_SITES = (("esrf", "esrf", 1.0), ("diamond", "diamond", 0.6), ("maxiv", "maxiv", 0.25))


async def _load(site: str, facility: str, n: int, dsn: str | None) -> str:
    import asyncpg

    from mxhub.stores import resolve_pg_dsn
    from site_adapter.backends.native.loader import load_demo
    from site_adapter.backends.native.migrate import migrate

    resolved = await resolve_pg_dsn(dsn, f"mxhub_demo_{site}")
    conn = await asyncpg.connect(resolved)
    try:
        await migrate(conn)
        if await conn.fetchval("SELECT count(*) FROM data_collection") == 0:
            show = sys.stderr.isatty()
            with click.progressbar(length=n, label=f"loading {site} demo data", file=sys.stderr,
                                   show_pos=True) if show else _Quiet() as bar:
                await load_demo(conn, site, n, facility=facility, progress=bar.update)
    finally:
        await conn.close()
    return resolved


class _Quiet:
    def __enter__(self) -> "_Quiet":
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def update(self, n: int) -> None:
        return None


async def run_demo(port: int, host: str, collections: int, dsn: str | None,
                   ready: asyncio.Event | None = None, stop: asyncio.Event | None = None) -> None:
    import httpx

    from mx_hub import trust
    from mx_hub.app import create_app as create_hub_app
    from mx_hub.registry import Registry
    from mx_hub.resolvers import HubSettings
    from mx_schema.examples import DEMO_EXAMPLES
    from mxhub.stores import resolve_pg_dsn
    from site_adapter.access import AccessPolicy
    from site_adapter.app import create_app as create_site_app
    from site_adapter.backends.native import NativeBackend

    site_dsns = {}
    for site, facility, share in DEMO_SITES:
        site_dsns[site] = await _load(site, facility, max(50, int(collections * share)), dsn and _db(dsn, site))
    hub_dsn = await resolve_pg_dsn(dsn and _db(dsn, "hub"), "mxhub_demo_hub")
    token = secrets.token_urlsafe(24)
    # The hub's key first: the sites are configured to trust it, as a facility would at registration.
    registry = Registry(hub_dsn)
    await registry.start()
    try:
        hub_key = await trust.load_or_create_key(registry.pool)
    finally:
        await registry.close()
    settings = HubSettings(site_timeout=10, soft_deadline=1.0, health_interval=10, admin_token=token,
                           signing_key=trust.private_pem(hub_key))
    policy = AccessPolicy(trusted_keys=[hub_key.public_key()])
    services = [Served(site, create_site_app(NativeBackend(d, min_size=1, max_size=5), site=site,
                                             access_policy=policy), host, 0)
                for site, d in site_dsns.items()]
    lims_store = await _open_lims(dsn, {site: max(50, int(collections * share)) for site, _, share in DEMO_SITES})
    from site_adapter.lims.app import create_lims_app

    lims = Served("lims", create_lims_app(lims_store, name="lims", manage_store=False), host, 0)
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
                r = await client.post(f"{hub.url}/graphql", headers={"authorization": f"Bearer {token}"}, json={
                    "query": "mutation($n: String!, $u: String!, $k: String) { registerSite(name: $n, url: $u, kind: $k) { name } }",
                    "variables": {"n": s.name, "u": f"{s.url}/graphql", "k": kind}})
                if r.json().get("errors"):
                    click.echo(f"could not register {s.name}: {r.json()['errors'][0]['message']}", err=True)
            demo_tokens = await _demo_tokens(client, f"{hub.url}/graphql", token)
        out = [f"\nmxhub demo federation is running.\n",
               f"  search page (in a browser):           {hub.url}/",
               f"  hub (GraphQL, GraphiQL in a browser): {hub.url}/graphql"]
        out += [f"  {'LIMS' if s is lims else 'site'} {s.name:8s} {s.url}/graphql" for s in services if s.name != "hub"]
        out += [f"  admin token (for `mxhub hub register-site --token`): {token}",
                f"  hub public key (sites trust it): {trust.key_id(hub_key)}, at {hub.url}/hub-key", "",
                "Without a token you see public data only (sessions ended over 3 years ago). Demo API tokens:"]
        out += [f"  {label}: {secret}" for label, secret in demo_tokens]
        out += ["  send one as `Authorization: Bearer <token>`; `{ viewer { login staffBeamlines } }` shows who you are.",
                "", "Example queries (paste into GraphiQL, or POST as JSON):"]
        for title, query in DEMO_EXAMPLES:
            out += ["", f"# {title}", query]
        out += ["", f"curl -s {hub.url}/graphql -H 'content-type: application/json' "
                    "-d '{\"query\":\"{ sites { name status } }\"}'", "", "Ctrl-C stops everything."]
        click.echo("\n".join(out))
        if ready is not None:
            ready.set()

    try:
        await serve_all(services, on_started=started, stop=stop)
    finally:
        await lims_store.close()


async def _demo_tokens(client: Any, url: str, admin_token: str) -> list[tuple[str, str]]:
    """API tokens for a member of the newest ESRF proposal and for staff of its beamline.

    Demo logins are `<proposal code>_user<k>` (site_adapter/demo_data.py)."""
    admin = {"authorization": f"Bearer {admin_token}"}
    newest = await client.post(url, headers=admin, json={
        "query": '{ sessions(first: 1, filter: {site: "esrf"}) { edges { node { proposal beamline } } } }'})
    edges = ((newest.json().get("data") or {}).get("sessions") or {}).get("edges") or []
    if not edges:
        return []
    proposal, beamline = edges[0]["node"]["proposal"], edges[0]["node"]["beamline"]
    issue = "mutation($l: String!, $r: [String!]) { issueApiToken(login: $l, roles: $r) { token } }"
    out = []
    for label, login, roles in ((f"member of proposal {proposal} ({proposal}_user1)", f"{proposal}_user1", []),
                                (f"staff of beamline {beamline} (demo-staff)", "demo-staff", [f"staff:{beamline}"])):
        r = await client.post(url, headers=admin, json={"query": issue, "variables": {"l": login, "r": roles}})
        issued = (r.json().get("data") or {}).get("issueApiToken")
        if issued:
            out.append((label, issued["token"]))
    return out


async def _open_lims(dsn: str | None, sizes: dict[str, int]):
    """The demo crystallisation LIMS, sharing crystal UUIDs, pin barcodes and plate wells with the sites."""
    from mxhub.stores import resolve_pg_dsn
    from site_adapter.lims.demo import open_demo_store

    return await open_demo_store(await resolve_pg_dsn(dsn and _db(dsn, "lims"), "mxhub_demo_lims"), sizes)


def _db(dsn: str, name: str) -> str:
    from mxhub.embedded import with_database

    return with_database(dsn, f"mxhub_demo_{name}")


@click.command(help="Start a complete demo federation on this machine with zero set-up: embedded PostgreSQL, "
                    "three site adapters with realistic demo facilities, a crystallisation LIMS, and the hub with them "
                    "registered. "
                    "Prints the hub URL and example queries; Ctrl-C stops everything.")
@click.option("--port", default=8000, show_default=True, type=int, envvar="MXHUB_DEMO_PORT",
              help="The hub's port (sites take free ports). [env MXHUB_DEMO_PORT]")
@click.option("--host", default="127.0.0.1", show_default=True, envvar="MXHUB_DEMO_HOST", help="[env MXHUB_DEMO_HOST]")
@click.option("--collections", default=20000, show_default=True, type=click.IntRange(min=50),
              envvar="MXHUB_DEMO_COLLECTIONS",
              help="Data collections at the largest demo site (loaded once). [env MXHUB_DEMO_COLLECTIONS]")
@click.option("--dsn", envvar="MXHUB_DEMO_DSN",
              help="A PostgreSQL server to use instead of the embedded one (databases mxhub_demo_*). "
                   "[env MXHUB_DEMO_DSN]")
def demo(port: int, host: str, collections: int, dsn: str | None) -> None:
    try:
        asyncio.run(run_demo(port, host, collections, dsn))
    except OSError as exc:
        raise click.ClickException(str(exc)) from None
