"""Identifiers and deposition (issue 19, since 1.2.0): DOIs, PDB entries, raw-data archive links, and
`DataCollection.export(format: MMCIF)`.

The types here import nothing of types.py or collection.py (those import this module). Loaders are
made on first use per request from the backend's base.IdentifierStore methods; a backend without them
answers "none". No SQL here; the mmCIF itself is written by site_adapter.export.mmcif.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from enum import Enum
from typing import Any

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from mx_schema.errors import NOT_FOUND, ContractError, InvalidGlobalId
from mx_schema.ids import decode_id
from site_adapter import model
from site_adapter.backends.base import IdentifierStore
from site_adapter.graphql.context import SiteContext

DOI_RESOLVER = "https://doi.org/"


def _unit(unit: str, text: str) -> str:
    return f"{text} Unit: {unit}."


@strawberry.type(description="A DOI that cites data (since 1.2.0).")
class Doi:
    doi: str = strawberry.field(description="The DOI name, e.g. `10.15151/ESRF-ES-90632078` (no resolver).")
    url: str = strawberry.field(description="The DOI resolver URL, `https://doi.org/<doi>`.")
    level: str = strawberry.field(
        description="What it was minted for: `session`, `dataset` (a collection group) or `collection`."
    )
    licence: str | None = strawberry.field(
        description="Licence of the data once open: an SPDX id (`CC-BY-4.0`) or a URL."
    )
    open_from: dt.datetime | None = strawberry.field(
        description="When the data become open (the end of the embargo); null when the facility did not say."
    )

    @classmethod
    def of(cls, r: model.Doi) -> Doi:
        return cls(
            doi=r.doi, url=DOI_RESOLVER + r.doi, level=r.level, licence=r.licence, open_from=r.open_from
        )


@strawberry.type(description="A PDB entry, or a model with no PDB code, linked to this record (since 1.2.0).")
class PdbEntry:
    pdb_id: str | None = strawberry.field(
        description="The 4-character PDB code, upper case; null for a model the facility keeps with no "
        "code (e.g. a predicted model)."
    )
    relation: str = strawberry.field(
        description="`protein`: registered for the protein; `processing`: matched to a processing result."
    )
    name: str | None
    title: str | None
    source: str | None = strawberry.field(description="Where a model came from, e.g. `AlphaFold`.")
    resolution: float | None = strawberry.field(description=_unit("Å", "Resolution of the entry."))
    rcsb_url: str | None = strawberry.field(description="The entry at RCSB PDB; null without a code.")
    pdbe_url: str | None = strawberry.field(description="The entry at PDBe; null without a code.")

    @classmethod
    def of(cls, r: model.PdbEntry) -> PdbEntry:
        code = r.pdb_id
        return cls(
            pdb_id=code,
            relation=r.relation,
            name=r.name,
            title=r.title,
            source=r.source,
            resolution=r.resolution,
            rcsb_url=f"https://www.rcsb.org/structure/{code}" if code else None,
            pdbe_url=f"https://www.ebi.ac.uk/pdbe/entry/pdb/{code.lower()}" if code else None,
        )


@strawberry.type(description="Where a collection's raw data are archived (since 1.2.0).")
class ArchiveLink:
    url: str
    kind: str | None = strawberry.field(description="e.g. `landing-page`, `download`.")
    open_from: dt.datetime | None = strawberry.field(description="When the archived data become open.")

    @classmethod
    def of(cls, r: model.ArchiveLink) -> ArchiveLink:
        return cls(url=r.url, kind=r.kind, open_from=r.open_from)


@strawberry.enum(description="Formats DataCollection.export writes (since 1.2.0).")
class ExportFormat(Enum):
    MMCIF = "mmcif"


def _site(info: Info) -> SiteContext:
    site: SiteContext = info.context["site"]
    return site


def _loader(info: Info, name: str, default: Any) -> DataLoader[str, Any] | None:
    """The request's loader for the IdentifierStore method `name`, made on first use; None when the
    backend keeps no identifiers."""
    c = _site(info)
    attr = f"citation_{name}"
    found: DataLoader[str, Any] | None = getattr(c.loaders, attr, None)
    if found is not None:
        return found
    if not isinstance(c.backend, IdentifierStore):
        return None
    batch: Callable[[Sequence[str]], Awaitable[dict[str, Any]]] = getattr(c.backend, name)

    async def load(keys: list[str]) -> list[Any]:
        got = await batch(keys)
        return [got.get(k, list(default) if isinstance(default, tuple) else default) for k in keys]

    made: DataLoader[str, Any] = DataLoader(load_fn=load)
    setattr(c.loaders, attr, made)
    return made


async def _load(info: Info, name: str, key: str | None, default: Any) -> Any:
    if key is None:
        return list(default) if isinstance(default, tuple) else default
    loader = _loader(info, name, default)
    if loader is None:
        return list(default) if isinstance(default, tuple) else default
    return await loader.load(key)


async def session_doi(info: Info, session_local_id: str) -> model.Doi | None:
    found: model.Doi | None = await _load(info, "dois_by_session", session_local_id, None)
    return found


async def collection_doi(info: Info, r: model.DataCollection) -> model.Doi | None:
    """The most specific DOI covering the collection: its own, its data set's, else its session's."""
    own: model.Doi | None = await _load(info, "dois_by_collection", r.local_id, None)
    if own is not None or r.session_local_id is None:
        return own
    return await session_doi(info, r.session_local_id)


async def protein_entries(info: Info, protein_local_id: str | None) -> list[model.PdbEntry]:
    found: list[model.PdbEntry] = await _load(info, "pdb_entries_by_protein", protein_local_id, ())
    return found


async def collection_entries(info: Info, r: model.DataCollection) -> list[model.PdbEntry]:
    """Entries of the collection's protein, then those matched to its processing results."""
    c = _site(info)
    protein = None
    if r.sample_local_id is not None:
        sample = await c.loaders.samples.load(r.sample_local_id)
        protein = sample.protein_local_id if sample is not None else None
    own: list[model.PdbEntry] = await _load(info, "pdb_entries_by_collection", r.local_id, ())
    return await protein_entries(info, protein) + own


async def archive_links(info: Info, r: model.DataCollection) -> list[model.ArchiveLink]:
    found: list[model.ArchiveLink] = await _load(info, "archive_links_by_collection", r.local_id, ())
    return found


def _bounded(name: str, value: str | None) -> str | None:
    if value is not None and (len(value) > 200 or "\x00" in value):
        raise ContractError(f"`{name}` is too long or contains a NUL character")
    return value


def _named_result(
    results: list[model.ProcessingResult], site: str, processing: str
) -> model.ProcessingResult:
    """The result `processing` names (a global or local id); NOT_FOUND when it is not among `results`."""
    local = processing
    try:
        gid = decode_id(processing)
    except InvalidGlobalId:
        gid = None
    if gid is not None:
        if gid.type != "ProcessingResult" or gid.site != site:
            raise ContractError(f"`processing` {processing!r} is not a processing result of this site")
        local = gid.local_id
    for r in results:
        if r.local_id == local:
            return r
    raise ContractError(f"no processing result {processing!r} for this collection", code=NOT_FOUND)


def choose_result(
    results: list[model.ProcessingResult],
    best: model.ProcessingResult | None,
    site: str,
    processing: str | None,
    program: str | None,
) -> model.ProcessingResult | None:
    """The result to export: the one named by `processing` (a global or local id), else the best of
    those whose program contains `program` (case-insensitive), else the best. NOT_FOUND when a named
    one is not among this collection's."""
    processing, program = _bounded("processing", processing), _bounded("program", program)
    if processing is not None:
        return _named_result(results, site, processing)
    if program is None:
        return best
    from site_adapter.graphql.types import best_of

    wanted = [r for r in results if program.lower() in (r.program or "").lower()]
    chosen = best_of(wanted) or (wanted[-1] if wanted else None)
    if chosen is None:
        raise ContractError(f"no processing result by a program matching {program!r}", code=NOT_FOUND)
    return chosen


async def export_mmcif(
    info: Info, r: model.DataCollection, processing: str | None, program: str | None
) -> str:
    """The deposition fragment of a collection this caller can see (the record was loaded through the
    access-controlled loaders, so an embargoed one never reaches here)."""
    from site_adapter.export import mmcif
    from site_adapter.graphql.types import best_of

    c = _site(info)
    results = await c.loaders.processing.load(r.local_id)
    result = choose_result(list(results), best_of(list(results)), c.site, processing, program)
    detector = await c.loaders.detectors.load(r.detector_local_id) if r.detector_local_id else None
    session = await c.loaders.sessions.load(r.session_local_id) if r.session_local_id else None
    doi = await collection_doi(info, r)
    return mmcif.render(
        mmcif.Deposition(
            entry_id=f"{c.site}_{r.local_id}",
            collection=r,
            detector=detector,
            synchrotron_site=c.site,
            beamline=session.beamline if session is not None else None,
            result=result,
            raw_data_doi=doi.doi if doi is not None else None,
        )
    )
