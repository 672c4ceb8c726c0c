"""A data set's metadata for machines: schema.org `Dataset` JSON-LD (for search engines and FAIR
assessors such as F-UJI) and DataCite 4.x JSON (the attribute names of DataCite's REST API).

Pure: a record (dataset_record.py) and URLs in, dicts out; no network, no HTML.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from mx_hub.dataset_record import (
    TECHNIQUE_CODE,
    TECHNIQUE_NAME,
    TECHNIQUE_PID,
    best_resolution,
    doi_of,
    pdb_ids,
    title,
)

# (name, record path, unit text, UN/CEFACT unit code) of the values a landing page states.
MEASURED = (
    ("wavelength", ("wavelength",), "Å", "A11"),
    ("photon energy", ("energy",), "eV", "A53"),
    ("detector distance", ("detectorDistance",), "mm", "MMT"),
    ("exposure time per image", ("exposureTime",), "s", "SEC"),
    ("transmission", ("transmission",), "%", "P1"),
    ("number of images", ("numberOfImages",), "images", "C62"),
    ("best resolution (high)", ("bestProcessing", "overall", "resolutionHigh"), "Å", "A11"),
    ("completeness", ("bestProcessing", "overall", "completeness"), "%", "P1"),
    ("CC½", ("bestProcessing", "overall", "ccHalf"), "fraction 0-1", "C62"),
)


def value_at(record: dict[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = record
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def measured(record: dict[str, Any]) -> list[tuple[str, Any, str, str]]:
    """(name, value, unit text, unit code) of each value the record has."""
    out = []
    for name, path, unit, code in MEASURED:
        value = value_at(record, path)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out.append((name, value, unit, code))
    return out


def description(record: dict[str, Any]) -> str:
    session = record.get("session") or {}
    res = best_resolution(record)
    text = (
        f"Macromolecular crystallography data collection {record.get('localId')} of facility "
        f"{record.get('site')}"
    )
    if session.get("beamline"):
        text += f", beamline {session['beamline']}"
    if record.get("numberOfImages"):
        text += f", {record['numberOfImages']} images"
    if res is not None:
        text += f"; best processing result to {res:g} Å"
    return text + "."


def temporal_coverage(record: dict[str, Any]) -> str | None:
    start, end = record.get("startTime"), record.get("endTime")
    if start and end:
        return f"{start}/{end}"
    return str(start) if start else None


def json_ld(record: dict[str, Any], page_url: str, search_url: str, public: bool) -> dict[str, Any]:
    """schema.org Dataset (https://schema.org/Dataset; Google's dataset guidelines for the properties).
    `public`: an anonymous caller sees it (only then is it said to be free to access)."""
    facility = {"@type": "Organization", "name": record["site"]}
    identifiers: list[Any] = [page_url]
    doi = doi_of(record)
    if doi:
        identifiers.insert(0, doi.get("url") or f"https://doi.org/{doi['doi']}")
    out: dict[str, Any] = {
        "@context": "https://schema.org/",
        "@type": "Dataset",
        "@id": page_url,
        "name": title(record),
        "description": description(record),
        "identifier": identifiers,
        "url": page_url,
        "measurementTechnique": {
            "@type": "DefinedTerm",
            "name": TECHNIQUE_NAME,
            "termCode": TECHNIQUE_CODE,
            "url": TECHNIQUE_PID,
        },
        "variableMeasured": [
            {"@type": "PropertyValue", "name": name, "value": value, "unitText": unit, "unitCode": code}
            for name, value, unit, code in measured(record)
        ],
        "creator": facility,
        "publisher": facility,
        "provider": facility,
        "includedInDataCatalog": {"@type": "DataCatalog", "name": "mxhub", "url": search_url},
        "isAccessibleForFree": public,
        "keywords": [TECHNIQUE_NAME, "X-ray diffraction", *protein_keywords(record)],
    }
    coverage = temporal_coverage(record)
    if coverage:
        out["temporalCoverage"] = coverage
    if record.get("startTime"):
        out["dateCreated"] = record["startTime"]
    if doi and doi.get("licence"):
        out["license"] = doi["licence"]
    if pdb_ids(record):
        out["citation"] = [f"https://www.rcsb.org/structure/{p}" for p in pdb_ids(record)]
    files = file_links(record)
    if files:
        out["distribution"] = [
            {
                "@type": "DataDownload",
                "name": f["name"],
                "contentUrl": f["url"],
                "encodingFormat": f["format"],
            }
            for f in files
        ]
    return out


def protein_keywords(record: dict[str, Any]) -> list[str]:
    protein = (record.get("sample") or {}).get("protein") or {}
    return [
        str(v) for v in (protein.get("name"), protein.get("acronym"), *protein.get("uniprotIds", [])) if v
    ]


def file_links(record: dict[str, Any]) -> list[dict[str, str]]:
    """Where the image files are, as the site's indexer found them (paths at the facility, file: URLs)."""
    out = []
    for s in record.get("images") or []:
        path = f"{str(s.get('directory', '')).rstrip('/')}/{s.get('template', '')}"
        out.append(
            {
                "name": f"{s.get('template')} ({s.get('first')}-{s.get('last')}, {s.get('count')} files)",
                # quoted: templates hold `#` (image-number digits), which would start a URL fragment
                "url": "file://" + quote(path) if path.startswith("/") else quote(path),
                "format": str(s.get("format") or "unknown"),
            }
        )
    return out


def datacite(record: dict[str, Any], page_url: str) -> dict[str, Any]:
    """DataCite Metadata Schema 4.x as the DataCite REST API's JSON (`data.attributes`)."""
    facility = record["site"]
    start = str(record.get("startTime") or "")
    attributes: dict[str, Any] = {
        "identifiers": [{"identifier": page_url, "identifierType": "URL"}],
        "creators": [{"name": facility, "nameType": "Organizational"}],
        "titles": [{"title": title(record)}],
        "publisher": {"name": facility},
        "publicationYear": int(start[:4]) if start[:4].isdigit() else None,
        "types": {
            "resourceTypeGeneral": "Dataset",
            "resourceType": "Macromolecular crystallography diffraction data",
        },
        "subjects": [
            {
                "subject": TECHNIQUE_NAME,
                "subjectScheme": "PaNET",
                "schemeUri": "http://purl.org/pan-science/PaNET/",
                "valueUri": TECHNIQUE_PID,
            }
        ],
        "dates": [{"date": temporal_coverage(record), "dateType": "Collected"}] if start else [],
        "descriptions": [{"description": description(record), "descriptionType": "Abstract"}],
        "formats": sorted({f["format"] for f in file_links(record)}),
        "url": page_url,
        "schemaVersion": "http://datacite.org/schema/kernel-4",
    }
    doi = doi_of(record)
    if doi:
        attributes["doi"] = doi["doi"]
        attributes["identifiers"].insert(0, {"identifier": doi["doi"], "identifierType": "DOI"})
        if doi.get("licence"):
            attributes["rightsList"] = [{"rights": doi["licence"], "rightsUri": doi["licence"]}]
        if doi.get("openFrom"):
            attributes["dates"].append({"date": doi["openFrom"], "dateType": "Available"})
    related = [
        {
            "relatedIdentifier": f"10.2210/pdb{p.lower()}/pdb",
            "relatedIdentifierType": "DOI",
            "relationType": "IsSourceOf",
        }
        for p in pdb_ids(record)
    ]
    if related:
        attributes["relatedIdentifiers"] = related
    return {"data": {"type": "dois", "attributes": attributes}}
