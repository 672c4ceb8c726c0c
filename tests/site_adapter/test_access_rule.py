"""The access rule's truth table (docs/security.md, "The access rule") against the pure function
site_adapter.access.visible, the native backend (PostgreSQL) and the ISPyB backend (MariaDB).

One small world (WORLD) is written into both stores; the expected answers are the docs table itself.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from site_adapter import access
from site_adapter.access import (
    EmbargoPolicy,
    RecordFacts,
    Scope,
    SessionFacts,
    Viewer,
    visible,
)
from site_adapter.backends import base
from tests.fixtures.mariadb import ISPYB_FIXTURE, admin_execute, with_database

DOCS = Path(__file__).resolve().parents[2] / "docs" / "security.md"
EMBARGO = EmbargoPolicy(3.0, {"I04": -1})  # i04 never public, named in another case than the rows
RECENT = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0) - dt.timedelta(days=30)
LONG_AGO = dt.datetime(2000, 1, 1, 17, 0)

VIEWERS = {
    "anonymous": Viewer(),
    "proposal member": Viewer(login="pm"),
    "session member": Viewer(login="sm"),
    "staff of i03": Viewer(login="st3", staff_beamlines=frozenset({"i03"})),
    "staff of i24": Viewer(login="st24", staff_beamlines=frozenset({"i24"})),
    "admin": Viewer(login="root", admin=True),
}


@dataclass(frozen=True)
class Session:
    proposal: int
    visit_number: int
    beamline: str
    end: dt.datetime
    members: tuple[str, ...] = ()


# The world of the table: ids are the same in both stores.
PERSONS = {1: "pm", 2: "sm", 3: "st3", 4: "st24", 5: "root"}
PROPOSALS = {1: ("ab", "100", ("pm",)), 2: ("ab", "200", ()), 3: ("ab", "300", ("pm",))}
SESSIONS = {
    11: Session(1, 1, "i03", LONG_AGO),
    12: Session(1, 2, "i03", RECENT, ("sm",)),
    13: Session(1, 3, "I03", RECENT),
    21: Session(2, 1, "i04", LONG_AGO),
}
PROTEINS = {101: 1, 102: 1, 103: 1, 201: 2}  # protein -> proposal
SAMPLES = {
    1011: 103,
    1012: 101,
    1013: 101,
    1014: 102,
    2011: 201,
}  # sample -> protein (crystal id = sample id)
COLLECTIONS = {1: (11, 1011), 2: (12, 1012), 3: (13, 1013), 4: (21, 2011)}  # collection -> (session, sample)

# Each row of the docs table names one record of the world.
RECORDS = {
    "collection in a public session": ("data_collection", 1),
    "collection in the session member's embargoed session": ("data_collection", 2),
    "collection in another embargoed session of the proposal": ("data_collection", 3),
    "collection of another proposal, never public on its beamline": ("data_collection", 4),
    "the session member's embargoed session": ("session", 12),
    "sample used by a public collection": ("sample", 1011),
    "sample used by the session member's collection": ("sample", 1012),
    "sample used only by another embargoed collection of the proposal": ("sample", 1013),
    "sample of the proposal used by no collection": ("sample", 1014),
    "sample of another proposal, used by its embargoed collection": ("sample", 2011),
    "crystal of a sample of the proposal used by no collection": ("crystal", 1014),
    "protein used only by embargoed collections of the proposal": ("protein", 101),
    "protein of the proposal used by no collection": ("protein", 102),
    "proposal with a public session": ("proposal", 1),
    "proposal whose sessions are all embargoed": ("proposal", 2),
    "proposal with no session": ("proposal", 3),
}


def truth_table() -> list[tuple[str, str, bool]]:
    """(record, viewer, visible) for every cell of the docs table."""
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("## The access rule", 1)[1].split("\n## ", 1)[0]
    lines = [ln for ln in section.splitlines() if ln.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    cells: list[tuple[str, str, bool]] = []
    for line in lines[2:]:
        row = [c.strip() for c in line.strip("|").split("|")]
        for viewer, value in zip(header[1:], row[1:], strict=True):
            if value not in ("yes", "no"):
                raise ValueError(f"docs/security.md: {value!r} in row {row[0]!r}")
            cells.append((row[0], viewer, value == "yes"))
    return cells


TABLE = truth_table()


def test_the_table_covers_every_record_and_viewer():
    assert {r for r, _, _ in TABLE} == set(RECORDS)
    assert {v for _, v, _ in TABLE} == set(VIEWERS)
    assert len(TABLE) == len(RECORDS) * len(VIEWERS)


# --- the pure function -------------------------------------------------------------------------


def session_facts(sid: int) -> SessionFacts:
    s = SESSIONS[sid]
    return SessionFacts(
        end_time=s.end,
        beamline=s.beamline,
        members=frozenset(s.members),
        proposal_members=frozenset(PROPOSALS[s.proposal][2]),
    )


def facts(kind: str, local_id: int) -> RecordFacts:
    if kind == "data_collection":
        return RecordFacts(sessions=(session_facts(COLLECTIONS[local_id][0]),))
    if kind == "session":
        return RecordFacts(sessions=(session_facts(local_id),))
    if kind == "proposal":
        return RecordFacts(
            sessions=tuple(session_facts(k) for k, s in SESSIONS.items() if s.proposal == local_id),
            proposal_members=frozenset(PROPOSALS[local_id][2]),
        )
    if kind in ("sample", "crystal"):
        sessions = tuple(session_facts(se) for se, sa in COLLECTIONS.values() if sa == local_id)
        proposal = PROTEINS[SAMPLES[local_id]]
        return RecordFacts(sessions=sessions, proposal_members=frozenset(PROPOSALS[proposal][2]))
    if kind == "protein":
        sessions = tuple(session_facts(se) for se, sa in COLLECTIONS.values() if SAMPLES[sa] == local_id)
        return RecordFacts(sessions=sessions, proposal_members=frozenset(PROPOSALS[PROTEINS[local_id]][2]))
    raise ValueError(kind)


@pytest.mark.parametrize(("record", "viewer", "want"), TABLE)
def test_the_function(record, viewer, want):
    kind, local_id = RECORDS[record]
    now = dt.datetime.now(dt.UTC)
    assert visible(VIEWERS[viewer], facts(kind, local_id), now, EMBARGO) is want


# --- the stores ----------------------------------------------------------------------------------


async def native_world(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            await conn.executemany("INSERT INTO person (id, login) VALUES ($1, $2)", PERSONS.items())
            logins = {v: k for k, v in PERSONS.items()}
            for pid, (code, number, members) in PROPOSALS.items():
                await conn.execute("INSERT INTO proposal (id, code) VALUES ($1, $2)", pid, code + number)
                for m in members:
                    await conn.execute("INSERT INTO proposal_member VALUES ($1, $2)", pid, logins[m])
            for sid, s in SESSIONS.items():
                code = "".join(PROPOSALS[s.proposal][:2])
                await conn.execute(
                    "INSERT INTO session (id, proposal_id, visit_number, visit, beamline, start_time, end_time)"
                    " VALUES ($1, $2, $3, $4, $5, $6, $6)",
                    sid,
                    s.proposal,
                    s.visit_number,
                    f"{code}-{s.visit_number}",
                    s.beamline,
                    s.end,
                )
                for m in s.members:
                    await conn.execute("INSERT INTO session_member VALUES ($1, $2, 'member')", sid, logins[m])
            for prot, prop in PROTEINS.items():
                await conn.execute(
                    "INSERT INTO protein (id, proposal_id, acronym) VALUES ($1, $2, $3)",
                    prot,
                    prop,
                    f"p{prot}",
                )
            for sample, prot in SAMPLES.items():
                await conn.execute("INSERT INTO crystal (id, protein_id) VALUES ($1, $2)", sample, prot)
                await conn.execute(
                    "INSERT INTO sample (id, crystal_id, protein_id, proposal_id, name) VALUES ($1, $1, $2, $3, $4)",
                    sample,
                    prot,
                    PROTEINS[prot],
                    f"s{sample}",
                )
            for dc, (sid, sample) in COLLECTIONS.items():
                s = SESSIONS[sid]
                await conn.execute(
                    "INSERT INTO data_collection_group (id, session_id, sample_id) VALUES ($1, $2, $3)",
                    dc,
                    sid,
                    sample,
                )
                await conn.execute(
                    "INSERT INTO data_collection (id, group_id, session_id, sample_id, protein_id, proposal_id,"
                    " beamline, start_time) VALUES ($1, $1, $2, $3, $4, $5, $6, $7)",
                    dc,
                    sid,
                    sample,
                    SAMPLES[sample],
                    s.proposal,
                    s.beamline.lower(),
                    s.end - dt.timedelta(hours=1),
                )
    finally:
        await conn.close()


def ispyb_world_sql() -> str:
    """The same world in ISPyB's tables (membership by ProposalHasPerson and Session_has_Person)."""
    q = lambda v: "NULL" if v is None else f"'{v}'"  # noqa: E731 - fixed test values, no caller input
    logins = {v: k for k, v in PERSONS.items()}
    out = ["SET FOREIGN_KEY_CHECKS = 0;"]
    out += [f"INSERT INTO Person (personId, login) VALUES ({k}, '{v}');" for k, v in PERSONS.items()]
    for pid, (code, number, members) in PROPOSALS.items():
        out.append(
            f"INSERT INTO Proposal (proposalId, proposalCode, proposalNumber) VALUES ({pid}, '{code}', '{number}');"
        )
        out += [
            f"INSERT INTO ProposalHasPerson (proposalId, personId) VALUES ({pid}, {logins[m]});"
            for m in members
        ]
    for sid, s in SESSIONS.items():
        out.append(
            "INSERT INTO BLSession (sessionId, proposalId, visit_number, beamLineName, startDate, endDate)"
            f" VALUES ({sid}, {s.proposal}, {s.visit_number}, '{s.beamline}', {q(s.end)}, {q(s.end)});"
        )
        out += [
            f"INSERT INTO Session_has_Person (sessionId, personId) VALUES ({sid}, {logins[m]});"
            for m in s.members
        ]
    for prot, prop in PROTEINS.items():
        out.append(
            f"INSERT INTO Protein (proteinId, proposalId, acronym) VALUES ({prot}, {prop}, 'p{prot}');"
        )
    for sample, prot in SAMPLES.items():
        out.append(f"INSERT INTO Crystal (crystalId, proteinId) VALUES ({sample}, {prot});")
        out.append(
            f"INSERT INTO BLSample (blSampleId, crystalId, name) VALUES ({sample}, {sample}, 's{sample}');"
        )
    for dc, (sid, sample) in COLLECTIONS.items():
        start = SESSIONS[sid].end - dt.timedelta(hours=1)
        out.append(
            "INSERT INTO DataCollectionGroup (dataCollectionGroupId, sessionId, blSampleId)"
            f" VALUES ({dc}, {sid}, {sample});"
        )
        out.append(
            "INSERT INTO DataCollection (dataCollectionId, dataCollectionGroupId, SESSIONID, startTime)"
            f" VALUES ({dc}, {dc}, {sid}, '{start}');"
        )
    return "\n".join(out + ["SET FOREIGN_KEY_CHECKS = 1;"])


@pytest.fixture(scope="module")
async def native_store(pg_server_dsn, native_template) -> AsyncIterator[base.Backend]:
    from site_adapter.backends.native import NativeBackend
    from tests.fixtures.postgres import create_database, drop_database

    name = f"mxhub_rule_{uuid.uuid4().hex[:10]}"
    dsn = await create_database(pg_server_dsn, name, template=native_template)
    await native_world(dsn)
    backend = NativeBackend(dsn)
    await backend.start()
    yield backend
    await backend.close()
    await drop_database(pg_server_dsn, name)


@pytest.fixture(scope="module")
async def ispyb_store(mariadb_server_dsn) -> AsyncIterator[base.Backend]:
    from site_adapter.backends.ispyb import IspybBackend

    database = f"mxhub_rule_{uuid.uuid4().hex[:10]}"
    await admin_execute(mariadb_server_dsn, f"CREATE DATABASE `{database}`")
    try:
        for name in ("tables", "lookups"):
            sql = (ISPYB_FIXTURE / f"{name}.sql").read_text(encoding="utf-8")
            await admin_execute(mariadb_server_dsn, sql, database)
        await admin_execute(mariadb_server_dsn, ispyb_world_sql(), database)
        backend = IspybBackend(with_database(mariadb_server_dsn, database), pool_size=2)
        await backend.start()
        yield backend
        await backend.close()
    finally:
        await admin_execute(mariadb_server_dsn, f"DROP DATABASE IF EXISTS `{database}`")


@pytest.fixture(params=["native", "ispyb"])
def store(request) -> base.Backend:
    return request.getfixturevalue(f"{request.param}_store")


async def as_viewer(viewer: Viewer, call: Callable[[], Awaitable[Any]]) -> Any:
    """Run `call` in a request whose verified caller is `viewer` (what the site's view sets)."""

    async def run() -> Any:
        access.SCOPE.set(Scope(viewer=viewer, embargo=EMBARGO))
        return await call()

    return await asyncio.create_task(run())  # a task of its own: its context is a copy


BY_ID = {
    "data_collection": "data_collections_by_id",
    "session": "sessions_by_id",
    "sample": "samples_by_id",
    "crystal": "crystals_by_id",
    "protein": "proteins_by_id",
    "proposal": "proposals_by_id",
}


@pytest.mark.parametrize("viewer", list(VIEWERS))
async def test_the_backends(store, viewer):
    """Every cell of the table, through the batch lookups (node, _entities, nested fields)."""
    want = {record: v for record, who, v in TABLE if who == viewer}
    got: dict[str, bool] = {}
    for record, (kind, local_id) in RECORDS.items():
        lookup = getattr(store, BY_ID[kind])
        found = await as_viewer(VIEWERS[viewer], lambda lookup=lookup, i=local_id: lookup([str(i)]))
        got[record] = str(local_id) in found
    assert got == want


ROOTS = {
    "data_collection": ("data_collections", base.DataCollectionFilter(), COLLECTIONS),
    "session": ("sessions", base.SessionFilter(), SESSIONS),
    "sample": ("samples", base.SampleFilter(), SAMPLES),
    "protein": ("proteins", base.ProteinFilter(), PROTEINS),
    "proposal": ("proposals", base.ProposalFilter(), PROPOSALS),
}


@pytest.mark.parametrize("viewer", list(VIEWERS))
async def test_root_connections_agree_with_the_lookups(store, viewer):
    """The same rule on the root connections: the records listed and counted are those the lookups give."""
    v = VIEWERS[viewer]
    for kind, (method, empty_filter, world) in ROOTS.items():
        page = await as_viewer(
            v, lambda m=method, f=empty_filter: getattr(store, m)(f, base.PageRequest(first=100))
        )
        lookup = getattr(store, BY_ID[kind])
        found = await as_viewer(v, lambda lookup=lookup, w=world: lookup([str(i) for i in w]))
        listed = {record.local_id for _, record in page.items}
        assert listed == set(found), (kind, viewer)
        assert page.total_count == len(listed), (kind, viewer)


async def test_the_audit_names_proposal_codes(store):
    """Both backends report the proposals of the records served by code (docs/security.md)."""
    admin = VIEWERS["admin"]

    async def served(call: Callable[[], Awaitable[Any]]) -> set[str]:
        async def run() -> set[str]:
            bucket: set[str] = set()
            access.TOUCHED.set(bucket)
            access.SCOPE.set(Scope(viewer=admin, embargo=EMBARGO))
            await call()
            return bucket

        return await asyncio.create_task(run())

    assert await served(lambda: store.data_collections_by_id(["2", "4"])) == {"ab100", "ab200"}
    page = await served(
        lambda: store.data_collections(base.DataCollectionFilter(visit="ab200-1"), base.PageRequest(10))
    )
    assert page == {"ab200"}
    assert all(re.fullmatch(r"[a-z]+\d+", p) for p in page)
