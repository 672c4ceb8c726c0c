"""Distinct proteins of an ISPyB (since 1.2.0, docs/proteins.md): one GROUP BY per page.

ISPyB v5's Protein has no UniProt column (tables.sql), so every group is an ACRONYM group: the acronym
upper-cased, trimmed, runs of white space made one space. Groups sort by key in code-point order
(utf8mb4_bin), as the native store's COLLATE "C" does, so the hub merges both kinds of site.
"""

from __future__ import annotations

from typing import Any

from site_adapter import query
from site_adapter.backends.base import InvalidInput, Page, PageRequest, ProteinFilter, ProteinGroup
from site_adapter.backends.ispyb import terms, visibility
from site_adapter.backends.ispyb.keyset import text_expr, unmatchable
from site_adapter.backends.ispyb.schema_check import SchemaInfo

_EMPTY: Page[ProteinGroup] = Page(items=[], has_next_page=False, total_count=0)
_KEY = text_expr("UPPER(TRIM(REGEXP_REPLACE(COALESCE(pr.`acronym`, ''), '[[:space:]]+', ' ')))")


def _position(after: tuple[object, ...] | None) -> str | None:
    """The key to page after; an ACRONYM position only (a UNIPROT one sorts after every group here)."""
    if after is None:
        return None
    if len(after) != 2 or not all(isinstance(v, str) for v in after):
        raise InvalidInput("malformed keyset position")
    return str(after[1]) if after[0] == "ACRONYM" else None


async def protein_groups(db: Any, s: SchemaInfo, f: ProteinFilter, req: PageRequest) -> Page[ProteinGroup]:
    if req.first < 0:
        raise InvalidInput("first must not be negative")
    if unmatchable(f.acronym):
        return _EMPTY  # a non-Latin-1 acronym is no acronym (ISPyB's text is latin1)
    if req.after is not None and req.after[0] == "UNIPROT":
        return _EMPTY  # past every ACRONYM group: this store has no other kind
    compiled = terms.compile_terms(s, query.spec("protein", f, req.first, None).conditions, terms.PROTEIN)
    if compiled is None:
        return _EMPTY
    where, args = compiled
    joins = "FROM Protein pr" + (
        " JOIN Proposal p ON p.`proposalId` = pr.`proposalId`" if f.proposal is not None else ""
    )
    vis_where, vis_args = visibility.clause(s, "protein", "pr")
    where, args = where + vis_where, args + vis_args
    from_where = f"{joins} WHERE " + (" AND ".join(where) or "TRUE")
    total = 0
    if req.count:
        rows = await db.fetch_rows(f"SELECT COUNT(DISTINCT {_KEY}) AS n {from_where}", args)
        total = int(rows[0]["n"])
    after = _position(req.after)
    after_sql, after_args = ("", []) if after is None else (f" AND {_KEY} > %s", [after])
    name = s.col("pr", "Protein", "name")
    rows = await db.fetch_rows(
        f"SELECT {_KEY} AS k, COUNT(*) AS n, MIN({text_expr('pr.`acronym`')}) AS acronym,"
        f" MIN(CONVERT({name} USING utf8mb4) COLLATE utf8mb4_bin) AS name,"
        " GROUP_CONCAT(pr.`proteinId` ORDER BY pr.`proteinId` SEPARATOR ',') AS ids"
        f" {from_where}{after_sql} GROUP BY k ORDER BY k LIMIT %s",
        args + after_args + [req.first + 1],
    )
    items = [(("ACRONYM", str(r["k"])), _group(r)) for r in rows[: req.first]]
    return Page(items=items, has_next_page=len(rows) > req.first, total_count=total)


def _group(r: dict[str, Any]) -> ProteinGroup:
    return ProteinGroup(
        kind="ACRONYM",
        key=str(r["k"]),
        count=int(r["n"]),
        acronym=r["acronym"] or None,  # text_expr reads a missing acronym as ""
        name=r["name"],
        uniprot_ids=(),
        member_ids=tuple(str(r["ids"] or "").split(",")) if r["ids"] else (),
    )
