"""The LIMS's records as frozen dataclasses, in canonical units: what the store returns and GraphQL shows.

Temperatures in K, pH dimensionless, molar concentrations in M, soak concentrations in mM, times in
minutes, protein concentration in mg/ml. No SQL and no GraphQL here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Component:
    name: str
    cas_number: str | None
    concentration: float | None
    unit: str | None  # "M", "%w/v", "%v/v", "mg/ml" (see units.py)
    role: str | None  # buffer, precipitant, salt, additive
    ph: float | None


@dataclass(frozen=True, slots=True)
class Soak:
    compound: str
    ccd_id: str | None
    smiles: str | None
    concentration: float | None
    unit: str | None
    duration_minutes: float | None


@dataclass(frozen=True, slots=True)
class Construct:
    name: str
    protein_name: str
    uniprot_id: str | None
    residue_start: int | None
    residue_end: int | None
    expression_host: str | None
    modifications: str | None


@dataclass(frozen=True, slots=True)
class PurificationBatch:
    code: str
    purified_on: dt.date | None
    concentration: float | None  # mg/ml
    buffer: str | None


@dataclass(frozen=True, slots=True)
class CrystalRecord:
    """One crystal as the LIMS knows it, with its drop, plate, condition, soaks and construct."""

    record_id: int
    crystal_uuid: str | None
    pin_barcode: str | None
    plate_barcode: str
    plate_type: str | None
    well: str
    drop: int
    method: str | None
    temperature: float | None  # K
    setup_date: dt.date | None
    screen: str | None
    condition: str | None  # the condition's position in its screen, e.g. B7
    ph: float | None
    harvested_on: dt.date | None
    cryo_protectant: str | None
    components: tuple[Component, ...] = ()
    soaks: tuple[Soak, ...] = ()
    construct: Construct | None = None
    batch: PurificationBatch | None = None
    origin: str | None = None  # which import (file) wrote the record

    @property
    def plate_well_drop(self) -> str:
        return f"{self.plate_barcode}/{self.well}/{self.drop}"

    def describe(self) -> str:
        keys = [f"plate {self.plate_barcode} well {self.well} drop {self.drop}"]
        if self.crystal_uuid:
            keys.append(f"UUID {self.crystal_uuid}")
        if self.pin_barcode:
            keys.append(f"pin {self.pin_barcode}")
        return f"LIMS record {self.record_id} ({', '.join(keys)})"


@dataclass(frozen=True, slots=True)
class Resolution:
    """The answer for one representation: the record found by the strongest key, and any conflicts."""

    record: CrystalRecord | None
    conflicts: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class UnknownTerm:
    """A search term no record of this LIMS uses: it matches nothing here, which is not an error."""

    field: str  # chemical | ligand
    value: str  # as the caller wrote it
    suggestions: tuple[str, ...]  # close names (or CCD ids) this LIMS does know


@dataclass(frozen=True, slots=True)
class Matches:
    crystal_uuids: tuple[str, ...]
    pin_barcodes: tuple[str, ...]
    plate_well_drops: tuple[str, ...]
    count: int
    truncated: bool
    unknown: tuple[UnknownTerm, ...] = ()
