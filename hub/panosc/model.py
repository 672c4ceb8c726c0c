"""Hub records as the search-api's model (search-api doc/data-model.md): a data collection is a
Dataset, a proposal a Document, a beamline of a facility an Instrument; parameters in canonical units.

Pure: dicts from the hub's GraphQL in, search-api dicts out.
"""

from __future__ import annotations

from typing import Any

from mx_hub.dataset_record import TECHNIQUE_NAME, TECHNIQUE_PID, best_resolution, title

# Relations of each model that `include` may name.
RELATIONS: dict[str, set[str]] = {
    "Dataset": {"document", "instrument", "parameters", "techniques", "samples", "files"},
    "Document": {"datasets", "parameters", "members"},
    "Instrument": {"datasets"},
    "Parameter": set(),
    "Technique": set(),
    "Sample": set(),
    "File": set(),
    "Member": {"person", "affiliation"},
}

# Parameter name -> (record path, dimension, canonical unit): what a parameter query can ask about.
PARAMETERS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "wavelength": (("wavelength",), "length", "angstrom"),
    "photon_energy": (("energy",), "energy", "eV"),
    "resolution": (("bestProcessing", "overall", "resolutionHigh"), "length", "angstrom"),
    "detector_distance": (("detectorDistance",), "length", "mm"),
    "exposure_time": (("exposureTime",), "time", "s"),
    "transmission": (("transmission",), "percent", "%"),
}

TECHNIQUES = ({"pid": TECHNIQUE_PID, "name": TECHNIQUE_NAME},)

DATASET_FIELDS = """
  id site localId experimentType startTime wavelength energy detectorDistance exposureTime transmission
  session { visit proposal beamline }
  sample { id name protein { acronym name uniprotIds } }
  bestProcessing { overall { resolutionHigh } }
  images { directory template first last count totalBytes format }
"""


def instrument_pid(site: str, beamline: str) -> str:
    return f"{site}:{beamline}"


def document_pid(site: str, proposal: str) -> str:
    """A proposal's search-api pid, `site:code`: stable, and what the hub's filters take (a data
    collection's record names its proposal by code, not by the proposal's global id)."""
    return f"{site}:{proposal}"


def _at(record: dict[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = record
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def parameters(record: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for name, (path, _, unit) in PARAMETERS.items():
        value = _at(record, path)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out.append({"name": name, "value": value, "unit": unit})
    return out


def dataset(record: dict[str, Any], public: bool) -> dict[str, Any]:
    """The Dataset with every relation attached (the routes keep only those included)."""
    session = record.get("session") or {}
    sample = record.get("sample") or {}
    images = record.get("images") or []
    size = sum(int(s.get("totalBytes") or 0) for s in images)
    beamline = session.get("beamline")
    out: dict[str, Any] = {
        "pid": record["id"],
        "title": title(record),
        "isPublic": public,
        "creationDate": record.get("startTime"),
        "size": size or None,
        "documentId": document_pid(record["site"], session["proposal"]) if session.get("proposal") else None,
        "instrumentId": instrument_pid(record["site"], beamline) if beamline else None,
        "score": 0,
        # relations
        "techniques": list(TECHNIQUES),
        "parameters": parameters(record),
        "instrument": instrument(record["site"], beamline) if beamline else None,
        "samples": [sample_of(sample)] if sample.get("id") else [],
        "files": [
            {
                "id": f"{record['id']}.{i}",
                "name": s.get("template"),
                "path": s.get("directory"),
                "size": int(s.get("totalBytes") or 0) or None,
            }
            for i, s in enumerate(images)
        ],
        "document": document(record["site"], session["proposal"], None) if session.get("proposal") else None,
    }
    if best_resolution(record) is None:
        out["parameters"] = [p for p in out["parameters"] if p["name"] != "resolution"]
    return out


def sample_of(sample: dict[str, Any]) -> dict[str, Any]:
    protein = sample.get("protein") or {}
    what = protein.get("name") or protein.get("acronym")
    return {
        "pid": sample.get("id"),
        "name": sample.get("name") or sample.get("id"),
        "description": f"crystal of {what}" if what else None,
    }


def instrument(site: str, beamline: str) -> dict[str, Any]:
    return {"pid": instrument_pid(site, beamline), "name": beamline, "facility": site, "score": 0}


def document(site: str, code: str, proposal_title: str | None) -> dict[str, Any]:
    return {
        "pid": document_pid(site, code),
        "isPublic": True,
        "type": "proposal",
        "title": proposal_title or f"Proposal {code} at {site}",
        "keywords": [TECHNIQUE_NAME],
        "score": 0,
    }
