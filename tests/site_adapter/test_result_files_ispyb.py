"""Result files, program messages and snapshots at an ISPyB site (issue 16): golden values read from
Diamond's fixture by SQL, downloads from a scratch copy whose paths point at real files, the access rule,
path confinement and ranges."""

from __future__ import annotations

import io
import os
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import asyncmy
import httpx
import pytest
from PIL import Image

from mx_schema.ids import decode_id, encode_id
from site_adapter.access import AccessPolicy, EmbargoPolicy
from site_adapter.app import create_app
from site_adapter.backends.ispyb import IspybBackend
from site_adapter.demo_data import tiny_png
from site_adapter.files import FileRoots
from site_adapter.graphql.context import SiteServices
from tests.fixtures.mariadb import admin_execute, connect_kwargs, load_ispyb, with_database

PAGE = """query($first: Int) { dataCollections(first: $first) { edges { node { localId
  snapshots { id position name mediaType url exists size }
  processing { localId status files { id localId name directory type importance mediaType url exists size }
               messages { severity message description time } } } } } }"""


async def sql(dsn: str, statement: str, args: tuple = ()) -> list[tuple]:
    """The reference: a plain query on the fixture, independent of the backend's SQL."""
    conn = await asyncmy.connect(**connect_kwargs(dsn), db=urlsplit(dsn).path.lstrip("/"))
    try:
        async with conn.cursor() as cur:
            await cur.execute(statement, args)
            return list(await cur.fetchall())
    finally:
        conn.close()


def client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://dls.test")


async def page(app, first: int = 20) -> dict[str, dict]:
    async with client(app) as c:
        body = (await c.post("/graphql", json={"query": PAGE, "variables": {"first": first}})).json()
    assert "errors" not in body, body
    return {e["node"]["localId"]: e["node"] for e in body["data"]["dataCollections"]["edges"]}


async def test_files_of_993677_are_the_attachments_of_its_programs(ispyb, ispyb_dsn):
    collections = await page(create_app(ispyb, site="dls", manage_backend=False))
    got = {
        (p["localId"], f["localId"], f["name"], f["directory"], f["type"])
        for p in collections["993677"]["processing"]
        for f in p["files"]
    }
    rows = await sql(
        ispyb_dsn,
        "SELECT DISTINCT aps.autoProcScalingId, att.autoProcProgramAttachmentId, att.fileName, att.filePath,"
        " att.fileType FROM AutoProcIntegration api"
        " JOIN AutoProcScaling_has_Int shi ON shi.autoProcIntegrationId = api.autoProcIntegrationId"
        " JOIN AutoProcScaling aps ON aps.autoProcScalingId = shi.autoProcScalingId"
        " JOIN AutoProc ap ON ap.autoProcId = aps.autoProcId"
        " JOIN AutoProcProgramAttachment att ON att.autoProcProgramId = ap.autoProcProgramId"
        " WHERE api.dataCollectionId = 993677",
    )
    assert got == {(str(a), str(b), c, d, e) for a, b, c, d, e in rows}
    assert len(got) == 11  # fast_dp.log; xia2.html + MTZ of each xia2 run; autoPROC's log and MTZ
    for p in collections["993677"]["processing"]:
        for f in p["files"]:
            assert f["exists"] is False and f["size"] is None  # /dls/... is not on this machine
            assert f["url"] == f"/files/{f['id']}"
            assert decode_id(f["id"]).site == "dls" and decode_id(f["id"]).type == "ResultFile"
    log = next(
        f for p in collections["993677"]["processing"] for f in p["files"] if f["name"] == "fast_dp.log"
    )
    assert log["mediaType"] == "text/plain"


async def test_snapshots_are_the_distinct_xtal_snapshot_paths(ispyb, ispyb_dsn):
    collections = await page(create_app(ispyb, site="dls", manage_backend=False))
    rows = await sql(
        ispyb_dsn,
        "SELECT dataCollectionId, xtalSnapshotFullPath1, xtalSnapshotFullPath2, xtalSnapshotFullPath3,"
        " xtalSnapshotFullPath4 FROM DataCollection WHERE dataCollectionId NOT BETWEEN 990001 AND 990004",
    )
    assert rows
    for dc, *paths in rows:
        distinct = list(dict.fromkeys(p for p in paths if p))
        got = collections[str(dc)]["snapshots"]
        assert [s["name"] for s in got] == [os.path.basename(p) for p in distinct]
        assert all(s["mediaType"] == "image/png" and s["exists"] is False for s in got)
    assert len(collections["6017405"]["snapshots"]) == 1  # one path stored three times


async def test_no_messages_in_the_fixture_and_an_empty_list_not_an_error(ispyb, ispyb_dsn):
    assert (await sql(ispyb_dsn, "SELECT COUNT(*) FROM AutoProcProgramMessage"))[0][0] == 0
    collections = await page(create_app(ispyb, site="dls", manage_backend=False))
    assert all(p["messages"] == [] for p in collections["993677"]["processing"])


async def test_a_page_costs_the_same_statements_at_10_and_100(ispyb):
    app = create_app(ispyb, site="dls", manage_backend=False)
    counts = {}
    for first in (10, 100):
        before = ispyb.db.queries
        await page(app, first)
        counts[first] = ispyb.db.queries - before
    # page + count, then per relation: processing, files, messages, snapshots: never per row
    assert counts[10] == counts[100]


async def test_a_recorded_file_missing_from_disk_is_a_coded_404(ispyb, tmp_path):
    app = create_app(
        ispyb, site="dls", manage_backend=False, services=SiteServices(file_roots=FileRoots([str(tmp_path)]))
    )
    async with client(app) as c:
        r = await c.get(f"/files/{encode_id('dls', 'ResultFile', '1023947')}")  # fast_dp.log under /dls
    assert r.status_code == 404 and r.json()["errors"][0]["extensions"]["code"] == "FILE_MISSING"
    assert "fast_dp.log" in r.json()["errors"][0]["message"]


# --- a scratch copy whose paths point at real files -------------------------------------------------


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("facility")
    (base / "fast_dp").mkdir()
    (base / "fast_dp" / "fast_dp.log").write_text("".join(f"fast_dp line {i}\n" for i in range(200)))
    (base / "xia2").mkdir()
    (base / "xia2" / "xia2.html").write_text("<html><body>xia2</body></html>\n")
    (base / "snap.png").write_bytes(tiny_png(8, 6))
    outside = tmp_path_factory.mktemp("elsewhere") / "secret.txt"
    outside.write_text("not to be served\n")
    (base / "autoPROC.log").symlink_to(outside)  # a link out of the root
    return base


@pytest.fixture(scope="module")
async def scratch_dsn(mariadb_server_dsn, root):
    database = f"mxhub_files_{uuid.uuid4().hex[:8]}"
    await load_ispyb(mariadb_server_dsn, database)
    secret = os.path.relpath(
        os.path.realpath(root / "autoPROC.log"), root / "xia2"
    )  # ../../elsewhere0/secret.txt
    await admin_execute(
        mariadb_server_dsn,
        f"""
        UPDATE AutoProcProgramAttachment SET filePath = '{root}/fast_dp' WHERE autoProcProgramAttachmentId = 1023947;
        UPDATE AutoProcProgramAttachment SET filePath = '{root}/xia2' WHERE autoProcProgramAttachmentId = 1023956;
        UPDATE AutoProcProgramAttachment SET filePath = '{root}' WHERE autoProcProgramAttachmentId = 1023971;
        UPDATE AutoProcProgramAttachment SET filePath = '{root}/xia2', fileName = '{secret}'
          WHERE autoProcProgramAttachmentId = 1023972;
        UPDATE DataCollection SET xtalSnapshotFullPath1 = '{root}/snap.png' WHERE dataCollectionId = 993677;
        INSERT INTO AutoProcProgramMessage (autoProcProgramId, recordTimeStamp, severity, message, description)
          VALUES (56425592, '2016-01-14 12:46:00', 'WARNING', 'Low completeness', 'outer shell 61 %');
        """,
        database,
    )
    yield with_database(mariadb_server_dsn, database)
    await admin_execute(mariadb_server_dsn, f"DROP DATABASE IF EXISTS `{database}`")


@pytest.fixture(scope="module")
async def scratch(scratch_dsn):
    backend = IspybBackend(scratch_dsn, pool_size=2)
    await backend.start()
    yield backend
    await backend.close()


def private_app(backend, root: Path, hub_tokens):
    """i03 never public: only members of cm14451 and i03 staff see its collections."""
    policy = AccessPolicy(
        trusted_keys=[hub_tokens.public_key], embargo=EmbargoPolicy(per_beamline={"i03": -1})
    )
    return create_app(
        backend,
        site="dls",
        manage_backend=False,
        access_policy=policy,
        services=SiteServices(file_roots=FileRoots([str(root)])),
    )


LOG = encode_id("dls", "ResultFile", "1023947")


async def test_graphql_says_which_files_exist_with_their_size(scratch, root):
    app = create_app(
        scratch, site="dls", manage_backend=False, services=SiteServices(file_roots=FileRoots([str(root)]))
    )
    node = (await page(app))["993677"]
    files = {f["localId"]: f for p in node["processing"] for f in p["files"]}
    assert files["1023947"]["exists"] is True
    assert files["1023947"]["size"] == (root / "fast_dp" / "fast_dp.log").stat().st_size
    assert files["1023971"]["exists"] is False  # a symlink out of the root
    assert files["1023972"]["exists"] is False  # `..` in the stored name
    assert node["snapshots"][0]["exists"] is True and node["snapshots"][0]["size"] == len(tiny_png(8, 6))
    fast_dp = next(p for p in node["processing"] if any(f["localId"] == "1023947" for f in p["files"]))
    assert fast_dp["messages"][0]["severity"] == "WARNING"
    assert fast_dp["messages"][0]["message"] == "Low completeness"


async def test_access_rule_of_the_collection_decides_the_download(scratch, root, hub_tokens):
    app = private_app(scratch, root, hub_tokens)
    async with client(app) as c:
        anonymous = await c.get(f"/files/{LOG}")
        member = await c.get(f"/files/{LOG}", headers=hub_tokens.headers(hub_tokens("dls", "boaty")))
        staff = await c.get(f"/files/{LOG}", headers=hub_tokens.headers(hub_tokens("dls", "staffy", ["i03"])))
        alice = await c.get(f"/files/{LOG}", headers=hub_tokens.headers(hub_tokens("dls", "alice")))
        forged = await c.get(f"/files/{LOG}", headers={"x-mxhub-caller": "not-a-token"})
    expected = (root / "fast_dp" / "fast_dp.log").read_bytes()
    assert anonymous.status_code == 404 and anonymous.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    # alice is on cm14451-2 (session 55168), not on 993677's session 55167
    assert alice.status_code == 404
    assert member.status_code == 200 and member.content == expected
    assert member.headers["content-type"].startswith("text/plain")
    assert int(member.headers["content-length"]) == len(expected)
    assert staff.status_code == 200 and staff.content == expected
    assert (
        forged.status_code == 401
        and forged.json()["errors"][0]["extensions"]["code"] == "CALLER_TOKEN_INVALID"
    )


async def test_snapshot_download_is_a_png(scratch, root, hub_tokens):
    app = private_app(scratch, root, hub_tokens)
    async with client(app) as c:
        r = await c.get(
            f"/files/{encode_id('dls', 'Snapshot', '993677-1')}",
            headers=hub_tokens.headers(hub_tokens("dls", "boaty")),
        )
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(r.content)).size == (8, 6)


async def test_ranges(scratch, root, hub_tokens):
    app = private_app(scratch, root, hub_tokens)
    whole = (root / "fast_dp" / "fast_dp.log").read_bytes()
    who = hub_tokens.headers(hub_tokens("dls", "boaty"))
    async with client(app) as c:
        first = await c.get(f"/files/{LOG}", headers={**who, "range": "bytes=0-9"})
        suffix = await c.get(f"/files/{LOG}", headers={**who, "range": "bytes=-5"})
        beyond = await c.get(f"/files/{LOG}", headers={**who, "range": f"bytes={len(whole)}-"})
        invalid = await c.get(f"/files/{LOG}", headers={**who, "range": "bytes=9-2"})
        head = await c.head(f"/files/{LOG}", headers=who)
    assert first.status_code == 206 and first.content == whole[:10]
    assert first.headers["content-range"] == f"bytes 0-9/{len(whole)}"
    assert suffix.status_code == 206 and suffix.content == whole[-5:]
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{len(whole)}"
    assert beyond.json()["errors"][0]["extensions"]["code"] == "RANGE_NOT_SATISFIABLE"
    assert invalid.status_code == 200 and invalid.content == whole  # an invalid range is ignored (RFC 9110)
    assert (
        head.status_code == 200 and int(head.headers["content-length"]) == len(whole) and head.content == b""
    )
    assert first.headers["accept-ranges"] == "bytes"


@pytest.mark.parametrize(
    "path,code",
    [
        ("/files/%2e%2e", "BAD_FILE_PATH"),
        ("/files/..%2F..%2Fetc%2Fpasswd", "BAD_FILE_PATH"),
        ("/files/%2Fetc%2Fpasswd", "BAD_FILE_PATH"),
        ("/files/not-an-id", "INVALID_ID"),
        (f"/files/{encode_id('dls', 'DataCollection', '993677')}", "BAD_FILE_PATH"),
        (f"/files/{encode_id('esrf', 'ResultFile', '1023947')}", "NOT_FOUND"),
    ],
)
async def test_paths_and_foreign_ids_are_refused_with_a_code(scratch, root, hub_tokens, path, code):
    app = private_app(scratch, root, hub_tokens)
    async with client(app) as c:
        r = await c.get(path, headers=hub_tokens.headers(hub_tokens("dls", "boaty")))
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["errors"][0]["extensions"]["code"] == code


async def test_a_file_outside_the_roots_is_refused(scratch, root, hub_tokens):
    app = private_app(scratch, root, hub_tokens)
    who = hub_tokens.headers(hub_tokens("dls", "boaty"))
    async with client(app) as c:
        link = await c.get(f"/files/{encode_id('dls', 'ResultFile', '1023971')}", headers=who)
        dotdot = await c.get(f"/files/{encode_id('dls', 'ResultFile', '1023972')}", headers=who)
    for r in (link, dotdot):
        assert r.status_code == 403 and r.json()["errors"][0]["extensions"]["code"] == "FILE_OUTSIDE_ROOTS"
        assert b"not to be served" not in r.content


async def test_no_roots_serve_nothing(scratch, hub_tokens):
    policy = AccessPolicy(trusted_keys=[hub_tokens.public_key])
    app = create_app(scratch, site="dls", manage_backend=False, access_policy=policy)
    async with client(app) as c:
        r = await c.get(f"/files/{LOG}", headers=hub_tokens.headers(hub_tokens("dls", "boaty")))
    assert r.status_code == 403 and r.json()["errors"][0]["extensions"]["code"] == "FILE_OUTSIDE_ROOTS"
