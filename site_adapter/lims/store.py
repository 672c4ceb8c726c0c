"""The LIMS store (PostgreSQL via asyncpg): every read the GraphQL subgraph makes, as few statements as possible.

`records_by_keys` answers a whole `_entities` batch in ONE statement; `search` answers in one statement
(plus one per unknown-term check, only when nothing matched). Writes live in ingest.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import asyncpg

from mx_schema import postgres
from site_adapter import tracing
from site_adapter.backends.base import BackendError
from site_adapter.lims import records as r
from site_adapter.lims.ddl import migrate
from site_adapter.lims.keys import PlateWellDrop
from site_adapter.lims.search import SearchFilter, chemical_known, chemical_suggestions, ligand_suggestions

# Failures of the store, not of the statement: callers see BACKEND_UNAVAILABLE.
_UNAVAILABLE = postgres.UNAVAILABLE

_RECORD_COLUMNS = """
    c.id, c.crystal_uuid::text AS crystal_uuid, c.pin_barcode, c.harvested_on, c.cryo_protectant, c.origin,
    p.barcode AS plate_barcode, p.plate_type, p.method, p.temperature, p.setup_date,
    d.well, d.drop_no, s.name AS screen, cd.position AS condition, cd.ph,
    con.name AS construct_name, con.protein_name, con.uniprot_id, con.residue_start, con.residue_end,
    con.expression_host, con.modifications,
    b.code AS batch_code, b.purified_on, b.concentration AS batch_concentration, b.buffer AS batch_buffer,
    (SELECT json_agg(json_build_object('name', k.name, 'cas', k.cas_number, 'c', k.concentration, 'u', k.unit,
                                       'role', k.role, 'ph', k.ph) ORDER BY k.ordinal)
       FROM lims_component k WHERE k.condition_id = cd.id) AS components,
    (SELECT json_agg(json_build_object('compound', x.compound, 'ccd', x.ccd_id, 'smiles', x.smiles,
                                       'c', x.concentration, 'u', x.unit, 'min', x.duration_minutes)
                     ORDER BY x.ordinal)
       FROM lims_soak x WHERE x.crystal_id = c.id) AS soaks
"""

_RECORD_JOINS = """
    JOIN lims_drop d ON d.id = c.drop_id
    JOIN lims_plate p ON p.id = d.plate_id
    LEFT JOIN lims_condition cd ON cd.id = d.condition_id
    LEFT JOIN lims_screen s ON s.id = cd.screen_id
    LEFT JOIN lims_purification_batch b ON b.id = d.batch_id
    LEFT JOIN lims_construct con ON con.id = b.construct_id
"""

# Three index lookups (UUID, pin, plate+well+drop) united, then one join for the full records.
ENTITIES_SQL = f"""
WITH hit AS (
    SELECT id FROM lims_crystal WHERE crystal_uuid = ANY($1::uuid[])
    UNION
    SELECT id FROM lims_crystal WHERE pin_barcode = ANY($2::text[])
    UNION
    SELECT c.id FROM lims_crystal c
      JOIN lims_drop d ON d.id = c.drop_id
      JOIN lims_plate p ON p.id = d.plate_id
      JOIN unnest($3::text[], $4::text[], $5::int[]) AS k(plate, well, drop_no)
        ON p.barcode = k.plate AND d.well = k.well AND d.drop_no = k.drop_no
)
SELECT {_RECORD_COLUMNS}
FROM hit JOIN lims_crystal c ON c.id = hit.id {_RECORD_JOINS}
ORDER BY c.id
"""


class LimsStore:
    """A pool on the LIMS database; `statements` counts statements sent (tests prove batching with it)."""

    kind = "lims"

    def __init__(
        self,
        dsn: str,
        *,
        min_size: int = 1,
        max_size: int = 5,
        apply_migrations: bool = True,
        query_log: list[str] | None = None,
    ) -> None:
        self.dsn = dsn
        self._apply_migrations = apply_migrations

        async def init(conn: asyncpg.Connection) -> None:
            if query_log is not None:  # asyncpg calls this for every statement the server runs
                conn.add_query_logger(lambda q: query_log.append(q.query))

        self._pool = postgres.Pool(dsn, min_size=min_size, max_size=max_size, timeout=10, init=init)
        self.statements = 0
        self.lookups = 0  # keys asked for by records_by_keys, and the records found (the LIMS's /metrics)
        self.lookup_records = 0

    async def start(self) -> None:
        try:
            pool = await self._pool.open()
        except postgres.CONNECT_FAILURES as exc:
            raise BackendError(
                f"cannot connect to the LIMS store's PostgreSQL: {postgres.reason(exc)}"
            ) from None
        if self._apply_migrations:
            async with pool.acquire() as conn:
                await migrate(conn)

    async def close(self) -> None:
        await self._pool.close()

    @property
    def pool(self) -> asyncpg.Pool:
        if not self._pool.is_open:
            raise BackendError("LIMS store is not started")
        return self._pool.raw

    async def ping(self) -> None:
        await self._fetch("SELECT 1")

    async def _fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        self.statements += 1
        try:
            with tracing.db_span("postgresql", sql):
                rows: list[asyncpg.Record] = await self.pool.fetch(sql, *args)
        except _UNAVAILABLE as exc:
            raise BackendError(f"LIMS store unavailable: {postgres.reason(exc)}") from None
        return rows

    async def records_by_keys(
        self, uuids: Sequence[str], pins: Sequence[str], pwds: Sequence[PlateWellDrop]
    ) -> list[r.CrystalRecord]:
        """Every crystal record matching any of the keys, in ONE statement."""
        rows = await self._fetch(
            ENTITIES_SQL,
            list(uuids),
            list(pins),
            [k.plate for k in pwds],
            [k.well for k in pwds],
            [k.drop for k in pwds],
        )
        self.lookups += len(uuids) + len(pins) + len(pwds)
        self.lookup_records += len(rows)
        return [to_record(row) for row in rows]

    async def search(self, f: SearchFilter, first: int) -> r.Matches:
        """Crystals matching every given field (AND); keys ordered by record id; one statement."""
        where, args = _search_where(f)
        # One statement: the count of every match, left-joined to the first `first` matches, so the count
        # comes back even when `first` is 0 or nothing matches.
        sql = f"""
            WITH m AS (
                SELECT c.id, c.crystal_uuid::text AS crystal_uuid, c.pin_barcode,
                       p.barcode || '/' || d.well || '/' || d.drop_no AS pwd
                FROM lims_crystal c {_RECORD_JOINS}
                {"WHERE " + " AND ".join(where) if where else ""})
            SELECT t.total, x.id, x.crystal_uuid, x.pin_barcode, x.pwd
            FROM (SELECT count(*) AS total FROM m) t
            LEFT JOIN LATERAL (SELECT * FROM m ORDER BY id LIMIT {int(first)}) x ON true
            ORDER BY x.id"""
        rows = await self._fetch(sql, *args)
        total = rows[0]["total"]
        # A term no record uses matches nothing here: said, with close names, never an error (another
        # LIMS may know it). Checked only when nothing matched: a match proves the terms known.
        unknown = await self.unknown_terms(f) if total == 0 else ()
        rows = [x for x in rows if x["id"] is not None]
        return r.Matches(
            crystal_uuids=tuple(dict.fromkeys(x["crystal_uuid"] for x in rows if x["crystal_uuid"])),
            pin_barcodes=tuple(dict.fromkeys(x["pin_barcode"] for x in rows if x["pin_barcode"])),
            plate_well_drops=tuple(dict.fromkeys(x["pwd"] for x in rows)),
            count=total,
            truncated=total > len(rows),
            unknown=unknown,
        )

    async def unknown_terms(self, f: SearchFilter) -> tuple[r.UnknownTerm, ...]:
        """The filter's chemical and ligand when no record uses them, each with close known names."""
        out: list[r.UnknownTerm] = []
        if f.has_chemical:
            rows = await self._fetch("SELECT DISTINCT name, cas_number FROM lims_component ORDER BY name")
            recorded = [(row["name"], row["cas_number"]) for row in rows]
            if not chemical_known(f, recorded):
                out.append(
                    r.UnknownTerm(
                        "chemical",
                        f.chemical_name or f.chemical_cas or "",
                        tuple(chemical_suggestions(f, sorted({n for n, _ in recorded}))),
                    )
                )
        if f.ligand is not None:
            rows = await self._fetch("SELECT DISTINCT ccd_id, compound FROM lims_soak ORDER BY ccd_id")
            recorded_ligands = [(row["ccd_id"], row["compound"]) for row in rows]
            if f.ligand not in {ccd for ccd, _ in recorded_ligands}:
                out.append(
                    r.UnknownTerm("ligand", f.ligand, tuple(ligand_suggestions(f.ligand, recorded_ligands)))
                )
        return tuple(out)

    async def counts(self) -> dict[str, int]:
        rows = await self._fetch(
            "SELECT (SELECT count(*) FROM lims_crystal) AS crystals, (SELECT count(*) FROM lims_plate) AS plates, "
            "(SELECT count(*) FROM lims_screen) AS screens, (SELECT count(*) FROM lims_soak) AS soaks"
        )
        return dict(rows[0])


def _search_where(f: SearchFilter) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    args: list[Any] = []

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    if f.protein_name is not None:
        escaped = f.protein_name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(f"con.protein_name ILIKE {arg('%' + escaped + '%')}")
    if f.uniprot_id is not None:
        where.append(f"con.uniprot_id = {arg(f.uniprot_id)}")
    if f.ligand is not None:
        where.append(
            f"EXISTS (SELECT 1 FROM lims_soak x WHERE x.crystal_id = c.id AND x.ccd_id = {arg(f.ligand)})"
        )
    if f.has_chemical:
        where.append(_chemical_where(f, arg))
    bounds = (
        ("cd.ph >=", f.ph_min),
        ("cd.ph <=", f.ph_max),
        ("p.method =", f.method),
        ("p.setup_date >=", f.setup_after),
        ("p.setup_date <=", f.setup_before),
    )
    where.extend(f"{test} {arg(value)}" for test, value in bounds if value is not None)
    return where, args


def _chemical_where(f: SearchFilter, arg: Callable[[Any], str]) -> str:
    """The chemical's condition: the concentration range applies to the same component row that matched
    the chemical, by any spelling the vocabulary knows for it or its own CAS number (search.make_filter)."""
    same = [f"lower(k.name) = ANY({arg(list(f.chemical_names))}::text[])"] if f.chemical_names else []
    if f.chemical_cas is not None:
        same.append(f"k.cas_number = {arg(f.chemical_cas)}")
    cond = [f"({' OR '.join(same)})"]
    if f.concentration_min is not None:
        cond.append(f"k.concentration >= {arg(f.concentration_min)}")
    if f.concentration_max is not None:
        cond.append(f"k.concentration <= {arg(f.concentration_max)}")
    if f.concentration_unit is not None:
        cond.append(f"k.unit = {arg(f.concentration_unit)}")
    return f"EXISTS (SELECT 1 FROM lims_component k WHERE k.condition_id = cd.id AND {' AND '.join(cond)})"


def to_record(row: asyncpg.Record) -> r.CrystalRecord:
    components = tuple(
        r.Component(
            name=c["name"], cas_number=c["cas"], concentration=c["c"], unit=c["u"], role=c["role"], ph=c["ph"]
        )
        for c in json.loads(row["components"] or "[]")
    )
    soaks = tuple(
        r.Soak(
            compound=s["compound"],
            ccd_id=s["ccd"],
            smiles=s["smiles"],
            concentration=s["c"],
            unit=s["u"],
            duration_minutes=s["min"],
        )
        for s in json.loads(row["soaks"] or "[]")
    )
    construct = None
    if row["construct_name"] is not None:
        construct = r.Construct(
            name=row["construct_name"],
            protein_name=row["protein_name"],
            uniprot_id=row["uniprot_id"],
            residue_start=row["residue_start"],
            residue_end=row["residue_end"],
            expression_host=row["expression_host"],
            modifications=row["modifications"],
        )
    batch = None
    if row["batch_code"] is not None:
        batch = r.PurificationBatch(
            code=row["batch_code"],
            purified_on=row["purified_on"],
            concentration=row["batch_concentration"],
            buffer=row["batch_buffer"],
        )
    return r.CrystalRecord(
        record_id=row["id"],
        crystal_uuid=row["crystal_uuid"],
        pin_barcode=row["pin_barcode"],
        plate_barcode=row["plate_barcode"],
        plate_type=row["plate_type"],
        well=row["well"],
        drop=row["drop_no"],
        method=row["method"],
        temperature=row["temperature"],
        setup_date=row["setup_date"],
        screen=row["screen"],
        condition=row["condition"],
        ph=row["ph"],
        harvested_on=row["harvested_on"],
        cryo_protectant=row["cryo_protectant"],
        components=components,
        soaks=soaks,
        construct=construct,
        batch=batch,
        origin=row["origin"],
    )
