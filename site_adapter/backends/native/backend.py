"""The native PostgreSQL store as a Backend: one asyncpg pool, migrations applied on start.

Each method is one statement (or two: a page and its count), whatever the batch size.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg

from mx_schema import postgres
from site_adapter import access, model, query, tracing
from site_adapter.backends import base
from site_adapter.backends.native import counting, facets, groups, identifiers
from site_adapter.backends.native import queries as q
from site_adapter.backends.native import screening as sc
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
        exact_count_limit: int = counting.DEFAULT_EXACT_LIMIT,
        count_max_cost: float = counting.DEFAULT_MAX_COST,
        count_budget: float | None = None,
    ) -> None:
        """`time_zone`: the facility's IANA zone. The store keeps instants (timestamptz), so it
        converts nothing; it is checked here so that every site states a real zone (docs/time.md).
        `exact_count_limit` (matches) and `count_max_cost` (planner cost): how far a page's totalCount
        is counted exactly; past either it is an estimate, and says so (counting.py). `count_budget` (s,
        off by default): also give up counting after this long, at the price of answers that depend
        on the machine's load."""
        if exact_count_limit < 0 or count_max_cost < 0 or (count_budget is not None and count_budget <= 0):
            raise ValueError(
                "exact_count_limit and count_max_cost must be zero or more and count_budget positive,"
                f" got {exact_count_limit}, {count_max_cost} and {count_budget}"
            )
        self.time_zone = facility_zone(time_zone)
        self.exact_count_limit = exact_count_limit
        self.count_max_cost = count_max_cost
        self.count_budget = count_budget
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
            with tracing.db_span("postgresql", sql):
                rows: list[asyncpg.Record] = await self.pool.fetch(sql, *args)
            return rows
        except postgres.UNAVAILABLE as exc:
            raise base.BackendError(f"native store unavailable: {postgres.reason(exc)}") from None

    async def _fetch_within(self, sql: str, *args: Any) -> list[asyncpg.Record] | None:
        """Like _fetch, but None when the statement runs past the count budget (if one is set): the
        driver cancels it on the server, and the connection goes back to the pool usable."""
        self.statements += 1
        try:
            with tracing.db_span("postgresql", sql):
                rows: list[asyncpg.Record] = await self.pool.fetch(sql, *args, timeout=self.count_budget)
            return rows
        except TimeoutError:
            return None
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
        fence: Fence | None = None,
    ) -> base.Page[T]:
        """`fence`: how to read the page filter-first (fenced_sql), when it may be."""
        limit = p.add(page.first + 1)
        rows_sql = f"{select}{q.where_sql(where + keyset)} ORDER BY {order} LIMIT {limit}"
        n_filter_args = len(p.values) - 1 - _count_keyset_args(keyset)
        total, kind = 0, base.CountKind.EXACT
        if not page.count:  # totalCount not selected: an unfiltered count reads the whole table
            rows = await self._fetch(rows_sql, *p.values)
        else:
            # The page and its count run side by side; a count that already answers the page (no match
            # at all, or `first: 0` from the start) cancels the page's statement, which for a filter with
            # few matches may walk a whole ordering index to find none (issue 17).
            page_rows = asyncio.ensure_future(self._fetch(rows_sql, *p.values))
            try:
                c = await counting.count(
                    self._fetch,
                    self._fetch_within,
                    count_from,
                    q.where_sql(where),
                    p.values[:n_filter_args],
                    self.exact_count_limit,
                    self.count_max_cost,
                )
            except BaseException:
                page_rows.cancel()
                raise
            total, kind = c.total, c.kind
            nothing = c.kind is base.CountKind.EXACT and c.total == 0
            if nothing or (page.first == 0 and not keyset and c.seen > 0):
                page_rows.cancel()  # not awaited: the driver cancels it on the server meanwhile
                page_rows.add_done_callback(_retrieved)
                return base.Page(items=[], has_next_page=not nothing, total_count=total, count_kind=kind)
            few = c.kind is base.CountKind.EXACT and c.total <= min(self.exact_count_limit, FENCE_LIMIT)
            if few and fence is not None and not page_rows.done():
                # Few matches, and the page is still looking for them along its ordering index (the
                # planner's bet that matches come early, lost when a filter's terms are correlated:
                # TLN better than 1.3 Å walked all 1M to find none). Read them filter-first instead.
                page_rows.cancel()
                page_rows.add_done_callback(_retrieved)
                page_rows = asyncio.ensure_future(
                    self._fetch(fenced_sql(fence, q.where_sql(where + keyset), order, limit), *p.values)
                )
            rows = await page_rows
        items = [(key(r), convert(r)) for r in rows[: page.first]]
        _audit(rows[: page.first])
        return base.Page(
            items=items, has_next_page=len(rows) > page.first, total_count=total, count_kind=kind
        )

    # --- root connections --------------------------------------------------------------------

    async def data_collections(
        self, f: base.DataCollectionFilter, page: base.PageRequest
    ) -> base.Page[model.DataCollection]:
        p = q.Params()
        spec = query.spec("data_collection", f, page.first, page.after, page.order)
        where = q.data_collection_where(spec, f, p)
        sort = spec.sort
        if sort is None:
            keyset = q.time_keyset("dc.sort_time", "dc.id", spec.after, p)
            order = "dc.sort_time DESC, dc.id DESC"
        else:
            keyset, order = q.sort_keyset(sort, spec.after, p)
        return await self._page(
            f"SELECT {_DC_COLUMNS}, {q.audit_column('data_collection', 'dc')} FROM data_collection dc",
            "data_collection dc",
            where,
            keyset,
            order,
            p,
            page,
            q.data_collection,
            (lambda r: q.time_sort_key(r["start_time"], r["id"]))
            if sort is None
            else (lambda r: q.sort_value(sort, r)),
            fence=_DC_FENCE,
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

    # --- grid scans and downstream results (issue 16; migration 006) ---------------------------

    async def _lists_by(
        self, table: str, key: str, order: str, ids: Sequence[str], convert: Callable[[Any], T], rule: Any
    ) -> dict[str, list[T]]:
        """One statement: rows of `table` whose `key` is one of `ids`, grouped by it, visible ones only."""
        keys = _int_ids(ids)
        out: dict[str, list[T]] = {str(i): [] for i in ids}
        if keys:
            p = q.Params()
            where = [f"t.{key} = ANY({p.add(keys)})"] + rule(f"t.{key}", p)
            rows = await self._fetch(
                f"SELECT t.* FROM {table} t{q.where_sql(where)} ORDER BY t.{key}, t.{order}", *p.values
            )
            for r in rows:
                out.setdefault(str(r[key]), []).append(convert(r))
        return out

    async def grids_by_collection(self, ids: Sequence[str]) -> dict[str, model.GridScan | None]:
        found = await self._lists_by(
            "grid_scan", "data_collection_id", "id", ids, q.grid_scan, q.visible_collections
        )
        return {k: (v[0] if v else None) for k, v in found.items()}

    async def image_quality_by_collection(self, ids: Sequence[str]) -> dict[str, list[model.ImageQuality]]:
        return await self._lists_by(
            "image_quality", "data_collection_id", "image_number", ids, q.image_quality, q.visible_collections
        )

    async def xray_centring_by_collection(
        self, ids: Sequence[str]
    ) -> dict[str, list[model.XrayCentringResult]]:
        return await self._lists_by(
            "xray_centring_result",
            "data_collection_id",
            "id",
            ids,
            q.xray_centring_result,
            q.visible_collections,
        )

    async def integrations_by_result(self, ids: Sequence[str]) -> dict[str, list[model.Integration]]:
        return await self._lists_by(
            "integration", "processing_result_id", "id", ids, q.integration, q.visible_results
        )

    async def mr_runs_by_result(self, ids: Sequence[str]) -> dict[str, list[model.MrRun]]:
        return await self._lists_by("mr_run", "processing_result_id", "id", ids, q.mr_run, q.visible_results)

    async def phasing_by_result(self, ids: Sequence[str]) -> dict[str, list[model.Phasing]]:
        return await self._lists_by(
            "phasing", "processing_result_id", "id", ids, q.phasing, q.visible_results
        )

    # --- result files, program messages, snapshots (issue 16) ------------------------------------
    # No access rule in these statements: each is as visible as its data collection, which the GraphQL
    # layer reaches first and the download route checks (docs/files.md).

    _FILE_SELECT = (
        "SELECT f.id, f.processing_result_id AS processing_id, pr.data_collection_id, f.name,"
        " f.directory, f.kind, f.importance, f.recorded"
        " FROM result_file f JOIN processing_result pr ON pr.id = f.processing_result_id"
    )

    async def files_by_processing(self, ids: Sequence[str]) -> dict[str, list[model.ResultFile]]:
        keys = _int_ids(ids)
        out: dict[str, list[model.ResultFile]] = {str(k): [] for k in keys}
        if keys:
            rows = await self._fetch(
                f"{self._FILE_SELECT} WHERE f.processing_result_id = ANY($1)"
                " ORDER BY f.processing_result_id, f.importance DESC NULLS LAST, f.id",
                keys,
            )
            for r in rows:
                out[str(r["processing_id"])].append(q.result_file(r))
        return out

    async def files_by_id(self, ids: Sequence[str]) -> dict[str, model.ResultFile]:
        keys = _int_ids(ids)
        if not keys:
            return {}
        rows = await self._fetch(f"{self._FILE_SELECT} WHERE f.id = ANY($1)", keys)
        return {str(r["id"]): q.result_file(r) for r in rows}

    async def messages_by_processing(self, ids: Sequence[str]) -> dict[str, list[model.ProgramMessage]]:
        keys = _int_ids(ids)
        out: dict[str, list[model.ProgramMessage]] = {str(k): [] for k in keys}
        if keys:
            rows = await self._fetch(
                "SELECT m.id, m.processing_result_id AS processing_id, m.severity, m.message, m.description,"
                " m.recorded AS time FROM program_message m WHERE m.processing_result_id = ANY($1)"
                " ORDER BY m.processing_result_id, m.recorded NULLS LAST, m.id",
                keys,
            )
            for r in rows:
                out[str(r["processing_id"])].append(model.from_row(model.ProgramMessage, r))
        return out

    async def snapshots_by_collection(self, ids: Sequence[str]) -> dict[str, list[model.Snapshot]]:
        keys = _int_ids(ids)
        out: dict[str, list[model.Snapshot]] = {str(k): [] for k in keys}
        if keys:
            rows = await self._fetch(
                "SELECT data_collection_id, position, path FROM snapshot"
                " WHERE data_collection_id = ANY($1) ORDER BY data_collection_id, position",
                keys,
            )
            for r in rows:
                out[str(r["data_collection_id"])].append(q.snapshot(r))
        return out

    async def snapshots_by_id(self, ids: Sequence[str]) -> dict[str, model.Snapshot]:
        """Snapshot ids are `<data collection id>-<position>`."""
        wanted = {i for i in ids if isinstance(i, str) and "-" in i}
        found = await self.snapshots_by_collection(sorted({i.split("-", 1)[0] for i in wanted}))
        return {s.local_id: s for snaps in found.values() for s in snaps if s.local_id in wanted}

    # --- characterisation, scans and plans (base.ScreeningBackend, since 1.2.0) ----------------

    async def screenings_by_collection(self, ids: Sequence[str]) -> dict[str, list[model.Screening]]:
        return await sc.grouped(
            self._fetch,
            "screening",
            "data_collection_id",
            _int_ids(ids),
            "data_collection",
            "data_collection_id",
            sc.screening,
            ids,
        )

    async def energy_scans_by_session(self, ids: Sequence[str]) -> dict[str, list[model.EnergyScan]]:
        return await sc.grouped(
            self._fetch,
            "energy_scan",
            "session_id",
            _int_ids(ids),
            "session",
            "session_id",
            sc.energy_scan,
            ids,
        )

    async def energy_scans_by_sample(self, ids: Sequence[str]) -> dict[str, list[model.EnergyScan]]:
        return await sc.grouped(
            self._fetch,
            "energy_scan",
            "sample_id",
            _int_ids(ids),
            "session",
            "session_id",
            sc.energy_scan,
            ids,
        )

    async def xrf_spectra_by_session(self, ids: Sequence[str]) -> dict[str, list[model.XrfSpectrum]]:
        return await sc.grouped(
            self._fetch,
            "xrf_spectrum",
            "session_id",
            _int_ids(ids),
            "session",
            "session_id",
            sc.xrf_spectrum,
            ids,
        )

    async def xrf_spectra_by_sample(self, ids: Sequence[str]) -> dict[str, list[model.XrfSpectrum]]:
        return await sc.grouped(
            self._fetch,
            "xrf_spectrum",
            "sample_id",
            _int_ids(ids),
            "session",
            "session_id",
            sc.xrf_spectrum,
            ids,
        )

    async def diffraction_plans_by_sample(self, ids: Sequence[str]) -> dict[str, model.DiffractionPlan]:
        return await sc.plans_by_sample(self._fetch, _int_ids(ids))

    async def diffraction_plans_by_collection(self, ids: Sequence[str]) -> dict[str, model.DiffractionPlan]:
        return await sc.plans_by_collection(self._fetch, _int_ids(ids))

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

    # --- distinct proteins (since 1.2.0) -------------------------------------------------------

    async def protein_groups(
        self, f: base.ProteinFilter, page: base.PageRequest
    ) -> base.Page[base.ProteinGroup]:
        """distinctProteins: one GROUP BY per page (native/groups.py)."""
        return await groups.protein_groups(self._fetch, f, page)

    # --- facets (since 1.2.0) ------------------------------------------------------------------

    async def data_collection_facets(
        self, f: base.DataCollectionFilter, fields: Sequence[base.FacetField], first: int
    ) -> list[base.FacetCounts]:
        """dataCollectionFacets: exact within the count's cap and cost, else a sample (native/facets.py)."""
        return await facets.data_collection_facets(
            self._fetch, self._fetch_within, f, fields, first, self.exact_count_limit, self.count_max_cost
        )


# A page whose count found at most this many matches may be read filter-first: all of them fetched by the
# filter's own indexes, then the first of the order picked (a top-N sort of at most this many rows).
FENCE_LIMIT = 5_000


@dataclass(frozen=True, slots=True)
class Fence:
    """A page's statement split for a filter-first read: the rows (`inner`, narrow, before the filter),
    the alias `order` names them by, and the columns picked from them for the page's few rows only."""

    inner: str
    alias: str
    columns: str


_DC_FENCE = Fence(
    f"SELECT {_DC_COLUMNS} FROM data_collection dc", "dc", f"dc.*, {q.audit_column('data_collection', 'dc')}"
)


def fenced_sql(fence: Fence, where_sql: str, order: str, limit: str) -> str:
    """The page's statement read filter-first: the filtered rows in a subquery that OFFSET 0 keeps the
    planner from merging (so the ordering index cannot drive it), ordered and limited outside, and the
    costly columns (the audit's proposal) made for the page's rows alone."""
    return (
        f"SELECT {fence.columns} FROM ({fence.inner}{where_sql} OFFSET 0) {fence.alias}"
        f" ORDER BY {order} LIMIT {limit}"
    )


def _retrieved(task: asyncio.Future[Any]) -> None:
    """A statement no longer needed: its outcome is read so that a failure is not logged as unretrieved."""
    if not task.cancelled():
        task.exception()


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
