"""Benchmark: CONTRACT.md's query against an ISPyB site holding 1,000,000 data collections.

Loads the real ISPyB fixture into MariaDB (MXHUB_BENCH_MARIADB_DSN, else mysql://root@127.0.0.1:3306),
grows it server-side (SEQUENCE engine, INSERT ... SELECT) to N collections with groups, samples,
crystals, proteins, sessions and processing, keeps the database between runs, then times the query
over HTTP (uvicorn on loopback) and the backend calls alone, filtered by sample name and by protein
acronym. Usage: python bench/bench_ispyb.py [--collections N] [--runs N] [--drop]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from pathlib import Path

import asyncmy
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import fmt, percentiles  # noqa: E402
from mx_schema.examples import CONTRACT_QUERY  # noqa: E402
from site_adapter.backends.base import DataCollectionFilter, PageRequest  # noqa: E402
from site_adapter.backends.ispyb import IspybBackend  # noqa: E402
from tests.fixtures.mariadb import admin_execute, connect_kwargs, load_ispyb, with_database  # noqa: E402

BASE = 10_000_000  # grown ids start here, far above data.sql's own
CHUNK = 250_000
N_PROPOSALS, SESSIONS_PER_PROPOSAL, N_PROTEINS, ACRONYMS = 200, 20, 2000, 500


def session_of(sample: str) -> str:
    """Sample s -> protein s % 2000 -> proposal (s % 2000) DIV 10 -> one of that proposal's 20 sessions."""
    s = f"({sample})"
    return f"((({s} % {N_PROTEINS}) DIV 10) * {SESSIONS_PER_PROPOSAL} + ({s} DIV {N_PROTEINS}) % {SESSIONS_PER_PROPOSAL})"


def grow_statements(n: int) -> list[tuple[str, str]]:
    """(label, SQL) steps that add n collections; every table is filled from a seq_ table."""
    n_groups, n_samples = n // 2, max(1, n // 4)
    n_sessions = N_PROPOSALS * SESSIONS_PER_PROPOSAL
    steps = [
        (
            "proposals",
            f"INSERT INTO Proposal (proposalId, personId, title, proposalCode, proposalNumber)"
            f" SELECT {BASE} + seq, 1, CONCAT('Bench ', seq), 'bm', 10000 + seq FROM seq_0_to_{N_PROPOSALS - 1}",
        ),
        (
            "sessions",
            f"INSERT INTO BLSession (sessionId, proposalId, startDate, endDate, beamLineName, visit_number)"
            f" SELECT {BASE} + seq, {BASE} + seq DIV {SESSIONS_PER_PROPOSAL},"
            " '2015-01-01 09:00:00' + INTERVAL seq * 21 HOUR, '2015-01-01 17:00:00' + INTERVAL seq * 21 HOUR,"
            " ELT(seq % 5 + 1, 'i03', 'i04', 'i04-1', 'i24', 'id29'), seq % 20 + 1"
            f" FROM seq_0_to_{n_sessions - 1}",
        ),
        (
            "proteins",
            f"INSERT INTO Protein (proteinId, proposalId, name, acronym)"
            f" SELECT {BASE} + seq, {BASE} + seq DIV 10, CONCAT('Bench protein ', seq),"
            f" CONCAT('prot', seq % {ACRONYMS}) FROM seq_0_to_{N_PROTEINS - 1}",
        ),
    ]
    for lo in range(0, n_samples, CHUNK):
        hi = min(n_samples, lo + CHUNK) - 1
        steps.append(
            (
                f"crystals {hi + 1:,}",
                f"INSERT INTO Crystal (crystalId, proteinId, spaceGroup, cell_a, cell_b, cell_c,"
                f" cell_alpha, cell_beta, cell_gamma) SELECT {BASE} + seq, {BASE} + seq % {N_PROTEINS},"
                f" 'P43212', 79.1, 79.1, 38.2, 90, 90, 90 FROM seq_{lo}_to_{hi}",
            )
        )
        steps.append(
            (
                f"samples {hi + 1:,}",
                f"INSERT INTO BLSample (blSampleId, crystalId, name, code)"
                f" SELECT {BASE} + seq, {BASE} + seq, CONCAT('xtal_', seq % 100000), CONCAT('BC', seq)"
                f" FROM seq_{lo}_to_{hi}",
            )
        )
    for lo in range(0, n_groups, CHUNK):
        hi = min(n_groups, lo + CHUNK) - 1
        steps.append(
            (
                f"groups {hi + 1:,}",
                f"INSERT INTO DataCollectionGroup (dataCollectionGroupId, sessionId, blSampleId,"
                f" experimentType) SELECT {BASE} + seq, {BASE} + {session_of('seq DIV 2')},"
                f" {BASE} + seq DIV 2, IF(seq % 10 = 0, 'Mesh', 'OSC') FROM seq_{lo}_to_{hi}",
            )
        )
    for lo in range(0, n, CHUNK):
        hi = min(n, lo + CHUNK) - 1
        s_of = session_of("seq DIV 4")
        steps.append(
            (
                f"collections {hi + 1:,}",
                f"INSERT INTO DataCollection (dataCollectionId, dataCollectionGroupId,"
                " SESSIONID, BLSAMPLEID, startTime, endTime, runStatus, detectorId, imageDirectory, fileTemplate,"
                " numberOfImages, startImageNumber, wavelength, detectorDistance, xBeam, yBeam, axisStart, axisRange,"
                " exposureTime, transmission, flux, beamSizeAtSampleX, beamSizeAtSampleY, resolution)"
                f" SELECT {BASE} + seq, {BASE} + seq DIV 2, IF(seq % 10 = 3, 0, {BASE} + {s_of}), {BASE} + seq DIV 4,"
                f" IF(seq % 997 = 0, NULL, '2015-01-01 09:00:00' + INTERVAL {s_of} * 21 HOUR + INTERVAL seq % 480 MINUTE),"
                f" IF(seq % 997 = 0, NULL, '2015-01-01 09:01:00' + INTERVAL {s_of} * 21 HOUR + INTERVAL seq % 480 MINUTE),"
                " 'DataCollection Successful', IF(seq % 3 = 0, 4, NULL), CONCAT('/data/bench/', seq DIV 4, '/'),"
                " CONCAT('x_', seq % 4 + 1, '_####.cbf'), 3600, 1, 0.9795, 200 + seq % 100, 215.6, 209.0, 0, 0.1,"
                " 0.01, 20 + seq % 80, 1e12, 0.05, 0.02, 1.6"
                f" FROM seq_{lo}_to_{hi}",
            )
        )
    # processing: one result per collection, a second (xia2 dials) on every fourth
    n_results = n + n // 4
    for lo in range(0, n_results, CHUNK):
        hi = min(n_results, lo + CHUNK) - 1
        dc = f"IF(seq < {n}, seq, (seq - {n}) * 4)"
        prog = f"IF(seq < {n}, IF(seq % 2 = 0, 'fast_dp', 'autoPROC 1.0.5'), 'xia2 dials')"
        res = "ROUND(1.2 + (seq * 7919 % 1000) / 1000, 2)"
        rng = f"seq_{lo}_to_{hi}"
        steps += [
            (
                f"programs {hi + 1:,}",
                f"INSERT INTO AutoProcProgram (autoProcProgramId, processingPrograms, processingStatus)"
                f" SELECT {BASE} + seq, {prog}, IF(seq % 50 = 7, 0, 1) FROM {rng}",
            ),
            (
                f"integrations {hi + 1:,}",
                f"INSERT INTO AutoProcIntegration (autoProcIntegrationId, dataCollectionId,"
                f" autoProcProgramId, refinedXBeam, refinedYBeam) SELECT {BASE} + seq, {BASE} + {dc}, {BASE} + seq, 209.1, 215.7 FROM {rng}",
            ),
            (
                f"autoproc {hi + 1:,}",
                f"INSERT INTO AutoProc (autoProcId, autoProcProgramId, spaceGroup, refinedCell_a,"
                f" refinedCell_b, refinedCell_c, refinedCell_alpha, refinedCell_beta, refinedCell_gamma)"
                f" SELECT {BASE} + seq, {BASE} + seq, IF(seq % 3 = 0, 'P 43 21 2', 'P 41 21 2'), 79.1, 79.1, 38.2, 90, 90, 90 FROM {rng}",
            ),
            (
                f"scaling {hi + 1:,}",
                f"INSERT INTO AutoProcScaling (autoProcScalingId, autoProcId) SELECT {BASE} + seq, {BASE} + seq FROM {rng}",
            ),
            (
                f"scaling links {hi + 1:,}",
                f"INSERT INTO AutoProcScaling_has_Int (autoProcScalingId, autoProcIntegrationId)"
                f" SELECT {BASE} + seq, {BASE} + seq FROM {rng}",
            ),
            (
                f"statistics {hi + 1:,}",
                f"INSERT INTO AutoProcScalingStatistics (autoProcScalingId, scalingStatisticsType,"
                " resolutionLimitLow, resolutionLimitHigh, completeness, multiplicity, meanIOverSigI, ccHalf, rMerge, rPimAllIPlusIMinus)"
                f" SELECT {BASE} + seq, t.kind, IF(t.kind = 'overall', 40, {res} + 0.05), {res}, 99.5, 6.5,"
                f" IF(t.kind = 'overall', 14.1, 1.9), IF(seq < {n} AND seq % 2 = 0, IF(t.kind = 'overall', 99.8, 55.0),"
                f" IF(t.kind = 'overall', 0.998, 0.55)), 0.07, 0.03 FROM {rng}"
                " JOIN (SELECT 'overall' AS kind UNION ALL SELECT 'outerShell') t",
            ),
        ]
    return steps


async def scalar(server: str, database: str, sql: str):
    conn = await asyncmy.connect(**connect_kwargs(server), db=database)
    try:
        async with conn.cursor() as cur:
            await cur.execute(sql)
            return (await cur.fetchone())[0]
    finally:
        conn.close()


async def prepare(server: str, n: int, drop: bool) -> str:
    name = f"mxhub_bench_ispyb_{n}"
    if drop:
        await admin_execute(server, f"DROP DATABASE IF EXISTS `{name}`")
    exists = await scalar(
        server,
        "information_schema",
        f"SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{name}'",
    )
    if exists:
        have = await scalar(
            server, name, f"SELECT COUNT(*) FROM DataCollection WHERE dataCollectionId >= {BASE}"
        )
        if have == n:
            return with_database(server, name)
        raise SystemExit(f"{name} holds {have} grown collections, expected {n}: rerun with --drop")
    t0 = time.perf_counter()
    await load_ispyb(server, name)
    for label, sql in grow_statements(n):
        t = time.perf_counter()
        await admin_execute(
            server, "SET SESSION foreign_key_checks = 0, SESSION unique_checks = 0; " + sql, name
        )
        print(f"  {label:28s} {time.perf_counter() - t:6.1f} s", file=sys.stderr, flush=True)
    await admin_execute(
        server,
        "ANALYZE TABLE Proposal, BLSession, Protein, Crystal, BLSample, DataCollectionGroup,"
        " DataCollection, AutoProcIntegration, AutoProcScaling_has_Int, AutoProcScalingStatistics",
        name,
    )
    print(f"grew {name} to {n:,} collections in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return with_database(server, name)


async def backend_calls(backend: IspybBackend, f: DataCollectionFilter) -> int:
    """What the GraphQL layer asks for CONTRACT.md's query: a page, then one batch per loader."""
    page = await backend.data_collections(f, PageRequest(first=20))
    dcs = [r for _, r in page.items]
    samples = await backend.samples_by_id([d.sample_local_id for d in dcs if d.sample_local_id])
    await asyncio.gather(
        backend.sessions_by_id([d.session_local_id for d in dcs if d.session_local_id]),
        backend.detectors_by_id([d.detector_local_id for d in dcs if d.detector_local_id]),
        backend.processing_by_collection([d.local_id for d in dcs]),
        backend.crystals_by_id([s.crystal_local_id for s in samples.values() if s.crystal_local_id]),
        backend.proteins_by_id([s.protein_local_id for s in samples.values() if s.protein_local_id]),
    )
    return page.total_count


async def run(n: int, runs: int, drop: bool) -> None:
    server = os.environ.get("MXHUB_BENCH_MARIADB_DSN", "mysql://root@127.0.0.1:3306")
    dsn = await prepare(server, n, drop)
    backend = IspybBackend(dsn, pool_size=8)
    await backend.start()
    rng = random.Random(7)
    cases = {
        "sampleName": lambda: {"sampleName": f"xtal_{rng.randrange(min(100_000, max(1, n // 4)))}"},
        "proteinAcronym": lambda: {"proteinAcronym": f"prot{rng.randrange(ACRONYMS)}"},
    }
    to_filter = {"sampleName": "sample_name", "proteinAcronym": "protein_acronym"}
    print(f"backend calls only (page of 20 + one batch per loader), {runs} runs each:")
    for label, make in cases.items():
        times, total = [], 0
        for i in range(runs + 5):
            ((key, value),) = make().items()
            t = time.perf_counter()
            total = await backend_calls(backend, DataCollectionFilter(**{to_filter[key]: value}))
            if i >= 5:  # the first five warm the pool and the buffer pool
                times.append((time.perf_counter() - t) * 1000)
        print(f"  {label:16s} {fmt(percentiles(times))}  (last totalCount {total})")
    try:
        from mxhub.serve import Served, make_server
        from site_adapter.app import create_app
    except ImportError as exc:  # the GraphQL layer is another issue's; the backend timing stands alone
        print(f"GraphQL app not importable ({exc}); HTTP timing skipped")
        await backend.close()
        return
    served = Served("bench", create_app(backend, site="bench", manage_backend=False)).bind()
    server_task_owner = make_server(served)
    task = asyncio.create_task(server_task_owner.serve(sockets=[served.socket]))
    while not server_task_owner.started:
        await asyncio.sleep(0.01)
    print(f"CONTRACT.md query over HTTP (first: 20), {runs} runs each:")
    async with httpx.AsyncClient(base_url=served.url, timeout=30) as client:
        for label, make in cases.items():
            times, data = [], {}
            for i in range(runs + 5):
                body = {"query": CONTRACT_QUERY, "variables": {"filter": make(), "first": 20}}
                t = time.perf_counter()
                r = await client.post("/graphql", json=body)
                if i >= 5:
                    times.append((time.perf_counter() - t) * 1000)
                data = r.json()
                if "errors" in data:
                    raise SystemExit(f"query failed: {data['errors']}")
            print(
                f"  {label:16s} {fmt(percentiles(times))}  (last totalCount {data['data']['dataCollections']['totalCount']})"
            )
    server_task_owner.should_exit = True
    await task
    await backend.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--collections", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--drop", action="store_true", help="drop and rebuild the bench database")
    args = ap.parse_args()
    asyncio.run(run(args.collections, args.runs, args.drop))


if __name__ == "__main__":
    main()
