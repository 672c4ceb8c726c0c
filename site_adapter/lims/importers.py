"""Importers for what crystallisation LIMS export: a Rock Maker screen XML (rockmaker.py), and a
CRIMS-like plate/crystal export as CSV or JSON (crims.py); formats in docs/lims.md, examples in
docs/lims-examples/. This module picks the importer for a file; it parses nothing itself.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg

from mx_schema.errors import ContractError
from site_adapter.lims.crims import import_crims_csv, import_crims_json
from site_adapter.lims.report import ImportReport, RowError
from site_adapter.lims.rockmaker import import_rockmaker_xml, parse_rockmaker_xml

__all__ = [
    "FORMATS",
    "ImportReport",
    "RowError",
    "guess_format",
    "import_crims_csv",
    "import_crims_json",
    "import_file",
    "import_rockmaker_xml",
    "parse_rockmaker_xml",
]

FORMATS = ("rockmaker-xml", "crims-csv", "crims-json")


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
