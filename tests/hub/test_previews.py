"""GET /previews/{image set id}/... through the hub (issue 22): routed by the id's site, the caller's
identity forwarded as a signed caller token, so the site's access rule decides (a member sees the
previews, anonymous callers get the same 404 as for an unknown set); coded refusals of the hub's own."""

from __future__ import annotations

import io
import os
from contextlib import ExitStack

import asyncpg
import pytest
from PIL import Image

from mx_schema.ids import encode_id
from site_adapter.access import AccessPolicy, EmbargoPolicy
from site_adapter.app import create_app
from site_adapter.backends.native import NativeBackend
from site_adapter.indexer.scan import run_scan
from tests.fixtures.hub import HUB_KEY
from tests.fixtures.images import fixtures_root
from tests.fixtures.sites import serve_in_thread

ISSUE = "mutation($l: String!, $r: [String!]) { issueApiToken(login: $l, roles: $r) { token } }"
IMAGES = """query($id: ID!) { node(id: $id) { ... on DataCollection { images { id
  previews { kind frame size width height url } countsPerImage { image counts } } } } }"""


async def _private_store(dsn: str, tree) -> None:
    """One embargoed collection of member `alice`, with five l-cysteine frames indexed with previews."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("INSERT INTO proposal (id, code) VALUES (1, 'mx1')")
        await conn.execute("INSERT INTO person (id, login) VALUES (1, 'alice')")
        await conn.execute(
            "INSERT INTO session (id, proposal_id, visit, beamline, start_time, end_time)"
            " VALUES (1, 1, 'mx1-1', 'i19-1', now() - interval '2 days', now() - interval '1 day')"
        )
        await conn.execute("INSERT INTO session_member (session_id, person_id) VALUES (1, 1)")
        await conn.execute(
            "INSERT INTO data_collection (id, session_id, proposal_id, image_directory, file_template,"
            " start_image_number, number_of_images) VALUES (7, 1, 1, $1, 'l-cyst_01_#####.cbf', 1, 5)",
            str(tree),
        )
        await run_scan(
            conn, [str(tree)], follow_links_into=[str(fixtures_root())], site="esrf", previews=True
        )
    finally:
        await conn.close()


@pytest.fixture
async def private_site(native_dsn, images, tmp_path):
    tree = tmp_path / "lcys"
    tree.mkdir()
    for f in sorted((images / "l_cysteine").glob("l-cyst_01_*.cbf"))[:5]:
        os.symlink(f, tree / f.name)
    await _private_store(native_dsn, tree)
    app = create_app(
        NativeBackend(native_dsn, min_size=1, max_size=2),
        site="esrf",
        access_policy=AccessPolicy(
            trusted_keys=[HUB_KEY.public_key()], embargo=EmbargoPolicy(default_years=-1)
        ),
    )
    with ExitStack() as stack:
        yield stack.enter_context(serve_in_thread(app))


async def test_a_member_sees_previews_through_the_hub_and_anonymous_cannot(quiet_hub, private_site):
    hub = quiet_hub
    assert "errors" not in await hub.register("esrf", f"{private_site}/graphql")
    token = (await hub.query(ISSUE, {"l": "alice", "r": []}, admin=True))["data"]["issueApiToken"]["token"]
    bearer = {"authorization": f"Bearer {token}"}
    body = await hub.query(IMAGES, {"id": encode_id("esrf", "DataCollection", 7)}, token=token)
    assert "errors" not in body, body
    (images,) = body["data"]["node"]["images"]
    set_id = images["id"]
    assert {(p["frame"], p["size"]) for p in images["previews"]} == {
        (n, s) for n in (1, 3, 5) for s in (512, 1024)
    }
    assert [c["image"] for c in images["countsPerImage"]] == [1, 3, 5]
    for p in images["previews"]:
        assert p["url"].startswith(f"/previews/{set_id}/frames/")
        got = await hub.http.get(p["url"], headers=bearer)
        assert got.status_code == 200, got.text
        assert got.headers["content-type"] == "image/png"
        assert Image.open(io.BytesIO(got.content)).size == (p["width"], p["height"])
    geometry = await hub.http.get(f"/previews/{set_id}/geometry", params={"d": "2.5"}, headers=bearer)
    assert geometry.status_code == 200 and [r["d"] for r in geometry.json()["rings"]] == [2.5]
    region = await hub.http.get(
        f"/previews/{set_id}/view", params={"frame": 2, "w": 64, "h": 32}, headers=bearer
    )
    assert region.status_code == 200 and Image.open(io.BytesIO(region.content)).size == (64, 32)

    # The site decides: an anonymous caller is told nothing exists.
    anonymous = await hub.http.get(images["previews"][0]["url"])
    assert anonymous.status_code == 404 and anonymous.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    # Bad input keeps the site's code through the hub.
    late = await hub.http.get(f"/previews/{set_id}/view", params={"frame": 6}, headers=bearer)
    assert late.status_code == 404 and late.json()["errors"][0]["extensions"]["code"] == "FRAME_OUT_OF_RANGE"


async def test_the_hub_refuses_what_it_cannot_route(quiet_hub, private_site):
    hub = quiet_hub
    assert "errors" not in await hub.register("esrf", f"{private_site}/graphql")
    cases = {
        f"/previews/{encode_id('nowhere', 'ImageSet', '1')}/frames/1": (404, "NOT_FOUND"),
        f"/previews/{encode_id('esrf', 'Sample', '1')}/frames/1": (404, "NOT_FOUND"),
        "/previews/garbage/frames/1": (400, "INVALID_ID"),
    }
    for path, (status, code) in cases.items():
        r = await hub.http.get(path)
        assert r.status_code == status, (path, r.text)
        assert r.json()["errors"][0]["extensions"]["code"] == code
    bad = await hub.http.get(
        f"/previews/{encode_id('esrf', 'ImageSet', '1')}", headers={"authorization": "Bearer nope"}
    )
    assert bad.status_code == 401 and bad.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
