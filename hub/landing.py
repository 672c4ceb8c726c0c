"""Landing pages (issue 19, item 3): `/datasets/{global id}`, one server-rendered HTML page per data
collection, readable without JavaScript, with schema.org JSON-LD; `/datasets/{id}/datacite.json`.

The record comes through the hub's own GraphQL with the caller's identity (inprocess.py), so a page
shows exactly what /graphql would. A record the caller may not see (embargoed, or absent: the sites
answer both alike, docs/security.md) is a 403 page that says only that. Everything shown is escaped.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from mx_hub.datacite import datacite, file_links, json_ld, measured
from mx_hub.dataset_record import Lookup, doi_of, lookup, pdb_ids, title
from mx_hub.endpoint import GraphQLEndpoint
from mx_hub.inprocess import HubQuery, Refused
from mx_hub.web import CSP

DATACITE_MEDIA = "application/vnd.datacite.datacite+json"
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "private, no-cache",  # what a page shows depends on who asks
}


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def script_json(payload: Any) -> str:
    """JSON inside <script type="application/ld+json">: `<`, `>` and `&` escaped so that no text from a
    facility can close the element (HTML spec, restrictions for contents of script elements)."""
    text = json.dumps(payload, ensure_ascii=False, indent=1, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def page(title_text: str, body: str, head: str = "") -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title_text)} · mxhub</title>\n"
        '<link rel="stylesheet" href="/static/app.css">\n'
        '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">\n'
        f"{head}</head>\n<body>\n<main>\n{body}\n"
        '<p><a href="/">Search all facilities</a></p>\n</main>\n</body>\n</html>\n'
    )


def refusal_page(status: int, heading: str, text: str, headers: dict[str, str] | None = None) -> Response:
    body = f"<h1>{esc(heading)}</h1>\n<p>{esc(text)}</p>"
    return Response(
        page(heading, body),
        status_code=status,
        media_type="text/html",
        headers={**HEADERS, **(headers or {})},
    )


def fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return esc(value)


def facts(record: dict[str, Any]) -> str:
    session = record.get("session") or {}
    sample = record.get("sample") or {}
    protein = sample.get("protein") or {}
    rows = [
        ("Facility", record.get("site")),
        ("Beamline", session.get("beamline")),
        ("Proposal", session.get("proposal")),
        ("Visit", session.get("visit")),
        ("Facility's id", record.get("localId")),
        ("Experiment type", record.get("experimentType")),
        ("Started", record.get("startTime")),
        ("Ended", record.get("endTime")),
        ("Sample", sample.get("name")),
        ("Protein", " ".join(str(p) for p in (protein.get("name"), protein.get("acronym")) if p) or None),
        ("UniProt", ", ".join(protein.get("uniprotIds") or []) or None),
        ("Space group (best processing)", (record.get("bestProcessing") or {}).get("spaceGroup")),
        ("Technique", "macromolecular crystallography (PaNET01164)"),
    ]
    doi = doi_of(record)
    if doi:
        rows.insert(0, ("DOI", doi["doi"]))
        if doi.get("licence"):
            rows.append(("Licence", doi["licence"]))
    items = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>\n" for k, v in rows if v not in (None, ""))
    return f"<dl>\n{items}</dl>"


def values_table(record: dict[str, Any]) -> str:
    rows = "".join(
        f'<tr><th scope="row">{esc(name)}</th><td>{fmt(value)}</td><td class="unit">{esc(unit)}</td></tr>\n'
        for name, value, unit, _ in measured(record)
    )
    if not rows:
        return ""
    return (
        '<h2>Measured values</h2>\n<table class="facts">\n<thead><tr><th scope="col">Quantity</th>'
        f'<th scope="col">Value</th><th scope="col">Unit</th></tr></thead>\n<tbody>\n{rows}</tbody>\n</table>'
    )


def files_section(record: dict[str, Any]) -> str:
    files = file_links(record)
    directory = record.get("imageDirectory")
    template = record.get("fileTemplate")
    lines = [f'<li><a href="{esc(f["url"])}">{esc(f["name"])}</a> ({esc(f["format"])})</li>' for f in files]
    if not lines and directory:
        lines.append(f"<li>{esc(str(directory).rstrip('/') + '/' + str(template or ''))} (as recorded)</li>")
    if not lines:
        return ""
    return "<h2>Files</h2>\n<p>At the facility:</p>\n<ul>\n" + "\n".join(lines) + "\n</ul>"


def pdb_section(record: dict[str, Any]) -> str:
    ids = pdb_ids(record)
    if not ids:
        return ""
    links = "".join(
        f'<li><a href="https://www.rcsb.org/structure/{esc(quote(p))}">{esc(p)}</a></li>' for p in ids
    )
    return f"<h2>Structures in the PDB</h2>\n<ul>{links}</ul>"


def dataset_page(record: dict[str, Any], dataset_id: str, base: str, public: bool) -> str:
    page_url = f"{base}/datasets/{dataset_id}"
    ld = json_ld(record, page_url, f"{base}/", public)
    heading = title(record)
    head = (
        f'<link rel="canonical" href="{esc(page_url)}">\n'
        f'<link rel="alternate" type="{DATACITE_MEDIA}" href="{esc(page_url)}/datacite.json">\n'
        f'<meta name="description" content="{esc(ld["description"])}">\n'
        f'<script type="application/ld+json">\n{script_json(ld)}\n</script>\n'
    )
    body = "\n".join(
        part
        for part in (
            f"<h1>{esc(heading)}</h1>",
            f"<p>{esc(ld['description'])}</p>",
            facts(record),
            values_table(record),
            files_section(record),
            pdb_section(record),
            "<h2>Metadata and links</h2>\n<ul>"
            f'<li><a href="{esc(page_url)}/datacite.json">DataCite metadata (JSON)</a></li>'
            f'<li><a href="/#/dc/{esc(quote(dataset_id))}">This data collection in the search page</a></li>'
            f"<li>Global id: <code>{esc(dataset_id)}</code></li></ul>",
        )
        if part
    )
    return page(heading, body, head)


@dataclass
class Refusal:
    """Why a page cannot show its record: the HTTP status, a heading and one sentence."""

    status: int
    heading: str
    text: str
    headers: dict[str, str] = field(default_factory=dict)  # the gate's (www-authenticate, retry-after)


NOT_A_DATASET = Refusal(404, "No such data set", "This is not the id of a data collection.")
NOT_HELD = Refusal(404, "No such data set", "No registered facility holds this id.")
# One answer for embargoed and absent records: the sites answer both alike (docs/security.md).
NOT_AVAILABLE = Refusal(
    403,
    "Not available",
    "This data set is not available to you: it is under embargo (not yet public), or the facility "
    "does not hold it. If it is yours, sign in with a token the hub accepts.",
)


def refusal_of(found: Lookup) -> Refusal:
    if found.gid is None or found.answer is None:
        return NOT_A_DATASET
    if found.failed:
        sites = ", ".join(found.answer.failed_sites)
        return Refusal(
            502, "Facility unavailable", f"The facility that holds this data set did not answer ({sites})."
        )
    return NOT_HELD if found.answer.user_errors() else NOT_AVAILABLE


class LandingPages:
    """`/datasets/{id}` (HTML) and `/datasets/{id}/datacite.json`, answered for the request's caller."""

    def __init__(self, endpoint: GraphQLEndpoint) -> None:
        self.endpoint = endpoint

    async def find(self, request: Request) -> tuple[HubQuery, dict[str, Any]] | Refusal:
        try:
            query = await HubQuery.admit(self.endpoint, request)
        except Refused as refused:
            return Refusal(refused.status, "Not allowed", str(refused), refused.headers)
        found = await lookup(query, request.path_params["id"])
        return (query, found.record) if found.record is not None else refusal_of(found)

    async def page(self, request: Request) -> Response:
        found = await self.find(request)
        if isinstance(found, Refusal):
            return refusal_page(found.status, found.heading, found.text, found.headers)
        query, record = found
        base = str(request.base_url).rstrip("/")
        text = dataset_page(record, request.path_params["id"], base, query.anonymous)
        return Response(text, media_type="text/html", headers=HEADERS)

    async def datacite(self, request: Request) -> Response:
        found = await self.find(request)
        if isinstance(found, Refusal):
            return JSONResponse(
                {"error": found.text, "status": found.status}, status_code=found.status, headers=found.headers
            )
        base = str(request.base_url).rstrip("/")
        payload = datacite(found[1], f"{base}/datasets/{request.path_params['id']}")
        return JSONResponse(
            payload, media_type=DATACITE_MEDIA, headers={"cache-control": "private, no-cache"}
        )

    async def by_doi(self, request: Request) -> Response:
        """`/datasets/doi/{doi}`: 303 to the DOI'd data set's page. A hook for DOIs (issue 19, item 1):
        it works once the hub's `DataCollectionFilter` has a `doi` field, and says so until then."""
        filter_type = self.endpoint.schema.type_map.get("DataCollectionFilter")
        if "doi" not in (getattr(filter_type, "fields", None) or {}):
            return refusal_page(404, "No such data set", "This hub does not look data sets up by DOI yet.")
        try:
            query = await HubQuery.admit(self.endpoint, request)
        except Refused as refused:
            return refusal_page(refused.status, "Not allowed", str(refused), refused.headers)
        answer = await query.run(
            "query($d: String) { dataCollections(filter: {doi: $d}, first: 1) { edges { node { id } } } }",
            {"d": request.path_params["doi"]},
        )
        edges = ((answer.data or {}).get("dataCollections") or {}).get("edges") or []
        if not edges:
            return refusal_page(NOT_AVAILABLE.status, NOT_AVAILABLE.heading, NOT_AVAILABLE.text)
        return RedirectResponse(f"/datasets/{quote(edges[0]['node']['id'], safe='')}", status_code=303)


def landing_routes(endpoint: GraphQLEndpoint) -> list[Route]:
    pages = LandingPages(endpoint)
    return [
        Route("/datasets/doi/{doi:path}", pages.by_doi, methods=["GET", "HEAD"]),
        Route("/datasets/{id}", pages.page, methods=["GET", "HEAD"]),
        Route("/datasets/{id}/datacite.json", pages.datacite, methods=["GET", "HEAD"]),
    ]
