"""The hub's merge of sites' protein groups (mx_hub.distinct), without a network: groups of several sites
with the same key are one group, keys come once each in code-point order, and a page is exact."""

from __future__ import annotations

import pytest

from mx_hub.distinct import ROOT, merge_groups, merge_node
from mx_hub.merge import SiteEdge, SitePage
from mx_schema.cursors import encode_cursor, encode_group_cursor
from mx_schema.errors import ContractError


def page(site: str, keys: list[tuple[str, str]], more: bool = False) -> SitePage:
    edges = [SiteEdge(encode_group_cursor(ROOT, k, v), {"key": v, "site": site}) for k, v in keys]
    return SitePage(site, edges, more, len(keys))


def test_same_key_at_two_sites_is_one_group_sites_by_name():
    pages = [page("zeta", [("ACRONYM", "TLN")]), page("alpha", [("ACRONYM", "TLN"), ("UNIPROT", "P0")])]
    groups, more = merge_groups(pages, 10)
    assert [(g.kind, g.key) for g in groups] == [("ACRONYM", "TLN"), ("UNIPROT", "P0")]
    assert [site for site, _ in groups[0].parts] == ["alpha", "zeta"]
    assert more is False


def test_code_point_order_and_a_short_page():
    # "Z" (90) < "a" (97) < "Ä" (196): code points, not a locale's collation; ACRONYM before UNIPROT.
    pages = [page("a", [("ACRONYM", "Z"), ("ACRONYM", "Ä")]), page("b", [("ACRONYM", "a"), ("UNIPROT", "A")])]
    groups, more = merge_groups(pages, 3)
    assert [g.key for g in groups] == ["Z", "a", "Ä"]
    assert more is True  # b's UNIPROT group was left for the next page


def test_a_site_with_more_makes_a_next_page():
    groups, more = merge_groups([page("a", [("ACRONYM", "X")], more=True)], 5)
    assert [g.key for g in groups] == ["X"] and more is True


def test_a_site_answering_a_record_cursor_is_a_site_error():
    bad = SitePage("a", [SiteEdge(encode_cursor("proteins", ("TLN", 3)), {})], False, 1)
    with pytest.raises(ContractError) as err:
        merge_groups([bad], 5)
    assert err.value.code == "SITE_ERROR"


def test_merge_node_sums_concatenates_and_unites():
    fields = [("n", "totalCount"), ("s", "sites"), ("u", "uniprotIds"), ("a", "acronym"), ("k", "key")]
    parts = [
        ("alpha", {"n": 2, "s": [{"site": "alpha"}], "u": ["P2"], "a": "tln", "k": "TLN"}),
        ("beta", {"n": 3, "s": [{"site": "beta"}], "u": ["P1", "P2"], "a": "TLN", "k": "TLN"}),
    ]
    merged = merge_node(parts, fields)
    assert merged == {
        "n": 5,
        "s": [{"site": "alpha"}, {"site": "beta"}],
        "u": ["P1", "P2"],
        "a": "TLN",  # the smallest by code point: "T" (84) < "t" (116)
        "k": "TLN",
    }
