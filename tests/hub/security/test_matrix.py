"""Who sees what through the hub: a matrix of callers (anonymous, a member of one proposal, a member
of another, beamline staff, an admin) over two sites that enforce the access rule. Each caller sees
through the hub exactly the union of what each site shows that caller; expectations come from SQL."""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest

from tests.hub.security.conftest import hub_with

IDS = """query($after: String) { dataCollections(first: 500, after: $after) {
  totalCount pageInfo { hasNextPage endCursor } edges { node { id site localId } } } }"""
ISSUE = "mutation($l: String!, $r: [String!]) { issueApiToken(login: $l, roles: $r) { token } }"


async def walk(hub, token: str | None) -> tuple[set[tuple[str, str]], int, dict[str, str]]:
    out, after, total, ids = set(), None, None, {}
    while True:
        body = await hub.query(IDS, {"after": after}, token=token)
        assert "errors" not in body, body["errors"]
        conn = body["data"]["dataCollections"]
        total = conn["totalCount"]
        for e in conn["edges"]:
            out.add((e["node"]["site"], e["node"]["localId"]))
            ids[e["node"]["site"] + ":" + e["node"]["localId"]] = e["node"]["id"]
        if not conn["pageInfo"]["hasNextPage"]:
            return out, total, ids
        after = conn["pageInfo"]["endCursor"]


async def expected(
    dsns: dict[str, str], login: str | None = None, staff: str | None = None, admin: bool = False
) -> set[tuple[str, str]]:
    """The access rule in plain SQL: public after a 3-year embargo, members, beamline staff, admins."""
    cutoff = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=365.25 * 3)
    out = set()
    for site, dsn in dsns.items():
        conn = await asyncpg.connect(dsn)
        try:
            rows = await conn.fetch(
                """SELECT dc.id FROM data_collection dc JOIN session se ON se.id = dc.session_id
                   WHERE $4 OR se.end_time < $1 OR lower(se.beamline) = $2
                      OR se.proposal_id IN (SELECT pm.proposal_id FROM proposal_member pm
                                            JOIN person p ON p.id = pm.person_id WHERE p.login = $3)""",
                cutoff,
                staff,
                login,
                admin,
            )
        finally:
            await conn.close()
        out |= {(site, str(r["id"])) for r in rows}
    return out


async def first_member(dsn: str, last: bool = False) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(
            "SELECT p.login FROM person p JOIN proposal_member pm ON pm.person_id = p.id "
            f"ORDER BY pm.proposal_id {'DESC' if last else 'ASC'}, p.id LIMIT 1"
        )
    finally:
        await conn.close()


@pytest.fixture
async def secured_hub(hub_dsn, secured_sites):
    with hub_with(hub_dsn) as hub:
        for name, url in secured_sites.items():
            assert "errors" not in await hub.register(name, url)
        yield hub
        await hub.http.aclose()


async def test_matrix_across_two_sites(secured_hub, esrf_demo_dsn, diamond_demo_dsn):
    hub = secured_hub
    dsns = {"esrf": esrf_demo_dsn, "diamond": diamond_demo_dsn}
    member_a, member_b = await first_member(esrf_demo_dsn), await first_member(diamond_demo_dsn, last=True)
    conn = await asyncpg.connect(esrf_demo_dsn)
    try:
        beamline = await conn.fetchval(
            "SELECT lower(beamline) FROM session WHERE beamline IS NOT NULL "
            "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        )
    finally:
        await conn.close()

    async def token(login: str, roles: list[str]) -> str:
        return (await hub.query(ISSUE, {"l": login, "r": roles}, admin=True))["data"]["issueApiToken"][
            "token"
        ]

    cases = {
        "anonymous": (None, await expected(dsns)),
        "member A": (await token(member_a, []), await expected(dsns, login=member_a)),
        "member B": (await token(member_b, []), await expected(dsns, login=member_b)),
        "staff": (
            await token("beamline-scientist", [f"staff:{beamline}"]),
            await expected(dsns, staff=beamline),
        ),
        "admin": (await token("root", ["admin"]), await expected(dsns, admin=True)),
    }
    seen = {}
    for label, (tok, want) in cases.items():
        got, total, ids = await walk(hub, tok)
        assert got == want, label
        assert total == len(want), label
        seen[label] = (got, ids)
    anonymous = seen["anonymous"][0]
    assert (
        anonymous < seen["member A"][0] and anonymous < seen["member B"][0] and anonymous < seen["staff"][0]
    )
    assert seen["member A"][0] != seen["member B"][0]
    assert seen["admin"][0] >= seen["member A"][0] | seen["member B"][0] | seen["staff"][0]
    # node(id) obeys the same rule: a member's embargoed record is invisible to anonymous callers
    private = sorted(seen["member A"][0] - anonymous)[0]
    gid = seen["member A"][1][f"{private[0]}:{private[1]}"]
    q = "query($id: ID!) { node(id: $id) { id } }"
    assert (await hub.query(q, {"id": gid}, token=cases["member A"][0]))["data"]["node"] == {"id": gid}
    body = await hub.query(q, {"id": gid})
    assert body["data"]["node"] is None
    assert all(e["extensions"]["code"] == "NOT_FOUND" for e in body.get("errors", []))


async def test_a_forged_identity_gets_nothing_more(secured_hub, secured_sites):
    """A site reached directly, with a caller token the hub did not sign, or a plain header, refuses it."""
    import httpx
    import jwt

    from mx_hub import trust
    from mx_hub.auth import Caller
    from tests.fixtures.hub import HUB_KEY

    forged = trust.sign_caller(trust.generate_key(), Caller("root", admin=True), "esrf")
    expired = jwt.encode(
        trust.caller_claims(Caller("root", admin=True), "esrf", now=0), HUB_KEY, algorithm="EdDSA"
    )
    wrong_site = trust.sign_caller(HUB_KEY, Caller("root", admin=True), "diamond")
    q = {"query": "{ dataCollections(first: 1) { totalCount } }"}
    async with httpx.AsyncClient(base_url=secured_sites["esrf"]) as c:
        anonymous = (await c.post("/graphql", json=q)).json()["data"]["dataCollections"]["totalCount"]
        for bad, code in (
            (forged, "UNTRUSTED_HUB_KEY"),
            (expired, "CALLER_TOKEN_EXPIRED"),
            (wrong_site, "SITE_NAME_MISMATCH"),
            ("garbage", "CALLER_TOKEN_INVALID"),
        ):
            r = await c.post("/graphql", json=q, headers={"x-mxhub-caller": bad})
            assert r.status_code == 401 and r.json()["errors"][0]["extensions"]["code"] == code
        for header in ({"x-mxhub-user": "root"}, {"x-forwarded-user": "root"}, {"authorization": "Bearer x"}):
            r = await c.post("/graphql", json=q, headers=header)
            assert r.json()["data"]["dataCollections"]["totalCount"] == anonymous
