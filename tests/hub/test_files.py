"""GET /files/{id} through the hub (issue 16): routed by the id's site, the caller's identity forwarded
as a signed caller token, Range passed through, the body streamed back; coded refusals of its own."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import asyncpg
import pytest

from mx_schema.ids import encode_id
from site_adapter.access import AccessPolicy, EmbargoPolicy
from site_adapter.app import create_app
from site_adapter.backends.native import NativeBackend
from site_adapter.files import FileRoots
from site_adapter.graphql.context import SiteServices
from tests.fixtures.hub import HUB_KEY
from tests.fixtures.postgres import drop_database
from tests.fixtures.sites import serve_in_thread
from tests.site_adapter.test_result_files_native import demo_store_with_files

ISSUE = "mutation($l: String!, $r: [String!]) { issueApiToken(login: $l, roles: $r) { token } }"
FILES = """query($id: ID!) { node(id: $id) { ... on DataCollection { localId
  processing { files { id name url exists size } } snapshots { id url } } } }"""


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("hub-files")


@pytest.fixture(scope="module")
async def private_site(pg_server_dsn, native_template, root):
    """A native site with real files where nothing is public: only members and staff see anything."""
    name, dsn = await demo_store_with_files(pg_server_dsn, native_template, root, n=200)
    app = create_app(
        NativeBackend(dsn, min_size=1, max_size=4),
        site="esrf",
        access_policy=AccessPolicy(
            trusted_keys=[HUB_KEY.public_key()], embargo=EmbargoPolicy(default_years=-1)
        ),
        services=SiteServices(file_roots=FileRoots([str(root)])),
    )
    with ExitStack() as stack:
        url = stack.enter_context(serve_in_thread(app))
        yield url, dsn
    await drop_database(pg_server_dsn, name)


async def a_log_and_its_member(dsn: str) -> tuple[str, str, str, Path]:
    """(file id, its collection's id, a member's login, the file on disk): the reference is SQL on the store."""
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            "SELECT f.id, dc.id AS dc, f.directory, f.name, pe.login FROM result_file f"
            " JOIN processing_result pr ON pr.id = f.processing_result_id"
            " JOIN data_collection dc ON dc.id = pr.data_collection_id"
            " JOIN session_member sm ON sm.session_id = dc.session_id JOIN person pe ON pe.id = sm.person_id"
            " WHERE f.kind = 'Log' ORDER BY f.id LIMIT 1"
        )
    finally:
        await conn.close()
    return str(row["id"]), str(row["dc"]), row["login"], Path(row["directory"]) / row["name"]


async def test_a_member_downloads_through_the_hub_and_anonymous_cannot(quiet_hub, private_site):
    hub = quiet_hub
    site_url, dsn = private_site
    assert "errors" not in await hub.register("esrf", f"{site_url}/graphql")
    local_id, dc, login, path = await a_log_and_its_member(dsn)
    token = (await hub.query(ISSUE, {"l": login, "r": []}, admin=True))["data"]["issueApiToken"]["token"]
    bearer = {"authorization": f"Bearer {token}"}

    # the url the hub's GraphQL answer gives is the hub's own download route
    body = await hub.query(FILES, {"id": encode_id("esrf", "DataCollection", dc)}, token=token)
    assert body["data"]["node"], body
    urls = {f["id"]: f["url"] for p in body["data"]["node"]["processing"] for f in p["files"]}
    file_id = encode_id("esrf", "ResultFile", local_id)
    assert urls[file_id] == f"/files/{file_id}"

    whole = path.read_bytes()
    got = await hub.http.get(urls[file_id], headers=bearer)
    assert got.status_code == 200 and got.content == whole
    assert got.headers["content-type"].startswith(("text/plain", "text/html"))
    assert int(got.headers["content-length"]) == len(whole)

    part = await hub.http.get(urls[file_id], headers={**bearer, "range": "bytes=5-14"})
    assert part.status_code == 206 and part.content == whole[5:15]
    assert part.headers["content-range"] == f"bytes 5-14/{len(whole)}"
    beyond = await hub.http.get(urls[file_id], headers={**bearer, "range": f"bytes={len(whole) + 10}-"})
    assert (
        beyond.status_code == 416
        and beyond.json()["errors"][0]["extensions"]["code"] == "RANGE_NOT_SATISFIABLE"
    )

    anonymous = await hub.http.get(urls[file_id])
    assert anonymous.status_code == 404 and anonymous.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert anonymous.content != whole


async def test_the_hub_refuses_what_it_cannot_route(quiet_hub, private_site):
    hub = quiet_hub
    site_url, _ = private_site
    assert "errors" not in await hub.register("esrf", f"{site_url}/graphql")
    cases = {
        f"/files/{encode_id('nowhere', 'ResultFile', '1')}": (404, "NOT_FOUND"),
        f"/files/{encode_id('esrf', 'Sample', '1')}": (400, "BAD_FILE_PATH"),
        "/files/%2e%2e": (400, "BAD_FILE_PATH"),
        "/files/..%2F..%2Fetc%2Fpasswd": (400, "BAD_FILE_PATH"),
        "/files/garbage": (400, "INVALID_ID"),
    }
    for path, (status, code) in cases.items():
        r = await hub.http.get(path)
        assert r.status_code == status, (path, r.text)
        assert r.json()["errors"][0]["extensions"]["code"] == code
    bad = await hub.http.get(
        f"/files/{encode_id('esrf', 'ResultFile', '1')}", headers={"authorization": "Bearer nope"}
    )
    assert bad.status_code == 401 and bad.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


class WithoutFiles:
    """A site as one older than 1.2.0 answers: no /files route (Starlette's plain-text 404)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/files/"):
            from starlette.responses import PlainTextResponse

            await PlainTextResponse("Not Found", status_code=404)(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def test_a_site_without_the_route_is_a_coded_404(quiet_hub, pg_server_dsn, native_template, tmp_path):
    name, dsn = await demo_store_with_files(pg_server_dsn, native_template, tmp_path, n=60)
    try:
        site = WithoutFiles(create_app(NativeBackend(dsn, min_size=1, max_size=2), site="old"))
        with serve_in_thread(site) as url:
            assert "errors" not in await quiet_hub.register("old", f"{url}/graphql")
            r = await quiet_hub.http.get(f"/files/{encode_id('old', 'ResultFile', '1')}")
        assert r.status_code == 404
        error = r.json()["errors"][0]
        assert error["extensions"] == {"code": "NOT_FOUND", "site": "old"} and "1.2.0" in error["message"]
    finally:
        await drop_database(pg_server_dsn, name)
