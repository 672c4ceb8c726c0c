"""Demo LIMS records that share keys with the demo sites (site_adapter.demo_data): crystal UUIDs, pin
barcodes and plate/well/drop of about 85 % of each site's crystals, with realistic chemistry.

Deterministic: the same sites, sizes and seed give the same records. Loads with COPY into an empty
store; it never touches a store that already has crystals.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from site_adapter.demo_data import PROTEINS, DemoFacility, plate_well_drop
from site_adapter.lims.chemistry import CHEMICALS, GRIDS, LIGANDS, ROWS, grid_condition
from site_adapter.lims.ingest import ConditionIn, ScreenIn, write_screen
from site_adapter.lims.records import Component
from site_adapter.lims.store import LimsStore

# Sizes `mxhub demo` gives its sites with the default --collections 20000 (mxhub/commands/demo.py).
DEMO_SITES: dict[str, int] = {"esrf": 20000, "diamond": 12000, "maxiv": 5000}
SHARE_KNOWN = 0.85  # share of a site's crystals the LIMS knows
SHARE_WITHOUT_UUID = 0.04  # of those, records that carry no crystal UUID (found by pin barcode)
BATCH_CONCENTRATION = {
    "HEWL": 50.0,
    "THAU": 25.0,
    "TLN": 40.0,
    "INS": 10.0,
    "PROK": 20.0,
    "GI": 30.0,
    "TRY": 30.0,
    "FAE": 5.0,
}  # mg/ml, typical of these proteins' crystallisation


def lims_hash(site: str, crystal_id: int, seed: int = 1) -> float:
    """A number in [0, 1) fixed by (seed, site, crystal): decides whether and how the LIMS knows a crystal."""
    digest = hashlib.sha256(f"{seed}:{site}:{crystal_id}:lims".encode()).hexdigest()
    return int(digest[:12], 16) / float(16**12)


@dataclass
class DemoCrystal:
    site: str
    crystal_id: int
    crystal_uuid: str | None
    pin_barcode: str
    acronym: str
    proposal_id: int
    plate: str
    well: str
    drop: int
    collected: dt.datetime | None = None


def demo_crystals(sites: dict[str, int], seed: int = 1) -> list[DemoCrystal]:
    """The crystals the demo LIMS knows, site by site, in the sites' generation order."""
    out: list[DemoCrystal] = []
    for site, n in sites.items():
        fac = DemoFacility(site, n, seed=seed)
        ref = fac.reference()
        acronym_of = {row[0]: row[2] for row in ref.protein}
        uuids: dict[int, str] = {}
        known: dict[int, DemoCrystal] = {}
        for table, row in fac.rows(ref):
            if table == "crystal":
                uuids[row[0]] = row[2]
            elif table == "sample":
                sample_id, crystal_id, protein_id, proposal_id, _, barcode = row[:6]
                h = lims_hash(site, crystal_id, seed)
                if h >= SHARE_KNOWN:
                    continue
                plate, well, drop = plate_well_drop(site, proposal_id, crystal_id)
                known[sample_id] = DemoCrystal(
                    site,
                    crystal_id,
                    None if h < SHARE_WITHOUT_UUID else uuids[crystal_id],
                    barcode,
                    acronym_of[protein_id],
                    proposal_id,
                    plate,
                    well,
                    drop,
                )
                out.append(known[sample_id])
            elif table == "data_collection_group" and row[2] in known and known[row[2]].collected is None:
                known[row[2]].collected = row[4]
    return out


def _component(name: str, conc: float, unit: str, ph: float | None) -> Component:
    cas, role = CHEMICALS[name]
    return Component(name=name, cas_number=cas, concentration=conc, unit=unit, role=role, ph=ph)


def demo_screens() -> list[ScreenIn]:
    screens = []
    for grid in GRIDS.values():
        conditions = []
        for r in ROWS:
            for col in range(1, 13):
                ph, parts = grid_condition(grid, f"{r}{col}")
                conditions.append(ConditionIn(f"{r}{col}", ph, [_component(*p) for p in parts]))
        screens.append(ScreenIn(grid.screen, "mxhub demo (optimisation grid)", conditions))
    return screens


async def load_demo_lims(conn: asyncpg.Connection, sites: dict[str, int], seed: int = 1) -> dict[str, int]:
    """Load demo records for `sites` (site name -> data collections it was generated with) into an empty
    store; returns crystals loaded per site ({} when the store already had crystals)."""
    if await conn.fetchval("SELECT count(*) FROM lims_crystal") > 0:
        return {}
    condition_ids = await _write_screens(conn)
    construct_ids = await _write_constructs(conn)
    batch_ids: dict[str, int] = {}
    rows = _Rows()
    counts: dict[str, int] = {}
    duplicated: set[str] = set()
    for c in demo_crystals(sites, seed):
        grid = GRIDS[c.acronym]
        rng = random.Random(f"{seed}:{c.site}:{c.crystal_id}:lims")
        collected = (c.collected or dt.datetime(2020, 1, 1)).date()
        setup = collected - dt.timedelta(days=7 + rng.randrange(40))
        harvest = collected - dt.timedelta(days=rng.randrange(1, 4))
        code = f"{c.site.upper()}-{c.acronym}-{c.proposal_id}"
        if code not in batch_ids:
            batch_ids[code] = await conn.fetchval(
                "INSERT INTO lims_purification_batch (code, construct_id, purified_on, concentration, buffer) "
                "VALUES ($1, $2, $3, $4, $5) RETURNING id",
                code,
                construct_ids[c.acronym],
                setup - dt.timedelta(days=2),
                BATCH_CONCENTRATION[c.acronym],
                "20 mM HEPES pH 7.5, 150 mM NaCl",
            )
        plate = rows.plate(c.plate, grid, setup)
        records: list[tuple[str | None, str | None, int, str]] = [
            (c.crystal_uuid, c.pin_barcode, c.drop, "demo")
        ]
        if c.crystal_uuid and c.site not in duplicated:
            # One conflict per site on purpose: the crystal registered twice, in another drop of its well.
            duplicated.add(c.site)
            records.append((c.crystal_uuid, None, c.drop % 3 + 1, "demo: duplicate registration"))
        for crystal_uuid, pin, drop, origin in records:
            drop_id = rows.drop(plate, c.well, drop, condition_ids[(grid.screen, c.well)], batch_ids[code])
            crystal_id = len(rows.crystals) + 1
            rows.crystals.append(
                (crystal_id, crystal_uuid, pin, drop_id, harvest, rng.choice(grid.cryo), origin)
            )
            if grid.soak and rng.random() < grid.soak[3]:
                ccd, mm, minutes, _ = grid.soak
                compound, smiles = LIGANDS[ccd]
                rows.soaks.append((crystal_id, 1, compound, ccd, smiles, mm, "mM", minutes))
        counts[c.site] = counts.get(c.site, 0) + 1
    await rows.copy(conn)
    return counts


async def _write_screens(conn: asyncpg.Connection) -> dict[tuple[str, str], int]:
    """The demo screens; the id of each condition by (screen, position)."""
    condition_ids: dict[tuple[str, str], int] = {}
    for screen in demo_screens():
        screen_id = await write_screen(conn, screen)
        for row in await conn.fetch(
            "SELECT id, position FROM lims_condition WHERE screen_id = $1", screen_id
        ):
            condition_ids[(screen.name, row["position"])] = row["id"]
    return condition_ids


async def _write_constructs(conn: asyncpg.Connection) -> dict[str, int]:
    """One construct per demo protein; its id by acronym."""
    by_acronym = {p.acronym: p for p in PROTEINS}
    construct_ids: dict[str, int] = {}
    for acronym, grid in GRIDS.items():
        spec = by_acronym[acronym]
        start, end = grid.construct_residues or (None, None)
        construct_ids[acronym] = await conn.fetchval(
            "INSERT INTO lims_construct (name, protein_name, uniprot_id, residue_start, residue_end, expression_host, "
            "modifications) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name "
            "RETURNING id",
            f"{acronym} mature chain",
            spec.name,
            spec.uniprot,
            start,
            end,
            grid.expression_host,
            grid.modifications,
        )
    return construct_ids


@dataclass
class _Rows:
    """Plates, drops, crystals and soaks gathered in memory, then copied in one transaction."""

    plates: dict[str, list[Any]] = field(default_factory=dict)
    drops: dict[tuple[int, str, int], list[Any]] = field(default_factory=dict)
    crystals: list[tuple[Any, ...]] = field(default_factory=list)
    soaks: list[tuple[Any, ...]] = field(default_factory=list)

    def plate(self, barcode: str, grid: Any, setup: dt.date) -> list[Any]:
        """The plate's row (made on first sight); its setup date is the earliest of its crystals'."""
        plate = self.plates.get(barcode)
        if plate is None:
            plate = self.plates[barcode] = [
                len(self.plates) + 1,
                barcode,
                grid.plate_type,
                None,
                grid.method,
                grid.temperature,
                setup,
            ]
        plate[6] = min(plate[6], setup)
        return plate

    def drop(self, plate: list[Any], well: str, drop: int, condition_id: int, batch_id: int) -> int:
        """The id of the drop (made on first sight)."""
        key = (plate[0], well, drop)
        if key not in self.drops:
            self.drops[key] = [len(self.drops) + 1, plate[0], well, drop, condition_id, batch_id]
        return int(self.drops[key][0])

    async def copy(self, conn: asyncpg.Connection) -> None:
        async with conn.transaction():
            await conn.copy_records_to_table(
                "lims_plate",
                records=[tuple(p) for p in self.plates.values()],
                columns=["id", "barcode", "plate_type", "screen_id", "method", "temperature", "setup_date"],
            )
            await conn.copy_records_to_table(
                "lims_drop",
                records=[tuple(d) for d in self.drops.values()],
                columns=["id", "plate_id", "well", "drop_no", "condition_id", "batch_id"],
            )
            await conn.copy_records_to_table(
                "lims_crystal",
                records=self.crystals,
                columns=[
                    "id",
                    "crystal_uuid",
                    "pin_barcode",
                    "drop_id",
                    "harvested_on",
                    "cryo_protectant",
                    "origin",
                ],
            )
            await conn.copy_records_to_table(
                "lims_soak",
                records=self.soaks,
                columns=[
                    "crystal_id",
                    "ordinal",
                    "compound",
                    "ccd_id",
                    "smiles",
                    "concentration",
                    "unit",
                    "duration_minutes",
                ],
            )
            for table in ("lims_plate", "lims_drop", "lims_crystal"):
                await conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
                )


async def open_demo_store(dsn: str, sites: dict[str, int] | None = None, *, seed: int = 1) -> LimsStore:
    """A started store on `dsn`, with demo records for `sites` (default: `mxhub demo`'s sizes) when empty."""
    store = LimsStore(dsn)
    await store.start()
    try:
        async with store.pool.acquire() as conn:
            await load_demo_lims(conn, sites or DEMO_SITES, seed)
    except BaseException:
        await store.close()
        raise
    return store
