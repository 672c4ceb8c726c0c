"""Result files and snapshots on every implementation (issue 16): ids name the collection's site, the
`url` is `/files/{id}` on whoever answered, and GET on it gives the file or a coded 4xx, never a 500."""

from __future__ import annotations

from mx_schema.ids import decode_id, encode_id
from tests.fixtures.contract import ADMIN

QUERY = """query($first: Int) { dataCollections(first: $first) { edges { node { id site
  snapshots { id url exists } processing { files { id url exists } } } } } }"""
SERVED = {"FILE_MISSING", "FILE_OUTSIDE_ROOTS"}  # a listed file the implementation cannot serve says why


async def test_listed_files_download_or_say_why(impl):
    body = await impl.query(QUERY, {"first": 100}, ADMIN)
    assert "errors" not in body, body
    listed = []
    for edge in body["data"]["dataCollections"]["edges"]:
        node = edge["node"]
        files = node["snapshots"] + [f for p in node["processing"] for f in p["files"]]
        for f in files:
            gid = decode_id(f["id"])
            assert gid.site == node["site"] and gid.type in ("Snapshot", "ResultFile")
            assert f["url"] == f"/files/{f['id']}"
        listed += files
    if "dls" in impl.sites:  # Diamond's fixture records attachments and snapshots (paths under /dls)
        assert listed
    headers = await impl.headers_for(ADMIN)
    for f in listed[:12]:
        r = await impl.http.get(f"{impl.url}{f['url']}", headers=headers)
        assert r.status_code < 500, r.text
        if f["exists"]:
            assert r.status_code == 200
        else:
            assert r.status_code in (403, 404) and r.json()["errors"][0]["extensions"]["code"] in SERVED


async def test_paths_and_unknown_sites_are_coded_refusals(impl):
    headers = await impl.headers_for(ADMIN)
    cases = {
        "/files/%2e%2e": (400, "BAD_FILE_PATH"),
        f"/files/{encode_id('elsewhere', 'ResultFile', '1')}": (404, "NOT_FOUND"),
        f"/files/{encode_id(sorted(impl.sites)[0], 'Proposal', '1')}": (400, "BAD_FILE_PATH"),
        "/files/not-an-id": (400, "INVALID_ID"),
    }
    for path, (status, code) in cases.items():
        r = await impl.http.get(f"{impl.url}{path}", headers=headers)
        assert r.status_code == status, (path, r.text)
        assert r.json()["errors"][0]["extensions"]["code"] == code
