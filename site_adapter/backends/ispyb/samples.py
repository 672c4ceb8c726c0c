"""Samples, crystals and proteins (BLSample -> Crystal -> Protein): pages and batch lookups by id.

A sample's protein and proposal come through its crystal (Crystal.proteinId, Protein.proposalId);
ISPyB v5 has no UniProt column, so uniprotIds are empty and a uniprotId filter matches nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from site_adapter import access, model, query
from site_adapter.backends.base import Page, PageRequest, ProteinFilter, SampleFilter, SortKey
from site_adapter.backends.ispyb import normalise as n
from site_adapter.backends.ispyb import terms, visibility
from site_adapter.backends.ispyb.keyset import id_list, int_ids, text_expr, unmatchable
from site_adapter.backends.ispyb.paging import keyset_page
from site_adapter.backends.ispyb.schema_check import SchemaInfo

_EMPTY: Page[Any] = Page(items=[], has_next_page=False, total_count=0)
_CELL = ("a", "b", "c", "alpha", "beta", "gamma")
# The code of the proposal a sample or protein belongs to (its protein's), as the audit log names it.
_AUDIT = (
    "(SELECT CONCAT(ap.`proposalCode`, ap.`proposalNumber`) FROM Proposal ap"
    " WHERE ap.`proposalId` = pr.`proposalId`)"
)


def _sample_sql(s: SchemaInfo) -> tuple[str, str]:
    has_container = s.has("Container") and s.has("BLSample", "containerId")
    columns = (
        f"bs.`blSampleId` AS id, bs.`name` AS name, {s.col('bs', 'BLSample', 'code')} AS barcode, "
        f"{s.col('cont', 'Container', 'code') if has_container else 'NULL'} AS container_code, "
        f"{s.col('cont', 'Container', 'barcode') if has_container else 'NULL'} AS container_barcode, "
        f"{s.col('bs', 'BLSample', 'location')} AS position, bs.`crystalId` AS crystal_id, "
        f"c.`proteinId` AS protein_id, pr.`proposalId` AS proposal_id, "
        f"{s.col('c', 'Crystal', 'crystalUUID')} AS crystal_uuid, {_AUDIT} AS audit_proposal"
    )
    joins = (
        "FROM BLSample bs LEFT JOIN Crystal c ON c.`crystalId` = bs.`crystalId`"
        " LEFT JOIN Protein pr ON pr.`proteinId` = c.`proteinId`"
    )
    if has_container:
        joins += " LEFT JOIN Container cont ON cont.`containerId` = bs.`containerId`"
    return columns, joins


def _build_sample(r: Mapping[str, Any]) -> model.Sample:
    external = tuple(
        model.ExternalId(system="ispyb", kind=kind, value=str(n.text(r[label])))
        for kind, label in (
            ("pin_barcode", "barcode"),
            ("crystal_uuid", "crystal_uuid"),
            ("container_barcode", "container_barcode"),
        )
        if n.text(r[label])
    )
    return model.Sample(
        local_id=str(r["id"]),
        name=n.text(r["name"]),
        barcode=n.text(r["barcode"]),
        container_code=n.text(r["container_code"]),
        position=n.integer(r["position"]),
        crystal_local_id=n.local_id(r["crystal_id"]),
        protein_local_id=n.local_id(r["protein_id"]),
        proposal_local_id=n.local_id(r["proposal_id"]),
        external_ids=external,
    )


def sample_key(r: model.Sample) -> SortKey:
    return (r.name or "", int(r.local_id))


async def samples(db: Any, s: SchemaInfo, f: SampleFilter, req: PageRequest) -> Page[model.Sample]:
    if unmatchable(f.name, f.barcode, f.protein_acronym, f.crystal_uuid):
        return _EMPTY
    compiled = terms.compile_terms(s, query.spec("sample", f, req.first, req.after).conditions, terms.SAMPLE)
    if compiled is None:
        return _EMPTY
    where, args = compiled
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
    rows = await db.fetch_rows(
        f"SELECT {columns} {joins} WHERE bs.`blSampleId` IN ({id_list(keys)})"
        + "".join(f" AND {w}" for w in vis_where),
        keys + vis_args,
    )
    access.touch(r["audit_proposal"] for r in rows)
    return {str(r["id"]): _build_sample(r) for r in rows}


async def crystals_by_id(db: Any, s: SchemaInfo, ids: Sequence[str]) -> dict[str, model.Crystal]:
    keys = int_ids(ids)
    if not keys:
        return {}
    c = functools.partial(s.col, "c", "Crystal")
    cell_sql = ", ".join(f"{c(f'cell_{x}')} AS cell_{x}" for x in _CELL)
    rows = await db.fetch_rows(
        f"SELECT c.`crystalId` AS id, {c('crystalUUID')} AS uuid, {c('spaceGroup')} AS space_group, {cell_sql},"
        f" c.`proteinId` AS protein_id FROM Crystal c WHERE c.`crystalId` IN ({id_list(keys)})"
        + "".join(f" AND {w}" for w in visibility.clause(s, "crystal", "c")[0]),
        keys + visibility.clause(s, "crystal", "c")[1],
    )
    out: dict[str, model.Crystal] = {}
    for r in rows:
        cell_values = [n.number(r[f"cell_{x}"]) for x in _CELL]
        cell = model.UnitCell(*cell_values) if all(v is not None for v in cell_values) else None  # type: ignore[arg-type]
        out[str(r["id"])] = model.Crystal(
            local_id=str(r["id"]),
            uuid=n.text(r["uuid"]),
            space_group=n.text(r["space_group"]),
            cell=cell,
            protein_local_id=n.local_id(r["protein_id"]),
        )
    return out


def _protein_columns(s: SchemaInfo) -> str:
    return (
        f"pr.`proteinId` AS id, pr.`acronym` AS acronym, {s.col('pr', 'Protein', 'name')} AS name, "
        f"{s.col('pr', 'Protein', 'sequence')} AS sequence, pr.`proposalId` AS proposal_id, "
        f"{_AUDIT} AS audit_proposal"
    )


def _build_protein(r: Mapping[str, Any]) -> model.Protein:
    return model.Protein(
        local_id=str(r["id"]),
        acronym=n.text(r["acronym"]),
        name=n.text(r["name"]),
        uniprot_ids=(),
        sequence_hash=n.sequence_hash(r["sequence"]),
        proposal_local_id=n.local_id(r["proposal_id"]),
    )


def protein_key(r: model.Protein) -> SortKey:
    return (r.acronym or "", int(r.local_id))


async def proteins(db: Any, s: SchemaInfo, f: ProteinFilter, req: PageRequest) -> Page[model.Protein]:
    if unmatchable(f.acronym):
        return _EMPTY  # a non-Latin-1 acronym is no acronym (ISPyB's text is latin1)
    compiled = terms.compile_terms(
        s, query.spec("protein", f, req.first, req.after).conditions, terms.PROTEIN
    )
    if compiled is None:
        return _EMPTY
    where, args = compiled
    joins = "FROM Protein pr" + (
        " JOIN Proposal p ON p.`proposalId` = pr.`proposalId`" if f.proposal is not None else ""
    )
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
    rows = await db.fetch_rows(
        f"SELECT {_protein_columns(s)} FROM Protein pr WHERE pr.`proteinId` IN ({id_list(keys)})"
        + "".join(f" AND {w}" for w in vis_where),
        keys + vis_args,
    )
    access.touch(r["audit_proposal"] for r in rows)
    return {str(r["id"]): _build_protein(r) for r in rows}
