"""The native PostgreSQL store as a Backend: one asyncpg pool, migrations applied on start.

Each method is one statement (or two: a page and its count), whatever the batch size.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import asyncpg

from mx_schema import postgres
from site_adapter import access, model, query
from site_adapter.backends import base
from site_adapter.backends.native import identifiers
from site_adapter.backends.native import queries as q
from site_adapter.backends.native.migrate import migrate
from site_adapter.zones import facility_zone

_DC_COLUMNS = "dc.*"
_SESSION_SELECT = (
    "SELECT se.*, po.code AS proposal_code, po.code AS audit_proposal"
    " FROM session se JOIN proposal po ON po.id = se.proposal_id"
)


T = TypeVar("T")


class NativeBackend:
    kind = "native"

    def __init__(
        self,
        dsn: str,
        *,
        min_size: int = 2,
        max_size: int = 10,
        apply_migrations: bool = True,
        time_zone: str | None = None,
    ) -> None:
        """`time_zone`: the facility's IANA zone. The store keeps instants (timestamptz), so it
        converts nothing; it is checked here so that every site states a real zone (docs/time.md)."""
        self.time_zone = facility_zone(time_zone)
        self.dsn = dsn
        self._apply_migrations = apply_migrations
        self._pool = postgres.Pool(dsn, min_size=min_size, max_size=max_size, timeout=10)
        self.statements = 0  # statements sent; tests use it to prove batching

    async def start(self) -> None:
        try:
            pool = await self._pool.open()
        except postgres.CONNECT_FAILURES as exc:
            raise base.BackendError(
                f"cannot connect to the native store's PostgreSQL: {postgres.reason(exc)}"
            ) from None
        if self._apply_migrations:
            async with pool.acquire() as conn:
                await migrate(conn)

    async def close(self) -> None:
        await self._pool.close()

    @property
    def pool(self) -> asyncpg.Pool:
        if not self._pool.is_open:
            raise base.BackendError("native store is not started")
        return self._pool.raw

    async def ping(self) -> None:
        await self._fetch("SELECT 1")

    async def _fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        self.statements += 1
        try:
            rows: list[asyncpg.Record] = await self.pool.fetch(sql, *args)
            return rows
        except postgres.UNAVAILABLE as exc:
            raise base.BackendError(f"native store unavailable: {postgres.reason(exc)}") from None

    async def _page(
        self,
        select: str,
        count_from: str,
        where: list[str],
        keyset: list[str],
        order: str,
        p: q.Params,
        page: base.PageRequest,
        convert: Callable[[Any], T],
        key: Callable[[Any], base.SortKey],
    ) -> base.Page[T]:
        limit = p.add(page.first + 1)
        rows_sql = f"{select}{q.where_sql(where + keyset)} ORDER BY {order} LIMIT {limit}"
        n_filter_args = len(p.values) - 1 - _count_keyset_args(keyset)
        count_sql = f"SELECT count(*) AS n FROM {count_from}{q.where_sql(where)}"
        rows, count = await asyncio.gather(
            self._fetch(rows_sql, *p.values),
            self._fetch(count_sql, *p.values[:n_filter_args]),
        )
        items = [(key(r), convert(r)) for r in rows[: page.first]]
        _audit(rows[: page.first])
        return base.Page(items=items, has_next_page=len(rows) > page.first, total_count=count[0]["n"])

    # --- root connections --------------------------------------------------------------------

    async def data_collections(
        self, f: base.DataCollectionFilter, page: base.PageRequest
    ) -> base.Page[model.DataCollection]:
        p = q.Params()
        spec = query.spec("data_collection", f, page.first, page.after)
        where = q.data_collection_where(spec, f, p)
        keyset = q.time_keyset("dc.sort_time", "dc.id", spec.after, p)
        return await self._page(
            f"SELECT {_DC_COLUMNS}, {q.audit_column('data_collection', 'dc')} FROM data_collection dc",
            "data_collection dc",
            where,
            keyset,
            "dc.sort_time DESC, dc.id DESC",
            p,
            page,
            q.data_collection,
            lambda r: q.time_sort_key(r["start_time"], r["id"]),
        )

    async def samples(self, f: base.SampleFilter, page: base.PageRequest) -> base.Page[model.Sample]:
        p = q.Params()
        spec = query.spec("sample", f, page.first, page.after)
        where = q.where(spec, p)
        keyset = q.text_keyset("coalesce(s.name, '')", "s.id", spec.after, p)
        return await self._page(
            f"SELECT s.*, {q.audit_column('sample', 's')} FROM sample s",
            "sample s",
            where,
            keyset,
            "coalesce(s.name, '') COLLATE \"C\", s.id",
            p,
            page,
            q.sample,
            lambda r: (r["name"] or "", r["id"]),
        )

    async def proteins(self, f: base.ProteinFilter, page: base.PageRequest) -> base.Page[model.Protein]:
        p = q.Params()
        spec = query.spec("protein", f, page.first, page.after)
        where = q.where(spec, p)
        keyset = q.text_keyset("coalesce(pr.acronym, '')", "pr.id", spec.after, p)
        return await self._page(
            f"SELECT pr.*, {q.audit_column('protein', 'pr')} FROM protein pr",
            "protein pr",
            where,
            keyset,
            "coalesce(pr.acronym, '') COLLATE \"C\", pr.id",
            p,
            page,
            q.protein,
            lambda r: (r["acronym"] or "", r["id"]),
        )

    async def sessions(self, f: base.SessionFilter, page: base.PageRequest) -> base.Page[model.Session]:
        p = q.Params()
        spec = query.spec("session", f, page.first, page.after)
        where = q.where(spec, p)
        sort = f"coalesce(se.start_time, '{q.NO_TIME.isoformat()}'::timestamptz)"
        keyset = q.time_keyset(sort, "se.id", spec.after, p)
        return await self._page(
            _SESSION_SELECT,
            "session se",
            where,
            keyset,
            f"{sort} DESC, se.id DESC",
            p,
            page,
            q.session,
            lambda r: q.time_sort_key(r["start_time"], r["id"]),
        )

    async def proposals(self, f: base.ProposalFilter, page: base.PageRequest) -> base.Page[model.Proposal]:
        p = q.Params()
        spec = query.spec("proposal", f, page.first, page.after)
        where = q.where(spec, p)
        keyset = q.text_keyset("po.code", "po.id", spec.after, p)
        return await self._page(
            f"SELECT po.*, {q.audit_column('proposal', 'po')} FROM proposal po",
            "proposal po",
            where,
            keyset,
            'po.code COLLATE "C", po.id',
            p,
            page,
            q.proposal,
            lambda r: (r["code"], r["id"]),
        )

    # --- batch lookups -------------------------------------------------------------------------

    async def _by_id(
        self, kind: str, alias: str, select: str, ids: Sequence[str], convert: Callable[[Any], Any]
    ) -> dict[str, Any]:
        """One statement for a batch of ids, with the access rule applied (hidden ids are absent)."""
        keys = _int_ids(ids)
        if not keys:
            return {}
        p = q.Params()
        where = [f"{alias}.id = ANY({p.add(keys)})"] + q.visibility(kind, alias, p)
        rows = await self._fetch(f"{select}{q.where_sql(where)}", *p.values)
        _audit(rows)
        return {str(r["id"]): convert(r) for r in rows}

    async def data_collections_by_id(self, ids: Sequence[str]) -> dict[str, model.DataCollection]:
        return await self._by_id(
            "data_collection",
            "dc",
            f"SELECT dc.*, {q.audit_column('data_collection', 'dc')} FROM data_collection dc",
            ids,
            q.data_collection,
        )

    async def sessions_by_id(self, ids: Sequence[str]) -> dict[str, model.Session]:
        return await self._by_id("session", "se", _SESSION_SELECT, ids, q.session)

    async def proposals_by_id(self, ids: Sequence[str]) -> dict[str, model.Proposal]:
        return await self._by_id(
            "proposal",
            "po",
            f"SELECT po.*, {q.audit_column('proposal', 'po')} FROM proposal po",
            ids,
            q.proposal,
        )

    async def samples_by_id(self, ids: Sequence[str]) -> dict[str, model.Sample]:
        return await self._by_id(
            "sample", "s", f"SELECT s.*, {q.audit_column('sample', 's')} FROM sample s", ids, q.sample
        )

    async def crystals_by_id(self, ids: Sequence[str]) -> dict[str, model.Crystal]:
        return await self._by_id("crystal", "c", "SELECT c.* FROM crystal c", ids, q.crystal)

    async def proteins_by_id(self, ids: Sequence[str]) -> dict[str, model.Protein]:
        return await self._by_id(
            "protein", "pr", f"SELECT pr.*, {q.audit_column('protein', 'pr')} FROM protein pr", ids, q.protein
        )

    async def detectors_by_id(self, ids: Sequence[str]) -> dict[str, model.Detector]:
        return await self._by_id("detector", "d", "SELECT d.* FROM detector d", ids, q.detector)

    async def groups_by_id(self, ids: Sequence[str]) -> dict[str, model.DataCollectionGroup]:
        return await self._by_id(
            "data_collection_group", "g", "SELECT g.* FROM data_collection_group g", ids, q.group
        )

    async def processing_results_by_id(self, ids: Sequence[str]) -> dict[str, model.ProcessingResult]:
        return await self._by_id(
            "processing_result", "pr", "SELECT pr.* FROM processing_result pr", ids, q.processing_result
        )

    async def processing_by_collection(self, ids: Sequence[str]) -> dict[str, list[model.ProcessingResult]]:
        keys = _int_ids(ids)
        out: dict[str, list[model.ProcessingResult]] = {str(k): [] for k in keys}
        if keys:
            p = q.Params()
            where = [f"pr.data_collection_id = ANY({p.add(keys)})"] + q.visibility(
                "processing_result", "pr", p
            )
            rows = await self._fetch(
                f"SELECT pr.* FROM processing_result pr{q.where_sql(where)} ORDER BY pr.data_collection_id, pr.id",
                *p.values,
            )
            for r in rows:
                out[str(r["data_collection_id"])].append(q.processing_result(r))
        return out

    async def data_collection_ids_by_sample(self, sample_ids: Sequence[str]) -> dict[str, list[str]]:
        keys = _int_ids(sample_ids)
        out: dict[str, list[str]] = {str(k): [] for k in keys}
        if keys:
            p = q.Params()
            where = [f"dc.sample_id = ANY({p.add(keys)})"] + q.visibility("data_collection", "dc", p)
            rows = await self._fetch(
                f"SELECT dc.sample_id, dc.id FROM data_collection dc{q.where_sql(where)}"
                " ORDER BY dc.sort_time DESC, dc.id DESC",
                *p.values,
            )
            for r in rows:
                out[str(r["sample_id"])].append(str(r["id"]))
        return out

    # Identifiers (issue 19, migration 010): base.IdentifierStore
    async def dois_by_collection(self, ids: Sequence[str]) -> dict[str, model.Doi]:
        return await identifiers.dois(self._fetch, ids, sessions=False)

    async def dois_by_session(self, ids: Sequence[str]) -> dict[str, model.Doi]:
        return await identifiers.dois(self._fetch, ids, sessions=True)

    async def pdb_entries_by_protein(self, ids: Sequence[str]) -> dict[str, list[model.PdbEntry]]:
        return await identifiers.pdb_entries(self._fetch, ids, proteins=True)

    async def pdb_entries_by_collection(self, ids: Sequence[str]) -> dict[str, list[model.PdbEntry]]:
        return await identifiers.pdb_entries(self._fetch, ids, proteins=False)

    async def archive_links_by_collection(self, ids: Sequence[str]) -> dict[str, list[model.ArchiveLink]]:
        return await identifiers.archive_links(self._fetch, ids)


def _audit(rows: Sequence[asyncpg.Record]) -> None:
    """Name the proposals of the records served in the audit log, by code (site_adapter.access.touch)."""
    if rows and "audit_proposal" in rows[0].keys():
        access.touch(r["audit_proposal"] for r in rows)


def _int_ids(ids: Sequence[str]) -> list[int]:
    """Local ids of this store are integers; anything else cannot match and is dropped."""
    out = []
    for i in ids:
        try:
            n = int(i)
        except (TypeError, ValueError):
            continue
        if 0 < n < 2**63:  # bigint: a forged id past it would overflow in the driver (an INTERNAL error)
            out.append(n)
    return out


def _count_keyset_args(keyset: list[str]) -> int:
    return 2 if keyset else 0
