"""`mxhub hub ...`: serve the hub, print its public key, issue API tokens and register sites with a
running hub. Commands parse options and call the hub's library; they hold no logic of their own."""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import click

from mxhub.serve import Served, serve_all


@click.group(help="Run the hub, or manage the sites registered with a running hub.")
def hub() -> None:
    pass


@hub.command("serve", help="Serve the hub at http://HOST:PORT/graphql over every registered site.")
@click.option(
    "--dsn",
    envvar="MXHUB_HUB_DSN",
    help="PostgreSQL for the registry; embedded PostgreSQL without it. [env MXHUB_HUB_DSN]",
)
@click.option(
    "--host", default="127.0.0.1", show_default=True, envvar="MXHUB_HUB_HOST", help="[env MXHUB_HUB_HOST]"
)
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=int,
    envvar="MXHUB_HUB_PORT",
    help="0 picks a free port. [env MXHUB_HUB_PORT]",
)
@click.option(
    "--admin-token",
    envvar="MXHUB_ADMIN_TOKEN",
    help="Bootstrap credential for admin operations (registering sites); prefer the environment "
    "or --admin-token-file: a command line is visible to every user in `ps`. "
    "[env MXHUB_ADMIN_TOKEN]",
)
@click.option(
    "--admin-token-file",
    type=click.Path(exists=True, dir_okay=False),
    envvar="MXHUB_ADMIN_TOKEN_FILE",
    help="Read the admin token from this file (first line). [env MXHUB_ADMIN_TOKEN_FILE]",
)
@click.option(
    "--site-timeout",
    default=10.0,
    show_default=True,
    type=float,
    envvar="MXHUB_SITE_TIMEOUT",
    help="Seconds a site may take to answer. [env MXHUB_SITE_TIMEOUT]",
)
@click.option(
    "--soft-deadline",
    default=1.0,
    show_default=True,
    type=float,
    envvar="MXHUB_SOFT_DEADLINE",
    help="Once the first site has answered, seconds to wait for the rest. [env MXHUB_SOFT_DEADLINE]",
)
@click.option(
    "--health-interval",
    default=15.0,
    show_default=True,
    type=float,
    envvar="MXHUB_HEALTH_INTERVAL",
    help="Seconds between health checks of registered sites (0: none). [env MXHUB_HEALTH_INTERVAL]",
)
@click.option(
    "--signing-key",
    type=click.Path(exists=True, dir_okay=False),
    envvar="MXHUB_HUB_SIGNING_KEY",
    help="The hub's Ed25519 private key (PEM) for the caller tokens sites verify; without it one is "
    "created on first start and kept in the registry database. [env MXHUB_HUB_SIGNING_KEY]",
)
@click.option(
    "--oidc-issuer",
    envvar="MXHUB_OIDC_ISSUER",
    help="Accept OIDC access tokens from this issuer (its `iss`). [env MXHUB_OIDC_ISSUER]",
)
@click.option(
    "--oidc-jwks",
    envvar="MXHUB_OIDC_JWKS",
    help="The issuer's signing keys: a JWKS file or URL. [env MXHUB_OIDC_JWKS]",
)
@click.option(
    "--oidc-audience",
    envvar="MXHUB_OIDC_AUDIENCE",
    help="The `aud` OIDC tokens must carry (unchecked without it). [env MXHUB_OIDC_AUDIENCE]",
)
@click.option(
    "--rate-limit",
    default=600,
    show_default=True,
    type=click.IntRange(min=0),
    envvar="MXHUB_RATE_LIMIT",
    help="Requests a minute per caller (login, else address); 0 turns it off. [env MXHUB_RATE_LIMIT]",
)
@click.option(
    "--redis-url",
    envvar="MXHUB_REDIS_URL",
    help="Redis shared by every hub on this registry (rate limits, in-flight calls, health), e.g. "
    "redis://127.0.0.1:6379/0; without it each hub process keeps its own. [env MXHUB_REDIS_URL]",
)
@click.option(
    "--metrics-token",
    envvar="MXHUB_METRICS_TOKEN",
    help="GET /metrics asks for `Authorization: Bearer <this>`; open without it (keep the port "
    "internal). [env MXHUB_METRICS_TOKEN]",
)
def serve(
    dsn: str | None,
    host: str,
    port: int,
    admin_token: str | None,
    admin_token_file: str | None,
    site_timeout: float,
    soft_deadline: float,
    health_interval: float,
    signing_key: str | None,
    oidc_issuer: str | None,
    oidc_jwks: str | None,
    oidc_audience: str | None,
    rate_limit: int,
    redis_url: str | None,
    metrics_token: str | None,
) -> None:
    import asyncpg

    from mx_hub.app import create_app
    from mx_hub.settings import HubSettings
    from mxhub.stores import resolve_pg_dsn

    if admin_token_file:
        if admin_token:
            raise click.UsageError(
                "give the admin token once: --admin-token(-file) or MXHUB_ADMIN_TOKEN(_FILE)"
            )
        with open(admin_token_file, encoding="utf-8") as fh:
            admin_token = fh.readline().strip() or None
    elif admin_token and os.environ.get("MXHUB_ADMIN_TOKEN") != admin_token:
        click.echo(
            "warning: --admin-token on the command line is visible to every user of this machine (ps); "
            "use MXHUB_ADMIN_TOKEN or --admin-token-file",
            err=True,
        )
    if not admin_token:
        click.echo("warning: no --admin-token: sites cannot be registered through this hub", err=True)
    if oidc_issuer and not oidc_jwks:
        raise click.UsageError("--oidc-issuer needs --oidc-jwks (the issuer's JWKS file or URL)")
    settings = HubSettings(
        site_timeout=site_timeout,
        soft_deadline=soft_deadline,
        health_interval=health_interval,
        admin_token=admin_token,
        signing_key=_read_key(signing_key),
        oidc_issuer=oidc_issuer,
        oidc_jwks=oidc_jwks,
        oidc_audience=oidc_audience,
        rate_limit=rate_limit,
        redis_url=redis_url or None,
        metrics_token=metrics_token or None,
    )

    async def run() -> None:
        try:
            resolved = await resolve_pg_dsn(dsn, "mxhub_hub")
            conn = await asyncpg.connect(resolved, timeout=10)
            await conn.close()
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
            raise click.ClickException(f"cannot reach the hub's PostgreSQL: {exc}") from None
        served = Served("hub", create_app(resolved, settings), host, port).bind()

        async def started() -> None:
            click.echo(f"hub serving {served.url}/graphql", err=True)

        await serve_all([served], on_started=started)

    try:
        asyncio.run(run())
    except OSError as exc:
        raise click.ClickException(str(exc)) from None


def _read_key(path: str | None) -> str | None:
    if path is None:
        return None
    from mx_hub.trust import read_private_pem

    with open(path, encoding="ascii", errors="replace") as fh:
        pem = fh.read()
    try:
        read_private_pem(pem)
    except ValueError as exc:
        raise click.ClickException(f"{path}: {exc}") from None
    return pem


@hub.command(
    "key",
    help="Print the hub's public key (PEM): give it to every site that should trust this hub. "
    "With --hub (or MXHUB_HUB_URL) it asks that running hub (GET /hub-key); else it reads "
    "the registry database (--dsn, embedded without it), creating the key on first use.",
)
@click.option(
    "--hub",
    "hub_url",
    envvar="MXHUB_HUB_URL",
    help="A running hub's base URL, e.g. http://127.0.0.1:8000: print the key it signs with. "
    "[env MXHUB_HUB_URL]",
)
@click.option(
    "--dsn",
    envvar="MXHUB_HUB_DSN",
    help="The registry's PostgreSQL (embedded without it). [env MXHUB_HUB_DSN]",
)
@click.option(
    "--signing-key",
    type=click.Path(exists=True, dir_okay=False),
    envvar="MXHUB_HUB_SIGNING_KEY",
    help="Print the public half of this private key file instead. [env MXHUB_HUB_SIGNING_KEY]",
)
@click.pass_context
def key(ctx: click.Context, hub_url: str | None, dsn: str | None, signing_key: str | None) -> None:
    from click.core import ParameterSource

    from mx_hub import trust
    from mx_hub.registry import Registry
    from mxhub.stores import resolve_pg_dsn

    explicit = {
        p
        for p in ("hub_url", "dsn", "signing_key")
        if ctx.get_parameter_source(p) == ParameterSource.COMMANDLINE
    }
    if len(explicit) > 1:
        raise click.UsageError("give one of --hub, --dsn and --signing-key")
    # A source named on the command line wins over the environment; among the environment's, the
    # key file first, then the running hub (what its sites must trust), then the registry database.
    chosen = next(iter(explicit), None) or ("signing_key" if signing_key else "hub_url" if hub_url else "dsn")
    if chosen == "hub_url":
        public, kid = _hub_key_from(hub_url or "")
        click.echo(f"key id {kid} (from the hub at {hub_url})", err=True)
        click.echo(public, nl=False)
        return
    pem = _read_key(signing_key) if chosen == "signing_key" else None

    async def run() -> str:
        if pem is not None:
            return trust.public_pem(trust.read_private_pem(pem))
        registry = Registry(await resolve_pg_dsn(dsn, "mxhub_hub"))
        await registry.start()
        try:
            return trust.public_pem(await trust.load_or_create_key(registry.pool))
        finally:
            await registry.close()

    try:
        click.echo(asyncio.run(run()), nl=False)
    except OSError as exc:
        raise click.ClickException(f"cannot reach the hub's PostgreSQL: {exc}") from None
    if chosen == "dsn" and not dsn:
        click.echo(
            "(from the embedded registry, database mxhub_hub: a hub started otherwise, e.g. by `mxhub demo`, "
            "has another key; ask it with --hub URL)",
            err=True,
        )


def _hub_key_from(hub_url: str) -> tuple[str, str]:
    """The public key PEM a running hub serves at /hub-key, and its key id."""
    import httpx

    from mxhub.urls import base_url

    url = base_url(hub_url) + "/hub-key"
    try:
        response = httpx.get(url, timeout=30)
    except httpx.HTTPError as exc:
        raise click.ClickException(f"cannot reach the hub at {hub_url}: {exc}") from None
    if response.status_code != 200 or "BEGIN PUBLIC KEY" not in response.text:
        raise click.ClickException(
            f"{url} answered HTTP {response.status_code} without a public key: is "
            f"{hub_url} an mxhub hub (started)?"
        )
    return response.text, response.headers.get("x-mxhub-key-id", "?")


@hub.command(
    "issue-token",
    help="Issue an API token for LOGIN with a running hub (needs an admin token); the "
    "secret is printed once and only its hash is kept.",
)
@click.argument("login")
@click.option(
    "--role",
    "roles",
    multiple=True,
    help="`admin` or `staff:<beamline>` (`staff:*` for every beamline); repeatable.",
)
@click.option("--expires-in-days", default=90, show_default=True, type=click.IntRange(1, 3650))
@click.option(
    "--hub",
    "hub_url",
    envvar="MXHUB_HUB_URL",
    required=True,
    help="The hub's base URL, e.g. http://127.0.0.1:8000. [env MXHUB_HUB_URL]",
)
@click.option("--token", envvar="MXHUB_TOKEN", help="An admin token for the hub. [env MXHUB_TOKEN]")
@click.option("--json", "as_json", is_flag=True, help="Print the issued token as one JSON object.")
def issue_token(
    login: str, roles: tuple[str, ...], expires_in_days: int, hub_url: str, token: str | None, as_json: bool
) -> None:
    body = post_graphql(
        hub_url,
        "mutation($l: String!, $r: [String!], $d: Int) { issueApiToken(login: $l, roles: $r, "
        "expiresInDays: $d) { id token login roles scope expiresAt } }",
        {"l": login, "r": list(roles), "d": expires_in_days},
        token,
    )
    fail_on_errors(body)
    issued = body["data"]["issueApiToken"]
    click.echo(json.dumps(issued) if as_json else issued["token"])


def fail_on_errors(body: dict[str, Any]) -> None:
    """Exit with the hub's messages (and codes), if it answered errors; print its warnings to stderr."""
    for w in (body.get("extensions") or {}).get("warnings") or []:
        click.echo(f"warning [{w.get('code')}]: {w.get('message')}", err=True)
    if body.get("errors"):
        raise click.ClickException(
            "; ".join(
                f"{e.get('message', 'error')} [{(e.get('extensions') or {}).get('code', '?')}]"
                for e in body["errors"]
            )
        )


def post_graphql(hub_url: str, query: str, variables: dict[str, Any], token: str | None) -> dict[str, Any]:
    import httpx

    from mxhub.urls import graphql_endpoint

    headers = {"authorization": f"Bearer {token}"} if token else {}
    try:
        response = httpx.post(
            graphql_endpoint(hub_url),
            json={"query": query, "variables": variables},
            headers=headers,
            timeout=30,
        )
        body: dict[str, Any] = response.json()
        return body
    except httpx.HTTPError as exc:
        raise click.ClickException(f"cannot reach the hub at {hub_url}: {exc}") from None
    except ValueError:
        raise click.ClickException(f"{hub_url} did not answer GraphQL") from None


@hub.command(
    "register-site",
    help="Register a site adapter (or a LIMS source) at URL with a running hub; the hub "
    "checks its schema and health first.",
)
@click.argument("name")
@click.argument("url")
@click.option("--kind", type=click.Choice(["site", "lims"]), default="site", show_default=True)
@click.option(
    "--hub",
    "hub_url",
    envvar="MXHUB_HUB_URL",
    required=True,
    help="The hub's base URL, e.g. http://127.0.0.1:8000. [env MXHUB_HUB_URL]",
)
@click.option("--token", envvar="MXHUB_TOKEN", help="An admin token for the hub. [env MXHUB_TOKEN]")
def register_site(name: str, url: str, kind: str, hub_url: str, token: str | None) -> None:
    body = post_graphql(
        hub_url,
        "mutation($n: String!, $u: String!, $k: String) { registerSite(name: $n, url: $u, "
        "kind: $k) { name url kind status schemaVersion latencyMs } }",
        {"n": name, "u": url, "k": kind},
        token,
    )
    fail_on_errors(body)
    click.echo(json.dumps(body["data"]["registerSite"], indent=2))


@hub.command("deregister-site", help="Remove a site from a running hub's registry.")
@click.argument("name")
@click.option(
    "--hub",
    "hub_url",
    envvar="MXHUB_HUB_URL",
    required=True,
    help="The hub's base URL, e.g. http://127.0.0.1:8000. [env MXHUB_HUB_URL]",
)
@click.option("--token", envvar="MXHUB_TOKEN", help="[env MXHUB_TOKEN]")
def deregister_site(name: str, hub_url: str, token: str | None) -> None:
    body = post_graphql(hub_url, "mutation($n: String!) { deregisterSite(name: $n) }", {"n": name}, token)
    fail_on_errors(body)
    if not body["data"]["deregisterSite"]:
        raise click.ClickException(f"no site called {name}")
    click.echo(f"removed {name}")


@hub.command("sites", help="List the sites a running hub knows, with their health.")
@click.option(
    "--hub",
    "hub_url",
    envvar="MXHUB_HUB_URL",
    required=True,
    help="The hub's base URL, e.g. http://127.0.0.1:8000. [env MXHUB_HUB_URL]",
)
def sites(hub_url: str) -> None:
    body = post_graphql(
        hub_url, "{ sites { name kind url status schemaVersion latencyMs lastSeen } }", {}, None
    )
    fail_on_errors(body)
    for s in body["data"]["sites"]:
        latency = f"{s['latencyMs']:.1f} ms" if s["latencyMs"] is not None else "-"
        click.echo(f"{s['name']:12s} {s['kind']:5s} {s['status']:8s} {latency:>10s}  {s['url']}")
