"""Data collections: the CONTRACT.md filter as SQL, keyset pages of ids, and batch hydration by id.

A page is two to four statements whatever its size (see page()); filters are joins driven from
the indexed side (sample name, protein acronym, proposal), never a query per row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from mx_schema.cursors import time_key
from site_adapter import access, model, query
from site_adapter.backends.base import DataCollectionFilter, InvalidInput, Page, PageRequest, SortKey
from site_adapter.backends.ispyb import identifiers, visibility
from site_adapter.backends.ispyb import normalise as n
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
from site_adapter.backends.ispyb.localtime import UTC_CLOCK, WallClock
from site_adapter.backends.ispyb.processing import best_filters
from site_adapter.backends.ispyb.schema_check import SchemaInfo
from site_adapter.backends.ispyb.terms import (
    CONTAINS_NAME,
    PROTEIN,
    SESSION,
    Predicates,
    TermSql,
    compile_terms,
    exact,
    simple,
    since,
    until,
)
from site_adapter.query import QuerySpec


def _experiment_type(s: SchemaInfo, v: Any) -> Predicates:
    group, legacy = (
        s.col("dcg", "DataCollectionGroup", "experimentType"),
        s.col("dc", "DataCollection", "experimenttype"),
    )
    return [binary_equals(f"COALESCE({group}, {legacy})")], [v]


# Each contract term (site_adapter.query.DATA_COLLECTION_TERMS says what it means and normalises the
# value) on ISPyB's columns: bs (BLSample), c (Crystal), pr (Protein), dc, dcg, ses (BLSession), p (Proposal).
# resolutionBetterThan and spaceGroup are the best result's (processing.best_filters).
_SAMPLE_TERMS: dict[str, TermSql] = {
    "sample_name": exact("bs.`name`", "BLSample", "name"),
    "sample_barcode": exact("bs.`code`", "BLSample", "code"),
    # UUIDs, like codes and beamlines below, compare case-insensitively (latin1_swedish_ci)
    "crystal_uuid": simple("c.`crystalUUID` = %s", "Crystal", "crystalUUID"),
    "protein_acronym": exact("pr.`acronym`", "Protein", "acronym"),
    "protein_name": simple(CONTAINS_NAME, "Protein", "name"),
    "uniprot_id": PROTEIN["uniprot_id"],
}
_SESSION_TERMS: dict[str, TermSql] = {
    "proposal": SESSION["proposal"],
    "visit": SESSION["visit"],
    "beamline": SESSION["beamline"],
}
_OTHER_TERMS: dict[str, TermSql] = {
    "experiment_type": _experiment_type,
    "start_after": since("dc.`startTime`"),
    "start_before": until("dc.`startTime`"),
    "has_doi": identifiers.has_doi,  # issue 19
    "pdb_id": identifiers.pdb_id,
}
_SAMPLE_FIELDS = (*_SAMPLE_TERMS, "any_crystal_uuid", "any_sample_barcode")


def _compile(s: SchemaInfo, spec: QuerySpec, terms: dict[str, TermSql]) -> Predicates | None:
    return compile_terms(s, spec.conditions, terms)


def _sample_keys(s: SchemaInfo, f: DataCollectionFilter) -> Predicates | None:
    """The hub's LIMS search: crystal UUID in one list OR pin barcode in the other."""
    parts: list[str] = []
    args: list[Any] = []
    uuids = list(f.any_crystal_uuid or ())
    barcodes = list(f.any_sample_barcode or ())
    if uuids and s.has("Crystal", "crystalUUID"):
        parts.append(f"c.`crystalUUID` IN ({', '.join(['%s'] * len(uuids))})")
        args += uuids
    if barcodes and s.has("BLSample", "code"):
        parts.append(f"bs.`code` IN ({', '.join(['%s'] * len(barcodes))})")
        args += barcodes
    return (["(" + " OR ".join(parts) + ")"], args) if parts else None


def _sample_predicates(
    s: SchemaInfo, spec: QuerySpec, f: DataCollectionFilter
) -> tuple[list[str], list[Any], bool]:
    """Predicates on bs (BLSample), c (Crystal), pr (Protein); the flag says the filter matches nothing."""
    compiled = _compile(s, spec, _SAMPLE_TERMS)
    keys = _sample_keys(s, f) if f.has_sample_keys else ([], [])
    if compiled is None or keys is None:
        return [], [], True
    return compiled[0] + keys[0], compiled[1] + keys[1], False


def _other_predicates(
    s: SchemaInfo, spec: QuerySpec, f: DataCollectionFilter
) -> tuple[list[str], list[Any], bool, bool]:
    """Predicates on dc, dcg, ses (BLSession), p (Proposal) from the spec, and the filter's parts beyond
    the contract terms (mine, cell); flags: needs session join, matches nothing."""
    session = _compile(s, spec, _SESSION_TERMS)
    other = _compile(s, spec, _OTHER_TERMS)
    owned = visibility.owned_clause(s, f.mine, "dc") if f.mine is not None else ([], [])
    if session is None or other is None or owned is None:
        return [], [], True, True
    needs_session = not spec.terms.isdisjoint(_SESSION_TERMS)
    best_where, best_args = best_filters(s, f.resolution_better_than, f.space_group, f.cell)
    vis_where, vis_args = visibility.clause(s, "data_collection", "dc")
    where = session[0] + other[0] + owned[0] + best_where + vis_where
    return where, session[1] + other[1] + owned[1] + best_args + vis_args, needs_session, False


def _session_join(needs_session: bool) -> str:
    return (
        " JOIN BLSession ses ON ses.`sessionId` = dcg.`sessionId` JOIN Proposal p ON p.`proposalId` = ses.`proposalId`"
        if needs_session
        else ""
    )


def matching_sql(s: SchemaInfo, spec: QuerySpec, f: DataCollectionFilter) -> tuple[str, list[Any]] | None:
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
    other, other_args, needs_session, nothing = _other_predicates(s, spec, f)
    if nothing:
        return None
    sample_where, sample_args, nothing = _sample_predicates(s, spec, f)
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


def plain_sql(s: SchemaInfo, spec: QuerySpec, f: DataCollectionFilter) -> tuple[str, list[Any]] | None:
    """SELECT id, t (sort time) of every collection matching a filter with no sample term, or None."""
    if unmatchable(f.beamline, f.experiment_type, f.space_group):
        return None
    other, args, needs_session, nothing = _other_predicates(s, spec, f)
    if nothing:
        return None
    where = " AND ".join(other) or "TRUE"
    return (
        f"SELECT dc.`dataCollectionId` AS id, {time_expr('dc.`startTime`')} AS t FROM DataCollection dc"
        " JOIN DataCollectionGroup dcg ON dcg.`dataCollectionGroupId` = dc.`dataCollectionGroupId`"
        f"{_session_join(needs_session)} WHERE {where}",
        args,
    )


def matching(s: SchemaInfo, spec: QuerySpec, f: DataCollectionFilter) -> tuple[str, list[Any]] | None:
    """SELECT id, t of every collection the filter matches (None: none can): the sample-driven join when
    a sample term is given, else the plain one."""
    if any(getattr(f, name) is not None for name in _SAMPLE_FIELDS):
        return matching_sql(s, spec, f)
    return plain_sql(s, spec, f)


async def _count(db: Any, from_where: str, args: list[Any]) -> int:
    return int((await db.fetch_rows(f"SELECT COUNT(*) AS n {from_where}", args))[0]["n"])


async def _sample_page(
    db: Any, sql: str, args: list[Any], req: PageRequest, clock: WallClock
) -> tuple[list[int], bool, int]:
    """Few candidates: one statement sorts them and counts them all (the window runs before `after`)."""
    after_sql, after_args = time_desc_after("w.t", "w.id", req.after, clock)
    rows = await db.fetch_rows(
        f"SELECT w.id, w.total FROM (SELECT m.id, m.t, COUNT(*) OVER () AS total FROM ({sql}) m) w"
        f" WHERE {after_sql} ORDER BY {time_desc_order('w.t', 'w.id')} LIMIT %s",
        args + after_args + [req.first + 1],
    )
    if rows:
        total = int(rows[0]["total"])
    elif req.after is None:
        total = 0
    else:  # past the end: the window saw no row, so count separately
        total = await _count(db, f"FROM ({sql}) m", args)
    return [int(r["id"]) for r in rows[: req.first]], len(rows) > req.first, total


async def _plain_page(
    db: Any, s: SchemaInfo, spec: QuerySpec, f: DataCollectionFilter, req: PageRequest
) -> tuple[list[int], bool, int] | None:
    """No sample filter: dated rows come in startTime index order, then the undated by id (so an
    unfiltered page reads 21 index entries, not a million); null and zero dates are the undated."""
    other, args, needs_session, nothing = _other_predicates(s, spec, f)
    if nothing:
        return None
    where = " AND ".join(other) or "TRUE"
    needs_group = needs_session or f.experiment_type is not None
    group_join = " JOIN DataCollectionGroup dcg ON dcg.`dataCollectionGroupId` = dc.`dataCollectionGroupId`"
    count_from = f"FROM DataCollection dc{group_join if needs_group else ''}{_session_join(needs_session)}"
    total = await _count(db, f"{count_from} WHERE {where}", args)
    if req.first == 0 or total == 0:
        return [], total > 0 and req.first == 0, total
    base = f"FROM DataCollection dc{group_join}{_session_join(needs_session)} WHERE {where}"
    want = req.first + 1
    ids: list[int] = []
    after = check_position(req.after)
    if after is None or after.value is not None:
        after_sql, after_args = time_desc_after("dc.`startTime`", "dc.`dataCollectionId`", req.after, s.clock)
        rows = await db.fetch_rows(
            f"SELECT dc.`dataCollectionId` AS id {base} AND dc.`startTime` >= '1000-01-01' AND {after_sql}"
            " ORDER BY dc.`startTime` DESC, dc.`dataCollectionId` DESC LIMIT %s",
            args + after_args + [want],
        )
        ids = [int(r["id"]) for r in rows]
    if len(ids) < want:
        undated = "(dc.`startTime` IS NULL OR dc.`startTime` < '1000-01-01')"
        extra: list[Any] = []
        if after is not None and after.value is None:
            undated += " AND dc.`dataCollectionId` < %s"
            extra = [after.local_id]
        rows = await db.fetch_rows(
            f"SELECT dc.`dataCollectionId` AS id {base} AND {undated} ORDER BY dc.`dataCollectionId` DESC LIMIT %s",
            args + extra + [want - len(ids)],
        )
        ids += [int(r["id"]) for r in rows]
    return ids[: req.first], len(ids) > req.first, total


async def page(
    db: Any, s: SchemaInfo, f: DataCollectionFilter, req: PageRequest
) -> Page[model.DataCollection]:
    """Sample filters: ordered ids with a window count, then hydration (2 statements). Otherwise:
    count, dated ids, undated ids when the dated run out, hydration (3 or 4)."""
    if req.first < 0:
        raise InvalidInput("first must not be negative")
    spec = query.spec("data_collection", f, req.first, req.after)
    empty: Page[model.DataCollection] = Page(items=[], has_next_page=False, total_count=0)
    if any(getattr(f, name) is not None for name in _SAMPLE_FIELDS):
        matching = matching_sql(s, spec, f)
        if matching is None:
            return empty
        if req.first == 0:
            total = await _count(db, f"FROM ({matching[0]}) m", matching[1])
            return Page(items=[], has_next_page=total > 0, total_count=total)
        result = await _sample_page(db, matching[0], matching[1], req, s.clock)
    else:
        plain = await _plain_page(db, s, spec, f, req)
        if plain is None:
            return empty
        result = plain
    ids, has_next, total = result
    records = await by_id(db, s, [str(i) for i in ids])
    items = [(sort_key(records[str(i)]), records[str(i)]) for i in ids if str(i) in records]
    return Page(items=items, has_next_page=has_next, total_count=total)


def sort_key(dc: model.DataCollection) -> SortKey:
    return (time_key(dc.start_time), int(dc.local_id))


# The allow-list of DataCollection columns read, by label: (label, table alias, table, column). A column
# the schema lacks reads as NULL (SchemaInfo.col). A label that is a model field (model.from_row) is read
# by the field's type: adding a plain field is one line here.
_COLUMNS = (
    ("id", "dc", "DataCollection", "dataCollectionId"),
    ("group_id", "dc", "DataCollection", "dataCollectionGroupId"),
    ("group_session_id", "dcg", "DataCollectionGroup", "sessionId"),
    ("legacy_session_id", "dc", "DataCollection", "SESSIONID"),
    ("group_sample_id", "dcg", "DataCollectionGroup", "blSampleId"),
    ("legacy_sample_id", "dc", "DataCollection", "BLSAMPLEID"),
    ("raw_detector_id", "dc", "DataCollection", "detectorId"),
    ("group_experiment_type", "dcg", "DataCollectionGroup", "experimentType"),
    ("experiment_type", "dc", "DataCollection", "experimenttype"),
    ("start_time", "dc", "DataCollection", "startTime"),
    ("end_time", "dc", "DataCollection", "endTime"),
    ("run_status", "dc", "DataCollection", "runStatus"),
    ("image_directory", "dc", "DataCollection", "imageDirectory"),
    ("file_template", "dc", "DataCollection", "fileTemplate"),
    ("image_prefix", "dc", "DataCollection", "imagePrefix"),
    ("image_suffix", "dc", "DataCollection", "imageSuffix"),
    ("collection_number", "dc", "DataCollection", "dataCollectionNumber"),
    ("start_image_number", "dc", "DataCollection", "startImageNumber"),
    ("number_of_images", "dc", "DataCollection", "numberOfImages"),
    ("wavelength", "dc", "DataCollection", "wavelength"),
    ("detector_distance", "dc", "DataCollection", "detectorDistance"),
    ("x_beam", "dc", "DataCollection", "xBeam"),
    ("y_beam", "dc", "DataCollection", "yBeam"),
    ("axis_start", "dc", "DataCollection", "axisStart"),
    ("axis_end", "dc", "DataCollection", "axisEnd"),
    ("axis_range", "dc", "DataCollection", "axisRange"),
    ("overlap", "dc", "DataCollection", "overlap"),
    ("rotation_axis", "dc", "DataCollection", "rotationAxis"),
    ("exposure_time", "dc", "DataCollection", "exposureTime"),
    ("transmission", "dc", "DataCollection", "transmission"),
    ("flux", "dc", "DataCollection", "flux"),
    ("beam_size_x_mm", "dc", "DataCollection", "beamSizeAtSampleX"),
    ("beam_size_y_mm", "dc", "DataCollection", "beamSizeAtSampleY"),
    ("resolution", "dc", "DataCollection", "resolution"),
    ("detector_2theta", "dc", "DataCollection", "detector2Theta"),
    ("kappa_start", "dc", "DataCollection", "kappaStart"),
    ("phi_start", "dc", "DataCollection", "phiStart"),
    ("chi_start", "dc", "DataCollection", "chiStart"),
    ("omega_start", "dc", "DataCollection", "omegaStart"),
    ("comments", "dc", "DataCollection", "comments"),
)
# How a column of each model type is read (ISPyB's quirks: zero dates, numbers as text, 0 as "none").
_CONVERT = {float: n.number, int: n.integer, str: n.text, dt.datetime: n.date}


def _by_id_sql(s: SchemaInfo, count: int) -> str:
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
    columns = ", ".join(f"{s.col(alias, table, col)} AS {label}" for label, alias, table, col in _COLUMNS)
    # The proposal the audit log names (site_adapter.access.touch): the group's session's.
    audit = "CONCAT(aup.`proposalCode`, aup.`proposalNumber`)"
    return f"""
SELECT {columns}, {detector} AS detector_id, {rx} AS refined_x_beam, {ry} AS refined_y_beam,
       {audit} AS audit_proposal
FROM DataCollection dc
JOIN DataCollectionGroup dcg ON dcg.`dataCollectionGroupId` = dc.`dataCollectionGroupId`{detector_join}{refined_join}
LEFT JOIN BLSession aus ON aus.`sessionId` = dcg.`sessionId`
LEFT JOIN Proposal aup ON aup.`proposalId` = aus.`proposalId`
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


_TIME_FIELDS = {"startTime": "start_time", "endTime": "end_time"}


def _notes(row: Mapping[str, Any], clock: WallClock) -> tuple[tuple[str, ...], dict[str, Any]]:
    """The quirks of one row, normalised (ids, beam centre, local times as instants) with a provenance
    note for each."""
    notes: list[str] = []
    fixed: dict[str, Any] = {}
    session, note = n.session_id(row["group_session_id"], row["legacy_session_id"])
    notes += [note] if note else []
    sample, note = n.sample_id(row["group_sample_id"], row["legacy_sample_id"])
    notes += [note] if note else []
    if row["detector_id"] is None and n.integer(row["raw_detector_id"]):
        # data.sql: collection 6017405 has detectorId 78 and there is no Detector row 78.
        notes.append(f"detector: detectorId {row['raw_detector_id']} has no Detector row; served as null")
    bx, by, note = n.beam_centre(row["x_beam"], row["y_beam"], row["refined_x_beam"], row["refined_y_beam"])
    notes += [note] if note else []
    for label, raw in (("startTime", row["start_time"]), ("endTime", row["end_time"])):
        if raw is not None and n.date(raw) is None:
            notes.append(f"{label}: zero date in store; served as null")
        fixed[_TIME_FIELDS[label]], note = clock.stored(raw, label)
        notes += [note] if note else []
    if row["transmission"] is not None:
        notes.append("transmission: percent, as ISPyB stores it")
    if row["beam_size_x_mm"] is not None or row["beam_size_y_mm"] is not None:
        notes.append("beam size: beamSizeAtSampleX/Y in mm, multiplied by 1000")
    fixed |= {
        "session_local_id": session,
        "sample_local_id": sample,
        "beam_centre_x": bx,
        "beam_centre_y": by,
    }
    return tuple(notes), fixed


def build(row: Mapping[str, Any], clock: WallClock = UTC_CLOCK) -> model.DataCollection:
    """One DataCollection from a row of _by_id_sql, read by column label (model.from_row): columns
    labelled as a model field are read by the field's type; the rest are the quirks handled here."""
    notes, fixed = _notes(row, clock)
    return model.from_row(
        model.DataCollection,
        row,
        _CONVERT,
        n.local_id,
        local_id=str(row["id"]),
        experiment_type=n.text(row["group_experiment_type"]) or n.text(row["experiment_type"]),
        file_template=_file_template(
            row["file_template"], row["image_prefix"], row["collection_number"], row["image_suffix"]
        ),
        beam_size_x=n.mm_to_um(row["beam_size_x_mm"]),
        beam_size_y=n.mm_to_um(row["beam_size_y_mm"]),
        provenance_notes=notes,
        **fixed,
    )


async def by_id(db: Any, s: SchemaInfo, ids: Sequence[str]) -> dict[str, model.DataCollection]:
    keys = int_ids(ids)
    if not keys:
        return {}
    refined = s.has("AutoProcIntegration", "refinedXBeam") and s.has("AutoProcIntegration", "refinedYBeam")
    args = (keys + keys) if refined else keys
    vis_where, vis_args = visibility.clause(s, "group", "dcg")
    sql = _by_id_sql(s, len(keys)) + "".join(f" AND {w}" for w in vis_where)
    rows = await db.fetch_rows(sql, args + vis_args)
    access.touch(r["audit_proposal"] for r in rows)
    return {str(r["id"]): build(r, s.clock) for r in rows}


async def ids_by_sample(db: Any, s: SchemaInfo, sample_ids: Sequence[str]) -> dict[str, list[str]]:
    """Collection ids per sample (group's sample, else DataCollection.BLSAMPLEID), newest first."""
    keys = int_ids(sample_ids)
    out: dict[str, list[str]] = {str(i): [] for i in sample_ids}
    if not keys:
        return out
    marks = id_list(keys)
    t = time_expr("dc.`startTime`")
    sql = (
        f"SELECT dcg.`blSampleId` AS sample_id, dc.`dataCollectionId`, {t} AS t, dc.`dataCollectionGroupId` FROM DataCollectionGroup dcg"
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
    rows = await db.fetch_rows(
        f"SELECT * FROM ({sql}) m{outer} ORDER BY {time_desc_order('m.t', 'm.`dataCollectionId`')}",
        args + vis_args,
    )
    for r in rows:
        out.setdefault(str(r["sample_id"]), []).append(str(r["dataCollectionId"]))
    return out
