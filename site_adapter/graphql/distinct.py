"""distinctProteins (since 1.2.0, docs/proteins.md): a site's proteins grouped into distinct proteins.

`proteins` lists a protein once per proposal (an ISPyB Protein row belongs to a proposal); this groups
them by UniProt accession, else by normalised acronym, with per-site counts. The store groups (one
GROUP BY per page, ProteinGroupBackend); this module only shapes its groups and checks the arguments.
"""

from __future__ import annotations

from enum import Enum

import strawberry
from strawberry.types import Info

from mx_schema.cursors import decode_group_cursor, encode_group_cursor
from mx_schema.errors import ContractError
from site_adapter.backends.base import PageRequest, ProteinGroup, ProteinGroupBackend
from site_adapter.graphql import filters as fl
from site_adapter.graphql.connections import PageInfo, page_request, selects_total
from site_adapter.graphql.types import Protein, ctx, d

CONNECTION = "distinctProteins"
DEFAULT_MEMBERS = 10
MAX_MEMBERS = 100


@strawberry.enum(description="What a distinct protein's key is (since 1.2.0).")
class ProteinKeyKind(Enum):
    ACRONYM = "ACRONYM"
    UNIPROT = "UNIPROT"


@strawberry.type(description="How many of a distinct protein's proteins one site holds (since 1.2.0).")
class SiteProteinCount:
    site: str = strawberry.field(description="The registered site name.")
    count: int = strawberry.field(description=d("proteins", "Proteins of this group at the site."))


@strawberry.type(
    description="Proteins of one or more sites that are the same protein: the same smallest UniProt "
    "accession, else the same normalised acronym (docs/proteins.md; since 1.2.0)."
)
class DistinctProtein:
    key: str = strawberry.field(
        description="The group key: a UniProt accession (upper case), or the acronym upper-cased, "
        "trimmed and with runs of white space made one space."
    )
    key_kind: ProteinKeyKind
    acronym: str | None = strawberry.field(description="The smallest member acronym, by code point.")
    name: str | None = strawberry.field(description="The smallest member name, by code point.")
    uniprot_ids: list[str] = strawberry.field(
        description="Every member's UniProt accessions, upper case, each once, sorted."
    )
    sites: list[SiteProteinCount] = strawberry.field(description="Per site, its members; sites by name.")
    total_count: int = strawberry.field(description=d("proteins", "Members at every site."))
    member_ids: strawberry.Private[tuple[str, ...]]

    @strawberry.field(
        description="Member proteins, lowest local id first: up to `first` (default 10, at most 100) from "
        "each site; at the hub, sites by name."
    )
    async def members(self, info: Info, first: int | None = None) -> list[Protein]:
        size = DEFAULT_MEMBERS if first is None else first
        if size < 0 or size > MAX_MEMBERS:
            raise ContractError(f"`first` of members must be 0 to {MAX_MEMBERS}, got {size}")
        c = ctx(info)
        found = await c.loaders.proteins.load_many(list(self.member_ids[:size]))
        return [Protein.of(c.site, r) for r in found if r is not None]

    @classmethod
    def of(cls, site: str, g: ProteinGroup) -> DistinctProtein:
        return cls(
            key=g.key,
            key_kind=ProteinKeyKind(g.kind),
            acronym=g.acronym,
            name=g.name,
            uniprot_ids=list(g.uniprot_ids),
            sites=[SiteProteinCount(site=site, count=g.count)],
            total_count=g.count,
            member_ids=g.member_ids,
        )


@strawberry.type
class DistinctProteinEdge:
    cursor: str
    node: DistinctProtein


@strawberry.type(description="Distinct proteins in key order (since 1.2.0).")
class DistinctProteinConnection:
    edges: list[DistinctProteinEdge]
    page_info: PageInfo
    total_count: int = strawberry.field(
        description=d(
            "groups",
            "At a site, its distinct proteins matching the filter. At the hub, the sum over sites: a "
            "protein several sites hold counts once per site, so it is an upper bound of the distinct ones.",
        )
    )


async def distinct_proteins(
    info: Info, filter: fl.ProteinFilter | None, first: int | None, after: str | None
) -> DistinctProteinConnection:
    c = ctx(info)
    # Checked as every connection's arguments are, then the cursor as a group cursor.
    request = page_request(c, CONNECTION, first, None, None, selects_total(info))
    position = decode_group_cursor(CONNECTION, after) if after is not None else None
    backend = c.backend
    if not isinstance(backend, ProteinGroupBackend):
        raise ContractError("this site's store does not group proteins")
    page = await backend.protein_groups(
        fl.to_protein_filter(filter),
        PageRequest(first=request.first, after=position, count=request.count),
    )
    edges = [
        DistinctProteinEdge(
            cursor=encode_group_cursor(CONNECTION, g.kind, g.key), node=DistinctProtein.of(c.site, g)
        )
        for _, g in page.items
    ]
    return DistinctProteinConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_next_page,
            has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        total_count=page.total_count,
    )
