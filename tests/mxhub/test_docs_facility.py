"""docs/facility.md, run from its own commands (issue 13): a hub and an ISPyB site as real processes on
loopback ports, the site trusting the hub's key, registered, its images indexed, its data read back
through the hub. Then what each step printed is checked."""

from __future__ import annotations

import asyncio
import json

from tests.fixtures.postgres import drop_database
from tests.mxhub.docrun import REPO, SHELL, Session, blocks
from tests.mxhub.test_docs import doc_environment, run_document

DOC = REPO / "docs" / "facility.md"


def output_of(session: Session, marker: str, stream: str = "stdout") -> str:
    """What the sh block containing `marker` printed (stdout, or stderr)."""
    found = [b for b in blocks(DOC) if b.lang == SHELL and marker in b.text]
    assert len(found) == 1, f"{marker!r} in {len(found)} blocks of {DOC}"
    return (session.outputs if stream == "stdout" else session.errors)[str(found[0])]


async def test_the_facility_walk_through_runs_as_written(fixtures, pg_server_dsn, ispyb_readonly_dsn):
    from mx_hub import trust

    env, databases = await doc_environment(fixtures, pg_server_dsn, ispyb_readonly_dsn)
    session = None
    try:
        session = await asyncio.to_thread(run_document, env, blocks(DOC))
        # step 3: the key of the hub that runs (the one its sites must trust)
        pem = (session.cwd.parent / "home" / "hub.pem").read_text()
        from cryptography.hazmat.primitives.serialization import load_pem_public_key

        kid = trust.key_id(load_pem_public_key(pem.encode()))
        site_log = next(log for b, _, log in session.servers if "site serve" in b.text).read_text()
        assert f"trusting hub key(s) {kid}" in site_log, site_log
        # step 5: registered, schema and health checked; a wrong name refused with its cause
        registered = json.loads(output_of(session, "register-site dls"))
        assert registered["name"] == "dls" and registered["status"] == "up" and registered["kind"] == "site"
        assert "refused, as it should be" in output_of(session, "register-site grenoble")
        said = output_of(session, "register-site grenoble", "stderr")
        assert "[SITE_NAME_MISMATCH]" in said and "--name dls" in said and "register it as dls" in said, said
        # step 6: the fixture grid scan, indexed into the image store
        summary = json.loads(output_of(session, "mxhub index"))
        images = len(list((fixtures / "images" / "thaumatin_grid").iterdir()))
        assert summary["files"] == images and summary["indexed"] == images and not summary["failed"]
        assert [(s["count"], s["linked"]) for s in summary["sweeps"]] == [(images, None)]
        # step 7: the hub lists the site and answers for its ISPyB's collections
        checked = output_of(session, "mxhub hub sites")
        assert checked.splitlines()[0].split()[:3] == ["dls", "site", "up"]
        answer = json.loads(checked.split("\n", 1)[1])
        conn = answer["data"]["dataCollections"]
        assert conn["totalCount"] > 0 and len(conn["edges"]) == 3
        assert all(e["node"]["session"]["visit"].startswith("cm14451-") for e in conn["edges"])
        assert answer["extensions"]["sites"] == [
            {"name": "dls", "status": "ok", "ms": answer["extensions"]["sites"][0]["ms"]}
        ]
        assert "DETECTOR=" in output_of(session, "mxhub reprocess")
    finally:
        if session is not None:
            problems = await asyncio.to_thread(session.close)
            assert not problems, problems
        for name in databases:
            await drop_database(pg_server_dsn, name)
