"""Sessions, proposals, data collection groups and detectors: pages and batch lookups by id.

Proposal codes are proposalCode + proposalNumber ("cm14451"); visits add BLSession.visit_number.
One statement per batch (two for proposals, whose logins come in a second fixed query).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from mx_schema.cursors import time_key
from site_adapter import access, model, query
from site_adapter.backends.base import Page, PageRequest, ProposalFilter, SessionFilter, SortKey
from site_adapter.backends.ispyb import normalise as n
from site_adapter.backends.ispyb import terms, visibility
from site_adapter.backends.ispyb.keyset import id_list, int_ids, text_expr, time_expr
from site_adapter.backends.ispyb.localtime import UTC_CLOCK, WallClock
from site_adapter.backends.ispyb.paging import keyset_page
from site_adapter.backends.ispyb.schema_check import SchemaInfo


def _session_columns(s: SchemaInfo) -> str:
    return (
        f"ses.`sessionId` AS id, ses.`proposalId` AS proposal_id, {terms.CODE} AS audit_proposal,"
        f" p.`proposalCode` AS proposal_code, p.`proposalNumber` AS proposal_number,"
        f" {s.col('ses', 'BLSession', 'visit_number')} AS visit_number, ses.`beamLineName` AS beamline,"
        f" ses.`startDate` AS start_time, ses.`endDate` AS end_time"
    )


def _code(row: Mapping[str, Any]) -> str:
    return f"{n.text(row['proposal_code']) or ''}{n.text(row['proposal_number']) or ''}"


def _build_session(row: Mapping[str, Any], clock: WallClock = UTC_CLOCK) -> model.Session:
    """A session; its times are instants (the model's Session has no notes: an ambiguous or
    non-existent startDate/endDate follows localtime's rules unrecorded, docs/time.md)."""
    code = _code(row)
    visit_number = n.integer(row["visit_number"])
    return model.Session(
        local_id=str(row["id"]),
        proposal_local_id=str(row["proposal_id"]),
        proposal=code,
        visit=f"{code}-{visit_number if visit_number is not None else ''}",
        visit_number=visit_number,
        beamline=n.text(row["beamline"]),
        start_time=clock.stored(row["start_time"], "startDate")[0],
        end_time=clock.stored(row["end_time"], "endDate")[0],
    )


def session_key(r: model.Session) -> SortKey:
    return (time_key(r.start_time), int(r.local_id))


async def sessions(db: Any, s: SchemaInfo, f: SessionFilter, req: PageRequest) -> Page[model.Session]:
    compiled = terms.compile_terms(
        s, query.spec("session", f, req.first, req.after).conditions, terms.SESSION
    )
    if compiled is None:
        return Page(items=[], has_next_page=False, total_count=0)
    where, args = compiled
    vis_where, vis_args = visibility.clause(s, "session", "ses")
    where += vis_where
    args += vis_args
    from_where = "FROM BLSession ses JOIN Proposal p ON p.`proposalId` = ses.`proposalId` WHERE " + (
        " AND ".join(where) or "TRUE"
    )
    return await keyset_page(
        db,
        columns=_session_columns(s),
        from_where=from_where,
        args=args,
        key=time_expr("ses.`startDate`"),
        key_kind="time",
        id_col="ses.`sessionId`",
        req=req,
        build=functools.partial(_build_session, clock=s.clock),
        sort_key=session_key,
        clock=s.clock,
    )


async def sessions_by_id(db: Any, s: SchemaInfo, ids: Sequence[str]) -> dict[str, model.Session]:
    keys = int_ids(ids)
    if not keys:
        return {}
    vis_where, vis_args = visibility.clause(s, "session", "ses")
    rows = await db.fetch_rows(
        f"SELECT {_session_columns(s)} FROM BLSession ses JOIN Proposal p ON p.`proposalId` = ses.`proposalId`"
        f" WHERE ses.`sessionId` IN ({id_list(keys)})" + "".join(f" AND {w}" for w in vis_where),
        keys + vis_args,
    )
    access.touch(r["audit_proposal"] for r in rows)
    return {str(r["id"]): _build_session(r, s.clock) for r in rows}


def _logins_sql(s: SchemaInfo, count: int) -> tuple[str, int]:
    """Logins of each proposal: its owner (Proposal.personId) and ProposalHasPerson members."""
    parts = []
    if s.has("Proposal", "personId"):
        parts.append(
            "SELECT p.`proposalId` AS id, pe.`login` AS login FROM Proposal p"
            " JOIN Person pe ON pe.`personId` = p.`personId`"
            f" WHERE p.`proposalId` IN ({id_list([0] * count)})"
        )
    if s.has("ProposalHasPerson"):
        parts.append(
            "SELECT php.`proposalId` AS id, pe.`login` AS login FROM ProposalHasPerson php"
            " JOIN Person pe ON pe.`personId` = php.`personId`"
            f" WHERE php.`proposalId` IN ({id_list([0] * count)})"
        )
    return " UNION ".join(parts), len(parts)


async def _build_proposals(db: Any, s: SchemaInfo, rows: list[dict[str, Any]]) -> list[model.Proposal]:
    keys = [int(r["id"]) for r in rows]
    logins: dict[int, set[str]] = {}
    sql, copies = _logins_sql(s, len(keys))
    if keys and sql:
        for member in await db.fetch_rows(sql, keys * copies):
            if n.text(member["login"]):
                logins.setdefault(int(member["id"]), set()).add(str(member["login"]))
    return [
        model.Proposal(
            local_id=str(r["id"]),
            code=_code(r),
            title=n.text(r["title"]),
            person_logins=tuple(sorted(logins.get(int(r["id"]), ()))),
        )
        for r in rows
    ]


def _proposal_columns(s: SchemaInfo) -> str:
    return (
        f"p.`proposalId` AS id, p.`proposalCode` AS proposal_code, p.`proposalNumber` AS proposal_number,"
        f" {s.col('p', 'Proposal', 'title')} AS title, {terms.CODE} AS audit_proposal"
    )


async def proposals(db: Any, s: SchemaInfo, f: ProposalFilter, req: PageRequest) -> Page[model.Proposal]:
    compiled = terms.compile_terms(
        s, query.spec("proposal", f, req.first, req.after).conditions, terms.PROPOSAL
    )
    where, args = compiled if compiled is not None else (["FALSE"], [])
    vis_where, vis_args = visibility.clause(s, "proposal", "p")
    where, args = where + vis_where, args + vis_args
    raw = await keyset_page(
        db,
        columns=_proposal_columns(s),
        from_where="FROM Proposal p WHERE " + (" AND ".join(where) or "TRUE"),
        args=args,
        key=text_expr(terms.CODE),
        key_kind="text",
        id_col="p.`proposalId`",
        req=req,
        build=lambda r: r,
        sort_key=lambda r: (_code(r), int(r["id"])),
    )
    built = await _build_proposals(db, s, [row for _, row in raw.items])
    return Page(
        items=[(k, p) for (k, _), p in zip(raw.items, built, strict=True)],
        has_next_page=raw.has_next_page,
        total_count=raw.total_count,
    )


async def proposals_by_id(db: Any, s: SchemaInfo, ids: Sequence[str]) -> dict[str, model.Proposal]:
    keys = int_ids(ids)
    if not keys:
        return {}
    vis_where, vis_args = visibility.clause(s, "proposal", "p")
    rows = await db.fetch_rows(
        f"SELECT {_proposal_columns(s)} FROM Proposal p WHERE p.`proposalId` IN ({id_list(keys)})"
        + "".join(f" AND {w}" for w in vis_where),
        keys + vis_args,
    )
    access.touch(r["audit_proposal"] for r in rows)
    return {p.local_id: p for p in await _build_proposals(db, s, rows)}


async def groups_by_id(db: Any, s: SchemaInfo, ids: Sequence[str]) -> dict[str, model.DataCollectionGroup]:
    keys = int_ids(ids)
    if not keys:
        return {}
    g = functools.partial(s.col, "dcg", "DataCollectionGroup")
    vis_where, vis_args = visibility.clause(s, "group", "dcg")
    rows = await db.fetch_rows(
        f"SELECT dcg.`dataCollectionGroupId` AS id, dcg.`sessionId` AS session_id, dcg.`blSampleId` AS sample_id,"
        f" {g('experimentType')} AS experiment_type, {g('startTime')} AS start_time, {g('endTime')} AS end_time"
        f" FROM DataCollectionGroup dcg WHERE dcg.`dataCollectionGroupId` IN ({id_list(keys)})"
        + "".join(f" AND {w}" for w in vis_where),
        keys + vis_args,
    )
    return {
        str(r["id"]): model.DataCollectionGroup(
            local_id=str(r["id"]),
            session_local_id=n.local_id(r["session_id"]),
            sample_local_id=n.local_id(r["sample_id"]),
            experiment_type=n.text(r["experiment_type"]),
            start_time=s.clock.stored(r["start_time"], "startTime")[0],
            end_time=s.clock.stored(r["end_time"], "endTime")[0],
        )
        for r in rows
    }


# The allow-list of Detector columns read, by label (optional columns read NULL when absent).
_DETECTOR_COLUMNS = (
    ("manufacturer", "detectorManufacturer"),
    ("model", "detectorModel"),
    ("serial_number", "detectorSerialNumber"),
    ("pixel_size_x", "detectorPixelSizeHorizontal"),
    ("pixel_size_y", "detectorPixelSizeVertical"),
    ("number_of_pixels_x", "numberOfPixelsX"),
    ("number_of_pixels_y", "numberOfPixelsY"),
    ("sensor_material", "composition"),
    ("sensor_thickness", "sensorThickness"),
    ("roi_pixels_x", "numberOfROIPixelsX"),
    ("roi_pixels_y", "numberOfROIPixelsY"),
)


async def detectors_by_id(db: Any, s: SchemaInfo, ids: Sequence[str]) -> dict[str, model.Detector]:
    """Detector rows; an id with no row (data.sql's detectorId 78) is simply absent."""
    keys = int_ids(ids)
    if not keys or not s.has("Detector"):
        return {}
    d = functools.partial(s.col, "d", "Detector")
    columns = ", ".join(f"{d(col)} AS {label}" for label, col in _DETECTOR_COLUMNS)
    rows = await db.fetch_rows(
        f"SELECT d.`detectorId` AS id, {columns} FROM Detector d WHERE d.`detectorId` IN ({id_list(keys)})",
        keys,
    )
    out: dict[str, model.Detector] = {}
    for r in rows:
        px, _ = n.pixel_size_mm(r["pixel_size_x"])
        py, _ = n.pixel_size_mm(r["pixel_size_y"])
        thickness = n.number(r["sensor_thickness"])
        out[str(r["id"])] = model.Detector(
            local_id=str(r["id"]),
            manufacturer=n.text(r["manufacturer"]),
            model=n.text(r["model"]),
            serial_number=n.text(r["serial_number"]),
            pixel_size_x=px,
            pixel_size_y=py,
            number_of_pixels_x=n.integer(r["number_of_pixels_x"]),
            number_of_pixels_y=n.integer(r["number_of_pixels_y"]),
            sensor_material=n.text(r["sensor_material"]),
            # sensorThickness: µm in Diamond's rows (e.g. 450 for a Pilatus), model wants mm.
            sensor_thickness=None
            if thickness is None
            else (thickness / 1000.0 if thickness > 5 else thickness),
            # the read-out size when the detector ran in a region of interest (an Eiger 16M as 4M)
            roi_pixels_x=n.integer(r["roi_pixels_x"]),
            roi_pixels_y=n.integer(r["roi_pixels_y"]),
        )
    return out
