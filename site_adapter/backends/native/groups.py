"""Distinct proteins of the native store (since 1.2.0, docs/proteins.md): one GROUP BY per page.

The grouping rule (site_adapter.backends.base.ProteinGroup) as PostgreSQL: the smallest UniProt
accession, else the normalised acronym; groups in (kind, key) order by code point (COLLATE "C").
Builds SQL and rows only; the backend runs it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from site_adapter import query
from site_adapter.backends.base import InvalidInput, Page, PageRequest, ProteinFilter, ProteinGroup
from site_adapter.backends.native import queries as q

Fetch = Callable[..., Awaitable[list[Any]]]

# Per protein: its smallest accession (trimmed, upper case; blanks ignored) and its normalised acronym.
_KEYED = """
SELECT pr.id, pr.acronym, pr.name, pr.uniprot_ids,
       CASE WHEN acc.a IS NULL THEN 'ACRONYM' ELSE 'UNIPROT' END AS kind,
       coalesce(acc.a, upper(btrim(regexp_replace(coalesce(pr.acronym, ''), '[[:space:]]+', ' ', 'g'))))
           AS key
FROM protein pr
CROSS JOIN LATERAL (
    SELECT min(upper(btrim(u)) COLLATE "C") AS a FROM unnest(pr.uniprot_ids) u WHERE btrim(u) <> ''
) acc"""


def group_sql(f: ProteinFilter, page: PageRequest) -> tuple[str, str, list[Any], int]:
    """(page SQL, count SQL, bind values, how many of them the count takes)."""
    p = q.Params()
    spec = query.spec("protein", f, page.first, None)
    where = q.where(spec, p)
    n_filter = len(p.values)
    after = _position(page.after)
    keyset = ""
    if after is not None:
        keyset = f' WHERE (k.kind COLLATE "C", k.key COLLATE "C") > ({p.add(after[0])}, {p.add(after[1])})'
    limit = p.add(page.first + 1)
    keyed = f"{_KEYED}{q.where_sql(where)}"
    rows_sql = (
        f"WITH k AS ({keyed})"
        ' SELECT k.kind, k.key, count(*) AS n, min(k.acronym COLLATE "C") AS acronym,'
        ' min(k.name COLLATE "C") AS name, array_agg(k.id ORDER BY k.id) AS ids,'
        " string_agg(array_to_string(k.uniprot_ids, ' '), ' ') AS accessions"
        f" FROM k{keyset} GROUP BY k.kind, k.key"
        f' ORDER BY k.kind COLLATE "C", k.key COLLATE "C" LIMIT {limit}'
    )
    count_sql = f"WITH k AS ({keyed}) SELECT count(*) AS n FROM (SELECT DISTINCT k.kind, k.key FROM k) g"
    return rows_sql, count_sql, p.values, n_filter


def _position(after: tuple[object, ...] | None) -> tuple[str, str] | None:
    if after is None:
        return None
    if len(after) != 2 or not all(isinstance(v, str) for v in after):
        raise InvalidInput("malformed keyset position")
    return str(after[0]), str(after[1])


def accessions(text: str | None) -> tuple[str, ...]:
    """The members' accessions as served: trimmed, upper case, each once, sorted by code point."""
    return tuple(sorted({u.upper() for u in (text or "").split()}))


def group(r: Any) -> ProteinGroup:
    return ProteinGroup(
        kind=r["kind"],
        key=r["key"],
        count=int(r["n"]),
        acronym=r["acronym"],
        name=r["name"],
        uniprot_ids=accessions(r["accessions"]),
        member_ids=tuple(str(i) for i in r["ids"]),
    )


async def protein_groups(fetch: Fetch, f: ProteinFilter, page: PageRequest) -> Page[ProteinGroup]:
    rows_sql, count_sql, values, n_filter = group_sql(f, page)
    rows = await fetch(rows_sql, *values)
    total = int((await fetch(count_sql, *values[:n_filter]))[0]["n"]) if page.count else 0
    items = [((r["kind"], r["key"]), group(r)) for r in rows[: page.first]]
    return Page(items=items, has_next_page=len(rows) > page.first, total_count=total)
