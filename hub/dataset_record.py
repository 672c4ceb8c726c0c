"""What a data set's landing page and its metadata read: one data collection through the hub's own
GraphQL (inprocess.py), with the DOI and PDB fields when the hub's schema has them.

Reads only; the access rule is the sites', applied because the caller's identity goes with the query.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mx_hub.inprocess import Answer, HubQuery
from mx_schema.errors import InvalidGlobalId
from mx_schema.ids import GlobalId, decode_id

# The technique of every record the hub serves: PaNET's term (ExPaNDS PaNET ontology, source/PaNET.csv:
# PaNET01164 "macromolecular crystallography", alt labels MX, protein crystallography).
TECHNIQUE_NAME = "macromolecular crystallography"
TECHNIQUE_PID = "http://purl.org/pan-science/PaNET/PaNET01164"
TECHNIQUE_CODE = "PaNET01164"

FIELDS = """
  id site localId experimentType startTime endTime imageDirectory fileTemplate
  startImageNumber numberOfImages wavelength energy detectorDistance exposureTime transmission
  axisStart axisRange
  session { id visit proposal beamline startTime endTime }
  sample { id name protein { acronym name uniprotIds } crystal { spaceGroup } }
  detector { manufacturer model }
  bestProcessing { program spaceGroup cell { a b c alpha beta gamma }
                   overall { resolutionLow resolutionHigh completeness multiplicity ccHalf } }
  images { directory template first last count totalBytes format kind verified }
  provenance { backend schemaVersion }
"""
# Fields other branches add (issue 19, items 1-2): selected only when the hub's schema has them.
OPTIONAL_FIELDS = {
    ("DataCollection", "doi"): "doi { doi url licence openFrom }",
    ("DataCollection", "pdbEntries"): "pdbEntries { pdbId }",
}


def record_fields(query: HubQuery) -> str:
    """The DataCollection selection for this hub: FIELDS plus the optional ones its schema has."""
    extra = [text for (type_, name), text in OPTIONAL_FIELDS.items() if query.has_field(type_, name)]
    return FIELDS + "\n".join(extra)


@dataclass
class Lookup:
    """A landing page's record: `record` when the caller may see it; else why not."""

    gid: GlobalId | None
    record: dict[str, Any] | None
    answer: Answer | None = None

    @property
    def failed(self) -> bool:
        """The site that holds it did not answer: nothing can be said about the record."""
        return self.record is None and self.answer is not None and bool(self.answer.failed_sites)


def parse_dataset_id(value: str) -> GlobalId | None:
    """The global id of a data collection, or None for anything else (404, not an error page)."""
    try:
        gid = decode_id(value)
    except InvalidGlobalId:
        return None
    return gid if gid.type == "DataCollection" else None


async def lookup(query: HubQuery, dataset_id: str) -> Lookup:
    gid = parse_dataset_id(dataset_id)
    if gid is None:
        return Lookup(None, None)
    text = f"query($id: ID!) {{ node(id: $id) {{ ... on DataCollection {{ {record_fields(query)} }} }} }}"
    answer = await query.run(text, {"id": dataset_id})
    node = (answer.data or {}).get("node")
    return Lookup(gid, node if isinstance(node, dict) and node.get("id") else None, answer)


def title(record: dict[str, Any]) -> str:
    """A human title from the record: protein, sample, visit, beamline, facility."""
    sample = record.get("sample") or {}
    protein = sample.get("protein") or {}
    session = record.get("session") or {}
    what = protein.get("name") or protein.get("acronym") or "Macromolecular crystallography data"
    parts = [f"{what}: {record.get('experimentType') or 'data collection'}"]
    if sample.get("name"):
        parts.append(f"sample {sample['name']}")
    if session.get("visit"):
        parts.append(f"visit {session['visit']}")
    where = " ".join(p for p in (session.get("beamline"), f"at {record['site']}") if p)
    return ", ".join(parts) + f" ({where})"


def best_resolution(record: dict[str, Any]) -> float | None:
    overall = (record.get("bestProcessing") or {}).get("overall") or {}
    value = overall.get("resolutionHigh")
    return float(value) if isinstance(value, (int, float)) else None


def doi_of(record: dict[str, Any]) -> dict[str, Any] | None:
    doi = record.get("doi")
    return doi if isinstance(doi, dict) and doi.get("doi") else None


def pdb_ids(record: dict[str, Any]) -> list[str]:
    return [str(e["pdbId"]) for e in record.get("pdbEntries") or [] if isinstance(e, dict) and e.get("pdbId")]
