"""Relay cursor connections: page arguments checked once, keyset cursors from mx_schema.cursors."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Any, Generic, TypeVar

import strawberry
import strawberry.federation as federation
from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode, SelectionSetNode
from strawberry.types import Info

from mx_schema.cursors import SortOrder, decode_cursor, encode_cursor
from mx_schema.errors import PAGE_SIZE_LIMIT, ContractError
from site_adapter.backends.base import CountKind, Page, PageRequest
from site_adapter.graphql.context import SiteContext

T = TypeVar("T")
R = TypeVar("R")  # a backend record
N = TypeVar("N")  # the GraphQL type that wraps it

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 500


# Shareable: a facility's own subgraphs behind the same router define Relay's PageInfo too (docs/router.md).
@federation.type(shareable=True)
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.enum(
    description="How a connection's totalCount was obtained (since 1.2.0). At the hub: ESTIMATE when any "
    "site estimated its part."
)
class TotalCountKind(Enum):
    EXACT = strawberry.enum_value("EXACT", description="Every matching record was counted.")
    ESTIMATE = strawberry.enum_value(
        "ESTIMATE",
        description="Counting every match would cost more than the store allows: the store's estimate, "
        "never below the matches it did count. Show it as approximate.",
    )


_KINDS = {CountKind.EXACT: TotalCountKind.EXACT, CountKind.ESTIMATE: TotalCountKind.ESTIMATE}


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    total_count: int = strawberry.field(
        description="Unit: records. All records matching the filter, not just this page; exact unless "
        "totalCountKind says otherwise."
    )
    total_count_kind: TotalCountKind = strawberry.field(
        description="Whether totalCount is exact or an estimate (since 1.2.0).",
        default=TotalCountKind.EXACT,
    )


_COUNT_FIELDS = frozenset({"totalCount", "totalCountKind"})


def selects_total(info: Info) -> bool:
    """Whether the connection field being resolved selects totalCount or totalCountKind, directly or in
    a fragment. Read from graphql-core's field nodes: strawberry's `selected_fields` converts the whole
    selection into its own objects first, most of a millisecond for CONTRACT.md's page (issue 17)."""
    raw = info._raw_info
    return any(_selects_count(node.selection_set, raw.fragments, set()) for node in raw.field_nodes)


def _selects_count(selection_set: SelectionSetNode | None, fragments: dict[str, Any], seen: set[str]) -> bool:
    for selection in selection_set.selections if selection_set is not None else ():
        if isinstance(selection, FieldNode):
            if selection.name.value in _COUNT_FIELDS:
                return True
        elif isinstance(selection, InlineFragmentNode):
            if _selects_count(selection.selection_set, fragments, seen):
                return True
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            seen.add(selection.name.value)
            fragment = fragments.get(selection.name.value)
            if fragment is not None and _selects_count(fragment.selection_set, fragments, seen):
                return True
    return False


def page_request(
    c: SiteContext,
    connection: str,
    first: int | None,
    after: str | None,
    order: SortOrder | None = None,
    count: bool = True,
) -> PageRequest:
    """Validate `first`/`after`: a negative size is an error; a huge one is capped, with a warning; a
    cursor of another ordering (`order`, None for the default) is an INVALID_CURSOR error."""
    size = DEFAULT_PAGE_SIZE if first is None else first
    if size < 0:
        raise ContractError(f"`first` must be zero or more, got {size}")
    if size > MAX_PAGE_SIZE:
        c.warn(PAGE_SIZE_LIMIT, f"`first` {size} capped to {MAX_PAGE_SIZE}")
        size = MAX_PAGE_SIZE
    key = decode_cursor(connection, after, order) if after is not None else None
    return PageRequest(first=size, after=key, order=order, count=count)


def to_connection(
    connection: str,
    page: Page[R],
    wrap: Callable[[R], N],
    after: str | None,
    order: SortOrder | None = None,
) -> Connection[N]:
    edges = [Edge(cursor=encode_cursor(connection, key, order), node=wrap(rec)) for key, rec in page.items]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_next_page,
            has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        total_count=page.total_count,
        total_count_kind=_KINDS[page.count_kind],
    )
