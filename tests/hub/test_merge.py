"""Merging sites' pages (mx_hub.merge), without a network: order across sites, ties, cursor positions,
empty pages, and the two-phase fetch. Expected orders are written out by hand from the records below."""

from __future__ import annotations

import pytest

from mx_hub.merge import (
    SiteEdge,
    SitePage,
    decode_hub_cursor,
    encode_hub_cursor,
    merge_pages,
    rebuild_after_probe,
    taken_per_site,
)
from mx_schema.cursors import encode_cursor
from mx_schema.errors import InvalidCursor

DC = "dataCollections"  # newest first, then local id descending, then site name ascending
SAMPLES = "samples"  # by name ascending, then local id ascending, then site name ascending


def t(day: int) -> str:
    return f"2024-01-{day:02d}T00:00:00.000000"


def edge(connection: str, value: str | None, local_id: int, label: str) -> SiteEdge:
    return SiteEdge(encode_cursor(connection, (value, local_id)), label)


def page(site: str, edges: list[SiteEdge], more: bool = False, total: int | None = None) -> SitePage:
    return SitePage(site, edges, more, len(edges) if total is None else total)


ESRF = [edge(DC, t(9), 1, "esrf-9"), edge(DC, t(5), 2, "esrf-5"), edge(DC, t(1), 3, "esrf-1")]
DLS = [edge(DC, t(8), 7, "dls-8"), edge(DC, t(5), 8, "dls-5"), edge(DC, None, 9, "dls-none")]


def labels(merged) -> list[str]:
    return [node for _, _, node in merged.edges]


def test_records_of_several_sites_come_in_one_order():
    merged = merge_pages(DC, [page("esrf", ESRF), page("dls", DLS)], 10, {"esrf": None, "dls": None})
    # 9, 8, then the two day-5 records: local id descending (dls 8 before esrf 2); no time comes last
    assert labels(merged) == ["esrf-9", "dls-8", "dls-5", "esrf-5", "esrf-1", "dls-none"]
    assert [site for _, site, _ in merged.edges] == ["esrf", "dls", "dls", "esrf", "esrf", "dls"]
    assert merged.has_next_page is False


def test_a_full_tie_is_broken_by_the_site_name():
    a = [edge(SAMPLES, "lysozyme", 4, "alba-lys")]
    z = [edge(SAMPLES, "lysozyme", 4, "zeta-lys")]
    merged = merge_pages(SAMPLES, [page("zeta", z), page("alba", a)], 5, {"zeta": None, "alba": None})
    assert labels(merged) == ["alba-lys", "zeta-lys"]


def test_ascending_order_puts_a_missing_name_first_and_compares_code_points():
    recs = [edge(SAMPLES, None, 3, "none"), edge(SAMPLES, "Zn", 1, "Zn"), edge(SAMPLES, "apo", 2, "apo")]
    merged = merge_pages(SAMPLES, [page("s", recs)], 5, {"s": None})
    assert labels(merged) == ["none", "Zn", "apo"]  # "Z" (U+005A) sorts before "a" (U+0061)


def test_each_hub_cursor_holds_every_sites_position_after_that_record():
    start = {"esrf": None, "dls": None}
    merged = merge_pages(DC, [page("esrf", ESRF), page("dls", DLS)], 3, start)
    assert labels(merged) == ["esrf-9", "dls-8", "dls-5"]
    positions = [decode_hub_cursor(DC, c) for c, _, _ in merged.edges]
    assert positions == [
        {"esrf": ESRF[0].cursor, "dls": None},
        {"esrf": ESRF[0].cursor, "dls": DLS[0].cursor},
        {"esrf": ESRF[0].cursor, "dls": DLS[1].cursor},
    ]
    assert merged.positions == positions[-1]
    assert merged.has_next_page is True  # records were left on both pages


def test_a_site_with_an_empty_page_keeps_its_position_and_adds_no_next_page():
    start = {"esrf": None, "empty": encode_cursor(DC, (t(3), 5))}
    merged = merge_pages(DC, [page("esrf", ESRF[:2]), page("empty", [])], 5, start)
    assert labels(merged) == ["esrf-9", "esrf-5"]
    assert decode_hub_cursor(DC, merged.edges[-1][0])["empty"] == start["empty"]
    assert merged.has_next_page is False


def test_a_site_that_says_it_has_more_makes_a_next_page_even_when_all_its_edges_were_used():
    merged = merge_pages(DC, [page("esrf", ESRF[:1], more=True)], 5, {"esrf": None})
    assert labels(merged) == ["esrf-9"] and merged.has_next_page is True


def test_walking_all_pages_returns_every_record_once_in_order():
    sites = {"esrf": ESRF, "dls": DLS, "alba": [edge(DC, t(5), 2, "alba-5"), edge(DC, t(2), 1, "alba-2")]}
    expected = ["esrf-9", "dls-8", "dls-5", "alba-5", "esrf-5", "alba-2", "esrf-1", "dls-none"]
    for size in (1, 2, 3, 8):
        seen: list[str] = []
        positions: dict[str, str | None] = dict.fromkeys(sites)
        while True:
            pages = []
            for name, records in sites.items():  # each site answers `size` records after its position
                cursors = [e.cursor for e in records]
                after = positions[name]
                rest = records[cursors.index(after) + 1 :] if after is not None else records
                pages.append(page(name, rest[:size], more=len(rest) > size))
            merged = merge_pages(DC, pages, size, positions)
            seen += labels(merged)
            if not merged.has_next_page:
                break
            positions = decode_hub_cursor(DC, merged.edges[-1][0])
        assert seen == expected, size


def test_two_phases_fetch_only_what_makes_the_page_and_give_the_same_page():
    start = {"esrf": None, "dls": None, "alba": None}
    full = {"esrf": ESRF, "dls": DLS, "alba": [edge(DC, t(2), 1, "alba-2")]}
    # phase one: positions only (no nodes), `first` of each site
    probe_pages = [page(n, [SiteEdge(e.cursor, None) for e in full[n][:3]], total=10) for n in full]
    probe = merge_pages(DC, probe_pages, 3, start)
    taken = taken_per_site(probe)
    assert taken == {"esrf": 1, "dls": 2}  # alba's record (day 2) does not make the first three
    # phase two: each site sends just the records it contributes, with nodes
    second = {n: page(n, full[n][:k]) for n, k in taken.items()}
    rebuilt = rebuild_after_probe(probe_pages, taken, second)
    merged = merge_pages(DC, rebuilt, 3, start)
    assert labels(merged) == ["esrf-9", "dls-8", "dls-5"]
    assert [c for c, _, _ in merged.edges] == [c for c, _, _ in probe.edges]
    assert merged.has_next_page is True
    assert {p.site: p.total_count for p in rebuilt} == {"esrf": 10, "dls": 10, "alba": 10}


def test_a_site_that_failed_in_phase_two_keeps_its_position_and_is_asked_again():
    start = {"esrf": None, "dls": None}
    probe_pages = [
        page("esrf", [SiteEdge(ESRF[0].cursor, None)]),
        page("dls", [SiteEdge(DLS[0].cursor, None)]),
    ]
    probe = merge_pages(DC, probe_pages, 2, start)
    taken = taken_per_site(probe)
    rebuilt = rebuild_after_probe(probe_pages, taken, {"esrf": page("esrf", ESRF[:1])})  # dls failed
    merged = merge_pages(DC, rebuilt, 2, start)
    assert labels(merged) == ["esrf-9"]
    assert decode_hub_cursor(DC, merged.edges[-1][0]) == {"esrf": ESRF[0].cursor, "dls": None}
    assert merged.has_next_page is True  # dls still has its record: the next page asks it again


@pytest.mark.parametrize(
    "cursor",
    ["", "nonsense", encode_hub_cursor(SAMPLES, {"esrf": None}), encode_hub_cursor(DC, {"esrf": "bad"})],
)
def test_a_bad_hub_cursor_is_refused(cursor: str):
    with pytest.raises(InvalidCursor):
        decode_hub_cursor(DC, cursor)


# dataCollections(orderBy:) (since 1.2.0): values as written, missing last in both directions, ties by
# local id in the direction of the order, then by site name.
def ordered(order, value, local_id: int, label: str) -> SiteEdge:
    return SiteEdge(encode_cursor(DC, (value, local_id), order), label)


@pytest.mark.parametrize(
    ("descending", "want"),
    [
        (False, ["a-1.2", "b-1.5#3", "a-1.5#4", "b-1.5#4", "a-2.0", "a-none#2", "b-none#5"]),
        (True, ["a-2.0", "a-1.5#4", "b-1.5#4", "b-1.5#3", "a-1.2", "b-none#5", "a-none#2"]),
    ],
)
def test_an_order_by_merges_with_missing_values_last(descending, want):
    from mx_schema.cursors import sort_order

    order = sort_order("RESOLUTION", descending)
    rows = {
        "a": [(1.2, 1, "a-1.2"), (1.5, 4, "a-1.5#4"), (2.0, 6, "a-2.0"), (None, 2, "a-none#2")],
        "b": [(1.5, 3, "b-1.5#3"), (1.5, 4, "b-1.5#4"), (None, 5, "b-none#5")],
    }
    pages = []
    for site, records in rows.items():
        records = sorted(
            records,
            key=lambda r: (
                r[0] is None,
                (-1 if descending else 1) * (r[0] or 0),
                (-1 if descending else 1) * r[1],
            ),
        )
        pages.append(page(site, [ordered(order, v, i, label) for v, i, label in records]))
    merged = merge_pages(DC, pages, 10, {"a": None, "b": None}, order)
    assert labels(merged) == want
    # the hub cursor names the ordering: the same positions under another ordering are refused
    last = merged.edges[-1][0]
    assert decode_hub_cursor(DC, last, order) == merged.positions
    with pytest.raises(InvalidCursor):
        decode_hub_cursor(DC, last)
    with pytest.raises(InvalidCursor):
        decode_hub_cursor(DC, last, sort_order("RESOLUTION", not descending))
