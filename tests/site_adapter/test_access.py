"""The one access rule at a site, through every path: a matrix of callers over the native demo site
and the real ISPyB fixture. Expected visibility is computed from the stores with plain SQL."""

from __future__ import annotations

import datetime as dt
import json

import asyncpg
import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mx_schema.ids import encode_id
from site_adapter.access import AccessPolicy, AuditLog, EmbargoPolicy
from site_adapter.app import create_app

COUNT = "query { dataCollections(first: 0) { totalCount } samples(first: 0) { totalCount } sessions(first: 0) { totalCount } }"
IDS = "query($after: String) { dataCollections(first: 500, after: $after) { pageInfo { hasNextPage endCursor } edges { node { localId } } } }"


async def all_ids(post, headers) -> set[str]:
    out, after = set(), None
    while True:
        body = await post(IDS, {"after": after}, headers)
        conn = body["data"]["dataCollections"]
        out |= {e["node"]["localId"] for e in conn["edges"]}
        if not conn["pageInfo"]["hasNextPage"]:
            return out
        after = conn["pageInfo"]["endCursor"]


class AuditFile:
    """The audit log's file; reading it first waits for the log's writer thread."""

    def __init__(self, path, log: AuditLog) -> None:
        self.path, self.log = path, log

    def read_text(self) -> str:
        self.log.flush()
        return self.path.read_text()


@pytest.fixture
async def esrf_secured(esrf_backend, hub_tokens, tmp_path):
    path = tmp_path / "audit" / "audit.log"
    audit = AuditFile(path, AuditLog(str(path)))
    policy = AccessPolicy(trusted_keys=[hub_tokens.public_key], embargo=EmbargoPolicy(3.0), audit=audit.log)
    app = create_app(esrf_backend, site="esrf", manage_backend=False, access_policy=policy)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://esrf.test") as c:

        async def post(query, variables=None, headers=None):
            r = await c.post(
                "/graphql", json={"query": query, "variables": variables or {}}, headers=headers or {}
            )
            return r.json() | {"_status": r.status_code}

        yield post, audit


async def expected_native(dsn: str, login: str | None = None, staff: str | None = None) -> set[str]:
    cutoff = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=365.25 * 3)
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            """SELECT dc.id FROM data_collection dc JOIN session se ON se.id = dc.session_id
               WHERE se.end_time < $1 OR se.beamline = $2
                  OR se.proposal_id IN (SELECT pm.proposal_id FROM proposal_member pm JOIN person p ON p.id = pm.person_id
                                        WHERE p.login = $3)""",
            cutoff,
            staff,
            login,
        )
    finally:
        await conn.close()
    return {str(r["id"]) for r in rows}


async def test_matrix_native(esrf_secured, esrf_demo_dsn, hub_tokens):
    post, audit = esrf_secured
    conn = await asyncpg.connect(esrf_demo_dsn)
    try:
        logins = [
            r["login"]
            for r in await conn.fetch(
                "SELECT p.login FROM person p JOIN proposal_member pm ON pm.person_id = p.id ORDER BY pm.proposal_id, p.id"
            )
        ]
        total = await conn.fetchval("SELECT count(*) FROM data_collection")
    finally:
        await conn.close()
    member_a, member_b = logins[1], logins[-1]
    cases = {
        "anonymous": ({}, await expected_native(esrf_demo_dsn)),
        "member A": (
            hub_tokens.headers(hub_tokens("esrf", member_a)),
            await expected_native(esrf_demo_dsn, login=member_a),
        ),
        "member B": (
            hub_tokens.headers(hub_tokens("esrf", member_b)),
            await expected_native(esrf_demo_dsn, login=member_b),
        ),
        "staff id29": (
            hub_tokens.headers(hub_tokens("esrf", "someone", staff=["id29"])),
            await expected_native(esrf_demo_dsn, staff="id29"),
        ),
        "admin": (hub_tokens.headers(hub_tokens("esrf", "root", admin=True)), None),
    }
    seen = {}
    for label, (headers, want) in cases.items():
        got = await all_ids(post, headers)
        counts = (await post(COUNT, None, headers))["data"]
        assert counts["dataCollections"]["totalCount"] == len(got), label  # totalCount does not leak
        if want is None:
            assert len(got) == total
        else:
            assert got == want, label
        seen[label] = got
    anon = seen["anonymous"]
    assert 0 < len(anon) < len(seen["member A"]) < total
    assert seen["member A"] != seen["member B"] and anon < seen["staff id29"]
    # node, _entities and nested fields obey the same rule
    hidden = sorted(seen["member A"] - anon)[0]
    gid = encode_id("esrf", "DataCollection", hidden)
    q = """query($id: ID!) { node(id: $id) { ... on DataCollection { localId detector { model } group { id }
             session { visit } sample { id name crystal { uuid } protein { acronym } }
             processing { program } reprocessing { dialsImport } } } }"""
    assert (await post(q, {"id": gid}))["data"]["node"] is None
    answer = await post(q, {"id": gid}, cases["member A"][0])
    assert "errors" not in answer, answer
    mine = answer["data"]["node"]
    assert mine["localId"] == hidden and mine["sample"]["name"] and mine["detector"]["model"]
    assert (
        mine["sample"]["crystal"]["uuid"]
        and mine["sample"]["protein"]["acronym"]
        and mine["session"]["visit"]
    )
    # and a public collection's nested records are public too, for anyone
    public = sorted(anon)[0]
    answer = await post(q, {"id": encode_id("esrf", "DataCollection", public)})
    assert "errors" not in answer, answer
    assert answer["data"]["node"]["sample"]["crystal"]["uuid"] and answer["data"]["node"]["detector"]["model"]
    ents = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Sample { name } ... on DataCollection { localId } } }"
    reps = [{"__typename": "Sample", "id": mine["sample"]["id"]}, {"__typename": "DataCollection", "id": gid}]
    assert (await post(ents, {"r": reps}))["data"]["_entities"] == [None, None]
    assert (await post(ents, {"r": reps}, cases["member A"][0]))["data"]["_entities"][1] == {
        "localId": hidden
    }
    # the audit log says who asked and which proposals' records they got
    lines = [json.loads(x) for x in audit.read_text().splitlines()]
    assert {x["who"] for x in lines} >= {"anonymous", member_a, member_b, "root"}
    assert any(x["who"] == member_a and x["proposals"] for x in lines)


@pytest.mark.parametrize(
    "problem", ["forged", "expired", "audience", "issuer", "garbage", "ten years", "several audiences"]
)
async def test_bad_caller_tokens_are_refused(esrf_secured, hub_tokens, problem):
    post, _ = esrf_secured
    token = {
        "forged": lambda: hub_tokens("esrf", "boaty", key=Ed25519PrivateKey.generate()),
        "expired": lambda: hub_tokens("esrf", "boaty", ttl=-60),
        "audience": lambda: hub_tokens("diamond", "boaty"),
        "issuer": lambda: hub_tokens("esrf", "boaty", issuer="someone-else"),
        "garbage": lambda: "not.a.token",
        # issue 15: sites accepted tokens valid for 10 years and tokens for several sites at once
        "ten years": lambda: hub_tokens("esrf", "boaty", ttl=10 * 365 * 86400),
        "several audiences": lambda: hub_tokens("esrf", "boaty", audience=["esrf", "diamond"]),
    }[problem]()
    body = await post(COUNT, None, hub_tokens.headers(token))
    code = {
        "forged": "UNTRUSTED_HUB_KEY",
        "expired": "CALLER_TOKEN_EXPIRED",
        "audience": "SITE_NAME_MISMATCH",
        "issuer": "CALLER_TOKEN_INVALID",
        "garbage": "CALLER_TOKEN_INVALID",
        "ten years": "CALLER_TOKEN_INVALID",
        "several audiences": "CALLER_TOKEN_INVALID",
    }[problem]
    assert body["_status"] == 401 and body["errors"][0]["extensions"]["code"] == code
    # a plain header naming a user is not an identity
    body = await post(COUNT, None, {"x-mxhub-user": "boaty", "x-remote-user": "boaty"})
    assert body["_status"] == 200


async def test_matrix_ispyb_with_boaty(ispyb, hub_tokens):
    """Diamond's fixture: sessions ended in 2016; with a 20-year embargo nothing is public, boaty
    (a member of cm14451) sees that proposal's collections, alice (overlay) hers and the one visit she
    was on, staff of i03 theirs, an admin everything."""
    policy = AccessPolicy(trusted_keys=[hub_tokens.public_key], embargo=EmbargoPolicy(20.0))
    app = create_app(ispyb, site="dls", manage_backend=False, access_policy=policy)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://dls.test") as c:

        async def post(query, variables=None, headers=None):
            return (
                await c.post(
                    "/graphql", json={"query": query, "variables": variables or {}}, headers=headers or {}
                )
            ).json()

        def who(login=None, staff=None, admin=False):
            return hub_tokens.headers(hub_tokens("dls", login, staff=staff, admin=admin))

        q = "{ dataCollections(first: 100) { totalCount edges { node { localId session { visit beamline proposal } } } } }"
        anon = (await post(q))["data"]["dataCollections"]
        boaty = (await post(q, None, who("boaty")))["data"]["dataCollections"]
        alice = (await post(q, None, who("alice")))["data"]["dataCollections"]
        staff = (await post(q, None, who("i03-scientist", staff=["i03"])))["data"]["dataCollections"]
        admin = (await post(q, None, who("root", admin=True)))["data"]["dataCollections"]
        nested = """query($id: ID!) { node(id: $id) { ... on DataCollection { localId group { id }
                      session { visit } sample { name crystal { spaceGroup } protein { acronym } }
                      processing { program } bestProcessing { spaceGroup } } } }"""
        gid = encode_id("dls", "DataCollection", "993677")
        as_boaty = await post(nested, {"id": gid}, who("boaty"))
        as_anon = await post(nested, {"id": gid})
    assert "errors" not in as_boaty, as_boaty
    node = as_boaty["data"]["node"]
    assert (
        node["sample"]["name"] == "tlys_jan_4" and node["sample"]["protein"]["acronym"] and node["processing"]
    )
    assert node["bestProcessing"]["spaceGroup"] == "P 61 2 2"
    assert as_anon["data"]["node"] is None
    assert anon["totalCount"] == 0 and anon["edges"] == []
    assert boaty["totalCount"] == len(boaty["edges"]) > 0
    assert {e["node"]["session"]["proposal"] for e in boaty["edges"]} <= {"cm14451", "cm1"}
    assert "993677" in {e["node"]["localId"] for e in boaty["edges"]}
    # alice owns mx90001 and is on one visit of cm14451 (Session_has_Person): that visit only
    visits = {e["node"]["session"]["visit"] for e in alice["edges"]}
    assert {v for v in visits if not v.startswith("mx90001")} <= {"cm14451-2"}
    assert any(v.startswith("mx90001") for v in visits) and "cm14451-1" not in visits
    assert {e["node"]["session"]["beamline"] for e in staff["edges"]} == {"i03"}
    everything = {e["node"]["localId"] for e in admin["edges"]}
    assert admin["totalCount"] == len(everything) == 10  # 6 of data.sql + 4 of the overlay
    assert {e["node"]["localId"] for e in boaty["edges"] + alice["edges"] + staff["edges"]} <= everything
    # With a short embargo the 2016 sessions are public to anyone
    policy.embargo = EmbargoPolicy(3.0)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://dls.test") as c:
        body = (await c.post("/graphql", json={"query": q})).json()
    assert "993677" in {e["node"]["localId"] for e in body["data"]["dataCollections"]["edges"]}


async def test_audit_records_are_bounded_and_private(esrf_secured):
    """Issue 15: 1,000 representations (an 80 KB request) once wrote 63 MB; now one short line."""
    post, audit = esrf_secured
    ents = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Sample { name } } }"
    from mx_schema.ids import encode_id

    reps = [{"__typename": "Sample", "id": encode_id("esrf", "Sample", str(k))} for k in range(1, 1001)]
    body = await post(ents, {"r": reps})
    assert len(body["data"]["_entities"]) == 1000
    text = audit.read_text()
    last = json.loads(text.splitlines()[-1])
    assert len(text.splitlines()[-1]) < 2000
    assert last["variables_bytes"] > 50_000 and "variables" not in last
    assert last["who"] == "anonymous" and last["proposal_count"] == len(last["proposals"])
    import os
    import stat

    assert stat.S_IMODE(os.stat(audit.path).st_mode) == 0o600
