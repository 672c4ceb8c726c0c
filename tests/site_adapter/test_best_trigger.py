"""Migration 007 keeps data_collection.best_* whatever writes processing_result: an insert of a better
result, an update that fails the best one, a delete of the last one. Expected values are the rows
written here, read back by SQL."""

from __future__ import annotations

import json

import asyncpg

from site_adapter.backends.native.migrate import migrate


async def best(conn: asyncpg.Connection, dc: int) -> tuple:
    r = await conn.fetchrow(
        "SELECT best_resolution, best_space_group, best_completeness, best_cc_half, best_mean_i_over_sig_i"
        " FROM data_collection WHERE id = $1",
        dc,
    )
    return tuple(r)


def overall(res: float, completeness: float, cc: float, isig: float) -> str:
    return json.dumps(
        {"resolution_high": res, "completeness": completeness, "cc_half": cc, "mean_i_over_sig_i": isig}
    )


async def test_the_best_columns_follow_every_write(native_dsn):
    conn = await asyncpg.connect(native_dsn)
    try:
        await migrate(conn)
        await conn.execute("INSERT INTO data_collection (id) VALUES (1), (2)")
        insert = (
            "INSERT INTO processing_result (id, data_collection_id, program, status, space_group, overall)"
            " VALUES ($1, $2, $3, $4, $5, $6::jsonb)"
        )
        await conn.execute(insert, 10, 1, "fast_dp", "SUCCESS", "P 1", overall(2.0, 99.0, 0.99, 10.0))
        assert await best(conn, 1) == (2.0, "P 1", 99.0, 0.99, 10.0)
        await conn.executemany(
            insert,
            [
                (11, 1, "xia2 dials", "SUCCESS", "P 2", overall(1.5, 98.0, 0.98, 12.0)),
                (12, 1, "autoPROC", "FAILED", "P 3", overall(1.0, 97.0, 0.97, 14.0)),  # failed: never best
                (13, 1, "xia2 3dii", "SUCCESS", "P 4", overall(1.5, 96.0, 0.96, 16.0)),  # tie: lower id wins
            ],
        )
        assert await best(conn, 1) == (1.5, "P 2", 98.0, 0.98, 12.0)
        assert await best(conn, 2) == (None, None, None, None, None)
        await conn.execute("UPDATE processing_result SET status = 'FAILED' WHERE id = 11")
        assert await best(conn, 1) == (1.5, "P 4", 96.0, 0.96, 16.0)
        await conn.execute("UPDATE processing_result SET data_collection_id = 2 WHERE id = 13")
        assert await best(conn, 1) == (2.0, "P 1", 99.0, 0.99, 10.0)
        assert await best(conn, 2) == (1.5, "P 4", 96.0, 0.96, 16.0)
        await conn.execute("DELETE FROM processing_result WHERE data_collection_id = 1")
        assert await best(conn, 1) == (None, None, None, None, None)
    finally:
        await conn.close()
