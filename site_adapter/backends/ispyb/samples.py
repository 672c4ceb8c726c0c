"""Samples, crystals and proteins (BLSample -> Crystal -> Protein): pages and batch lookups by id.

A sample's protein and proposal come through its crystal (Crystal.proteinId, Protein.proposalId);
ISPyB v5 has no UniProt column, so uniprotIds are empty and a uniprotId filter matches nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from site_adapter import model
from site_adapter.backends.base import Page, PageRequest, ProteinFilter, SampleFilter
from site_adapter.backends.ispyb import normalise as n
from site_adapter.backends.ispyb import visibility
from site_adapter.backends.ispyb.entities import proposal_predicates
from site_adapter.backends.ispyb.keyset import binary_equals, id_list, int_ids, text_expr, unmatchable
from site_adapter.backends.ispyb.paging import keyset_page
from site_adapter.backends.ispyb.schema_check import SchemaInfo

_EMPTY: Page[Any] = Page(items=[], has_next_page=False, total_count=0)


def _sample_sql(s: SchemaInfo) -> tuple[str, str]:
    has_container = s.has("Container") and s.has("BLSample", "containerId")
    columns = (
        f"bs.`blSampleId`, bs.`name`, {s.col('bs', 'BLSample', 'code')}, "
        f"{s.col('cont', 'Container', 'code') if has_container else 'NULL'}, "
        f"{s.col('cont', 'Container', 'barcode') if has_container else 'NULL'}, "
        f"{s.col('bs', 'BLSample', 'location')}, bs.`crystalId`, c.`proteinId`, pr.`proposalId`, "
        f"{s.col('c', 'Crystal', 'crystalUUID')}"
    )
    joins = (
        "FROM BLSample bs LEFT JOIN Crystal c ON c.`crystalId` = bs.`crystalId`"
        " LEFT JOIN Protein pr ON pr.`proteinId` = c.`proteinId`"
    )
    if has_container:
        joins += " LEFT JOIN Container cont ON cont.`containerId` = bs.`containerId`"
    return columns, joins


def _build_sample(r: tuple) -> model.Sample:
    external: list[model.ExternalId] = []
    if n.text(r[2]):
        external.append(model.ExternalId(system="ispyb", kind="pin_barcode", value=str(n.text(r[2]))))
    if n.text(r[9]):
        external.append(model.ExternalId(system="ispyb", kind="crystal_uuid", value=str(n.text(r[9]))))
    if n.text(r[4]):
        external.append(model.ExternalId(system="ispyb", kind="container_barcode", value=str(n.text(r[4]))))
    return model.Sample(
        local_id=str(r[0]),
        name=n.text(r[1]),
        barcode=n.text(r[2]),
        container_code=n.text(r[3]),
        position=n.integer(r[5]),
        crystal_local_id=n.local_id(r[6]),
        protein_local_id=n.local_id(r[7]),
        proposal_local_id=n.local_id(r[8]),
        external_ids=tuple(external),
    )


def sample_key(r: model.Sample) -> tuple:
    return (r.name or "", int(r.local_id))


async def samples(db: Any, s: SchemaInfo, f: SampleFilter, req: PageRequest) -> Page[model.Sample]:
    if unmatchable(f.name, f.barcode, f.protein_acronym, f.crystal_uuid):
        return _EMPTY
    where: list[str] = []
    args: list[Any] = []
    for value, column, table, name in (
        (f.name, "bs.`name`", "BLSample", "name"),
        (f.barcode, "bs.`code`", "BLSample", "code"),
        (f.protein_acronym, "pr.`acronym`", "Protein", "acronym"),
    ):
        if value is None:
            continue
        if not s.has(table, name):
            return _EMPTY
        where += [f"{column} = %s", binary_equals(column)]
        args += [value, value]
    if f.crystal_uuid is not None:
        if not s.has("Crystal", "crystalUUID"):
            return _EMPTY
        where.append("c.`crystalUUID` = %s")  # UUIDs compare case-insensitively (hex digits)
        args.append(f.crystal_uuid)
    if f.proposal is not None:
        pred = proposal_predicates(f.proposal)
        where += pred[0]
        args += pred[1]
    columns, joins = _sample_sql(s)
    if f.proposal is not None:
        joins += " JOIN Proposal p ON p.`proposalId` = pr.`proposalId`"
    vis_where, vis_args = visibility.clause(s, "sample", "bs")
    where, args = where + vis_where, args + vis_args
    return await keyset_page(
        db,
        columns=columns,
        from_where=f"{joins} WHERE " + (" AND ".join(where) or "TRUE"),
        args=args,
        key=text_expr("bs.`name`"),
        key_kind="text",
        id_col="bs.`blSampleId`",
        req=req,
        build=_build_sample,
        sort_key=sample_key,
    )


async def samples_by_id(db: Any, s: SchemaInfo, ids: Sequence[str]) -> dict[str, model.Sample]:
    keys = int_ids(ids)
    if not keys:
        return {}
    columns, joins = _sample_sql(s)
    vis_where, vis_args = visibility.clause(s, "sample", "bs")
    rows = await db.fetch(
        f"SELECT {columns} {joins} WHERE bs.`blSampleId` IN ({id_list(keys)})"
        + "".join(f" AND {w}" for w in vis_where),
        keys + vis_args,
    )
    return {str(r[0]): _build_sample(r) for r in rows}


async def crystals_by_id(db: Any, s: SchemaInfo, ids: Sequence[str]) -> dict[str, model.Crystal]:
    keys = int_ids(ids)
    if not keys:
        return {}
    c = lambda col: s.col("c", "Crystal", col)  # noqa: E731
    rows = await db.fetch(
        f"SELECT c.`crystalId`, {c('crystalUUID')}, {c('spaceGroup')}, {c('cell_a')}, {c('cell_b')}, {c('cell_c')},"
        f" {c('cell_alpha')}, {c('cell_beta')}, {c('cell_gamma')}, c.`proteinId`"
        f" FROM Crystal c WHERE c.`crystalId` IN ({id_list(keys)})"
        + "".join(f" AND {w}" for w in visibility.clause(s, "crystal", "c")[0]),
        keys + visibility.clause(s, "crystal", "c")[1],
    )
    out: dict[str, model.Crystal] = {}
    for r in rows:
        cell_values = [n.number(v) for v in r[3:9]]
        cell = model.UnitCell(*cell_values) if all(v is not None for v in cell_values) else None  # type: ignore[arg-type]
        out[str(r[0])] = model.Crystal(
            local_id=str(r[0]),
            uuid=n.text(r[1]),
            space_group=n.text(r[2]),
            cell=cell,
            protein_local_id=n.local_id(r[9]),
        )
    return out


def _protein_columns(s: SchemaInfo) -> str:
    return (
        f"pr.`proteinId`, pr.`acronym`, {s.col('pr', 'Protein', 'name')}, "
        f"{s.col('pr', 'Protein', 'sequence')}, pr.`proposalId`"
    )


def _build_protein(r: tuple) -> model.Protein:
    return model.Protein(
        local_id=str(r[0]),
        acronym=n.text(r[1]),
        name=n.text(r[2]),
        uniprot_ids=(),
        sequence_hash=n.sequence_hash(r[3]),
        proposal_local_id=n.local_id(r[4]),
    )


def protein_key(r: model.Protein) -> tuple:
    return (r.acronym or "", int(r.local_id))


async def proteins(db: Any, s: SchemaInfo, f: ProteinFilter, req: PageRequest) -> Page[model.Protein]:
    where: list[str] = []
    args: list[Any] = []
    joins = "FROM Protein pr"
    if f.uniprot_id is not None or unmatchable(f.acronym):
        return _EMPTY  # no UniProt column in ISPyB (tables.sql, Protein); a non-Latin-1 acronym is no acronym
    if f.acronym is not None:
        where += ["pr.`acronym` = %s", binary_equals("pr.`acronym`")]
        args += [f.acronym, f.acronym]
    if f.name is not None:
        if not s.has("Protein", "name"):
            return _EMPTY
        where.append("LOCATE(LOWER(%s), LOWER(CONVERT(pr.`name` USING utf8mb4))) > 0")
        args.append(f.name)
    if f.proposal is not None:
        pred = proposal_predicates(f.proposal)
        joins += " JOIN Proposal p ON p.`proposalId` = pr.`proposalId`"
        where += pred[0]
        args += pred[1]
    vis_where, vis_args = visibility.clause(s, "protein", "pr")
    where, args = where + vis_where, args + vis_args
    return await keyset_page(
        db,
        columns=_protein_columns(s),
        from_where=f"{joins} WHERE " + (" AND ".join(where) or "TRUE"),
        args=args,
        key=text_expr("pr.`acronym`"),
        key_kind="text",
        id_col="pr.`proteinId`",
        req=req,
        build=_build_protein,
        sort_key=protein_key,
    )


async def proteins_by_id(db: Any, s: SchemaInfo, ids: Sequence[str]) -> dict[str, model.Protein]:
    keys = int_ids(ids)
    if not keys:
        return {}
    vis_where, vis_args = visibility.clause(s, "protein", "pr")
    rows = await db.fetch(
        f"SELECT {_protein_columns(s)} FROM Protein pr WHERE pr.`proteinId` IN ({id_list(keys)})"
        + "".join(f" AND {w}" for w in vis_where),
        keys + vis_args,
    )
    return {str(r[0]): _build_protein(r) for r in rows}
