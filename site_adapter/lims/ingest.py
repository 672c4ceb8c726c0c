"""Writes into the LIMS store: screens with their conditions, and crystals with their plate, drop, construct,
purification batch and soaks. Used by the importers (row by row) and by the demo loader.

Every write is idempotent on the record's natural key (screen name, plate barcode, plate+well+drop,
crystal identity), so importing the same file twice changes nothing. No parsing here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import asyncpg

from site_adapter.lims.records import Component, Construct, PurificationBatch, Soak


@dataclass
class ConditionIn:
    position: str
    ph: float | None
    components: list[Component]


@dataclass
class ScreenIn:
    name: str
    manufacturer: str | None
    conditions: list[ConditionIn]


@dataclass
class CrystalIn:
    """One harvested crystal (or, without UUID and pin, one drop) from a plate/crystal export."""

    plate_barcode: str
    well: str
    drop: int
    plate_type: str | None = None
    method: str | None = None
    temperature: float | None = None  # K
    setup_date: dt.date | None = None
    screen: str | None = None
    condition: str | None = None  # position in the screen; defaults to the well
    ph: float | None = None  # for inline components
    components: list[Component] | None = None  # an inline condition, when the screen is not imported
    construct: Construct | None = None
    batch: PurificationBatch | None = None
    crystal_uuid: str | None = None
    pin_barcode: str | None = None
    harvested_on: dt.date | None = None
    cryo_protectant: str | None = None
    soaks: list[Soak] = field(default_factory=list)
    origin: str | None = None


class IngestError(Exception):
    """A record cannot be written as given (e.g. it names a screen that was never imported)."""


async def write_screen(conn: asyncpg.Connection, screen: ScreenIn) -> int:
    """Insert or replace a screen's conditions and components; returns the screen id."""
    async with conn.transaction():
        screen_id = await conn.fetchval(
            "INSERT INTO lims_screen (name, manufacturer) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE "
            "SET manufacturer = coalesce(EXCLUDED.manufacturer, lims_screen.manufacturer) RETURNING id",
            screen.name,
            screen.manufacturer,
        )
        for cond in screen.conditions:
            await _write_condition(conn, screen_id, cond)
    return int(screen_id)


async def _write_condition(conn: asyncpg.Connection, screen_id: int, cond: ConditionIn) -> int:
    cond_id = await conn.fetchval(
        "INSERT INTO lims_condition (screen_id, position, ph) VALUES ($1, $2, $3) ON CONFLICT (screen_id, position) "
        "DO UPDATE SET ph = EXCLUDED.ph RETURNING id",
        screen_id,
        cond.position,
        cond.ph,
    )
    await conn.execute("DELETE FROM lims_component WHERE condition_id = $1", cond_id)
    await conn.executemany(
        "INSERT INTO lims_component (condition_id, ordinal, name, cas_number, concentration, unit, role, ph) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        [
            (cond_id, i, c.name, c.cas_number, c.concentration, c.unit, c.role, c.ph)
            for i, c in enumerate(cond.components, start=1)
        ],
    )
    return int(cond_id)


async def write_crystal(conn: asyncpg.Connection, c: CrystalIn) -> int:
    """Write one crystal and what it hangs on, in one transaction; returns the crystal (or drop) id."""
    async with conn.transaction():
        condition_id = await _condition_for(conn, c)
        screen_id = (
            await conn.fetchval("SELECT screen_id FROM lims_condition WHERE id = $1", condition_id)
            if condition_id is not None
            else None
        )
        plate_id = await conn.fetchval(
            """INSERT INTO lims_plate (barcode, plate_type, screen_id, method, temperature, setup_date)
               VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (barcode) DO UPDATE SET
                 plate_type = coalesce(EXCLUDED.plate_type, lims_plate.plate_type),
                 screen_id = coalesce(EXCLUDED.screen_id, lims_plate.screen_id),
                 method = coalesce(EXCLUDED.method, lims_plate.method),
                 temperature = coalesce(EXCLUDED.temperature, lims_plate.temperature),
                 setup_date = coalesce(EXCLUDED.setup_date, lims_plate.setup_date)
               RETURNING id""",
            c.plate_barcode,
            c.plate_type,
            screen_id,
            c.method,
            c.temperature,
            c.setup_date,
        )
        batch_id = await _batch_for(conn, c)
        drop_id = await conn.fetchval(
            """INSERT INTO lims_drop (plate_id, well, drop_no, condition_id, batch_id) VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (plate_id, well, drop_no) DO UPDATE SET
                 condition_id = coalesce(EXCLUDED.condition_id, lims_drop.condition_id),
                 batch_id = coalesce(EXCLUDED.batch_id, lims_drop.batch_id)
               RETURNING id""",
            plate_id,
            c.well,
            c.drop,
            condition_id,
            batch_id,
        )
        if (
            c.crystal_uuid is None
            and c.pin_barcode is None
            and not c.soaks
            and c.harvested_on is None
            and c.cryo_protectant is None
        ):
            return int(drop_id)  # a drop with no harvested crystal
        crystal_id = await conn.fetchval(
            """INSERT INTO lims_crystal (crystal_uuid, pin_barcode, drop_id, harvested_on, cryo_protectant, origin)
               VALUES ($1::uuid, $2, $3, $4, $5, $6)
               ON CONFLICT (drop_id, (coalesce(crystal_uuid::text, '')), (coalesce(pin_barcode, ''))) DO UPDATE SET
                 harvested_on = EXCLUDED.harvested_on, cryo_protectant = EXCLUDED.cryo_protectant,
                 origin = EXCLUDED.origin
               RETURNING id""",
            c.crystal_uuid,
            c.pin_barcode,
            drop_id,
            c.harvested_on,
            c.cryo_protectant,
            c.origin,
        )
        await conn.execute("DELETE FROM lims_soak WHERE crystal_id = $1", crystal_id)
        await conn.executemany(
            "INSERT INTO lims_soak (crystal_id, ordinal, compound, ccd_id, smiles, concentration, unit, "
            "duration_minutes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            [
                (crystal_id, i, s.compound, s.ccd_id, s.smiles, s.concentration, s.unit, s.duration_minutes)
                for i, s in enumerate(c.soaks, start=1)
            ],
        )
        return int(crystal_id)


async def _condition_for(conn: asyncpg.Connection, c: CrystalIn) -> int | None:
    position = c.condition or c.well
    if c.components:
        # An inline condition: kept under the named screen, or a per-plate screen of custom conditions.
        name = c.screen or f"custom conditions of plate {c.plate_barcode}"
        screen_id = await conn.fetchval(
            "INSERT INTO lims_screen (name) VALUES ($1) ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name "
            "RETURNING id",
            name,
        )
        return await _write_condition(conn, screen_id, ConditionIn(position, c.ph, c.components))
    if c.screen is None:
        return None
    row = await conn.fetchrow(
        "SELECT s.id AS screen_id, cd.id AS condition_id FROM lims_screen s "
        "LEFT JOIN lims_condition cd ON cd.screen_id = s.id AND cd.position = $2 WHERE s.name = $1",
        c.screen,
        position,
    )
    if row is None:
        raise IngestError(
            f"unknown screen {c.screen!r}: import its Rock Maker XML first, or give the components"
        )
    if row["condition_id"] is None:
        raise IngestError(f"screen {c.screen!r} has no condition {position}")
    return int(row["condition_id"])


async def _batch_for(conn: asyncpg.Connection, c: CrystalIn) -> int | None:
    construct_id = None
    if c.construct is not None:
        k = c.construct
        construct_id = await conn.fetchval(
            """INSERT INTO lims_construct (name, protein_name, uniprot_id, residue_start, residue_end,
                                           expression_host, modifications)
               VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (name) DO UPDATE SET
                 protein_name = EXCLUDED.protein_name,
                 uniprot_id = coalesce(EXCLUDED.uniprot_id, lims_construct.uniprot_id),
                 residue_start = coalesce(EXCLUDED.residue_start, lims_construct.residue_start),
                 residue_end = coalesce(EXCLUDED.residue_end, lims_construct.residue_end),
                 expression_host = coalesce(EXCLUDED.expression_host, lims_construct.expression_host),
                 modifications = coalesce(EXCLUDED.modifications, lims_construct.modifications)
               RETURNING id""",
            k.name,
            k.protein_name,
            k.uniprot_id,
            k.residue_start,
            k.residue_end,
            k.expression_host,
            k.modifications,
        )
    if c.batch is None:
        if c.construct is None:
            return None
        # A construct without a named batch: one implicit batch per construct.
        b = PurificationBatch(
            code=f"{c.construct.name}:default", purified_on=None, concentration=None, buffer=None
        )
    else:
        b = c.batch
    if construct_id is None:
        existing = await conn.fetchval("SELECT id FROM lims_purification_batch WHERE code = $1", b.code)
        if existing is None:
            raise IngestError(f"purification batch {b.code!r} is new: give its construct (protein name) too")
        return int(existing)
    return int(
        await conn.fetchval(
            """INSERT INTO lims_purification_batch (code, construct_id, purified_on, concentration, buffer)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT (code) DO UPDATE SET
             purified_on = coalesce(EXCLUDED.purified_on, lims_purification_batch.purified_on),
             concentration = coalesce(EXCLUDED.concentration, lims_purification_batch.concentration),
             buffer = coalesce(EXCLUDED.buffer, lims_purification_batch.buffer)
           RETURNING id""",
            b.code,
            construct_id,
            b.purified_on,
            b.concentration,
            b.buffer,
        )
    )


async def other_records_of(conn: asyncpg.Connection, c: CrystalIn) -> list[asyncpg.Record]:
    """Records with the crystal's UUID or pin barcode in another drop (id, u, pin, barcode, well, drop_no)."""
    if c.crystal_uuid is None and c.pin_barcode is None:
        return []
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT c.id, c.crystal_uuid::text AS u, c.pin_barcode AS pin, p.barcode, d.well, d.drop_no "
        "FROM lims_crystal c JOIN lims_drop d ON d.id = c.drop_id JOIN lims_plate p ON p.id = d.plate_id "
        "WHERE (c.crystal_uuid = $1::uuid OR c.pin_barcode = $2) "
        "AND NOT (p.barcode = $3 AND d.well = $4 AND d.drop_no = $5) ORDER BY c.id",
        c.crystal_uuid,
        c.pin_barcode,
        c.plate_barcode,
        c.well,
        c.drop,
    )
    return rows
