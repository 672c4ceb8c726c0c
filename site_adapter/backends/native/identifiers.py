"""SQL of the native store's identifiers (migration 010): DOIs, PDB entries, archive links.

Batch lookups, one statement each, keyed by the records they hang on. The GraphQL layer asks only
about collections, sessions and proteins the caller could load, so no access rule is repeated here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from site_adapter import model

Fetch = Callable[..., Awaitable[list[Any]]]

# A collection's own DOI wins over its data set's (group's): the most specific one cites it best.
_COLLECTION_DOIS = """
SELECT dc.id AS key, d.doi, d.licence, d.open_from,
       CASE WHEN d.data_collection_id IS NOT NULL THEN 'collection' ELSE 'dataset' END AS level,
       coalesce(d.data_collection_id, d.data_collection_group_id) AS owner
FROM data_collection dc
JOIN doi d ON d.data_collection_id = dc.id OR d.data_collection_group_id = dc.group_id
WHERE dc.id = ANY($1::bigint[])
ORDER BY dc.id, (d.data_collection_id IS NULL), d.id
"""
_SESSION_DOIS = """
SELECT d.session_id AS key, d.doi, d.licence, d.open_from, 'session' AS level, d.session_id AS owner
FROM doi d WHERE d.session_id = ANY($1::bigint[]) ORDER BY d.session_id, d.id
"""
_PROTEIN_ENTRIES = """
SELECT pe.*, 'protein' AS relation, pe.protein_id AS key, pe.protein_id AS owner
FROM pdb_entry pe WHERE pe.protein_id = ANY($1::bigint[]) ORDER BY pe.protein_id, pe.id
"""
_COLLECTION_ENTRIES = """
SELECT pe.*, 'processing' AS relation, pr.data_collection_id AS key, pr.id AS owner
FROM pdb_entry pe JOIN processing_result pr ON pr.id = pe.processing_result_id
WHERE pr.data_collection_id = ANY($1::bigint[]) ORDER BY pr.data_collection_id, pe.id
"""
_ARCHIVE_LINKS = """
SELECT a.data_collection_id AS key, a.url, a.kind, a.open_from
FROM archive_link a WHERE a.data_collection_id = ANY($1::bigint[]) ORDER BY a.data_collection_id, a.id
"""


def _keys(ids: Sequence[str]) -> list[int]:
    """Integer ids within bigint: anything else cannot match (and must not overflow the driver)."""
    return [int(i) for i in ids if str(i).isdigit() and 0 < int(i) < 2**63]


def _doi(r: Any) -> model.Doi:
    return model.Doi(
        doi=r["doi"],
        level=r["level"],
        owner_local_id=str(r["owner"]),
        licence=r["licence"],
        open_from=r["open_from"],
    )


def _entry(r: Any) -> model.PdbEntry:
    return model.from_row(model.PdbEntry, r, relation=r["relation"], owner_local_id=str(r["owner"]))


async def dois(fetch: Fetch, ids: Sequence[str], *, sessions: bool) -> dict[str, model.Doi]:
    """The first (most specific) DOI of each collection, or each session's DOI."""
    keys = _keys(ids)
    if not keys:
        return {}
    out: dict[str, model.Doi] = {}
    for r in await fetch(_SESSION_DOIS if sessions else _COLLECTION_DOIS, keys):
        out.setdefault(str(r["key"]), _doi(r))
    return out


async def pdb_entries(fetch: Fetch, ids: Sequence[str], *, proteins: bool) -> dict[str, list[model.PdbEntry]]:
    """PDB entries of each protein, or of each collection's processing results."""
    keys = _keys(ids)
    out: dict[str, list[model.PdbEntry]] = {str(k): [] for k in keys}
    if keys:
        for r in await fetch(_PROTEIN_ENTRIES if proteins else _COLLECTION_ENTRIES, keys):
            out[str(r["key"])].append(_entry(r))
    return out


async def archive_links(fetch: Fetch, ids: Sequence[str]) -> dict[str, list[model.ArchiveLink]]:
    keys = _keys(ids)
    out: dict[str, list[model.ArchiveLink]] = {str(k): [] for k in keys}
    if keys:
        for r in await fetch(_ARCHIVE_LINKS, keys):
            out[str(r["key"])].append(
                model.ArchiveLink(url=r["url"], kind=r["kind"], open_from=r["open_from"])
            )
    return out
