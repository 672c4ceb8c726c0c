"""Merging sites' pages into one page, and the hub's cursors. Pure; no network.

A hub cursor holds every participating site's own cursor (its position), so the next page asks
each site for records strictly after what the hub has already returned from it. Each site pages
exactly by keyset, and a page is a prefix of the merged order, so walking all pages returns every
record once, in order (mx_schema.cursors.merge_key), whatever the page size.
"""

from __future__ import annotations

import base64
import binascii
import heapq
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson

from mx_schema.cursors import SortOrder, decode_cursor, merge_key, order_from_tag
from mx_schema.errors import InvalidCursor

_PREFIX = "h1:"
_PREFIX_BYTES = _PREFIX.encode()


class SiteEdge(NamedTuple):
    """One record of a site's page. A named tuple: the first phase makes one per site per position
    (1,000 at 10 sites for a page of 100), and a tuple is made several times faster than a dataclass."""

    cursor: str  # the site's own cursor
    node: Any


@dataclass(frozen=True, slots=True)
class SitePage:
    site: str
    edges: list[SiteEdge]
    has_next_page: bool
    total_count: int
    count_exact: bool = True  # False: the site's totalCountKind said ESTIMATE (issue 17)


def merged_count(pages: list[SitePage]) -> tuple[int, str]:
    """The hub's totalCount and totalCountKind: the sum over sites, an estimate when any part is one."""
    kind = "EXACT" if all(p.count_exact for p in pages) else "ESTIMATE"
    return sum(p.total_count for p in pages), kind


@dataclass
class MergedPage:
    edges: list[tuple[str, str, Any]]  # (hub cursor, site, node)
    has_next_page: bool
    positions: dict[str, str | None] = field(default_factory=dict)


def encode_hub_cursor(
    connection: str, positions: dict[str, str | None], order: SortOrder | None = None
) -> str:
    """`order` (dataCollections(orderBy:), since 1.2.0) is named as `o`; the default order names none,
    so cursors of 1.0/1.1 clients stay valid."""
    data: dict[str, Any] = {"c": connection, "p": positions}
    if order is not None:
        data["o"] = order.tag
    # orjson: a page of 100 at 10 sites encodes 100 cursors of ~1 kB; json.dumps cost a few ms of it.
    # The same text as json.dumps(separators=(",", ":"), sort_keys=True) for ASCII (site names and site
    # cursors are); other characters go as UTF-8 rather than \u escapes, which decoding reads alike.
    raw = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    return base64.urlsafe_b64encode(_PREFIX_BYTES + raw).rstrip(b"=").decode("ascii")


def decode_hub_cursor(connection: str, cursor: str, order: SortOrder | None = None) -> dict[str, str | None]:
    """Each participating site's position; raises InvalidCursor for anything else, a cursor of another
    ordering (`order`, None for the default) included."""
    if not isinstance(cursor, str) or not cursor or len(cursor) > 65536:
        raise InvalidCursor("malformed cursor")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("utf-8")
        if not raw.startswith(_PREFIX):
            raise ValueError
        data = json.loads(raw[len(_PREFIX) :])
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidCursor("malformed cursor") from None
    if not isinstance(data, dict) or data.get("c") != connection or not isinstance(data.get("p"), dict):
        raise InvalidCursor(f"cursor does not belong to {connection}")
    if order_from_tag(data.get("o")) != order:
        raise InvalidCursor(
            f"cursor belongs to another ordering of {connection}: start again without `after` "
            "when you change `orderBy`"
        )
    positions: dict[str, str | None] = data["p"]
    for site, pos in positions.items():
        if not isinstance(site, str) or not (pos is None or isinstance(pos, str)):
            raise InvalidCursor("malformed cursor")
        if pos is not None:
            decode_cursor(connection, pos, order)  # a site position must itself be a valid cursor
    return positions


def merge_pages(
    connection: str,
    pages: list[SitePage],
    first: int,
    start: dict[str, str | None],
    order: SortOrder | None = None,
    cursors: bool = True,
    keys: dict[tuple[str, str], tuple[Any, ...]] | None = None,
) -> MergedPage:
    """The first `first` records of all pages in merged order (`order`: dataCollections(orderBy:), None
    for the connection's default); `start` holds every participant's position. `cursors=False` leaves
    the hub cursors empty (""): the first of two phases only counts records per site (taken_per_site).
    `keys` keeps each (site, site cursor)'s sort key between the merges of one request's two phases, so
    the second does not decode the same cursors again; it must not be shared across orderings."""

    def keyed(page: SitePage) -> Iterator[tuple[tuple[Any, ...], str, int, SiteEdge]]:
        site = page.site
        for i, edge in enumerate(page.edges):
            key = None if keys is None else keys.get((site, edge.cursor))
            if key is None:
                key = merge_key(connection, decode_cursor(connection, edge.cursor, order), site, order)
                if keys is not None:
                    keys[(site, edge.cursor)] = key
            yield (key, site, i, edge)

    merged = heapq.merge(*(keyed(p) for p in pages))
    positions = dict(start)
    consumed: dict[str, int] = {p.site: 0 for p in pages}
    out: list[tuple[str, str, Any]] = []
    for _, site, _, edge in merged:
        if len(out) >= first:
            break
        positions[site] = edge.cursor
        consumed[site] += 1
        out.append((encode_hub_cursor(connection, positions, order) if cursors else "", site, edge.node))
    has_next = any(consumed[p.site] < len(p.edges) or p.has_next_page for p in pages)
    return MergedPage(edges=out, has_next_page=has_next, positions=positions)


def taken_per_site(probe: MergedPage) -> dict[str, int]:
    """How many records of each site made a page merged from positions only (the first phase)."""
    return dict(Counter(site for _, site, _ in probe.edges))


def rebuild_after_probe(
    probe_pages: list[SitePage], taken: dict[str, int], full: dict[str, SitePage]
) -> list[SitePage]:
    """The pages to merge after the second phase: each site's records as it sent them with nodes.

    A site that was not needed, or failed in the second phase (named already), gives no records; its
    position stays where it was and it reports more, so the next page asks it again and skips nothing.
    """
    rebuilt = []
    for p in probe_pages:
        more = p.has_next_page or len(p.edges) > taken.get(p.site, 0)
        if p.site in full:
            rebuilt.append(SitePage(p.site, full[p.site].edges, more, p.total_count, p.count_exact))
        else:
            rebuilt.append(SitePage(p.site, [], more or p.site in taken, p.total_count, p.count_exact))
    return rebuilt
