"""Result files, program messages and snapshots at a native site (issue 16): the demo's files exist
under a temp root, the store's rows point at them, and the site serves them by the collection's rule."""

from __future__ import annotations

import io
import os
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest
from PIL import Image

from mx_schema.ids import decode_id
from site_adapter.access import AccessPolicy
from site_adapter.app import create_app
from site_adapter.backends.native import NativeBackend
from site_adapter.backends.native.loader import install_demo_files, load_demo
from site_adapter.files import FileRoots
from site_adapter.graphql.context import SiteServices
from tests.fixtures.postgres import create_database, drop_database

QUERY = """query($first: Int) { dataCollections(first: $first) { edges { node { localId
  snapshots { id position name mediaType url exists size }
  processing { localId status files { id localId name type importance mediaType url exists size }
               messages { severity message description } } } } } }"""


async def demo_store_with_files(server_dsn: str, template: str, root: Path, n: int = 300) -> tuple[str, str]:
    """(database name, DSN) of a small demo facility whose newest collections have files under `root`."""
    name = f"mxhub_files_{uuid.uuid4().hex[:8]}"
    dsn = await create_database(server_dsn, name, template=template)
    conn = await asyncpg.connect(dsn)
    try:
        await load_demo(conn, "esrf", n)
        await install_demo_files(conn, str(root))
    finally:
        await conn.close()
    return name, dsn


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("demo-files")


@pytest.fixture(scope="module")
async def store(pg_server_dsn, native_template, root):
    name, dsn = await demo_store_with_files(pg_server_dsn, native_template, root)
    backend = NativeBackend(dsn, min_size=1, max_size=4)
    await backend.start()
    yield backend, dsn
    await backend.close()
    await drop_database(pg_server_dsn, name)


def app_of(backend, root: Path, policy: AccessPolicy | None = None):
    return create_app(
        backend,
        site="esrf",
        manage_backend=False,
        access_policy=policy,
        services=SiteServices(file_roots=FileRoots([str(root)])),
    )


def client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://esrf.test")


async def nodes(app, first: int = 30) -> list[dict]:
    async with client(app) as c:
        body = (await c.post("/graphql", json={"query": QUERY, "variables": {"first": first}})).json()
    assert "errors" not in body, body
    return [e["node"] for e in body["data"]["dataCollections"]["edges"]]


async def test_demo_files_exist_and_download_as_written(store, root):
    backend, dsn = store
    app = app_of(backend, root)
    files = [f for n in await nodes(app) for p in n["processing"] for f in p["files"]]
    conn = await asyncpg.connect(dsn)
    try:
        stored = await conn.fetch("SELECT id, directory, name, kind FROM result_file")
    finally:
        await conn.close()
    assert stored and {str(r["id"]) for r in stored} == {f["localId"] for f in files}
    on_disk = {str(r["id"]): Path(r["directory"]) / r["name"] for r in stored}
    async with client(app) as c:
        for f in files:
            path = on_disk[f["localId"]]
            assert f["exists"] is True and f["size"] == path.stat().st_size
            assert decode_id(f["id"]).type == "ResultFile" and f["url"] == f"/files/{f['id']}"
            r = await c.get(f["url"])
            assert r.status_code == 200 and r.content == path.read_bytes()
    assert {f["type"] for f in files} >= {"Log", "Result"}
    assert any(f["name"] == "fast_dp.log" and f["mediaType"] == "text/plain" for f in files)


async def test_snapshots_are_real_pngs(store, root):
    backend, _ = store
    app = app_of(backend, root)
    with_snaps = [n for n in await nodes(app) if n["snapshots"]]
    assert with_snaps
    async with client(app) as c:
        for s in with_snaps[0]["snapshots"]:
            assert s["exists"] and s["mediaType"] == "image/png"
            r = await c.get(s["url"])
            assert r.status_code == 200 and r.headers["content-type"] == "image/png"
            image = Image.open(io.BytesIO(r.content))
            image.verify()
            assert image.size == (64, 48) and len(r.content) == s["size"]


async def test_messages_are_the_stored_ones(store, root):
    backend, dsn = store
    got = {
        (p["localId"], m["severity"], m["message"])
        for n in await nodes(app_of(backend, root), 100)
        for p in n["processing"]
        for m in p["messages"]
    }
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT m.processing_result_id, m.severity, m.message FROM program_message m"
            " JOIN processing_result pr ON pr.id = m.processing_result_id WHERE pr.status = 'FAILED'"
        )
        all_rows = await conn.fetchval("SELECT count(*) FROM program_message")
    finally:
        await conn.close()
    assert len(rows) == all_rows  # the demo's messages explain failed runs
    assert got == {(str(a), b, c) for a, b, c in rows}


async def test_statements_do_not_grow_with_the_page(store, root):
    backend, _ = store
    app = app_of(backend, root)
    counts = {}
    for first in (10, 100):
        before = backend.statements
        await nodes(app, first)
        counts[first] = backend.statements - before
    # page + count, sessions... as before, plus one each for processing, files, messages, snapshots
    assert counts[10] == counts[100] <= 6


async def test_an_embargoed_collection_s_file_follows_its_rule(store, root, hub_tokens):
    backend, dsn = store
    conn = await asyncpg.connect(dsn)
    try:  # the newest file's collection, its session's member and beamline (the reference: SQL)
        row = await conn.fetchrow(
            "SELECT f.id, pe.login, se.beamline, se.end_time FROM result_file f"
            " JOIN processing_result pr ON pr.id = f.processing_result_id"
            " JOIN data_collection dc ON dc.id = pr.data_collection_id JOIN session se ON se.id = dc.session_id"
            " JOIN session_member sm ON sm.session_id = se.id JOIN person pe ON pe.id = sm.person_id"
            " ORDER BY se.end_time DESC LIMIT 1"
        )
    finally:
        await conn.close()
    from site_adapter.access import EmbargoPolicy

    policy = AccessPolicy(trusted_keys=[hub_tokens.public_key], embargo=EmbargoPolicy(default_years=-1))
    app = app_of(backend, root, policy)
    from mx_schema.ids import encode_id

    url = f"/files/{encode_id('esrf', 'ResultFile', row['id'])}"
    async with client(app) as c:
        anonymous = await c.get(url)
        member = await c.get(url, headers=hub_tokens.headers(hub_tokens("esrf", row["login"])))
        staff = await c.get(
            url, headers=hub_tokens.headers(hub_tokens("esrf", "someone", [row["beamline"].lower()]))
        )
        other = await c.get(url, headers=hub_tokens.headers(hub_tokens("esrf", "nobody_here")))
    assert anonymous.status_code == 404 and anonymous.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert other.status_code == 404
    assert member.status_code == 200 and staff.status_code == 200
    assert os.path.basename(member.headers["content-disposition"].split("filename=")[-1].strip('"'))
