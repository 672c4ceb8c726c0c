"""The site's root Query and the strawberry federation schema; the SDL it prints is the contract.

mx_schema/mxhub.graphql is this schema printed; a test keeps the two equal.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

import strawberry
import strawberry.federation as federation
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.types import Info

from site_adapter.graphql import distinct, facets, times
from site_adapter.graphql import filters as fl
from site_adapter.graphql.collection import DataCollection
from site_adapter.graphql.connections import Connection, page_request, selects_total, to_connection
from site_adapter.graphql.distinct import DistinctProteinConnection
from site_adapter.graphql.entities import CheckedEntities
from site_adapter.graphql.execution import PageExecutionContext
from site_adapter.graphql.limits import limit_extensions
from site_adapter.graphql.nodes import load_node
from site_adapter.graphql.ordering import DataCollectionOrder, to_sort_order
from site_adapter.graphql.types import (
    Crystal,
    DataCollectionGroup,
    Detector,
    Node,
    Proposal,
    Protein,
    Sample,
    Session,
    ctx,
)

if TYPE_CHECKING:
    from graphql import GraphQLError
    from strawberry.types import ExecutionContext


@strawberry.type(description="What this endpoint is: the hub checks it at registration.")
class SiteInfo:
    name: str
    backend: str
    schema_version: str
    time_zone: str | None = strawberry.field(
        description="The facility's IANA time zone, e.g. `Europe/London` (since 1.1.0; docs/time.md)."
    )


@strawberry.type
class Query:
    @strawberry.field(description="Any record by global id.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return await load_node(info, str(id))

    @strawberry.field(
        description="Data collections, newest first (a missing start time sorts last), or as `orderBy` says."
    )
    async def data_collections(
        self,
        info: Info,
        filter: fl.DataCollectionFilter | None = None,
        first: int | None = None,
        after: str | None = None,
        order_by: Annotated[
            DataCollectionOrder | None,
            strawberry.argument(
                description="The order of the records (since 1.2.0); without it, startTime descending."
            ),
        ] = None,
    ) -> Connection[DataCollection]:
        c = ctx(info)
        order = to_sort_order(order_by)
        request = page_request(c, "dataCollections", first, after, order, selects_total(info))
        page = await c.backend.data_collections(fl.to_data_collection_filter(filter), request)
        return to_connection("dataCollections", page, lambda r: DataCollection.of(c.site, r), after, order)

    @strawberry.field(description="Samples, by name then local id.")
    async def samples(
        self,
        info: Info,
        filter: fl.SampleFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Sample]:
        c = ctx(info)
        page = await c.backend.samples(fl.to_sample_filter(filter), page_request(c, "samples", first, after))
        return to_connection("samples", page, lambda r: Sample.of(c.site, r), after)

    @strawberry.field(description="Proteins, by acronym then local id.")
    async def proteins(
        self,
        info: Info,
        filter: fl.ProteinFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Protein]:
        c = ctx(info)
        page = await c.backend.proteins(
            fl.to_protein_filter(filter), page_request(c, "proteins", first, after)
        )
        return to_connection("proteins", page, lambda r: Protein.of(c.site, r), after)

    @strawberry.field(
        description="Distinct proteins: `proteins` grouped by UniProt accession, else by normalised acronym, "
        "with per-site counts; by keyKind then key, by code point (since 1.2.0; docs/proteins.md)."
    )
    async def distinct_proteins(
        self,
        info: Info,
        filter: fl.ProteinFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> DistinctProteinConnection:
        return await distinct.distinct_proteins(info, filter, first, after)

    data_collection_facets: list[facets.Facet] = strawberry.field(
        resolver=facets.data_collection_facets,
        description="How many of the filter's data collections have each value of each field: the `first` "
        "most frequent per field, exact where cheap, else an estimate that says so (since 1.2.0; "
        "docs/facets.md).",
    )

    @strawberry.field(description="Sessions (visits), newest first.")
    async def sessions(
        self,
        info: Info,
        filter: fl.SessionFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Session]:
        c = ctx(info)
        page = await c.backend.sessions(
            fl.to_session_filter(filter), page_request(c, "sessions", first, after)
        )
        return to_connection("sessions", page, lambda r: Session.of(c.site, r), after)

    @strawberry.field(description="Proposals, by code then local id.")
    async def proposals(
        self,
        info: Info,
        filter: fl.ProposalFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Proposal]:
        c = ctx(info)
        page = await c.backend.proposals(
            fl.to_proposal_filter(filter), page_request(c, "proposals", first, after)
        )
        return to_connection("proposals", page, lambda r: Proposal.of(c.site, r), after)

    @strawberry.field(description="This site: its registered name, backend and schema version.")
    def site_info(self, info: Info) -> SiteInfo:
        c = ctx(info)
        return SiteInfo(
            name=c.site,
            backend=c.backend.kind,
            schema_version=c.schema_version,
            time_zone=c.backend.time_zone.key,
        )


class SiteSchema(CheckedEntities, federation.Schema):
    """Errors are shaped and logged once, by the view (mx_schema.http.format_error), not here."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        return None


def build_schema() -> federation.Schema:
    return SiteSchema(
        query=Query,
        # Clients repeat the same few documents; parsing and validating each once saves most of the
        # per-request CPU on small pages.
        extensions=[
            *limit_extensions(),
            lambda: ParserCache(maxsize=512),
            lambda: ValidationCache(maxsize=512),
        ],
        types=[DataCollection, Sample, Session, Proposal, Protein, Crystal, Detector, DataCollectionGroup],
        scalar_overrides={dt.datetime: times.DATE_TIME},
        execution_context_class=PageExecutionContext,  # plain fields of a page in one loop (issue 17)
    )


schema = build_schema()
