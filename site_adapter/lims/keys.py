"""Parsing and checking of the identifiers the LIMS deals in: crystal UUIDs, barcodes, wells, CAS, UniProt, CCD.

Pure functions raising mx_schema ContractError (BAD_USER_INPUT); no SQL, no GraphQL here.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from mx_schema.errors import ContractError

BARCODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
WELL = re.compile(r"^([A-Za-z]{1,2})0*([1-9][0-9]?)$")  # A1..H12 (96), A1..P24 (384), up to AF48 (1536)
CAS = re.compile(r"^([0-9]{2,7})-([0-9]{2})-([0-9])$")
# UniProt accession format, from https://www.uniprot.org/help/accession_numbers
UNIPROT = re.compile(r"^([OPQ][0-9][A-Z0-9]{3}[0-9]|[A-NR-Z][0-9]([A-Z][A-Z0-9]{2}[0-9]){1,2})$")
# PDB Chemical Component Dictionary ids: 1-3 characters, 5 since the 2023 extension (wwPDB CCD notice).
CCD = re.compile(r"^[A-Z0-9]{1,5}$")

# _exptl_crystal_grow.method values as the PDB records them (PDBx/mmCIF dictionary and wwPDB deposition).
MMCIF_METHODS: tuple[str, ...] = (
    "VAPOR DIFFUSION, SITTING DROP",
    "VAPOR DIFFUSION, HANGING DROP",
    "VAPOR DIFFUSION",
    "MICROBATCH",
    "BATCH MODE",
    "LIPIDIC CUBIC PHASE",
    "MICRODIALYSIS",
    "EVAPORATION",
    "SMALL TUBES",
    "COUNTER-DIFFUSION",
    "LIQUID DIFFUSION",
    "SEEDING",
)


def crystal_uuid(value: str) -> str:
    """A crystal UUID in canonical lower-case 8-4-4-4-12 form."""
    text = value.strip()
    try:
        parsed = uuid.UUID(text)
    except ValueError:
        raise ContractError(
            f"malformed crystal UUID {value!r}: expected 8-4-4-4-12 hexadecimal digits"
        ) from None
    if len(text) != 36:
        raise ContractError(f"malformed crystal UUID {value!r}: expected 8-4-4-4-12 hexadecimal digits")
    return str(parsed)


def barcode(value: str, what: str = "barcode") -> str:
    text = value.strip()
    if not BARCODE.match(text):
        raise ContractError(f"malformed {what} {value!r}: letters, digits, '.', '_', ':' or '-', at most 64")
    return text


def well(value: str) -> str:
    """A well name, upper case and without leading zeros in the column: `a01` -> `A1`."""
    m = WELL.match(value.strip())
    if not m or int(m.group(2)) > 48 or (len(m.group(1)) == 2 and m.group(1).upper() > "AF"):
        raise ContractError(f"malformed well {value!r}: expected a row letter and a column number, e.g. B7")
    return f"{m.group(1).upper()}{m.group(2)}"


def drop_number(value: str | int) -> int:
    try:
        n = int(str(value).strip())
    except ValueError:
        raise ContractError(f"malformed drop number {value!r}: expected a positive integer") from None
    if not 1 <= n <= 99:
        raise ContractError(f"malformed drop number {value!r}: expected 1 to 99")
    return n


@dataclass(frozen=True, slots=True)
class PlateWellDrop:
    plate: str
    well: str
    drop: int

    def __str__(self) -> str:
        return f"{self.plate}/{self.well}/{self.drop}"


def plate_well_drop(value: str) -> PlateWellDrop:
    parts = value.strip().split("/")
    if len(parts) != 3:
        raise ContractError(
            f"malformed plate/well/drop {value!r}: expected PLATE/WELL/DROP, e.g. ESPL0000100/B7/2"
        )
    return PlateWellDrop(barcode(parts[0], "plate barcode"), well(parts[1]), drop_number(parts[2]))


def cas_number(value: str) -> str:
    """A CAS Registry Number whose check digit is right (CAS: the check digit is the sum of the other
    digits, each times its position counted from the right, modulo 10)."""
    text = value.strip()
    m = CAS.match(text)
    if not m:
        raise ContractError(f"malformed CAS number {value!r}: expected digits like 7647-14-5")
    digits = (m.group(1) + m.group(2))[::-1]
    if sum((i + 1) * int(d) for i, d in enumerate(digits)) % 10 != int(m.group(3)):
        raise ContractError(f"malformed CAS number {value!r}: the check digit is wrong")
    return text


def looks_like_cas(value: str) -> bool:
    return bool(re.match(r"^\s*[0-9]+(-[0-9]+)+\s*$", value))


def uniprot_id(value: str) -> str:
    text = value.strip().upper()
    if not UNIPROT.match(text):
        raise ContractError(f"malformed UniProt accession {value!r}: e.g. P00698")
    return text


def ccd_id(value: str) -> str:
    text = value.strip().upper()
    if not CCD.match(text):
        raise ContractError(f"malformed PDB chemical component id {value!r}: 1-5 letters or digits, e.g. BEN")
    return text


def method(value: str) -> str:
    text = " ".join(value.strip().upper().split())
    if text not in MMCIF_METHODS:
        raise ContractError(
            f"unknown crystallisation method {value!r}; mmCIF _exptl_crystal_grow.method terms: "
            + ", ".join(MMCIF_METHODS)
        )
    return text


@dataclass(frozen=True, slots=True)
class SampleKeys:
    """The keys of one `_entities` representation, checked and normalised."""

    crystal_uuid: str | None
    pin_barcode: str | None
    plate_well_drop: PlateWellDrop | None


def sample_keys(crystal_uuid_value: str | None, pin: str | None, pwd: str | None) -> SampleKeys:
    """Checked keys; a malformed key raises (the hub sees an error for that one sample)."""
    return SampleKeys(
        crystal_uuid(crystal_uuid_value) if crystal_uuid_value else None,
        barcode(pin, "pin barcode") if pin else None,
        plate_well_drop(pwd) if pwd else None,
    )
