"""What the hub keeps between requests and phases so that a request does no repeated work (issue 17):
the probe merge without hub cursors, sort keys shared by a request's two merges, a document's stitch
rewrite made once, the collector tuned once. Expected orders are written out by hand, as in test_merge."""

from __future__ import annotations

import base64
import gc
import json

from graphql import parse

from mx_hub import stitch
from mx_hub.merge import SiteEdge, SitePage, decode_hub_cursor, encode_hub_cursor, merge_pages, taken_per_site
from mx_hub.sdl import hub_schema
from mx_schema import collector
from mx_schema.cursors import encode_cursor

DC = "dataCollections"


def t(day: int) -> str:
    return f"2024-01-{day:02d}T00:00:00.000000"


def edge(value: str | None, local_id: int, label: str) -> SiteEdge:
    return SiteEdge(encode_cursor(DC, (value, local_id)), label)


ESRF = [edge(t(9), 1, "esrf-9"), edge(t(5), 2, "esrf-5"), edge(t(1), 3, "esrf-1")]
DLS = [edge(t(8), 7, "dls-8"), edge(t(5), 8, "dls-5"), edge(None, 9, "dls-none")]
START: dict[str, str | None] = {"esrf": None, "dls": None}


def pages() -> list[SitePage]:
    return [SitePage("esrf", ESRF, False, 3), SitePage("dls", DLS, False, 3)]


def test_the_probe_merge_counts_the_same_records_without_hub_cursors():
    full = merge_pages(DC, pages(), 4, START)
    probe = merge_pages(DC, pages(), 4, START, cursors=False)
    assert [c for c, _, _ in probe.edges] == ["", "", "", ""]
    assert [n for _, _, n in probe.edges] == ["esrf-9", "dls-8", "dls-5", "esrf-5"]
    assert taken_per_site(probe) == taken_per_site(full) == {"esrf": 2, "dls": 2}
    assert probe.positions == full.positions == {"esrf": ESRF[1].cursor, "dls": DLS[1].cursor}


def test_sort_keys_decoded_once_serve_the_second_merge():
    keys: dict = {}
    first = merge_pages(DC, pages(), 4, START, keys=keys)
    assert set(keys) >= {("esrf", e.cursor) for e in ESRF[:2]} | {("dls", e.cursor) for e in DLS[:2]}
    second = merge_pages(DC, pages(), 6, START, keys=keys)
    fresh = merge_pages(DC, pages(), 6, START)
    assert second.edges == fresh.edges
    assert [n for _, _, n in second.edges] == ["esrf-9", "dls-8", "dls-5", "esrf-5", "esrf-1", "dls-none"]
    assert first.edges == fresh.edges[:4]


def test_hub_cursors_read_as_json_with_sorted_keys_and_round_trip():
    positions = {"zeta": ESRF[0].cursor, "alpha": None}
    cursor = encode_hub_cursor(DC, positions)
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    # the text json.dumps(separators=(",", ":"), sort_keys=True) made before orjson: old hubs read it
    assert raw == "h1:" + json.dumps({"c": DC, "p": positions}, separators=(",", ":"), sort_keys=True)
    assert decode_hub_cursor(DC, cursor) == positions


QUERY = """query { dataCollections(first: 3) { edges { node { id sample { name crystallisation { method } } } } } }"""


def _field_and_fragments(doc):
    operation = doc.definitions[0]
    return [operation.selection_set.selections[0]], {}


def test_a_document_is_rewritten_once_and_its_stitching_printed_once():
    schema = hub_schema()
    return_type = schema.query_type.fields["dataCollections"].type
    doc = parse(QUERY)
    nodes, fragments = _field_and_fragments(doc)
    first = stitch.rewrite(schema, nodes, fragments, return_type)
    again = stitch.rewrite(schema, list(nodes), dict(fragments), return_type)
    assert again is first  # the same nodes: the same rewrite, so plan.py's texts stay cached
    assert [f.name.value for f in first.wanted] == ["crystallisation"]
    assert first.entities_query is first.entities_query
    assert "_entities(representations: $mxhub_r)" in first.entities_query
    other = stitch.rewrite(schema, *_field_and_fragments(parse(QUERY)), return_type)
    assert other is not first  # another parse of the same text: other nodes, its own rewrite
    assert [f.name.value for f in other.wanted] == ["crystallisation"]


def test_the_collector_is_tuned_once():
    collector.tune()
    assert gc.get_threshold() == collector.THRESHOLDS
    frozen = gc.get_freeze_count()
    assert frozen > 0
    collector.tune()  # a second hub in the same process: nothing is frozen again
    assert gc.get_freeze_count() == frozen
