"""distinctProteins (since 1.2.0, docs/proteins.md) over a three-site hub: two native sites (demo data,
plus proteins without UniProt accessions and with untidy acronyms) and Diamond's ISPyB fixture.

Expected groups come from SQL on each site's own database, with the grouping rule of docs/proteins.md
written here (smallest accession trimmed and upper-cased, else the acronym upper-cased, trimmed, runs of
white space made one), never from the product's grouping code.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from typing import Any
from urllib.parse import urlsplit

import asyncmy
import asyncpg
import pytest

from mx_hub import trust
from mx_hub.auth import Caller
from site_adapter.access import AccessPolicy
from site_adapter.app import create_app as create_site_app
from site_adapter.backends.native import NativeBackend
from tests.fixtures.contract import mixed_federation
from tests.fixtures.hub import HUB_KEY, RunningHub, serve_hub
from tests.fixtures.mariadb import connect_kwargs
from tests.fixtures.postgres import create_database, drop_database
from tests.fixtures.sites import demo_database, serve_in_thread

WALK = """query($f: ProteinFilter, $first: Int, $after: String) {
  distinctProteins(filter: $f, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { key keyKind acronym uniprotIds totalCount sites { site count }
                          members(first: 8) { id site localId acronym } } } } }"""
PROTEINS = """query($after: String) { proteins(first: 200, after: $after) {
  pageInfo { hasNextPage endCursor } edges { cursor node { site localId acronym uniprotIds } } } }"""
# Proteins the demo lacks: no accession (grouped by acronym) with untidy acronyms; one the same as
# ISPyB's 'therm' and one as its 'PRT-01' once normalised; one with a blank accession and two accessions.
EXTRA = [
    (990001, "  therm ", "Thermolysin", []),
    (990002, "Therm", None, []),
    (990003, "prt-01", "Protein 01", []),
    (990004, "tl\t  n", None, []),
    (990005, None, "No acronym", []),
    (990006, "HEWL", "Lysozyme", [" ", "p00698 "]),
    (990007, "two", None, ["Q99999", "A00001"]),
]

NATIVE_GROUPS = """
SELECT CASE WHEN a.acc IS NULL THEN 'ACRONYM' ELSE 'UNIPROT' END AS kind,
       coalesce(a.acc, upper(trim(regexp_replace(coalesce(p.acronym, ''), '\\s+', ' ', 'g')))) AS key,
       count(*) AS n
FROM protein p, LATERAL (SELECT min(upper(trim(x))) AS acc FROM unnest(p.uniprot_ids) x WHERE trim(x) <> '') a
GROUP BY 1, 2"""
ISPYB_GROUPS = """
SELECT UPPER(TRIM(REGEXP_REPLACE(COALESCE(acronym, ''), '\\\\s+', ' '))) AS k, COUNT(*) AS n
FROM Protein GROUP BY k"""


def rule(acronym: str | None, accessions: list[str]) -> tuple[str, str]:
    """docs/proteins.md's grouping rule, written for the test."""
    acc = sorted(a.strip().upper() for a in accessions if a.strip())
    if acc:
        return ("UNIPROT", acc[0])
    return ("ACRONYM", " ".join((acronym or "").split()).upper())


def code_points(kind_key: tuple[str, str]) -> tuple[list[int], list[int]]:
    return [ord(c) for c in kind_key[0]], [ord(c) for c in kind_key[1]]


async def native_oracle(dsn: str) -> dict[tuple[str, str], int]:
    conn = await asyncpg.connect(dsn)
    try:
        return {(r["kind"], r["key"]): r["n"] for r in await conn.fetch(NATIVE_GROUPS)}
    finally:
        await conn.close()


async def ispyb_oracle(dsn: str) -> dict[tuple[str, str], int]:
    conn = await asyncmy.connect(**connect_kwargs(dsn), db=urlsplit(dsn).path.lstrip("/"), charset="utf8mb4")
    try:
        async with conn.cursor() as cur:
            await cur.execute(ISPYB_GROUPS)
            rows = await cur.fetchall()
    finally:
        conn.close()
    out: Counter[tuple[str, str]] = Counter()
    for key, n in rows:  # latin1 keys that differ only by case/accent are one key in code points
        out[("ACRONYM", key)] += int(n)
    return dict(out)


class Federation:
    def __init__(self, hub: RunningHub, oracles: dict[str, dict[tuple[str, str], int]], urls: dict[str, str]):
        self.hub = hub
        self.oracles = oracles
        self.urls = urls

    def expected(self) -> dict[tuple[str, str], dict[str, int]]:
        out: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
        for site, groups in self.oracles.items():
            for k, n in groups.items():
                out[k][site] = n
        return dict(out)


async def _extra_proteins(site: str, dsn: str) -> None:
    if site != "alpha":
        return
    conn = await asyncpg.connect(dsn)
    try:
        await conn.executemany(
            "INSERT INTO protein (id, acronym, name, uniprot_ids) VALUES ($1, $2, $3, $4)", EXTRA
        )
    finally:
        await conn.close()


@pytest.fixture(scope="module")
async def federation(pg_server_dsn, native_template, ispyb_dsn):
    async with mixed_federation(
        pg_server_dsn, native_template, ispyb_dsn, {"alpha": 40, "beta": 25}, _extra_proteins
    ) as (hub, dsns, urls):
        oracles: dict[str, dict[tuple[str, str], int]] = {
            site: await (ispyb_oracle(dsn) if site == "dls" else native_oracle(dsn))
            for site, dsn in dsns.items()
        }
        yield Federation(hub, oracles, urls)


async def walk(hub: RunningHub, size: int, admin: bool = True) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    after = None
    for _ in range(1000):
        body = await hub.query(WALK, {"first": size, "after": after}, admin=admin)
        assert "errors" not in body, body["errors"]
        conn = body["data"]["distinctProteins"]
        assert len(conn["edges"]) <= size
        nodes += [e["node"] for e in conn["edges"]]
        if not conn["pageInfo"]["hasNextPage"]:
            return nodes
        after = conn["pageInfo"]["endCursor"]
    raise AssertionError("the walk did not end")


@pytest.mark.parametrize("size", [1, 3, 100])
async def test_walk_returns_each_key_once_in_order_with_per_site_counts(federation, size):
    expected = federation.expected()
    nodes = await walk(federation.hub, size)
    keys = [(n["keyKind"], n["key"]) for n in nodes]
    assert keys == sorted(expected, key=code_points)  # each key once, in order
    for n in nodes:
        want = expected[(n["keyKind"], n["key"])]
        assert {s["site"]: s["count"] for s in n["sites"]} == want
        assert [s["site"] for s in n["sites"]] == sorted(want)
        assert n["totalCount"] == sum(want.values())
        # up to `first` members from each site (docs/proteins.md)
        assert Counter(m["site"] for m in n["members"]) == {s: min(c, 8) for s, c in want.items()}
        for m in n["members"]:
            assert rule(m["acronym"], []) == ("ACRONYM", n["key"]) or n["keyKind"] == "UNIPROT"


async def test_groups_merge_across_native_and_ispyb(federation):
    nodes = {(n["keyKind"], n["key"]): n for n in await walk(federation.hub, 100)}
    therm = nodes[
        ("ACRONYM", "THERM")
    ]  # ISPyB 'therm' (twice in the fixture) and alpha's '  therm ', 'Therm'
    assert {s["site"]: s["count"] for s in therm["sites"]} == {
        "alpha": 2,
        "dls": federation.oracles["dls"][("ACRONYM", "THERM")],
    }
    assert ("ACRONYM", "TL N") in nodes
    assert ("ACRONYM", "") in nodes  # a protein with no acronym and no accession
    assert nodes[("UNIPROT", "A00001")]["uniprotIds"] == ["A00001", "Q99999"]
    hewl = nodes[("UNIPROT", "P00698")]  # alpha's blank and untidy accession joins the demo's lysozyme
    assert {s["site"] for s in hewl["sites"]} >= {"alpha"}


async def test_ispyb_site_groups_as_its_database_says(federation, ispyb_dsn):
    caller = Caller(login="contract-admin", staff_beamlines=frozenset(), admin=True)
    headers = {"x-mxhub-caller": trust.sign_caller(HUB_KEY, caller, "dls")}
    seen: dict[tuple[str, str], int] = {}
    after = None
    while True:
        r = await federation.hub.http.post(
            f"{federation.urls['dls']}/graphql",
            json={"query": WALK, "variables": {"first": 2, "after": after}},
            headers=headers,
        )
        body = r.json()
        assert "errors" not in body, body
        conn = body["data"]["distinctProteins"]
        for e in conn["edges"]:
            n = e["node"]
            assert (n["keyKind"], n["key"]) not in seen
            seen[(n["keyKind"], n["key"])] = n["sites"][0]["count"]
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    assert seen == federation.oracles["dls"]
    assert list(seen) == sorted(seen, key=code_points)


async def test_anonymous_sees_the_groups_of_the_proteins_it_sees(federation):
    """Access: a group counts the proteins `proteins` shows the same caller (docs/security.md)."""
    shown: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    after = None
    while True:
        body = await federation.hub.query(PROTEINS, {"after": after})
        assert "errors" not in body, body
        conn = body["data"]["proteins"]
        for e in conn["edges"]:
            n = e["node"]
            shown[rule(n["acronym"], n["uniprotIds"])][n["site"]] += 1
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    nodes = await walk(federation.hub, 7, admin=False)
    got = {(n["keyKind"], n["key"]): Counter({s["site"]: s["count"] for s in n["sites"]}) for n in nodes}
    assert got == dict(shown)
    assert sum(sum(c.values()) for c in got.values()) < sum(
        sum(v.values()) for v in federation.expected().values()
    )  # the embargo hides some: the check can fail


async def test_a_proteins_cursor_is_an_invalid_cursor(federation):
    body = await federation.hub.query(PROTEINS, {}, admin=True)
    proteins_cursor = body["data"]["proteins"]["edges"][0]["cursor"]
    body = await federation.hub.query(WALK, {"first": 2, "after": proteins_cursor}, admin=True)
    assert body["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"
    # a site's own proteins cursor, at the site
    r = await federation.hub.http.post(
        f"{federation.urls['alpha']}/graphql", json={"query": PROTEINS, "variables": {}}
    )
    site_cursor = r.json()["data"]["proteins"]["edges"][0]["cursor"]
    r = await federation.hub.http.post(
        f"{federation.urls['alpha']}/graphql",
        json={"query": WALK, "variables": {"first": 2, "after": site_cursor}},
    )
    assert r.json()["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"
    # and back: a distinctProteins cursor on proteins
    body = await federation.hub.query(WALK, {"first": 1}, admin=True)
    group_cursor = body["data"]["distinctProteins"]["pageInfo"]["endCursor"]
    r = await federation.hub.http.post(
        f"{federation.urls['alpha']}/graphql", json={"query": PROTEINS, "variables": {"after": group_cursor}}
    )
    assert r.json()["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"


async def test_a_1_1_site_is_left_out_with_a_named_warning(pg_server_dsn, native_template, federation):
    name, dsn = await demo_database(pg_server_dsn, native_template, "old", 10)
    hub_name = f"mxhub_hub_{uuid.uuid4().hex[:10]}"
    hub_dsn = await create_database(pg_server_dsn, hub_name)
    old_app = create_site_app(
        NativeBackend(dsn, min_size=1, max_size=2),
        site="old",
        access_policy=AccessPolicy(trusted_keys=[HUB_KEY.public_key()]),
        schema_version="1.1",
    )
    try:
        with serve_in_thread(old_app) as old_url, serve_hub(hub_dsn) as hub:
            for site, url in (("alpha", federation.urls["alpha"]), ("old", old_url)):
                assert "errors" not in await hub.register(site, url)
            body = await hub.query(WALK, {"first": 500}, admin=True)
            await hub.http.aclose()
    finally:
        await drop_database(pg_server_dsn, hub_name)
        await drop_database(pg_server_dsn, name)
    assert "errors" not in body, body
    warnings = body["extensions"]["warnings"]
    excluded = [w for w in warnings if w["code"] == "SITE_EXCLUDED"]
    assert [w["site"] for w in excluded] == ["old"]
    assert excluded[0]["fields"] == ["Query.distinctProteins"]
    nodes = body["data"]["distinctProteins"]["edges"]
    assert {(n["node"]["keyKind"], n["node"]["key"]) for n in nodes} == set(federation.oracles["alpha"])
    assert all(s["site"] == "alpha" for n in nodes for s in n["node"]["sites"])


async def test_the_protein_filter_and_the_site_filter(federation, ispyb_dsn):
    """`name` (case-insensitive substring) narrows the proteins before grouping; `site` the sites."""
    conn = await asyncmy.connect(**connect_kwargs(ispyb_dsn), db=urlsplit(ispyb_dsn).path.lstrip("/"))
    try:
        async with conn.cursor() as cur:
            await cur.execute(
                "SELECT UPPER(TRIM(REGEXP_REPLACE(COALESCE(acronym, ''), '\\\\s+', ' '))), COUNT(*)"
                " FROM Protein WHERE LOWER(name) LIKE '%therm%' GROUP BY 1"
            )
            want = {("ACRONYM", k): {"dls": int(n)} for k, n in await cur.fetchall()}
    finally:
        conn.close()
    assert want  # the fixture has thermolysin: the check can fail
    body = await federation.hub.query(WALK, {"first": 100, "f": {"name": "THERM", "site": "dls"}}, admin=True)
    assert "errors" not in body, body
    nodes = [e["node"] for e in body["data"]["distinctProteins"]["edges"]]
    assert {(n["keyKind"], n["key"]): {s["site"]: s["count"] for s in n["sites"]} for n in nodes} == want
