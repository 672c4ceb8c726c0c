"""`DataCollectionFilter.mine` at a site: the caller's own collections (member of, or staff for), on the
native demo site and Diamond's ISPyB fixture; expected sets computed with plain SQL or the access rule."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from site_adapter.access import AccessPolicy, EmbargoPolicy
from site_adapter.app import create_app

IDS = """query($f: DataCollectionFilter, $after: String) { dataCollections(filter: $f, first: 500, after: $after) {
  totalCount pageInfo { hasNextPage endCursor } edges { node { localId session { visit beamline proposal } } } } }"""


def client(app, base: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base)


async def walk(
    c: httpx.AsyncClient, flt: dict | None, headers: dict | None = None
) -> tuple[list[dict], list | None]:
    nodes, after = [], None
    while True:
        body = (
            await c.post(
                "/graphql",
                json={"query": IDS, "variables": {"f": flt, "after": after}},
                headers=headers or {},
            )
        ).json()
        if body.get("errors"):
            return nodes, body["errors"]
        conn = body["data"]["dataCollections"]
        nodes += [e["node"] for e in conn["edges"]]
        assert conn["totalCount"] >= len(nodes)
        if not conn["pageInfo"]["hasNextPage"]:
            assert conn["totalCount"] == len(nodes)
            return nodes, None
        after = conn["pageInfo"]["endCursor"]


async def owned_native(dsn: str, login: str | None = None, beamline: str | None = None) -> set[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            """SELECT dc.id FROM data_collection dc JOIN session se ON se.id = dc.session_id
               WHERE lower(se.beamline) = $1
                  OR se.proposal_id IN (SELECT pm.proposal_id FROM proposal_member pm JOIN person p ON p.id = pm.person_id
                                        WHERE p.login = $2)
                  OR se.id IN (SELECT sm.session_id FROM session_member sm JOIN person p ON p.id = sm.person_id
                               WHERE p.login = $2)""",
            beamline,
            login,
        )
    finally:
        await conn.close()
    return {str(r["id"]) for r in rows}


@pytest.fixture
async def esrf_secured(esrf_backend, hub_tokens):
    # A short embargo: most demo sessions are public, so `mine` is visibly narrower than what one sees.
    policy = AccessPolicy(trusted_keys=[hub_tokens.public_key], embargo=EmbargoPolicy(0.5))
    async with client(
        create_app(esrf_backend, site="esrf", manage_backend=False, access_policy=policy), "http://esrf.test"
    ) as c:
        yield c


async def test_mine_is_what_the_caller_is_member_of_or_staff_for(esrf_secured, esrf_demo_dsn, hub_tokens):
    c = esrf_secured
    conn = await asyncpg.connect(esrf_demo_dsn)
    try:
        login = await conn.fetchval(
            "SELECT p.login FROM person p JOIN proposal_member pm ON pm.person_id = p.id"
            " ORDER BY pm.proposal_id DESC, p.id LIMIT 1"
        )
        beamline = await conn.fetchval(
            "SELECT lower(beamline) FROM session GROUP BY 1 ORDER BY count(*) LIMIT 1"
        )
        total = await conn.fetchval("SELECT count(*) FROM data_collection")
    finally:
        await conn.close()
    member = hub_tokens.headers(hub_tokens("esrf", login))
    seen, errors = await walk(c, None, member)
    mine, errors = await walk(c, {"mine": True}, member)
    assert errors is None
    want = await owned_native(esrf_demo_dsn, login=login)
    assert want and {n["localId"] for n in mine} == want
    assert len(mine) < len(seen)  # public collections of others are visible, not "mine"
    # AND with the other filters, as every filter
    one_visit = mine[0]["session"]["visit"]
    narrowed, _ = await walk(c, {"mine": True, "visit": one_visit}, member)
    assert narrowed and {n["session"]["visit"] for n in narrowed} == {one_visit}
    # staff: the beamline's collections, whoever's proposal
    staff = hub_tokens.headers(hub_tokens("esrf", "scientist", staff=[beamline.upper()]))
    mine, _ = await walk(c, {"mine": True}, staff)
    assert {n["localId"] for n in mine} == await owned_native(esrf_demo_dsn, beamline=beamline)
    assert {n["session"]["beamline"].lower() for n in mine} == {beamline}
    # staff of every beamline: everything; the bootstrap admin (no login, no beamline): nothing is theirs
    everyone = hub_tokens.headers(hub_tokens("esrf", "director", staff=["*"]))
    assert len((await walk(c, {"mine": True}, everyone))[0]) == total
    admin = hub_tokens.headers(hub_tokens("esrf", None, admin=True))
    assert await walk(c, {"mine": True}, admin) == ([], None)
    # mine: false restricts nothing
    assert len((await walk(c, {"mine": False}, member))[0]) == len(seen)


async def test_mine_needs_a_signed_in_caller(esrf_secured, esrf_backend):
    nodes, errors = await walk(esrf_secured, {"mine": True})
    assert nodes == [] and errors[0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "signed-in caller" in errors[0]["message"]
    # A site without access control does not know its callers: it says so instead of guessing.
    async with client(create_app(esrf_backend, site="esrf", manage_backend=False), "http://open.test") as c:
        nodes, errors = await walk(c, {"mine": True})
    assert (
        errors[0]["extensions"]["code"] == "UNAUTHENTICATED"
        and "without access control" in errors[0]["message"]
    )


async def test_mine_on_ispyb(ispyb, hub_tokens):
    """Diamond's fixture: with a 3-year embargo every 2016 session is public, yet `mine` is only the
    caller's: boaty's proposals, alice's proposal and her one visit, an i03 scientist's beamline."""
    strict = AccessPolicy(trusted_keys=[hub_tokens.public_key], embargo=EmbargoPolicy(20.0))
    lax = AccessPolicy(trusted_keys=[hub_tokens.public_key], embargo=EmbargoPolicy(3.0))

    def who(login=None, staff=None):
        return hub_tokens.headers(hub_tokens("dls", login, staff=staff))

    async with client(
        create_app(ispyb, site="dls", manage_backend=False, access_policy=strict), "http://a.test"
    ) as c:
        # Under a 20-year embargo nothing is public: what one sees is exactly what is one's own.
        own = {
            name: {n["localId"] for n in (await walk(c, None, who(*args)))[0]}
            for name, args in {"boaty": ("boaty",), "alice": ("alice",), "i03": ("sci", ["i03"])}.items()
        }
    async with client(
        create_app(ispyb, site="dls", manage_backend=False, access_policy=lax), "http://b.test"
    ) as c:
        everything, _ = await walk(c, None)
        for name, args in {"boaty": ("boaty",), "alice": ("alice",), "i03": ("sci", ["i03"])}.items():
            mine, errors = await walk(c, {"mine": True}, who(*args))
            assert errors is None, errors
            assert own[name] and {n["localId"] for n in mine} == own[name], name
            assert len(mine) < len(everything)
        nodes, errors = await walk(c, {"mine": True})
        assert errors[0]["extensions"]["code"] == "UNAUTHENTICATED"
