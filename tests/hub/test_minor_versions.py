"""A federation of mixed minor versions (issue 21): two current sites and one run as a 1.0 build
(`create_app(schema_version="1.0")`), all real sites on loopback over real PostgreSQL, behind one hub.

Expected values come from the stores (SQL) and the SDL files, never from re-running the hub's code. The
kept 1.0.0 SDL lacks three things of 1.1.0: the input `DataCollectionFilter.mine` and the outputs
`Provenance.timeZone` and `SiteInfo.timeZone` (and two fields became nullable); more fields a site lacks
are tested with a site serving 1.0.0 less two fields (`lacking_hub`)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
from graphql import build_schema, parse

import mx_schema.versioning
from mx_hub.capabilities import capabilities
from mx_schema import SCHEMA_VERSION, read_sdl
from mx_schema.ids import decode_id, encode_id
from mx_schema.versioning import VERSIONS_DIR, read_version_sdl
from site_adapter.access import AccessPolicy
from site_adapter.app import create_app as create_site_app
from site_adapter.backends.native import NativeBackend
from tests.fixtures.hub import HUB_KEY, RunningHub, serve_hub, trusted_site_app
from tests.fixtures.postgres import create_database, drop_database
from tests.fixtures.sites import demo_database, serve_in_thread
from tests.hub.sdl_edit import without

ISSUE = """mutation($l: String!, $r: [String!]) { issueApiToken(login: $l, roles: $r) { token } }"""
SITES = """{ sites { name schemaVersion capabilities { complete missingFields missingInputs } } }"""
WALK = """query($f: DataCollectionFilter, $after: String, $first: Int) {
  dataCollections(filter: $f, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id site localId startTime wavelength session { visit beamline } } } } }"""
LACKING = """query($after: String) { dataCollections(first: 400, after: $after) {
  pageInfo { hasNextPage endCursor }
  edges { node { id site flux wavelength session { visit beamline } } } } }"""
OLD_SITE_COLLECTIONS = 300


def serve_1_0(dsn: str, name: str) -> Any:
    """A site that trusts test hubs, enforces the access rule and serves schema 1.0 (as a 1.0 build did)."""
    return create_site_app(
        NativeBackend(dsn, min_size=1, max_size=4),
        site=name,
        access_policy=AccessPolicy(trusted_keys=[HUB_KEY.public_key()]),
        schema_version="1.0",
    )


class Federation:
    def __init__(self, hub: RunningHub, urls: dict[str, str], dsns: dict[str, str], tokens: dict[str, str]):
        self.hub, self.urls, self.dsns, self.tokens = hub, urls, dsns, tokens


async def issue(hub: RunningHub, login: str, roles: list[str]) -> str:
    body = await hub.query(ISSUE, {"l": login, "r": roles}, admin=True)
    return body["data"]["issueApiToken"]["token"]


@pytest.fixture(scope="module")
async def old_site_dsn(pg_server_dsn, native_template):
    name, dsn = await demo_database(pg_server_dsn, native_template, "maxiv", OLD_SITE_COLLECTIONS)
    yield dsn
    await drop_database(pg_server_dsn, name)


async def _hub_over(
    stack: ExitStack, pg_server_dsn: str, dsns: dict[str, str], old: dict[str, Any]
) -> tuple[RunningHub, dict[str, str], str]:
    """A hub over sites `dsns`, those named in `old` served by the app factory given there."""
    hub_db = f"mxhub_minor_{uuid.uuid4().hex[:8]}"
    hub_dsn = await create_database(pg_server_dsn, hub_db)
    hub = stack.enter_context(serve_hub(hub_dsn))
    urls = {}
    for name, dsn in dsns.items():
        app = old[name](dsn, name) if name in old else trusted_site_app(dsn, name)
        urls[name] = stack.enter_context(serve_in_thread(app))
        registered = await hub.register(name, urls[name])
        assert "errors" not in registered, registered
    return hub, urls, hub_db


@pytest.fixture(scope="module")
async def mixed(pg_server_dsn, esrf_demo_dsn, diamond_demo_dsn, old_site_dsn):
    """esrf and diamond (current) and maxiv (1.0) behind one hub; beside it, for "as before", the same
    three stores behind a second hub with maxiv current."""
    dsns = {"esrf": esrf_demo_dsn, "diamond": diamond_demo_dsn, "maxiv": old_site_dsn}
    with ExitStack() as stack:
        hub, urls, hub_db = await _hub_over(stack, pg_server_dsn, dsns, {"maxiv": serve_1_0})
        before, _, before_db = await _hub_over(stack, pg_server_dsn, dsns, {})
        beamline = await _a_beamline(esrf_demo_dsn)
        tokens = {
            "all": await issue(hub, "all-staff", ["staff:*"]),
            "before": await issue(before, "all-staff", ["staff:*"]),
            "staff": await issue(hub, "beamline-scientist", [f"staff:{beamline}"]),
            "beamline": beamline,
        }
        yield Federation(hub, urls, dsns, tokens), before
        await hub.http.aclose()
        await before.http.aclose()
    for db in (hub_db, before_db):
        await drop_database(pg_server_dsn, db)


async def _a_beamline(dsn: str) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        return str(
            await conn.fetchval("SELECT lower(beamline) FROM session GROUP BY 1 ORDER BY count(*), 1 LIMIT 1")
        )
    finally:
        await conn.close()


async def rows(dsn: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def walk(
    hub: RunningHub, query: str, token: str, flt: dict | None = None, first: int = 400
) -> list[dict]:
    """Every page of `query`; asserts no page had errors, and returns the nodes and the last body."""
    nodes: list[dict] = []
    after = None
    while True:
        body = await hub.query(query, {"f": flt or {}, "after": after, "first": first}, token=token)
        assert "errors" not in body, body["errors"]
        conn = body["data"]["dataCollections"]
        nodes += [e["node"] for e in conn["edges"]]
        if not conn["pageInfo"]["hasNextPage"]:
            return nodes
        after = conn["pageInfo"]["endCursor"]


def instant(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value is not None else None


def assert_newest_first(nodes: list[dict]) -> None:
    """Newest first, a missing start time last (the SDL's order of dataCollections)."""
    times = [instant(n["startTime"]) for n in nodes]
    dated = [t for t in times if t is not None]
    assert times[: len(dated)] == dated, "a collection without a start time sorts before a dated one"
    assert all(a >= b for a, b in zip(dated, dated[1:], strict=False))


def sdl_fields(sdl: str) -> dict[str, set[str]]:
    """Type (object, interface or input) -> its field names, straight from an SDL file."""
    out: dict[str, set[str]] = {}
    for d in parse(sdl).definitions:
        fields = getattr(d, "fields", None)
        if fields is not None:
            out.setdefault(d.name.value, set()).update(f.name.value for f in fields)
    return out


async def test_the_1_0_site_registers_and_sites_shows_what_it_lacks(mixed):
    fed, _ = mixed
    body = await fed.hub.query(SITES)
    sites = {s["name"]: s for s in body["data"]["sites"]}
    old_sdl = (VERSIONS_DIR / "1.0.0.graphql").read_text()
    v11, old = sdl_fields((VERSIONS_DIR / "1.1.0.graphql").read_text()), sdl_fields(old_sdl)
    lacking = sorted(f"{t}.{f}" for t, fs in v11.items() for f in fs if f not in old.get(t, set()))
    # What the SDL files say 1.0.0 lacks of 1.1.0.
    assert lacking == ["DataCollectionFilter.mine", "Provenance.timeZone", "SiteInfo.timeZone"]
    assert sites["maxiv"]["schemaVersion"] == "1.0.0"
    caps = sites["maxiv"]["capabilities"]
    assert caps["complete"] is False
    # 1.1's additions are named, and so is every field that 1.1.0 lacks of the current version.
    later = capabilities(read_version_sdl("1.1"))
    assert caps["missingFields"] == sorted(
        {"Provenance.timeZone", "SiteInfo.timeZone"} | later.missing_fields
    )
    assert caps["missingInputs"] == sorted({"DataCollectionFilter.mine"} | later.missing_inputs)
    for name in ("esrf", "diamond"):
        assert sites[name]["schemaVersion"] == SCHEMA_VERSION == "1.2.0"
        assert sites[name]["capabilities"] == {"complete": True, "missingFields": [], "missingInputs": []}


async def test_the_1_0_site_serves_the_1_0_schema(mixed):
    fed, _ = mixed
    old_sdl = (VERSIONS_DIR / "1.0.0.graphql").read_text()
    async with httpx.AsyncClient(base_url=fed.urls["maxiv"]) as c:
        body = (
            await c.post("/graphql", json={"query": "{ _service { sdl } siteInfo { schemaVersion } }"})
        ).json()
        assert body["data"]["_service"]["sdl"] == old_sdl.rstrip("\n")  # as a build prints it
        assert body["extensions"]["schemaVersion"] == "1.0.0"
        shown = (
            await c.post(
                "/graphql",
                json={"query": '{ __type(name: "DataCollectionFilter") { inputFields { name } } }'},
            )
        ).json()
        names = {f["name"] for f in shown["data"]["__type"]["inputFields"]}
        assert names == sdl_fields(old_sdl)["DataCollectionFilter"] and "mine" not in names
        info = (await c.post("/graphql", json={"query": "{ siteInfo { schemaVersion } }"})).json()
        assert info["data"]["siteInfo"]["schemaVersion"] == "1.0.0"
        refused = (
            await c.post(
                "/graphql", json={"query": "{ dataCollections(filter: {mine: true}) { totalCount } }"}
            )
        ).json()
        assert refused["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        assert "mine" in refused["errors"][0]["message"] and refused.get("data") is None
        deep = "{ __schema { types { fields { type " + "{ ofType " * 25 + "{ name }" + " }" * 25 + " } } } }"
        too_deep = (await c.post("/graphql", json={"query": deep})).json()
        assert too_deep["errors"][0]["extensions"]["code"] == "QUERY_TOO_DEEP"  # the site's limits hold
    async with httpx.AsyncClient(base_url=fed.urls["esrf"]) as c:
        current = (await c.post("/graphql", json={"query": "{ _service { sdl } }"})).json()
    assert current["data"]["_service"]["sdl"] == read_sdl().rstrip("\n")


def test_only_kept_versions_are_served(old_site_dsn):
    with pytest.raises(ValueError, match="0.9"):
        create_site_app(NativeBackend(old_site_dsn), site="maxiv", schema_version="0.9")
    build_schema(
        "directive @link(url: String!, import: [String]) repeatable on SCHEMA\n"
        "directive @key(fields: String!, resolvable: Boolean = true) repeatable on OBJECT | INTERFACE\n"
        + (VERSIONS_DIR / "1.0.0.graphql").read_text()
    )  # the kept SDL builds as it is


async def test_a_1_1_field_is_null_at_the_1_0_site_with_one_named_warning(mixed):
    fed, _ = mixed
    query = """query($after: String) { dataCollections(first: 400, after: $after) {
      pageInfo { hasNextPage endCursor } edges { node { site provenance { schemaVersion timeZone } } } } }"""
    zones: dict[str, set[Any]] = {}
    warnings: list[dict] = []
    after = None
    while True:
        body = await fed.hub.query(query, {"after": after}, token=fed.tokens["all"])
        assert "errors" not in body, body["errors"]
        conn = body["data"]["dataCollections"]
        for edge in conn["edges"]:
            zones.setdefault(edge["node"]["site"], set()).add(edge["node"]["provenance"]["timeZone"])
        warnings += [w for w in body["extensions"].get("warnings", []) if w["code"] == "FIELD_UNAVAILABLE"]
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    assert set(zones) == {"esrf", "diamond", "maxiv"}  # every site's records, the 1.0 site's too
    assert zones["maxiv"] == {None}
    assert zones["esrf"] == zones["diamond"] == {"UTC"}  # the test sites state no zone: the default
    assert warnings and all(w["site"] == "maxiv" for w in warnings)
    assert all(w["fields"] == ["Provenance.timeZone"] for w in warnings)


async def test_a_query_of_1_0_fields_returns_every_record_as_before(mixed):
    fed, before = mixed
    nodes = await walk(fed.hub, WALK, fed.tokens["all"])
    expected = set()
    for site, dsn in fed.dsns.items():
        expected |= {
            encode_id(site, "DataCollection", str(r["id"]))
            for r in await rows(dsn, "SELECT id FROM data_collection")
        }
    ids = [n["id"] for n in nodes]
    assert len(ids) == len(set(ids)) == len(expected) and set(ids) == expected
    assert_newest_first(nodes)
    assert {n["site"] for n in nodes} == {"esrf", "diamond", "maxiv"}
    assert nodes == await walk(before, WALK, fed.tokens["before"])  # identical to an all-current federation
    body = await fed.hub.query(WALK, {"first": 5}, token=fed.tokens["all"])
    assert "warnings" not in body["extensions"]


async def test_mine_leaves_the_1_0_site_out_with_a_named_warning(mixed):
    fed, _ = mixed
    beamline = fed.tokens["beamline"]
    body = await fed.hub.query(WALK, {"f": {"mine": True}, "first": 50}, token=fed.tokens["staff"])
    assert "errors" not in body
    warnings = [w for w in body["extensions"]["warnings"] if w["code"] == "SITE_EXCLUDED"]
    assert len(warnings) == 1
    assert warnings[0]["site"] == "maxiv" and warnings[0]["fields"] == ["DataCollectionFilter.mine"]
    assert "maxiv" in warnings[0]["message"] and "mine" in warnings[0]["message"]
    nodes = await walk(fed.hub, WALK, fed.tokens["staff"], {"mine": True})
    expected = set()
    for site in ("esrf", "diamond"):
        found = await rows(
            fed.dsns[site],
            "SELECT dc.id FROM data_collection dc JOIN session se ON se.id = dc.session_id"
            " WHERE lower(se.beamline) = $1",
            beamline,
        )
        expected |= {encode_id(site, "DataCollection", str(r["id"])) for r in found}
    ids = [n["id"] for n in nodes]
    assert expected and len(ids) == len(set(ids)) and set(ids) == expected
    assert_newest_first(nodes)
    # mine: null asks nothing of the 1.0 site, which answers as without it
    body = await fed.hub.query(WALK, {"f": {"mine": None}, "first": 0}, token=fed.tokens["all"])
    assert "errors" not in body and "warnings" not in body["extensions"]
    total = 0
    for dsn in fed.dsns.values():
        total += len(await rows(dsn, "SELECT id FROM data_collection"))
    assert body["data"]["dataCollections"]["totalCount"] == total


# A site lacking output fields: 1.0.0 less DataCollection.flux (nullable) and Session.visit (non-null, so
# its nearest nullable parent, DataCollection.session, is nulled), served by a real site from that SDL.
LACKS = {"DataCollection": "flux", "Session": "visit"}


def _lacking_sdl() -> str:
    sdl = (VERSIONS_DIR / "1.0.0.graphql").read_text()
    for type_name, field_name in LACKS.items():
        sdl = without(sdl, type_name, field_name)
    return sdl


@pytest.fixture(scope="module")
async def lacking_hub(pg_server_dsn, esrf_demo_dsn, old_site_dsn, tmp_path_factory):
    folder: Path = tmp_path_factory.mktemp("versions")
    (folder / "1.0.0.graphql").write_text(_lacking_sdl())

    def serve_lacking(dsn: str, name: str) -> Any:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(mx_schema.versioning, "VERSIONS_DIR", folder)
            return serve_1_0(dsn, name)

    dsns = {"esrf": esrf_demo_dsn, "soleil": old_site_dsn}
    with ExitStack() as stack:
        hub, urls, hub_db = await _hub_over(stack, pg_server_dsn, dsns, {"soleil": serve_lacking})
        yield hub, await issue(hub, "all-staff", ["staff:*"]), dsns
        await hub.http.aclose()
    await drop_database(pg_server_dsn, hub_db)


async def test_fields_a_site_lacks_are_null_there_with_one_warning(lacking_hub):
    hub, token, dsns = lacking_hub
    body = await hub.query(SITES)
    soleil = next(s for s in body["data"]["sites"] if s["name"] == "soleil")
    later = capabilities(read_version_sdl("1.1")).missing_fields  # what 1.1.0 lacks of the current
    assert soleil["capabilities"]["missingFields"] == sorted(
        {"DataCollection.flux", "Provenance.timeZone", "Session.visit", "SiteInfo.timeZone"} | later
    )  # served 1.0.0 less flux and visit; 1.0.0 lacks the time zones
    first = await hub.query(LACKING, {}, token=token)
    assert "errors" not in first, first["errors"]
    warnings = first["extensions"]["warnings"]
    assert (
        len(warnings) == 1 and warnings[0]["code"] == "FIELD_UNAVAILABLE" and warnings[0]["site"] == "soleil"
    )
    assert sorted(warnings[0]["fields"]) == ["DataCollection.flux", "Session.visit"]
    assert sorted(warnings[0]["paths"]) == [
        "dataCollections.edges.node.flux",
        "dataCollections.edges.node.session",
    ]
    nodes = []
    after = None
    while True:  # the whole walk: every record once, each site's own values, the lacking ones null
        body = await hub.query(LACKING, {"after": after}, token=token)
        assert "errors" not in body, body["errors"]
        conn = body["data"]["dataCollections"]
        nodes += [e["node"] for e in conn["edges"]]
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    stored = {}
    for site, dsn in dsns.items():
        for r in await rows(
            dsn,
            "SELECT dc.id, dc.flux, dc.wavelength, se.visit FROM data_collection dc"
            " LEFT JOIN session se ON se.id = dc.session_id",
        ):
            stored[encode_id(site, "DataCollection", str(r["id"]))] = r
    ids = [n["id"] for n in nodes]
    assert len(ids) == len(set(ids)) and set(ids) == set(stored)
    for n in nodes:
        row = stored[n["id"]]
        assert n["wavelength"] == pytest.approx(row["wavelength"])
        if decode_id(n["id"]).site == "soleil":
            assert n["flux"] is None and n["session"] is None
        else:
            assert n["flux"] == (None if row["flux"] is None else pytest.approx(row["flux"]))
            assert (n["session"] or {}).get("visit") == row["visit"]


async def test_health_checks_refresh_the_sdl_a_site_serves(hub_dsn, old_site_dsn):
    """The registry's copy is replaced by what the site serves at the next health check (here a 1.0 site,
    whose health answer carries siteInfo beside `_service`: its own SDL, not the current one)."""
    with (
        serve_hub(hub_dsn, health_interval=0.5) as hub,
        serve_in_thread(serve_1_0(old_site_dsn, "maxiv")) as url,
    ):
        assert "errors" not in await hub.register("maxiv", url)
        conn = await asyncpg.connect(hub_dsn)
        try:
            await conn.execute("UPDATE site SET sdl = NULL, sdl_seen = NULL WHERE name = 'maxiv'")
            await eventually_true(
                lambda: conn.fetchval("SELECT sdl_seen IS NOT NULL FROM site WHERE name = 'maxiv'"),
                "a health check",
            )
            row = await conn.fetchrow("SELECT sdl, schema_version FROM site WHERE name = 'maxiv'")
        finally:
            await conn.close()
        assert row["sdl"] == (VERSIONS_DIR / "1.0.0.graphql").read_text().rstrip("\n")
        assert row["schema_version"] == "1.0.0"
        body = await hub.query(SITES)
        caps = next(s for s in body["data"]["sites"] if s["name"] == "maxiv")["capabilities"]
        # 1.1's addition, and every input 1.1.0 lacks of the current version (as in the test above)
        later = capabilities(read_version_sdl("1.1")).missing_inputs
        assert caps["missingInputs"] == sorted({"DataCollectionFilter.mine"} | later)
        await hub.http.aclose()


async def eventually_true(check: Any, what: str, timeout: float = 120.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not await check():
        if loop.time() > end:
            raise AssertionError(f"{what}: not within {timeout:g} s")
        await asyncio.sleep(0.05)


async def test_node_at_a_site_that_lacks_a_field(lacking_hub):
    hub, token, dsns = lacking_hub
    row = (await rows(dsns["soleil"], "SELECT id, wavelength FROM data_collection ORDER BY id LIMIT 1"))[0]
    gid = encode_id("soleil", "DataCollection", str(row["id"]))
    body = await hub.query(
        "query($id: ID!) { node(id: $id) { id ... on DataCollection { flux wavelength } } }",
        {"id": gid},
        token=token,
    )
    assert "errors" not in body, body["errors"]
    assert body["data"]["node"] == {"id": gid, "flux": None, "wavelength": pytest.approx(row["wavelength"])}
    (warning,) = body["extensions"]["warnings"]
    assert warning["code"] == "FIELD_UNAVAILABLE" and warning["site"] == "soleil"
    assert warning["fields"] == ["DataCollection.flux"]


def upgradable(app: Any, state: dict[str, str]) -> Any:
    """A real site `app` whose answers report `state["version"]` as its schema version (as a site would once
    its operator upgrades it to another major version): its records and SDL are the site's own."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def graphql(request: Request) -> Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://site") as c:
            answer = await c.post("/graphql", content=await request.body(), headers=dict(request.headers))
        body = answer.json()
        info = (body.get("data") or {}).get("siteInfo")
        if isinstance(info, dict) and "schemaVersion" in info:
            info["schemaVersion"] = state["version"]
        return Response(orjson.dumps(body), answer.status_code, media_type="application/json")

    @contextlib.asynccontextmanager
    async def lifespan(_app: Any) -> Any:
        async with app.router.lifespan_context(app):
            yield

    return Starlette(routes=[Route("/graphql", graphql, methods=["POST"])], lifespan=lifespan)


async def test_a_health_check_does_not_take_a_schema_registration_would_refuse(hub_dsn, old_site_dsn):
    """Reviewer's finding: a site upgraded to another major version kept being served, its new SDL taken
    as capabilities. Now it is down, named SITE_INCOMPATIBLE, and the hub keeps its last good SDL."""
    state = {"version": SCHEMA_VERSION}
    site = create_site_app(NativeBackend(old_site_dsn, min_size=1, max_size=2), site="maxiv")
    with (
        serve_hub(hub_dsn, health_interval=0.5) as hub,
        serve_in_thread(upgradable(site, state)) as url,
    ):
        assert "errors" not in await hub.register("maxiv", url)
        conn = await asyncpg.connect(hub_dsn)
        try:
            before = await conn.fetchrow("SELECT sdl, schema_version FROM site WHERE name = 'maxiv'")
            state["version"] = "2.0.0"
            await eventually_true(
                lambda: conn.fetchval("SELECT status = 'down' FROM site WHERE name = 'maxiv'"),
                "the health check that sees 2.0.0",
            )
            after = await conn.fetchrow(
                "SELECT sdl, schema_version, last_error FROM site WHERE name = 'maxiv'"
            )
        finally:
            await conn.close()
        assert before["schema_version"] == SCHEMA_VERSION
        assert after["sdl"] == before["sdl"] and after["schema_version"] == SCHEMA_VERSION  # last good kept
        assert "SITE_INCOMPATIBLE" in after["last_error"] and "2.0.0" in after["last_error"]
        assert "major version" in after["last_error"]
        await hub.http.aclose()
