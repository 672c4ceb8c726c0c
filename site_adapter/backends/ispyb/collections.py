"""Data collections: the CONTRACT.md filter as SQL, keyset pages of ids, and batch hydration by id.

A page is two to four statements whatever its size (see page()); filters are joins driven from
the indexed side (sample name, protein acronym, proposal), never a query per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mx_schema.cursors import time_key
from site_adapter import access, model
from site_adapter.backends.base import DataCollectionFilter, InvalidInput, Page, PageRequest
from site_adapter.backends.ispyb import normalise as n
from site_adapter.backends.ispyb import visibility
from site_adapter.backends.ispyb.entities import proposal_predicates, visit_predicates
from site_adapter.backends.ispyb.keyset import (
    binary_equals,
    check_position,
    id_list,
    int_ids,
    time_desc_after,
    time_desc_order,
    time_expr,
    unmatchable,
)
from site_adapter.backends.ispyb.processing import best_filters
from site_adapter.backends.ispyb.schema_check import SchemaInfo

_SAMPLE_FIELDS = (
    "sample_name",
    "sample_barcode",
    "crystal_uuid",
    "protein_acronym",
    "protein_name",
    "uniprot_id",
    "any_crystal_uuid",
    "any_sample_barcode",
)


def _sample_predicates(s: SchemaInfo, f: DataCollectionFilter) -> tuple[list[str], list[Any], bool]:
    """Predicates on bs (BLSample), c (Crystal), pr (Protein); the flag says the filter matches nothing."""
    where: list[str] = []
    args: list[Any] = []
    if f.sample_name is not None:
        where += ["bs.`name` = %s", binary_equals("bs.`name`")]
        args += [f.sample_name, f.sample_name]
    if f.sample_barcode is not None:
        if not s.has("BLSample", "code"):
            return [], [], True
        where += ["bs.`code` = %s", binary_equals("bs.`code`")]
        args += [f.sample_barcode, f.sample_barcode]
    if f.crystal_uuid is not None:
        if not s.has("Crystal", "crystalUUID"):
            return [], [], True
        where.append("c.`crystalUUID` = %s")  # UUIDs compare case-insensitively (hex digits)
        args.append(f.crystal_uuid)
    if f.has_sample_keys:
        # The hub's LIMS search: crystal UUID in one list OR pin barcode in the other.
        parts: list[str] = []
        uuids = list(f.any_crystal_uuid or ())
        barcodes = list(f.any_sample_barcode or ())
        if uuids and s.has("Crystal", "crystalUUID"):
            parts.append(f"c.`crystalUUID` IN ({', '.join(['%s'] * len(uuids))})")
            args += uuids
        if barcodes and s.has("BLSample", "code"):
            parts.append(f"bs.`code` IN ({', '.join(['%s'] * len(barcodes))})")
            args += barcodes
        if not parts:
            return [], [], True
        where.append("(" + " OR ".join(parts) + ")")
    if f.protein_acronym is not None:
        where += ["pr.`acronym` = %s", binary_equals("pr.`acronym`")]
        args += [f.protein_acronym, f.protein_acronym]
    if f.protein_name is not None:
        if not s.has("Protein", "name"):
            return [], [], True
        where.append("LOCATE(LOWER(%s), LOWER(CONVERT(pr.`name` USING utf8mb4))) > 0")
        args.append(f.protein_name)
    if f.uniprot_id is not None:
        # ISPyB v5 has no UniProt column on Protein (tables.sql): nothing can match.
        return [], [], True
    return where, args, False


def _other_predicates(s: SchemaInfo, f: DataCollectionFilter) -> tuple[list[str], list[Any], bool, bool]:
    """Predicates on dc, dcg, ses (BLSession), p (Proposal); flags: needs session join, matches nothing."""
    where: list[str] = []
    args: list[Any] = []
    needs_session = False
    if f.proposal is not None:
        needs_session = True
        where_p, args_p = proposal_predicates(f.proposal)
        where += where_p
        args += args_p
    if f.visit is not None:
        needs_session = True
        visit = visit_predicates(s, f.visit)
        if visit is None:
            return [], [], True, True
        where += visit[0]
        args += visit[1]
    if f.beamline is not None:
        needs_session = True
        where.append("ses.`beamLineName` = %s")  # case-insensitive, as in the native store
        args.append(f.beamline)
    if f.experiment_type is not None:
        where.append(
            binary_equals(
                f"COALESCE({s.col('dcg', 'DataCollectionGroup', 'experimentType')}, "
                f"{s.col('dc', 'DataCollection', 'experimenttype')})"
            )
        )
        args.append(f.experiment_type)
    if f.start_after is not None:
        where.append("dc.`startTime` >= %s")
        args.append(n.as_naive_utc(f.start_after))
    if f.start_before is not None:
        where.append("dc.`startTime` < %s AND dc.`startTime` >= '1000-01-01'")
        args.append(n.as_naive_utc(f.start_before))
    if f.mine is not None:
        owned = visibility.owned_clause(s, f.mine, "dc")
        if owned is None:
            return [], [], True, True
        where += owned[0]
        args += owned[1]
    best_where, best_args = best_filters(s, f.resolution_better_than, f.space_group, f.cell)
    vis_where, vis_args = visibility.clause(s, "data_collection", "dc")
    return where + best_where + vis_where, args + best_args + vis_args, needs_session, False


def _session_join(needs_session: bool) -> str:
    return (
        " JOIN BLSession ses ON ses.`sessionId` = dcg.`sessionId` JOIN Proposal p ON p.`proposalId` = ses.`proposalId`"
        if needs_session
        else ""
    )


def matching_sql(s: SchemaInfo, f: DataCollectionFilter) -> tuple[str, list[Any]] | None:
    """SELECT id, t (sort time) of every collection matching a filter on the sample, or None.

    The sample is the group's (DataCollectionGroup.blSampleId), else the legacy
    DataCollection.BLSAMPLEID: two disjoint branches, each an index-driven join from BLSample.
    """
    if unmatchable(
        f.sample_name,
        f.sample_barcode,
        f.crystal_uuid,
        f.protein_acronym,
        f.beamline,
        f.experiment_type,
        f.space_group,
    ):
        return None
    other, other_args, needs_session, nothing = _other_predicates(s, f)
    if nothing:
        return None
    sample_where, sample_args, nothing = _sample_predicates(s, f)
    if nothing:
        return None
    select = f"SELECT dc.`dataCollectionId` AS id, {time_expr('dc.`startTime`')} AS t"
    sample_from = (
        " LEFT JOIN Crystal c ON c.`crystalId` = bs.`crystalId`"
        " LEFT JOIN Protein pr ON pr.`proteinId` = c.`proteinId`"
    )
    where = " AND ".join(sample_where + other)
    branch_group = (
        f"{select} FROM BLSample bs{sample_from}"
        " JOIN DataCollectionGroup dcg ON dcg.`blSampleId` = bs.`blSampleId`"
        " JOIN DataCollection dc ON dc.`dataCollectionGroupId` = dcg.`dataCollectionGroupId`"
        f"{_session_join(needs_session)} WHERE {where}"
    )
    args = sample_args + other_args
    if not s.has("DataCollection", "BLSAMPLEID"):
        return branch_group, args
    branch_legacy = (
        f"{select} FROM BLSample bs{sample_from}"
        " JOIN DataCollection dc ON dc.`BLSAMPLEID` = bs.`blSampleId`"
        " JOIN DataCollectionGroup dcg ON dcg.`dataCollectionGroupId` = dc.`dataCollectionGroupId`"
        f"{_session_join(needs_session)} WHERE dcg.`blSampleId` IS NULL AND {where}"
    )
    return f"{branch_group} UNION ALL {branch_legacy}", args + args


async def _sample_page(db: Any, sql: str, args: list[Any], req: PageRequest) -> tuple[list[int], bool, int]:
    """Few candidates: one statement sorts them and counts them all (the window runs before `after`)."""
    after_sql, after_args = time_desc_after("w.t", "w.id", req.after)
    rows = await db.fetch(
        f"SELECT w.id, w.total FROM (SELECT m.id, m.t, COUNT(*) OVER () AS total FROM ({sql}) m) w"
        f" WHERE {after_sql} ORDER BY {time_desc_order('w.t', 'w.id')} LIMIT %s",
        args + after_args + [req.first + 1],
    )
    if rows:
        total = int(rows[0][1])
    elif req.after is None:
        total = 0
    else:  # past the end: the window saw no row, so count separately
        total = int((await db.fetch(f"SELECT COUNT(*) FROM ({sql}) m", args))[0][0])
    return [int(r[0]) for r in rows[: req.first]], len(rows) > req.first, total


async def _plain_page(
    db: Any, s: SchemaInfo, f: DataCollectionFilter, req: PageRequest
) -> tuple[list[int], bool, int] | None:
    """No sample filter: dated rows come in startTime index order, then the undated by id (so an
    unfiltered page reads 21 index entries, not a million); null and zero dates are the undated."""
    other, args, needs_session, nothing = _other_predicates(s, f)
    if nothing:
        return None
    where = " AND ".join(other) or "TRUE"
    needs_group = needs_session or f.experiment_type is not None
    group_join = " JOIN DataCollectionGroup dcg ON dcg.`dataCollectionGroupId` = dc.`dataCollectionGroupId`"
    count_from = f"FROM DataCollection dc{group_join if needs_group else ''}{_session_join(needs_session)}"
    total = int((await db.fetch(f"SELECT COUNT(*) {count_from} WHERE {where}", args))[0][0])
    if req.first == 0 or total == 0:
        return [], total > 0 and req.first == 0, total
    base = f"FROM DataCollection dc{group_join}{_session_join(needs_session)} WHERE {where}"
    want = req.first + 1
    ids: list[int] = []
    after = check_position(req.after)
    if after is None or after[0] is not None:
        after_sql, after_args = time_desc_after("dc.`startTime`", "dc.`dataCollectionId`", after)
        rows = await db.fetch(
            f"SELECT dc.`dataCollectionId` {base} AND dc.`startTime` >= '1000-01-01' AND {after_sql}"
            " ORDER BY dc.`startTime` DESC, dc.`dataCollectionId` DESC LIMIT %s",
            args + after_args + [want],
        )
        ids = [int(r[0]) for r in rows]
    if len(ids) < want:
        undated = "(dc.`startTime` IS NULL OR dc.`startTime` < '1000-01-01')"
        extra: list[Any] = []
        if after is not None and after[0] is None:
            undated += " AND dc.`dataCollectionId` < %s"
            extra = [after[1]]
        rows = await db.fetch(
            f"SELECT dc.`dataCollectionId` {base} AND {undated} ORDER BY dc.`dataCollectionId` DESC LIMIT %s",
            args + extra + [want - len(ids)],
        )
        ids += [int(r[0]) for r in rows]
    return ids[: req.first], len(ids) > req.first, total


async def page(
    db: Any, s: SchemaInfo, f: DataCollectionFilter, req: PageRequest
) -> Page[model.DataCollection]:
    """Sample filters: ordered ids with a window count, then hydration (2 statements). Otherwise:
    count, dated ids, undated ids when the dated run out, hydration (3 or 4)."""
    if req.first < 0:
        raise InvalidInput("first must not be negative")
    empty: Page[model.DataCollection] = Page(items=[], has_next_page=False, total_count=0)
    if any(getattr(f, name) is not None for name in _SAMPLE_FIELDS):
        matching = matching_sql(s, f)
        if matching is None:
            return empty
        if req.first == 0:
            total = int((await db.fetch(f"SELECT COUNT(*) FROM ({matching[0]}) m", matching[1]))[0][0])
            return Page(items=[], has_next_page=total > 0, total_count=total)
        result = await _sample_page(db, matching[0], matching[1], req)
    else:
        plain = await _plain_page(db, s, f, req)
        if plain is None:
            return empty
        result = plain
    ids, has_next, total = result
    records = await by_id(db, s, [str(i) for i in ids])
    items = [(sort_key(records[str(i)]), records[str(i)]) for i in ids if str(i) in records]
    return Page(items=items, has_next_page=has_next, total_count=total)


def sort_key(dc: model.DataCollection) -> tuple:
    return (time_key(dc.start_time), int(dc.local_id))


def _by_id_sql(s: SchemaInfo, count: int) -> str:
    dc = lambda c: s.col("dc", "DataCollection", c)  # noqa: E731
    g = lambda c: s.col("dcg", "DataCollectionGroup", c)  # noqa: E731
    has_detector = s.has("Detector") and s.has("DataCollection", "detectorId")
    detector_join = " LEFT JOIN Detector d ON d.`detectorId` = dc.`detectorId`" if has_detector else ""
    detector = "d.`detectorId`" if has_detector else "NULL"
    refined = s.has("AutoProcIntegration", "refinedXBeam") and s.has("AutoProcIntegration", "refinedYBeam")
    refined_join = (
        " LEFT JOIN (SELECT `dataCollectionId` AS dc_id, AVG(`refinedXBeam`) AS rx, AVG(`refinedYBeam`) AS ry"
        f" FROM AutoProcIntegration WHERE `dataCollectionId` IN ({id_list([0] * count)})"
        " AND `refinedXBeam` IS NOT NULL AND `refinedYBeam` IS NOT NULL GROUP BY `dataCollectionId`) ri"
        " ON ri.dc_id = dc.`dataCollectionId`"
        if refined
        else ""
    )
    rx, ry = ("ri.rx", "ri.ry") if refined else ("NULL", "NULL")
    return f"""
SELECT dc.`dataCollectionId`, dc.`dataCollectionGroupId`, dcg.`sessionId`, {dc("SESSIONID")},
       dcg.`blSampleId`, {dc("BLSAMPLEID")}, {detector}, {dc("detectorId")},
       {g("experimentType")}, {dc("experimenttype")}, dc.`startTime`, dc.`endTime`, {dc("runStatus")},
       dc.`imageDirectory`, {dc("fileTemplate")}, {dc("imagePrefix")}, {dc("imageSuffix")},
       {dc("dataCollectionNumber")}, {dc("startImageNumber")}, dc.`numberOfImages`,
       dc.`wavelength`, dc.`detectorDistance`, dc.`xBeam`, dc.`yBeam`, {rx}, {ry},
       dc.`axisStart`, {dc("axisEnd")}, dc.`axisRange`, {dc("overlap")}, {dc("rotationAxis")},
       dc.`exposureTime`, {dc("transmission")}, {dc("flux")}, {dc("beamSizeAtSampleX")},
       {dc("beamSizeAtSampleY")}, {dc("resolution")}, {dc("detector2Theta")}, {dc("kappaStart")},
       {dc("phiStart")}, {dc("chiStart")}, {dc("omegaStart")}, {dc("comments")}
FROM DataCollection dc
JOIN DataCollectionGroup dcg ON dcg.`dataCollectionGroupId` = dc.`dataCollectionGroupId`{detector_join}{refined_join}
WHERE dc.`dataCollectionId` IN ({id_list([0] * count)})
"""


def _file_template(template: object, prefix: object, number: object, suffix: object) -> str | None:
    """DataCollection.fileTemplate; older rows only have imagePrefix, dataCollectionNumber, imageSuffix."""
    t = n.text(template)
    if t is not None:
        return t
    p, num, suf = n.text(prefix), n.integer(number), n.text(suffix)
    if p is None or num is None or suf is None:
        return None
    return f"{p}_{num}_####.{suf}"


def build(row: Sequence[Any]) -> model.DataCollection:
    notes: list[str] = []
    session, note = n.session_id(row[2], row[3])
    notes += [note] if note else []
    sample, note = n.sample_id(row[4], row[5])
    notes += [note] if note else []
    if row[6] is None and n.integer(row[7]):
        # data.sql: collection 6017405 has detectorId 78 and there is no Detector row 78.
        notes.append(f"detector: detectorId {row[7]} has no Detector row; served as null")
    bx, by, note = n.beam_centre(row[22], row[23], row[24], row[25])
    notes += [note] if note else []
    for label, raw in (("startTime", row[10]), ("endTime", row[11])):
        if raw is not None and n.date(raw) is None:
            notes.append(f"{label}: zero date in store; served as null")
    if row[32] is not None:
        notes.append("transmission: percent, as ISPyB stores it")
    if row[34] is not None or row[35] is not None:
        notes.append("beam size: beamSizeAtSampleX/Y in mm, multiplied by 1000")
    return model.DataCollection(
        local_id=str(row[0]),
        group_local_id=n.local_id(row[1]),
        session_local_id=session,
        sample_local_id=sample,
        detector_local_id=n.local_id(row[6]),
        experiment_type=n.text(row[8]) or n.text(row[9]),
        start_time=n.date(row[10]),
        end_time=n.date(row[11]),
        run_status=n.text(row[12]),
        image_directory=n.text(row[13]),
        file_template=_file_template(row[14], row[15], row[17], row[16]),
        start_image_number=n.integer(row[18]),
        number_of_images=n.integer(row[19]),
        wavelength=n.number(row[20]),
        detector_distance=n.number(row[21]),
        beam_centre_x=bx,
        beam_centre_y=by,
        axis_start=n.number(row[26]),
        axis_end=n.number(row[27]),
        axis_range=n.number(row[28]),
        overlap=n.number(row[29]),
        rotation_axis=n.text(row[30]),
        exposure_time=n.number(row[31]),
        transmission=n.number(row[32]),
        flux=n.number(row[33]),
        beam_size_x=n.mm_to_um(row[34]),
        beam_size_y=n.mm_to_um(row[35]),
        resolution=n.number(row[36]),
        detector_2theta=n.number(row[37]),
        kappa_start=n.number(row[38]),
        phi_start=n.number(row[39]),
        chi_start=n.number(row[40]),
        omega_start=n.number(row[41]),
        comments=n.text(row[42]),
        provenance_notes=tuple(notes),
    )


async def by_id(db: Any, s: SchemaInfo, ids: Sequence[str]) -> dict[str, model.DataCollection]:
    keys = int_ids(ids)
    if not keys:
        return {}
    refined = s.has("AutoProcIntegration", "refinedXBeam") and s.has("AutoProcIntegration", "refinedYBeam")
    args = (keys + keys) if refined else keys
    vis_where, vis_args = visibility.clause(s, "group", "dcg")
    sql = _by_id_sql(s, len(keys)) + "".join(f" AND {w}" for w in vis_where)
    rows = await db.fetch(sql, args + vis_args)
    access.touch(f"session:{r[2]}" for r in rows)
    return {str(r[0]): build(r) for r in rows}


async def ids_by_sample(db: Any, s: SchemaInfo, sample_ids: Sequence[str]) -> dict[str, list[str]]:
    """Collection ids per sample (group's sample, else DataCollection.BLSAMPLEID), newest first."""
    keys = int_ids(sample_ids)
    out: dict[str, list[str]] = {str(i): [] for i in sample_ids}
    if not keys:
        return out
    marks = id_list(keys)
    t = time_expr("dc.`startTime`")
    sql = (
        f"SELECT dcg.`blSampleId`, dc.`dataCollectionId`, {t} AS t, dc.`dataCollectionGroupId` FROM DataCollectionGroup dcg"
        " JOIN DataCollection dc ON dc.`dataCollectionGroupId` = dcg.`dataCollectionGroupId`"
        f" WHERE dcg.`blSampleId` IN ({marks})"
    )
    args: list[Any] = list(keys)
    if s.has("DataCollection", "BLSAMPLEID"):
        sql += (
            f" UNION ALL SELECT dc.`BLSAMPLEID`, dc.`dataCollectionId`, {t}, dc.`dataCollectionGroupId` FROM DataCollection dc"
            " JOIN DataCollectionGroup dcg ON dcg.`dataCollectionGroupId` = dc.`dataCollectionGroupId`"
            f" WHERE dc.`BLSAMPLEID` IN ({marks}) AND dcg.`blSampleId` IS NULL"
        )
        args += keys
    vis_where, vis_args = visibility.clause(s, "data_collection", "m")
    outer = f" WHERE {vis_where[0]}" if vis_where else ""
    rows = await db.fetch(
        f"SELECT * FROM ({sql}) m{outer} ORDER BY {time_desc_order('m.t', 'm.`dataCollectionId`')}",
        args + vis_args,
    )
    for sample, dc_id, _, _group in rows:
        out.setdefault(str(sample), []).append(str(dc_id))
    return out
