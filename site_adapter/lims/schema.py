"""The LIMS federation subgraph: `Sample @key(fields: "id")` extended with `crystallisation`, and the
`crystallisationSearch` root field the hub uses for sample-centric search.

schema/lims.graphql is this schema printed; a test keeps them equal. No SQL here: the store answers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import strawberry
import strawberry.federation as federation
from graphql import GraphQLError
from strawberry.dataloader import DataLoader
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.types import ExecutionContext, Info

from mx_schema.errors import ContractError
from site_adapter.graphql.entities import CheckedEntities
from site_adapter.graphql.limits import limit_extensions
from site_adapter.lims import keys as k
from site_adapter.lims import records as rec
from site_adapter.lims.resolve import resolve
from site_adapter.lims.search import MAX_FIRST, make_filter
from site_adapter.lims.store import LimsStore

LIMS_SCHEMA_VERSION = "1.1.0"  # 1.1: CrystallisationMatches.unknown; chemical synonyms


def d(unit: str, text: str = "") -> str:
    return f"{text} Unit: {unit}.".strip() if text else f"Unit: {unit}."


@dataclass
class LimsContext:
    """Per request: the LIMS's name (`site` for the shared view), its store and one batching loader."""

    site: str
    store: LimsStore
    schema_version: str = LIMS_SCHEMA_VERSION
    warnings: list[dict[str, Any]] = field(default_factory=list)
    loader: DataLoader[k.SampleKeys, rec.Resolution] | None = None

    def __post_init__(self) -> None:
        store = self.store

        async def load(batch: list[k.SampleKeys]) -> list[rec.Resolution]:
            uuids = sorted({b.crystal_uuid for b in batch if b.crystal_uuid})
            pins = sorted({b.pin_barcode for b in batch if b.pin_barcode})
            pwds = sorted({b.plate_well_drop for b in batch if b.plate_well_drop}, key=str)
            found = await store.records_by_keys(uuids, pins, pwds) if (uuids or pins or pwds) else []
            return [resolve(b, found) for b in batch]

        self.loader = DataLoader(load_fn=load)


def lctx(info: Info) -> LimsContext:
    context: LimsContext = info.context["site"]
    return context


@strawberry.type(description="A crystallisation plate.")
class Plate:
    barcode: str
    type: str | None = strawberry.field(
        description="Plate type as the LIMS names it, e.g. `MRC 3-drop 96-well`."
    )


@strawberry.type(description="One component of a crystallisation condition.")
class Component:
    name: str
    cas_number: str | None = strawberry.field(description="CAS Registry Number, e.g. `7647-14-5`.")
    concentration: float | None = strawberry.field(
        description=d("given by `unit`: M for molar amounts, %w/v or %v/v for percentages")
    )
    unit: str | None = strawberry.field(description="`M`, `%w/v`, `%v/v` or `mg/ml`.")
    role: str | None = strawberry.field(description="buffer, precipitant, salt or additive.")
    ph: float | None = strawberry.field(description=d("pH", "pH of this component's stock, for buffers."))

    @classmethod
    def of(cls, c: rec.Component) -> Component:
        return cls(
            name=c.name,
            cas_number=c.cas_number,
            concentration=c.concentration,
            unit=c.unit,
            role=c.role,
            ph=c.ph,
        )


@strawberry.type(
    description="A soak of the crystal in a compound (ligand, heavy atom, fragment) before harvest."
)
class Soak:
    compound: str
    ccd_id: str | None = strawberry.field(description="PDB Chemical Component Dictionary id, e.g. `BEN`.")
    smiles: str | None
    concentration: float | None = strawberry.field(description=d("given by `unit`, mM for molar amounts"))
    unit: str | None = strawberry.field(description="`mM`, `%w/v` or `%v/v`.")
    duration_minutes: float | None = strawberry.field(description=d("min"))

    @classmethod
    def of(cls, s: rec.Soak) -> Soak:
        return cls(
            compound=s.compound,
            ccd_id=s.ccd_id,
            smiles=s.smiles,
            concentration=s.concentration,
            unit=s.unit,
            duration_minutes=s.duration_minutes,
        )


@strawberry.type(description="The expression construct the crystallised protein came from.")
class Construct:
    name: str
    protein_name: str
    uniprot_id: str | None = strawberry.field(description="UniProt accession, e.g. `P00698`.")
    residue_start: int | None = strawberry.field(description=d("residue number (UniProt numbering)"))
    residue_end: int | None = strawberry.field(description=d("residue number (UniProt numbering)"))
    expression_host: str | None
    modifications: str | None = strawberry.field(
        description="Tags, mutations, cleavage, e.g. `His6-TEV removed`."
    )

    @classmethod
    def of(cls, c: rec.Construct | None) -> Construct | None:
        return (
            None
            if c is None
            else cls(
                name=c.name,
                protein_name=c.protein_name,
                uniprot_id=c.uniprot_id,
                residue_start=c.residue_start,
                residue_end=c.residue_end,
                expression_host=c.expression_host,
                modifications=c.modifications,
            )
        )


@strawberry.type(description="A purification batch of a construct, as set up in the drop.")
class PurificationBatch:
    code: str
    purified_on: dt.date | None
    concentration: float | None = strawberry.field(description=d("mg/ml", "Protein concentration."))
    buffer: str | None

    @classmethod
    def of(cls, b: rec.PurificationBatch | None) -> PurificationBatch | None:
        return (
            None
            if b is None
            else cls(code=b.code, purified_on=b.purified_on, concentration=b.concentration, buffer=b.buffer)
        )


@strawberry.type(
    description="How a sample's crystal was grown, soaked and cryo-protected, from a crystallisation LIMS."
)
class Crystallisation:
    method: str | None = strawberry.field(
        description="mmCIF _exptl_crystal_grow.method, e.g. `VAPOR DIFFUSION, SITTING DROP`."
    )
    temperature: float | None = strawberry.field(description=d("K", "Incubation temperature."))
    ph: float | None = strawberry.field(description=d("pH", "pH of the condition."))
    setup_date: dt.date | None
    plate: Plate
    well: str = strawberry.field(description="Well of the plate, e.g. `B7`.")
    drop: int = strawberry.field(description=d("drop position in the well, from 1"))
    screen: str | None = strawberry.field(description="Name of the screen the condition belongs to.")
    condition: str | None = strawberry.field(
        description="Position of the condition in its screen, e.g. `B7`."
    )
    components: list[Component]
    soaks: list[Soak]
    cryo_protectant: str | None
    harvest_date: dt.date | None
    crystal_uuid: str | None = strawberry.field(description="Crystal UUID, lower case.")
    pin_barcode: str | None
    construct: Construct | None
    purification: PurificationBatch | None
    source: str = strawberry.field(description="The LIMS that answered (its registered name).")
    record_id: str = strawberry.field(description="The LIMS's own id of the crystal record.")
    conflicts: list[str] = strawberry.field(
        description="Other LIMS records the sample's keys name, or keys that disagree with this record; "
        "empty when the answer is unambiguous. Records are never merged."
    )

    @classmethod
    def of(cls, source: str, res: rec.Resolution) -> Crystallisation | None:
        c = res.record
        if c is None:
            return None
        return cls(
            method=c.method,
            temperature=c.temperature,
            ph=c.ph,
            setup_date=c.setup_date,
            plate=Plate(barcode=c.plate_barcode, type=c.plate_type),
            well=c.well,
            drop=c.drop,
            screen=c.screen,
            condition=c.condition,
            components=[Component.of(x) for x in c.components],
            soaks=[Soak.of(x) for x in c.soaks],
            cryo_protectant=c.cryo_protectant,
            harvest_date=c.harvested_on,
            crystal_uuid=c.crystal_uuid,
            pin_barcode=c.pin_barcode,
            construct=Construct.of(c.construct),
            purification=PurificationBatch.of(c.batch),
            source=source,
            record_id=str(c.record_id),
            conflicts=list(res.conflicts),
        )


# What the LIMS needs of a site's sample to find its record, in Federation v2 terms: a router (and our
# hub, mx_hub.stitch) fetches these fields from the site and passes them in the `_entities` representation.
REQUIRES = "crystal { uuid } barcode externalIds { system kind value }"
PLATE_WELL_DROP_KINDS = ("plate-well-drop", "plate_well_drop")


# The site's types as far as `@requires` reads them; no descriptions, so a router's supergraph keeps the
# site's own.
@federation.type
class ExternalId:
    system: str = federation.field(external=True)
    kind: str = federation.field(external=True)
    value: str = federation.field(external=True)


@federation.type
class Crystal:
    uuid: str | None = federation.field(external=True)


# A sample of a site, extended by the LIMS: `crystallisation` requires the site's crystal UUID, pin
# barcode and external ids (plate/well/drop), which any Federation v2 router fetches from the site first.
@federation.type(keys=["id"])
class Sample:
    id: strawberry.ID
    crystal: Crystal | None = federation.field(external=True, default=None)
    barcode: str | None = federation.field(external=True, default=None)
    external_ids: list[ExternalId] = federation.field(external=True, default_factory=list)
    _keys: strawberry.Private[k.SampleKeys | None] = None

    @federation.field(requires=[REQUIRES], description="Null when this LIMS does not know the sample.")
    async def crystallisation(self, info: Info) -> Crystallisation | None:
        if self._keys is None:
            return None
        c = lctx(info)
        return Crystallisation.of(c.site, await c.loader.load(self._keys))  # type: ignore[union-attr]

    @classmethod
    async def resolve_reference(
        cls,
        info: Info,
        id: strawberry.ID,
        crystal: dict[str, Any] | None = None,
        barcode: str | None = None,
        externalIds: list[dict[str, Any]] | None = None,
        **legacy: Any,
    ) -> Sample:
        # strawberry passes the representation's fields as keyword arguments (federation/schema.py,
        # entities_resolver); a malformed key fails this one entity, not the batch.
        keys = representation_keys(crystal, barcode, externalIds, legacy)
        if keys.crystal_uuid is None and keys.pin_barcode is None and keys.plate_well_drop is None:
            return cls(id=id, _keys=None)
        return cls(id=id, _keys=keys)


def representation_keys(
    crystal: dict[str, Any] | None,
    barcode: str | None,
    external_ids: list[dict[str, Any]] | None,
    legacy: dict[str, Any],
) -> k.SampleKeys:
    """The keys of one representation: the `@requires` fields; or, from hubs before the LIMS stated them,
    `crystalUuid`, `pinBarcode` and `plateWellDrop` (still accepted, never sent by this hub)."""
    uuid = crystal.get("uuid") if isinstance(crystal, dict) else None
    pwd = next(
        (
            e.get("value")
            for e in external_ids or []
            if isinstance(e, dict) and e.get("kind") in PLATE_WELL_DROP_KINDS
        ),
        None,
    )
    return k.sample_keys(
        (uuid or legacy.get("crystalUuid") or None),
        barcode or legacy.get("pinBarcode") or None,
        pwd or legacy.get("plateWellDrop") or None,
    )


@strawberry.input(description="Crystals to find; every field given must match (AND).")
class CrystallisationSearchFilter:
    protein_name: str | None = strawberry.field(
        default=None, description="Case-insensitive substring of the protein name."
    )
    uniprot_id: str | None = strawberry.field(default=None, description="UniProt accession of the construct.")
    ligand: str | None = strawberry.field(
        default=None,
        description="PDB chemical component id of a soaked compound. One no record uses matches "
        "nothing and is listed in `unknown`.",
    )
    chemical: str | None = strawberry.field(
        default=None,
        description="A condition component: its name (case-insensitive; the synonyms, abbreviations "
        "and formulas of the chemical vocabulary too, e.g. `PEG 3350`, `NaCl`, "
        "`ammonium sulphate`) or CAS number. One no record uses matches nothing and is "
        "listed in `unknown` with close known names.",
    )
    concentration_min: float | None = strawberry.field(
        default=None, description=d("the component's unit (M, %w/v or %v/v)", "Lower bound for `chemical`.")
    )
    concentration_max: float | None = strawberry.field(
        default=None, description=d("the component's unit (M, %w/v or %v/v)", "Upper bound for `chemical`.")
    )
    concentration_unit: str | None = strawberry.field(
        default=None, description="Only components recorded in this unit: `M`, `%w/v` or `%v/v`."
    )
    ph_min: float | None = strawberry.field(default=None, description=d("pH", "Of the condition."))
    ph_max: float | None = strawberry.field(default=None, description=d("pH", "Of the condition."))
    method: str | None = strawberry.field(default=None, description="mmCIF _exptl_crystal_grow.method term.")
    setup_after: dt.date | None = strawberry.field(
        default=None, description="Plates set up on or after this day."
    )
    setup_before: dt.date | None = strawberry.field(
        default=None, description="Plates set up on or before this day."
    )


@strawberry.type(
    description="A search term no record of this LIMS uses: it matches nothing here (not an error)."
)
class UnknownTerm:
    field: str = strawberry.field(description="`chemical` or `ligand`.")
    value: str = strawberry.field(description="The term as given.")
    suggestions: list[str] = strawberry.field(
        description="Close names (CCD ids for a ligand) this LIMS records."
    )


@strawberry.type(description="The keys of the crystals that match: the hub asks the sites for their samples.")
class CrystallisationMatches:
    crystal_uuids: list[str] = strawberry.field(
        description="Distinct crystal UUIDs (lower case), by record id."
    )
    pin_barcodes: list[str] = strawberry.field(
        description="Distinct pin barcodes of the matches, by record id."
    )
    plate_well_drops: list[str] = strawberry.field(
        description="`PLATE/WELL/DROP` of every match, by record id."
    )
    count: int = strawberry.field(
        description=d("crystal records", "All matching records, beyond `first` too.")
    )
    truncated: bool = strawberry.field(
        description="True when `count` exceeds `first`: the key lists are partial."
    )
    unknown: list[UnknownTerm] = strawberry.field(
        default_factory=list,
        description="The filter's chemical or ligand when no record of this LIMS uses it.",
    )


@strawberry.type(description="What this endpoint is.")
class LimsInfo:
    name: str
    kind: str
    schema_version: str


@strawberry.type
class Query:
    @strawberry.field(description="Crystals matching the filter, as keys the sites know (UUID, pin barcode).")
    async def crystallisation_search(
        self, info: Info, filter: CrystallisationSearchFilter, first: int | None = 1000
    ) -> CrystallisationMatches:
        first = 1000 if first is None else first
        if not 0 <= first <= MAX_FIRST:
            raise ContractError(f"first must be between 0 and {MAX_FIRST}")
        f = make_filter(
            protein_name=filter.protein_name,
            uniprot_id=filter.uniprot_id,
            ligand=filter.ligand,
            chemical=filter.chemical,
            concentration_min=filter.concentration_min,
            concentration_max=filter.concentration_max,
            concentration_unit=filter.concentration_unit,
            ph_min=filter.ph_min,
            ph_max=filter.ph_max,
            method=filter.method,
            setup_after=filter.setup_after,
            setup_before=filter.setup_before,
        )
        m = await lctx(info).store.search(f, first)
        return CrystallisationMatches(
            crystal_uuids=list(m.crystal_uuids),
            pin_barcodes=list(m.pin_barcodes),
            plate_well_drops=list(m.plate_well_drops),
            count=m.count,
            truncated=m.truncated,
            unknown=[
                UnknownTerm(field=u.field, value=u.value, suggestions=list(u.suggestions)) for u in m.unknown
            ],
        )

    @strawberry.field(description="This LIMS source: its registered name and schema version.")
    def lims_info(self, info: Info) -> LimsInfo:
        c = lctx(info)
        return LimsInfo(name=c.site, kind="lims", schema_version=c.schema_version)


class LimsSchema(CheckedEntities, federation.Schema):
    """Errors are shaped and logged once, by the view (mx_schema.http.format_error), not here."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        return None


def build_schema() -> federation.Schema:
    return LimsSchema(
        query=Query,
        types=[Sample],
        extensions=[
            *limit_extensions(),
            lambda: ParserCache(maxsize=256),
            lambda: ValidationCache(maxsize=256),
        ],
    )


schema = build_schema()
