"""Sessions, proposals, data collection groups and detectors: pages and batch lookups by id.

Proposal codes are proposalCode + proposalNumber ("cm14451"); visits add BLSession.visit_number.
One statement per batch (two for proposals, whose logins come in a second fixed query).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mx_schema.cursors import time_key
from site_adapter import model
from site_adapter.backends.base import Page, PageRequest, ProposalFilter, SessionFilter
from site_adapter.backends.ispyb import normalise as n
from site_adapter.backends.ispyb import visibility
from site_adapter.backends.ispyb.keyset import id_list, int_ids, text_expr, time_expr
from site_adapter.backends.ispyb.paging import keyset_page
from site_adapter.backends.ispyb.schema_check import SchemaInfo

_CODE = "CONCAT(p.`proposalCode`, p.`proposalNumber`)"


def _session_columns(s: SchemaInfo) -> str:
    return (
        f"ses.`sessionId`, ses.`proposalId`, p.`proposalCode`, p.`proposalNumber`,"
        f" {s.col('ses', 'BLSession', 'visit_number')}, ses.`beamLineName`, ses.`startDate`, ses.`endDate`"
    )


def _build_session(row: tuple) -> model.Session:
    code = f"{n.text(row[2]) or ''}{n.text(row[3]) or ''}"
    visit_number = n.integer(row[4])
    return model.Session(
        local_id=str(row[0]),
        proposal_local_id=str(row[1]),
        proposal=code,
        visit=f"{code}-{visit_number if visit_number is not None else ''}",
        visit_number=visit_number,
        beamline=n.text(row[5]),
        start_time=n.date(row[6]),
        end_time=n.date(row[7]),
    )


def session_key(r: model.Session) -> tuple:
    return (time_key(r.start_time), int(r.local_id))


def proposal_predicates(code: str) -> tuple[list[str], list[Any]]:
    """Proposal-code match, case-insensitive as the native store's (ISPyB's latin1_swedish_ci does it),
    through the (proposalCode, proposalNumber) unique index when the code is letters then digits
    ('cm14451'); other codes ('ih-ls3100') compare the concatenation (Proposal is a small table)."""
    split = n.split_proposal(code)
    if split is None:
        return [f"{_CODE} = %s"], [code]
    return ["p.`proposalCode` = %s", "p.`proposalNumber` = %s"], [split[0], split[1]]


def visit_predicates(s: SchemaInfo, visit: str) -> tuple[list[str], list[Any]] | None:
    """'cm14451-1': the proposal's predicates and BLSession.visit_number; None when nothing can match."""
    split = n.split_visit(visit)
    if split is None or not s.has("BLSession", "visit_number"):
        return None
    where, args = proposal_predicates(split[0])
    return where + ["ses.`visit_number` = %s"], args + [split[1]]


async def sessions(db: Any, s: SchemaInfo, f: SessionFilter, req: PageRequest) -> Page[model.Session]:
    where: list[str] = []
    args: list[Any] = []
    empty = Page(items=[], has_next_page=False, total_count=0)
    if f.proposal is not None:
        pred = proposal_predicates(f.proposal)
        where += pred[0]
        args += pred[1]
    if f.visit is not None:
        visit = visit_predicates(s, f.visit)
        if visit is None:
            return empty
        where += visit[0]
        args += visit[1]
    if f.beamline is not None:
        where.append("ses.`beamLineName` = %s")  # case-insensitive, as in the native store
        args.append(f.beamline)
    if f.start_after is not None:
        where.append("ses.`startDate` >= %s")
        args.append(n.as_naive_utc(f.start_after))
    if f.start_before is not None:
        where.append("ses.`startDate` < %s AND ses.`startDate` >= '1000-01-01'")
        args.append(n.as_naive_utc(f.start_before))
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
        build=_build_session,
        sort_key=session_key,
    )


async def sessions_by_id(db: Any, s: SchemaInfo, ids: Sequence[str]) -> dict[str, model.Session]:
    keys = int_ids(ids)
    if not keys:
        return {}
    vis_where, vis_args = visibility.clause(s, "session", "ses")
    rows = await db.fetch(
        f"SELECT {_session_columns(s)} FROM BLSession ses JOIN Proposal p ON p.`proposalId` = ses.`proposalId`"
        f" WHERE ses.`sessionId` IN ({id_list(keys)})" + "".join(f" AND {w}" for w in vis_where),
        keys + vis_args,
    )
    return {str(r[0]): _build_session(r) for r in rows}


def _logins_sql(s: SchemaInfo, count: int) -> tuple[str, int]:
    """Logins of each proposal: its owner (Proposal.personId) and ProposalHasPerson members."""
    parts = []
    if s.has("Proposal", "personId"):
        parts.append(
            "SELECT p.`proposalId`, pe.`login` FROM Proposal p JOIN Person pe ON pe.`personId` = p.`personId`"
            f" WHERE p.`proposalId` IN ({id_list([0] * count)})"
        )
    if s.has("ProposalHasPerson"):
        parts.append(
            "SELECT php.`proposalId`, pe.`login` FROM ProposalHasPerson php"
            " JOIN Person pe ON pe.`personId` = php.`personId`"
            f" WHERE php.`proposalId` IN ({id_list([0] * count)})"
        )
    return " UNION ".join(parts), len(parts)


async def _build_proposals(db: Any, s: SchemaInfo, rows: list[tuple]) -> list[model.Proposal]:
    keys = [int(r[0]) for r in rows]
    logins: dict[int, set[str]] = {}
    sql, copies = _logins_sql(s, len(keys))
    if keys and sql:
        for pid, login in await db.fetch(sql, keys * copies):
            if n.text(login):
                logins.setdefault(int(pid), set()).add(str(login))
    return [
        model.Proposal(
            local_id=str(r[0]),
            code=f"{n.text(r[1]) or ''}{n.text(r[2]) or ''}",
            title=n.text(r[3]),
            person_logins=tuple(sorted(logins.get(int(r[0]), ()))),
        )
        for r in rows
    ]


def _proposal_columns(s: SchemaInfo) -> str:
    return f"p.`proposalId`, p.`proposalCode`, p.`proposalNumber`, {s.col('p', 'Proposal', 'title')}"


async def proposals(db: Any, s: SchemaInfo, f: ProposalFilter, req: PageRequest) -> Page[model.Proposal]:
    where, args = ["TRUE"], []
    if f.code is not None:
        where, args = proposal_predicates(f.code)
    vis_where, vis_args = visibility.clause(s, "proposal", "p")
    where, args = where + vis_where, args + vis_args
    raw = await keyset_page(
        db,
        columns=_proposal_columns(s),
        from_where="FROM Proposal p WHERE " + " AND ".join(where),
        args=args,
        key=text_expr(_CODE),
        key_kind="text",
        id_col="p.`proposalId`",
        req=req,
        build=lambda r: r,
        sort_key=lambda r: (f"{n.text(r[1]) or ''}{n.text(r[2]) or ''}", int(r[0])),
    )
    built = await _build_proposals(db, s, [row for _, row in raw.items])
    return Page(
        items=[(k, p) for (k, _), p in zip(raw.items, built)],
        has_next_page=raw.has_next_page,
        total_count=raw.total_count,
    )


async def proposals_by_id(db: Any, s: SchemaInfo, ids: Sequence[str]) -> dict[str, model.Proposal]:
    keys = int_ids(ids)
    if not keys:
        return {}
    vis_where, vis_args = visibility.clause(s, "proposal", "p")
    rows = await db.fetch(
        f"SELECT {_proposal_columns(s)} FROM Proposal p WHERE p.`proposalId` IN ({id_list(keys)})"
        + "".join(f" AND {w}" for w in vis_where),
        keys + vis_args,
    )
    return {p.local_id: p for p in await _build_proposals(db, s, rows)}


async def groups_by_id(db: Any, s: SchemaInfo, ids: Sequence[str]) -> dict[str, model.DataCollectionGroup]:
    keys = int_ids(ids)
    if not keys:
        return {}
    g = lambda c: s.col("dcg", "DataCollectionGroup", c)  # noqa: E731
    rows = await db.fetch(
        f"SELECT dcg.`dataCollectionGroupId`, dcg.`sessionId`, dcg.`blSampleId`, {g('experimentType')},"
        f" {g('startTime')}, {g('endTime')} FROM DataCollectionGroup dcg"
        f" WHERE dcg.`dataCollectionGroupId` IN ({id_list(keys)})"
        + "".join(f" AND {w}" for w in visibility.clause(s, "group", "dcg")[0]),
        keys + visibility.clause(s, "group", "dcg")[1],
    )
    return {
        str(r[0]): model.DataCollectionGroup(
            local_id=str(r[0]),
            session_local_id=n.local_id(r[1]),
            sample_local_id=n.local_id(r[2]),
            experiment_type=n.text(r[3]),
            start_time=n.date(r[4]),
            end_time=n.date(r[5]),
        )
        for r in rows
    }


async def detectors_by_id(db: Any, s: SchemaInfo, ids: Sequence[str]) -> dict[str, model.Detector]:
    """Detector rows; an id with no row (data.sql's detectorId 78) is simply absent."""
    keys = int_ids(ids)
    if not keys or not s.has("Detector"):
        return {}
    d = lambda c: s.col("d", "Detector", c)  # noqa: E731
    rows = await db.fetch(
        f"SELECT d.`detectorId`, {d('detectorManufacturer')}, {d('detectorModel')}, {d('detectorSerialNumber')},"
        f" {d('detectorPixelSizeHorizontal')}, {d('detectorPixelSizeVertical')}, {d('numberOfPixelsX')},"
        f" {d('numberOfPixelsY')}, {d('composition')}, {d('sensorThickness')},"
        f" {d('numberOfROIPixelsX')}, {d('numberOfROIPixelsY')}"
        f" FROM Detector d WHERE d.`detectorId` IN ({id_list(keys)})",
        keys,
    )
    out: dict[str, model.Detector] = {}
    for r in rows:
        px, _ = n.pixel_size_mm(r[4])
        py, _ = n.pixel_size_mm(r[5])
        thickness = n.number(r[9])
        out[str(r[0])] = model.Detector(
            local_id=str(r[0]),
            manufacturer=n.text(r[1]),
            model=n.text(r[2]),
            serial_number=n.text(r[3]),
            pixel_size_x=px,
            pixel_size_y=py,
            number_of_pixels_x=n.integer(r[6]),
            number_of_pixels_y=n.integer(r[7]),
            sensor_material=n.text(r[8]),
            # sensorThickness: µm in Diamond's rows (e.g. 450 for a Pilatus), model wants mm.
            sensor_thickness=None
            if thickness is None
            else (thickness / 1000.0 if thickness > 5 else thickness),
            # the read-out size when the detector ran in a region of interest (an Eiger 16M as 4M)
            roi_pixels_x=n.integer(r[10]),
            roi_pixels_y=n.integer(r[11]),
        )
    return out
