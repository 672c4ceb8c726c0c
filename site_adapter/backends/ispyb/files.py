"""Result files, program messages and crystal snapshots from ISPyB (issue 16), one statement per batch.

A file or message belongs to a processing result (an AutoProcScaling) through its AutoProc's program:
AutoProcScaling -> AutoProc.autoProcProgramId -> AutoProcProgramAttachment / AutoProcProgramMessage.
Programs without an AutoProc (data.sql's dimple runs, 56986674) belong to no result and are not listed.
Snapshots are DataCollection.xtalSnapshotFullPath1..4. No access rule here: the GraphQL layer reaches
these only through visible collections and results, and the download route checks the collection.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from site_adapter import model
from site_adapter.backends.ispyb import normalise as n
from site_adapter.backends.ispyb.keyset import id_list, int_ids
from site_adapter.backends.ispyb.schema_check import SchemaInfo

SNAPSHOT_COLUMNS = tuple(f"xtalSnapshotFullPath{i}" for i in range(1, 5))

# The first collection of a scaling (a scaling of two sweeps is answered for the first, as
# processing.by_id does): whose access rule its files obey.
_COLLECTION_OF_SCALING = (
    "(SELECT MIN(api.`dataCollectionId`) FROM AutoProcScaling_has_Int shi"
    " JOIN AutoProcIntegration api ON api.`autoProcIntegrationId` = shi.`autoProcIntegrationId`"
    " WHERE shi.`autoProcScalingId` = {sc})"
)


def _attachment_columns(s: SchemaInfo) -> str:
    att = "AutoProcProgramAttachment"
    return (
        f"att.`autoProcProgramAttachmentId` AS id, {s.col('att', att, 'fileName')} AS name,"
        f" {s.col('att', att, 'filePath')} AS directory, {s.col('att', att, 'fileType')} AS kind,"
        f" {s.col('att', att, 'importanceRank')} AS importance,"
        f" {s.col('att', att, 'recordTimeStamp')} AS recorded"
    )


def _not_deleted(s: SchemaInfo) -> str:
    """A row marked deleted names a file that is gone on purpose: not listed."""
    return " AND COALESCE(att.`deleted`, 0) = 0" if s.has("AutoProcProgramAttachment", "deleted") else ""


# Most important first (importanceRank: higher is more important; NULL last), then as recorded.
_FILE_ORDER = "att.`importanceRank` IS NULL, att.`importanceRank` DESC, att.`autoProcProgramAttachmentId`"


def _file(row: Mapping[str, Any], s: SchemaInfo) -> model.ResultFile | None:
    name = n.text(row["name"])
    if name is None or row["sc"] is None or row["dc"] is None:
        return None
    return model.ResultFile(
        local_id=str(row["id"]),
        processing_local_id=str(row["sc"]),
        data_collection_local_id=str(row["dc"]),
        name=name,
        directory=n.text(row["directory"]),
        kind=n.text(row["kind"]),
        importance=n.integer(row["importance"]),
        recorded=s.clock.stored(row["recorded"], "recordTimeStamp")[0],
    )


async def files_by_processing(
    db: Any, s: SchemaInfo, ids: Sequence[str]
) -> dict[str, list[model.ResultFile]]:
    """Files of each processing result (autoProcScalingId), most important first; one statement."""
    keys = int_ids(ids)
    out: dict[str, list[model.ResultFile]] = {str(k): [] for k in keys}
    if not keys or not s.has("AutoProcProgramAttachment"):
        return out
    order = (
        _FILE_ORDER if s.has("AutoProcProgramAttachment", "importanceRank") else _FILE_ORDER.split(", ")[-1]
    )
    sql = f"""
SELECT p.sc, p.dc, {_attachment_columns(s)}
FROM (
    SELECT aps.`autoProcScalingId` AS sc, ap.`autoProcProgramId` AS program,
           {_COLLECTION_OF_SCALING.format(sc="aps.`autoProcScalingId`")} AS dc
    FROM AutoProcScaling aps JOIN AutoProc ap ON ap.`autoProcId` = aps.`autoProcId`
    WHERE aps.`autoProcScalingId` IN ({id_list(keys)})
) p
JOIN AutoProcProgramAttachment att ON att.`autoProcProgramId` = p.program{_not_deleted(s)}
ORDER BY p.sc, {order}"""
    for row in await db.fetch_rows(sql, keys):
        f = _file(row, s)
        if f is not None:
            out.setdefault(f.processing_local_id, []).append(f)
    return out


async def files_by_id(db: Any, s: SchemaInfo, ids: Sequence[str]) -> dict[str, model.ResultFile]:
    """Files by their own id (autoProcProgramAttachmentId), with the result and collection they belong to."""
    keys = int_ids(ids)
    if not keys or not s.has("AutoProcProgramAttachment"):
        return {}
    sql = f"""
SELECT x.*, {_COLLECTION_OF_SCALING.format(sc="x.sc")} AS dc
FROM (
    SELECT {_attachment_columns(s)},
           (SELECT MIN(aps.`autoProcScalingId`) FROM AutoProc ap
            JOIN AutoProcScaling aps ON aps.`autoProcId` = ap.`autoProcId`
            WHERE ap.`autoProcProgramId` = att.`autoProcProgramId`) AS sc
    FROM AutoProcProgramAttachment att
    WHERE att.`autoProcProgramAttachmentId` IN ({id_list(keys)}){_not_deleted(s)}
) x"""
    out: dict[str, model.ResultFile] = {}
    for row in await db.fetch_rows(sql, keys):
        f = _file(row, s)
        if f is not None:
            out[f.local_id] = f
    return out


async def messages_by_processing(
    db: Any, s: SchemaInfo, ids: Sequence[str]
) -> dict[str, list[model.ProgramMessage]]:
    """Messages of each processing result's program, oldest first; one statement."""
    keys = int_ids(ids)
    out: dict[str, list[model.ProgramMessage]] = {str(k): [] for k in keys}
    if not keys or not s.has("AutoProcProgramMessage"):
        return out
    msg = "AutoProcProgramMessage"
    sql = f"""
SELECT aps.`autoProcScalingId` AS sc, m.`autoProcProgramMessageId` AS id, m.`severity` AS severity,
       {s.col("m", msg, "message")} AS message, {s.col("m", msg, "description")} AS description,
       {s.col("m", msg, "recordTimeStamp")} AS time
FROM AutoProcScaling aps
JOIN AutoProc ap ON ap.`autoProcId` = aps.`autoProcId`
JOIN AutoProcProgramMessage m ON m.`autoProcProgramId` = ap.`autoProcProgramId`
WHERE aps.`autoProcScalingId` IN ({id_list(keys)})
ORDER BY aps.`autoProcScalingId`, m.`autoProcProgramMessageId`"""
    for row in await db.fetch_rows(sql, keys):
        out.setdefault(str(row["sc"]), []).append(
            model.ProgramMessage(
                local_id=str(row["id"]),
                processing_local_id=str(row["sc"]),
                severity=n.text(row["severity"]) or "INFO",
                message=n.text(row["message"]),
                description=n.text(row["description"]),
                time=s.clock.stored(row["time"], "recordTimeStamp")[0],
            )
        )
    return out


def _snapshots(row: Mapping[str, Any]) -> list[model.Snapshot]:
    """The collection's snapshots in position order; a path repeated in a later column (data.sql's
    6017405 stores one image three times) is listed once."""
    seen: set[str] = set()
    out: list[model.Snapshot] = []
    for position in range(1, 5):
        path = n.text(row[f"snap{position}"])
        if path is None or path in seen:
            continue
        seen.add(path)
        dc = str(row["dc"])
        out.append(model.Snapshot(f"{dc}-{position}", dc, position, path))
    return out


async def _snapshot_rows(db: Any, s: SchemaInfo, keys: list[int]) -> list[dict[str, Any]]:
    columns = ", ".join(
        f"{s.col('dc', 'DataCollection', c)} AS snap{i}" for i, c in enumerate(SNAPSHOT_COLUMNS, start=1)
    )
    return list(
        await db.fetch_rows(
            f"SELECT dc.`dataCollectionId` AS dc, {columns} FROM DataCollection dc"
            f" WHERE dc.`dataCollectionId` IN ({id_list(keys)}) ORDER BY dc.`dataCollectionId`",
            keys,
        )
    )


async def snapshots_by_collection(
    db: Any, s: SchemaInfo, ids: Sequence[str]
) -> dict[str, list[model.Snapshot]]:
    keys = int_ids(ids)
    out: dict[str, list[model.Snapshot]] = {str(k): [] for k in keys}
    if not keys or not any(s.has("DataCollection", c) for c in SNAPSHOT_COLUMNS):
        return out
    for row in await _snapshot_rows(db, s, keys):
        out[str(row["dc"])] = _snapshots(row)
    return out


async def snapshots_by_id(db: Any, s: SchemaInfo, ids: Sequence[str]) -> dict[str, model.Snapshot]:
    """Snapshots by their id, `<dataCollectionId>-<position>`; ids of another shape are absent."""
    wanted = {i for i in ids if isinstance(i, str)}
    collections = int_ids({i.split("-", 1)[0] for i in wanted if "-" in i})
    if not collections:
        return {}
    found = await snapshots_by_collection(db, s, [str(c) for c in collections])
    return {snap.local_id: snap for snaps in found.values() for snap in snaps if snap.local_id in wanted}
