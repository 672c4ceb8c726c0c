"""Importers for what crystallisation LIMS export: a Rock Maker screen XML, and a CRIMS-like plate/crystal
export as CSV or JSON (formats in docs/lims.md, examples in docs/lims-examples/).

Each row (screen condition, crystal) is checked and written on its own: a bad row is reported with its
line and reason and the rest imports. Parsing lives here; SQL lives in ingest.py.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import xml.parsers.expat
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import asyncpg

from mx_schema.errors import ContractError
from site_adapter.lims import keys
from site_adapter.lims.chemistry import CHEMICALS
from site_adapter.lims.ingest import ConditionIn, CrystalIn, IngestError, ScreenIn, write_crystal, write_screen
from site_adapter.lims.records import Component, Construct, PurificationBatch, Soak
from site_adapter.lims.units import normalise_unit, number

FORMATS = ("rockmaker-xml", "crims-csv", "crims-json")
ROLES = {"buffer": "buffer", "precipitant": "precipitant", "salt": "salt", "additive": "additive",
         "polymer": "precipitant", "detergent": "additive", "organic": "precipitant"}
WELLS_96 = [f"{r}{c}" for r in "ABCDEFGH" for c in range(1, 13)]


@dataclass
class RowError:
    line: int
    reason: str


@dataclass
class ImportReport:
    source: str
    format: str
    imported: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "format": self.format, "imported": self.imported,
                "errors": [asdict(e) for e in self.errors], "warnings": [asdict(w) for w in self.warnings]}


def guess_format(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".xml"):
        return "rockmaker-xml"
    if name.endswith(".json"):
        return "crims-json"
    if name.endswith((".csv", ".tsv")):
        return "crims-csv"
    raise ContractError(f"cannot tell the format of {path.name}: give --format ({', '.join(FORMATS)})")


async def import_file(conn: asyncpg.Connection, path: Path, fmt: str | None = None) -> ImportReport:
    fmt = fmt or guess_format(path)
    text = path.read_text(encoding="utf-8-sig")
    if fmt == "rockmaker-xml":
        return await import_rockmaker_xml(conn, text, source=str(path), default_name=path.stem.split(".")[0])
    if fmt == "crims-csv":
        return await import_crims_csv(conn, text, source=str(path))
    if fmt == "crims-json":
        return await import_crims_json(conn, text, source=str(path))
    raise ContractError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")


# --- chemicals -------------------------------------------------------------------------------------

def component(name: str, cas: str | None, conc: float | None, unit: str | None, role: str | None,
              ph: float | None) -> Component:
    """A checked component: catalogue spelling and CAS filled in, a CAS that contradicts the name refused."""
    clean = " ".join(name.split())
    if not clean:
        raise ContractError("a component has no name")
    known = {k.lower(): k for k in CHEMICALS}
    canonical = known.get(clean.lower())
    checked_cas = keys.cas_number(cas) if cas else None
    if canonical is not None:
        expected = CHEMICALS[canonical][0]
        if checked_cas is not None and checked_cas != expected:
            raise ContractError(f"CAS number {checked_cas} is not {canonical}'s ({expected})")
        clean, checked_cas = canonical, expected
    value, canon_unit = normalise_unit(conc, unit)
    role_key = (role or "").strip().lower()
    if role_key and role_key not in ROLES:
        raise ContractError(f"unknown component role {role!r}: one of {', '.join(sorted(ROLES))}")
    if ph is not None and not 0 <= ph <= 14:
        raise ContractError(f"pH {ph} is outside 0-14")
    return Component(clean, checked_cas, value, canon_unit, ROLES.get(role_key) or (
        CHEMICALS[canonical][1] if canonical else None), ph)


# --- Rock Maker screen XML ---------------------------------------------------------------------------

@dataclass
class _Node:
    tag: str
    attrs: dict[str, str]
    line: int
    children: list["_Node"] = field(default_factory=list)
    text: str = ""

    def find(self, tag: str) -> "_Node | None":
        return next((c for c in self.children if c.tag == tag), None)

    def findall(self, tag: str) -> list["_Node"]:
        return [c for c in self.children if c.tag == tag]

    def value(self, tag: str) -> str | None:
        node = self.find(tag)
        return node.text.strip() if node is not None and node.text.strip() else None


def _parse_xml(text: str) -> _Node:
    """A small element tree with each element's line (ElementTree's C parser does not keep lines)."""
    parser = xml.parsers.expat.ParserCreate()
    root = _Node("#document", {}, 0)
    stack = [root]

    def start(tag: str, attrs: dict[str, str]) -> None:
        node = _Node(tag, attrs, parser.CurrentLineNumber)
        stack[-1].children.append(node)
        stack.append(node)

    def end(tag: str) -> None:
        stack.pop()

    def chars(data: str) -> None:
        stack[-1].text += data

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    # No DTDs, no entities: a screen export needs neither (and this refuses entity expansion attacks).
    parser.EntityDeclHandler = lambda *a: (_ for _ in ()).throw(ValueError("entity declarations are not accepted"))
    parser.Parse(text.encode("utf-8") if isinstance(text, str) else text, True)
    if not root.children:
        raise ValueError("no root element")
    return root.children[0]


def parse_rockmaker_xml(text: str, default_name: str = "screen") -> tuple[ScreenIn | None, list[RowError]]:
    """The screen, with every good condition; errors for the bad ones (line of the offending element)."""
    try:
        root = _parse_xml(text)
    except xml.parsers.expat.ExpatError as exc:
        return None, [RowError(exc.lineno, f"not well-formed XML: {xml.parsers.expat.ErrorString(exc.code)}")]
    except ValueError as exc:
        return None, [RowError(1, str(exc))]
    if root.tag != "screen":
        return None, [RowError(root.line, f"root element is <{root.tag}>, expected <screen> (a Rock Maker screen)")]
    name = root.attrs.get("name") or root.value("name") or default_name
    errors: list[RowError] = []
    stocks: dict[int, tuple[str, str | None, str | None, float | None, str | None]] = {}
    ingredients = root.find("ingredients")
    for ing in ingredients.findall("ingredient") if ingredients else []:
        ing_name = ing.value("name")
        cas_node = ing.find("casNumbers")
        cas = cas_node.value("casNumber") if cas_node else ing.value("casNumber")
        types = ing.find("types")
        role = types.value("type") if types else None
        if not ing_name:
            errors.append(RowError(ing.line, "ingredient without <name>"))
            continue
        stock_list = ing.find("stocks")
        for stock in stock_list.findall("stock") if stock_list else []:
            try:
                local_id = int(stock.value("localID") or "")
                stock_ph = number(stock.value("pH"), "stock pH")
            except (ValueError, ContractError) as exc:
                errors.append(RowError(stock.line, f"stock of {ing_name}: {exc if isinstance(exc, ContractError) else 'no integer <localID>'}"))
                continue
            stocks[local_id] = (ing_name, cas, stock.value("units"), stock_ph, role)
    conditions: list[ConditionIn] = []
    cond_parent = root.find("conditions")
    for i, cond in enumerate(cond_parent.findall("condition") if cond_parent else []):
        if i >= len(WELLS_96):
            errors.append(RowError(cond.line, "more than 96 conditions: only 96-condition screens are accepted"))
            break
        try:
            comps = []
            for ci in cond.findall("conditionIngredient"):
                try:
                    local_id = int(ci.value("stockLocalID") or "")
                except ValueError:
                    raise ContractError(f"line {ci.line}: <conditionIngredient> without an integer <stockLocalID>")
                if local_id not in stocks:
                    raise ContractError(f"line {ci.line}: stockLocalID {local_id} names no stock of the screen")
                ing_name, cas, unit, stock_ph, ing_role = stocks[local_id]
                conc = number(ci.value("concentration"), f"line {ci.line}: concentration of {ing_name}")
                ph = number(ci.value("pH"), f"line {ci.line}: pH of {ing_name}")
                comps.append(component(ing_name, cas, conc, unit, ci.value("type") or ing_role,
                                       ph if ph is not None else None))
            if not comps:
                raise ContractError("a condition without ingredients")
            phs = [c.ph for c in comps if c.ph is not None]
            conditions.append(ConditionIn(WELLS_96[i], phs[0] if phs else None, comps))
        except ContractError as exc:
            errors.append(RowError(cond.line, f"condition {WELLS_96[i]}: {exc}"))
    return ScreenIn(name, root.attrs.get("manufacturer"), conditions), errors


async def import_rockmaker_xml(conn: asyncpg.Connection, text: str, *, source: str = "<text>",
                               default_name: str = "screen") -> ImportReport:
    report = ImportReport(source, "rockmaker-xml")
    screen, errors = parse_rockmaker_xml(text, default_name)
    report.errors.extend(errors)
    if screen is not None and screen.conditions:
        await write_screen(conn, screen)
        report.imported = len(screen.conditions)
    return report


# --- CRIMS-like crystal export -------------------------------------------------------------------------

_COMPONENT = re.compile(
    r"^(?P<conc>[0-9]+(?:\.[0-9]+)?)\s*(?P<unit>M|mM|µM|uM|%\s*\(?[wv]/v\)?|mg/ml)\s+(?P<name>.+?)"
    r"(?:\s*\[(?P<cas>[0-9-]+)\])?(?:\s+pH\s*(?P<ph>[0-9]+(?:\.[0-9]+)?))?(?:\s*\((?P<role>[a-z]+)\))?$")


def parse_components(text: str) -> list[Component]:
    """`1.0 M sodium chloride [7647-14-5]; 0.1 M sodium acetate [127-09-3] pH 4.6 (buffer)`."""
    out = []
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        m = _COMPONENT.match(part)
        if not m:
            raise ContractError(f"component {part!r} is not `<concentration> <unit> <name> [CAS] pH <x> (role)`")
        out.append(component(m["name"], m["cas"], float(m["conc"]), m["unit"], m["role"],
                             float(m["ph"]) if m["ph"] else None))
    return out


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
    temperature = number(g("temperature_k"), "temperature_k")
    if temperature is None and g("temperature_c") is not None:
        temperature = round(number(g("temperature_c"), "temperature_c") + 273.15, 2)  # type: ignore[operator]
    if temperature is not None and not 250 <= temperature <= 330:
        raise ContractError(f"temperature {temperature} K is not a crystallisation temperature (250-330 K)")
    components = None
    raw_components = g("components")
    if isinstance(raw_components, list):
        if not all(isinstance(c, dict) for c in raw_components):
            raise ContractError("components must be objects {name, cas_number, concentration, unit, role, ph}")
        components = [component(str(c.get("name") or ""), c.get("cas_number"),
                                number(c.get("concentration"), "concentration"), c.get("unit"), c.get("role"),
                                number(c.get("ph"), "pH")) for c in raw_components]
    elif raw_components:
        components = parse_components(str(raw_components))
    condition_ph = number(g("condition_ph"), "condition_ph")
    if condition_ph is None and components:
        condition_ph = next((c.ph for c in components if c.ph is not None), None)
    construct = None
    protein = _text(g("protein_name"))
    if protein:
        residues = _text(g("residues"))
        start = end = None
        if residues:
            m = re.match(r"^([0-9]+)\s*-\s*([0-9]+)$", residues)
            if not m or int(m[1]) > int(m[2]):
                raise ContractError(f"residues {residues!r} is not a range like 19-147")
            start, end = int(m[1]), int(m[2])
        uniprot = _text(g("uniprot_id"))
        construct = Construct(_text(g("construct")) or protein, protein,
                              keys.uniprot_id(uniprot) if uniprot else None, start, end,
                              _text(g("expression_host")), _text(g("modifications")))
    batch = None
    if _text(g("batch")):
        batch = PurificationBatch(_text(g("batch")), _date(g("purified_on"), "purified_on"),  # type: ignore[arg-type]
                                  number(g("protein_concentration_mg_ml"),
                                         "protein_concentration_mg_ml"), _text(g("buffer")))
    soaks = []
    raw_soaks = rec.get("soaks")
    soak_dicts = raw_soaks if isinstance(raw_soaks, list) else (
        [{"compound": g("soak_compound"), "ccd_id": g("soak_ccd_id"), "smiles": g("soak_smiles"),
          "concentration": g("soak_concentration"), "unit": g("soak_unit"), "minutes": g("soak_minutes")}]
        if any(_text(g(k)) for k in ("soak_compound", "soak_ccd_id", "soak_smiles")) else [])
    for s in soak_dicts:
        if not isinstance(s, dict):
            raise ContractError("soaks must be objects {compound, ccd_id, smiles, concentration, unit, minutes}")
        ccd = _text(s.get("ccd_id"))
        compound = _text(s.get("compound")) or ccd
        if not compound:
            raise ContractError("a soak needs a compound name or a CCD id")
        conc, unit = normalise_unit(number(s.get("concentration"), "soak concentration"),
                                    _text(s.get("unit")) or "mM", molar_base="mM")
        minutes = number(s.get("minutes"), "soak time (minutes)")
        if minutes is not None and minutes < 0:
            raise ContractError(f"soak time {minutes} min is negative")
        soaks.append(Soak(compound, keys.ccd_id(ccd) if ccd else None, _text(s.get("smiles")), conc, unit, minutes))
    uuid_text = _text(g("crystal_uuid"))
    pin = _text(g("pin_barcode"))
    method = _text(g("method"))
    return CrystalIn(
        plate_barcode=keys.barcode(str(plate), "plate barcode"), well=keys.well(str(g("well") or "")),
        drop=keys.drop_number(g("drop") or 1), plate_type=_text(g("plate_type")),
        method=keys.method(method) if method else None, temperature=temperature,
        setup_date=_date(g("setup_date"), "setup_date"), screen=_text(g("screen")),
        condition=keys.well(str(g("condition"))) if _text(g("condition")) else None,
        ph=condition_ph, components=components, construct=construct, batch=batch,
        crystal_uuid=keys.crystal_uuid(uuid_text) if uuid_text else None,
        pin_barcode=keys.barcode(pin, "pin barcode") if pin else None,
        harvested_on=_date(g("harvest_date"), "harvest_date"),
        cryo_protectant=_text(g("cryo_protectant")), soaks=soaks, origin=origin)


def _getter(rec: dict[str, Any]) -> Callable[[str], Any]:
    def get(name: str) -> Any:
        value = rec.get(name)
        return None if value in (None, "") else value

    return get


async def _write_records(conn: asyncpg.Connection, report: ImportReport,
                         records: Iterator[tuple[int, dict[str, Any] | Exception]]) -> ImportReport:
    seen: dict[tuple, int] = {}
    for line, rec in records:
        try:
            if isinstance(rec, Exception):
                raise rec
            crystal = crystal_from_record(rec, origin=f"{report.source}:{line}")
            identity = (crystal.plate_barcode, crystal.well, crystal.drop, crystal.crystal_uuid, crystal.pin_barcode)
            if identity in seen:
                raise ContractError(f"the same crystal as line {seen[identity]} (plate, well, drop, UUID, pin): "
                                    "not merged; give every soak of a crystal on one row or in one record")
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
    if c.crystal_uuid is None and c.pin_barcode is None:
        return
    rows = await conn.fetch(
        "SELECT c.id, c.crystal_uuid::text AS u, c.pin_barcode AS pin, p.barcode, d.well, d.drop_no FROM lims_crystal c "
        "JOIN lims_drop d ON d.id = c.drop_id JOIN lims_plate p ON p.id = d.plate_id "
        "WHERE (c.crystal_uuid = $1::uuid OR c.pin_barcode = $2) AND NOT (p.barcode = $3 AND d.well = $4 AND d.drop_no = $5)",
        c.crystal_uuid, c.pin_barcode, c.plate_barcode, c.well, c.drop)
    for r in rows:
        key = f"crystal UUID {c.crystal_uuid}" if c.crystal_uuid and r["u"] == c.crystal_uuid else f"pin barcode {c.pin_barcode}"
        report.warnings.append(RowError(line, f"{key} is also recorded at {r['barcode']}/{r['well']}/{r['drop_no']} "
                                              f"(LIMS record {r['id']}): both kept; lookups report the conflict"))


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
        report.errors.append(RowError(1, "the header needs at least plate_barcode and well (see docs/lims.md)"))
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
        report.errors.append(RowError(1, "expected a JSON array of crystal records, or {\"crystals\": [...]}"))
        return report
    lines = list(_item_lines(text, start))

    def records() -> Iterator[tuple[int, dict[str, Any] | Exception]]:
        for line, item in zip(lines, items):
            yield line, item if isinstance(item, dict) else ContractError("a crystal record must be a JSON object")

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
