"""dataCollectionFacets (since 1.2.0, docs/facets.md): how many of a filter's data collections have each
beamline, experiment type, space group and protein, for the search page (issue 17).

The store counts (FacetBackend: exact within the count budget, else an estimate that says so); this
module checks the arguments and shapes the answer. No SQL here.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import strawberry
from strawberry.types import Info

from mx_schema.errors import ContractError
from site_adapter.backends import base
from site_adapter.graphql import filters as fl
from site_adapter.graphql.connections import TotalCountKind
from site_adapter.graphql.types import ctx

DEFAULT_FIRST = 10
MAX_FIRST = 100


@strawberry.enum(description="A field dataCollectionFacets counts by (since 1.2.0).")
class FacetField(Enum):
    BEAMLINE = strawberry.enum_value("BEAMLINE", description="The beamline: the filter term `beamline`.")
    EXPERIMENT_TYPE = strawberry.enum_value(
        "EXPERIMENT_TYPE", description="The experiment type: the filter term `experimentType`."
    )
    SPACE_GROUP = strawberry.enum_value(
        "SPACE_GROUP",
        description="The best processing result's space group, spaces removed, upper case: the filter "
        "term `spaceGroup`.",
    )
    PROTEIN = strawberry.enum_value(
        "PROTEIN", description="The protein's acronym: the filter term `proteinAcronym`."
    )


_FIELDS = {f: base.FacetField[f.name] for f in FacetField}


@strawberry.type(description="One value of a facet and how many records have it (since 1.2.0).")
class FacetValue:
    value: str | None = strawberry.field(
        description="The value, as its filter term takes it; null: records without one."
    )
    count: int = strawberry.field(
        description="Unit: records. Matching records with this value; exact unless countKind says otherwise."
    )
    count_kind: TotalCountKind = strawberry.field(
        description="Whether count is exact or an estimate. At the hub: ESTIMATE when any site estimated "
        "its part, or may have left the value out of its own most frequent ones."
    )


@strawberry.type(description="A field's most frequent values among the filter's matches (since 1.2.0).")
class Facet:
    field: FacetField
    values: list[FacetValue] = strawberry.field(
        description="At most `first` values: count descending, then value by code point, null last."
    )


async def data_collection_facets(
    info: Info,
    filter: fl.DataCollectionFilter | None = None,
    *,
    fields: list[FacetField],
    first: Annotated[
        int | None,
        strawberry.argument(description=f"Values per field, 0 to {MAX_FIRST} (unit: values)."),
    ] = DEFAULT_FIRST,
) -> list[Facet]:
    size = DEFAULT_FIRST if first is None else first
    if size < 0 or size > MAX_FIRST:
        raise ContractError(f"`first` of dataCollectionFacets must be 0 to {MAX_FIRST}, got {size}")
    c = ctx(info)
    backend = c.backend
    if not isinstance(backend, base.FacetBackend):
        raise ContractError("this site's store does not count facets")
    found = await backend.data_collection_facets(
        fl.to_data_collection_filter(filter), [_FIELDS[f] for f in fields], size
    )
    by_field = {fc.field: fc for fc in found}
    return [
        Facet(
            field=f,
            values=[
                FacetValue(value=v.value, count=v.count, count_kind=TotalCountKind[v.kind.name])
                for v in by_field[_FIELDS[f]].values
            ],
        )
        for f in dict.fromkeys(fields)
    ]
