"""CRIMS-like plate/crystal exports, CSV or JSON (columns in docs/lims.md): one harvested crystal a row.

Each bad row is reported with its line and the others import. Parsing here; writes in ingest.py.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import asyncpg

from mx_schema.errors import ContractError
from site_adapter.lims import keys
from site_adapter.lims.conditions import component, parse_components
from site_adapter.lims.ingest import CrystalIn, IngestError, other_records_of, write_crystal
from site_adapter.lims.records import Component, Construct, PurificationBatch, Soak
from site_adapter.lims.report import ImportReport, RowError
from site_adapter.lims.units import normalise_unit, number


def _date(value: Any, what: str) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise ContractError(f"{what} {value!r} is not an ISO date (YYYY-MM-DD)") from None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def crystal_from_record(rec: dict[str, Any], origin: str) -> CrystalIn:
    """One export record (the CSV column names; in JSON, components and soaks may be lists) as a CrystalIn."""
    g = _getter(rec)
    plate = g("plate_barcode")
    if not plate:
        raise ContractError("plate_barcode is missing")
    temperature = _temperature(g)
    components = _components(g("components"))
    condition_ph = number(g("condition_ph"), "condition_ph")
    if condition_ph is None and components:
        condition_ph = next((c.ph for c in components if c.ph is not None), None)
    construct = _construct(g)
    batch = _batch(g)
    soaks = [_soak(s) for s in _soak_dicts(rec, g)]
    uuid_text = _text(g("crystal_uuid"))
    pin = _text(g("pin_barcode"))
    method = _text(g("method"))
    return CrystalIn(
        plate_barcode=keys.barcode(str(plate), "plate barcode"),
        well=keys.well(str(g("well") or "")),
        drop=keys.drop_number(g("drop") or 1),
        plate_type=_text(g("plate_type")),
        method=keys.method(method) if method else None,
        temperature=temperature,
        setup_date=_date(g("setup_date"), "setup_date"),
        screen=_text(g("screen")),
        condition=keys.well(str(g("condition"))) if _text(g("condition")) else None,
        ph=condition_ph,
        components=components,
        construct=construct,
        batch=batch,
        crystal_uuid=keys.crystal_uuid(uuid_text) if uuid_text else None,
        pin_barcode=keys.barcode(pin, "pin barcode") if pin else None,
        harvested_on=_date(g("harvest_date"), "harvest_date"),
        cryo_protectant=_text(g("cryo_protectant")),
        soaks=soaks,
        origin=origin,
    )


def _temperature(g: Callable[[str], Any]) -> float | None:
    """Kelvin, from temperature_k or else temperature_c; a crystallisation temperature or an error."""
    temperature = number(g("temperature_k"), "temperature_k")
    celsius = number(g("temperature_c"), "temperature_c") if temperature is None else None
    if celsius is not None:
        temperature = round(celsius + 273.15, 2)
    if temperature is not None and not 250 <= temperature <= 330:
        raise ContractError(f"temperature {temperature} K is not a crystallisation temperature (250-330 K)")
    return temperature


def _components(raw: Any) -> list[Component] | None:
    """The condition's components: a list of objects (JSON) or one text to parse (CSV); None when absent."""
    if isinstance(raw, list):
        if not all(isinstance(c, dict) for c in raw):
            raise ContractError(
                "components must be objects {name, cas_number, concentration, unit, role, ph}"
            )
        return [
            component(
                str(c.get("name") or ""),
                c.get("cas_number"),
                number(c.get("concentration"), "concentration"),
                c.get("unit"),
                c.get("role"),
                number(c.get("ph"), "pH"),
            )
            for c in raw
        ]
    if raw:
        return parse_components(str(raw))
    return None


def _construct(g: Callable[[str], Any]) -> Construct | None:
    protein = _text(g("protein_name"))
    if not protein:
        return None
    residues = _text(g("residues"))
    start = end = None
    if residues:
        m = re.match(r"^([0-9]+)\s*-\s*([0-9]+)$", residues)
        if not m or int(m[1]) > int(m[2]):
            raise ContractError(f"residues {residues!r} is not a range like 19-147")
        start, end = int(m[1]), int(m[2])
    uniprot = _text(g("uniprot_id"))
    return Construct(
        _text(g("construct")) or protein,
        protein,
        keys.uniprot_id(uniprot) if uniprot else None,
        start,
        end,
        _text(g("expression_host")),
        _text(g("modifications")),
    )


def _batch(g: Callable[[str], Any]) -> PurificationBatch | None:
    batch_code = _text(g("batch"))
    if not batch_code:
        return None
    return PurificationBatch(
        batch_code,
        _date(g("purified_on"), "purified_on"),
        number(g("protein_concentration_mg_ml"), "protein_concentration_mg_ml"),
        _text(g("buffer")),
    )


def _soak_dicts(rec: dict[str, Any], g: Callable[[str], Any]) -> list[Any]:
    """The soaks as objects: a JSON list, or the CSV's one soak in its soak_* columns."""
    raw_soaks = rec.get("soaks")
    if isinstance(raw_soaks, list):
        return raw_soaks
    if not any(_text(g(k)) for k in ("soak_compound", "soak_ccd_id", "soak_smiles")):
        return []
    return [
        {
            "compound": g("soak_compound"),
            "ccd_id": g("soak_ccd_id"),
            "smiles": g("soak_smiles"),
            "concentration": g("soak_concentration"),
            "unit": g("soak_unit"),
            "minutes": g("soak_minutes"),
        }
    ]


def _soak(s: Any) -> Soak:
    if not isinstance(s, dict):
        raise ContractError("soaks must be objects {compound, ccd_id, smiles, concentration, unit, minutes}")
    ccd = _text(s.get("ccd_id"))
    compound = _text(s.get("compound")) or ccd
    if not compound:
        raise ContractError("a soak needs a compound name or a CCD id")
    conc, unit = normalise_unit(
        number(s.get("concentration"), "soak concentration"),
        _text(s.get("unit")) or "mM",
        molar_base="mM",
    )
    minutes = number(s.get("minutes"), "soak time (minutes)")
    if minutes is not None and minutes < 0:
        raise ContractError(f"soak time {minutes} min is negative")
    return Soak(compound, keys.ccd_id(ccd) if ccd else None, _text(s.get("smiles")), conc, unit, minutes)


def _getter(rec: dict[str, Any]) -> Callable[[str], Any]:
    def get(name: str) -> Any:
        value = rec.get(name)
        return None if value in (None, "") else value

    return get


async def _write_records(
    conn: asyncpg.Connection, report: ImportReport, records: Iterator[tuple[int, dict[str, Any] | Exception]]
) -> ImportReport:
    seen: dict[tuple[Any, ...], int] = {}
    for line, rec in records:
        try:
            if isinstance(rec, Exception):
                raise rec
            crystal = crystal_from_record(rec, origin=f"{report.source}:{line}")
            identity = (
                crystal.plate_barcode,
                crystal.well,
                crystal.drop,
                crystal.crystal_uuid,
                crystal.pin_barcode,
            )
            if identity in seen:
                raise ContractError(
                    f"the same crystal as line {seen[identity]} (plate, well, drop, UUID, pin): "
                    "not merged; give every soak of a crystal on one row or in one record"
                )
            seen[identity] = line
            await _warn_conflicts(conn, report, line, crystal)
            await write_crystal(conn, crystal)
            report.imported += 1
        except (ContractError, IngestError) as exc:
            report.errors.append(RowError(line, str(exc)))
        except asyncpg.DataError as exc:
            report.errors.append(RowError(line, f"rejected by the store: {exc}"))
    return report


async def _warn_conflicts(conn: asyncpg.Connection, report: ImportReport, line: int, c: CrystalIn) -> None:
    """Another record for the same crystal elsewhere is kept (never merged) and reported here."""
    for r in await other_records_of(conn, c):
        key = (
            f"crystal UUID {c.crystal_uuid}"
            if c.crystal_uuid and r["u"] == c.crystal_uuid
            else f"pin barcode {c.pin_barcode}"
        )
        report.warnings.append(
            RowError(
                line,
                f"{key} is also recorded at {r['barcode']}/{r['well']}/{r['drop_no']} "
                f"(LIMS record {r['id']}): both kept; lookups report the conflict",
            )
        )


async def import_crims_csv(conn: asyncpg.Connection, text: str, *, source: str = "<text>") -> ImportReport:
    report = ImportReport(source, "crims-csv")
    first_line = text.splitlines()[0] if text else ""
    dialect = "excel-tab" if "\t" in first_line and "," not in first_line else "excel"
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    if not reader.fieldnames:
        report.errors.append(RowError(1, "no header row"))
        return report
    header = [(h or "").strip().lower() for h in reader.fieldnames]
    if "plate_barcode" not in header or "well" not in header:
        report.errors.append(
            RowError(1, "the header needs at least plate_barcode and well (see docs/lims.md)")
        )
        return report
    reader.fieldnames = header

    def rows() -> Iterator[tuple[int, dict[str, Any] | Exception]]:
        line = reader.line_num + 1
        for row in reader:
            if None in row:
                yield line, ContractError(f"{len(row[None])} more fields than the header has")
            elif any((v or "").strip() for v in row.values()):
                yield line, {k: v for k, v in row.items()}
            line = reader.line_num + 1

    return await _write_records(conn, report, rows())


async def import_crims_json(conn: asyncpg.Connection, text: str, *, source: str = "<text>") -> ImportReport:
    report = ImportReport(source, "crims-json")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        report.errors.append(RowError(exc.lineno, f"not valid JSON: {exc.msg}"))
        return report
    if isinstance(doc, dict):
        items = doc.get("crystals")
        m = re.search(r'"crystals"\s*:\s*\[', text)
        start = m.end() - 1 if m else -1
    else:
        items, start = doc, text.index("[")
    if not isinstance(items, list) or start < 0:
        report.errors.append(RowError(1, 'expected a JSON array of crystal records, or {"crystals": [...]}'))
        return report
    lines = list(_item_lines(text, start))

    def records() -> Iterator[tuple[int, dict[str, Any] | Exception]]:
        for line, item in zip(lines, items, strict=False):  # a malformed tail yields fewer lines
            yield (
                line,
                item if isinstance(item, dict) else ContractError("a crystal record must be a JSON object"),
            )

    return await _write_records(conn, report, records())


def _item_lines(text: str, array_start: int) -> Iterator[int]:
    """Line of each element of the JSON array opening at `array_start`."""
    decoder = json.JSONDecoder()
    i = array_start + 1
    while True:
        while i < len(text) and text[i] in " \t\r\n,":
            i += 1
        if i >= len(text) or text[i] == "]":
            return
        yield text.count("\n", 0, i) + 1
        _, i = decoder.raw_decode(text, i)
