"""Planning for a site of another minor version (hub/prune.py, hub/capabilities.py): pure, no network.

The site SDLs are the kept 1.0.0 SDL (schema/versions) and, for fields no kept version lacks yet, the
current SDL with fields taken out by text, as a later minor version's site would lack them."""

from __future__ import annotations

import pytest
from graphql import parse, print_ast

from mx_hub.capabilities import capabilities
from mx_hub.compat import differences
from mx_hub.prune import Unanswerable, filter_needs, prune_document
from mx_hub.sdl import hub_schema
from mx_schema import SCHEMA_VERSION, read_sdl
from mx_schema.versioning import read_version_sdl, resolve_version
from tests.hub.sdl_edit import without

SCHEMA = hub_schema()
ROOT = ("dataCollections", "edges", "node")


def query(node: str) -> str:
    return (
        "query HubFanOut($mxhub_filter: DataCollectionFilter) {\n"
        f"  dataCollections(filter: $mxhub_filter) {{ totalCount edges {{ cursor node {node} }} }}\n}}\n"
    )


def test_versions_kept_and_resolved():
    assert SCHEMA_VERSION == "1.2.0"
    assert resolve_version("1.0") == "1.0.0" and resolve_version("1.1") == "1.1.0"
    assert resolve_version("1.2") == "1.2.0" and read_version_sdl("1.2") == read_sdl()
    with pytest.raises(ValueError, match="1.0.0, 1.1.0, 1.2.0"):
        resolve_version("0.9")


def test_a_1_0_site_lacks_the_1_1_additions_and_is_served():
    old = read_version_sdl("1.0")
    caps = capabilities(old)
    # What 1.1.0 added, plus whatever later minor versions add (the same set a 1.1 site lacks).
    later = capabilities(read_version_sdl("1.1"))
    assert caps.missing_fields == {"Provenance.timeZone", "SiteInfo.timeZone"} | later.missing_fields
    assert caps.missing_inputs == {"DataCollectionFilter.mine"} | later.missing_inputs
    assert differences(old, "1.0.0") == []  # registered, not refused (issue 21)
    assert capabilities(read_sdl()).complete


def test_a_nullable_field_the_site_lacks_is_removed_and_named():
    caps = capabilities(without(read_sdl(), "DataCollection", "flux"))
    assert caps.missing_fields == {"DataCollection.flux"}
    text = query("{ __typename id f: flux wavelength }")
    pruned = prune_document(text, SCHEMA, caps, ROOT, "DataCollection")
    assert pruned.fields == ["DataCollection.flux"]
    assert pruned.paths == ["dataCollections.edges.node.f"]
    node = "node { __typename id wavelength }"
    assert node in " ".join(pruned.text.split())


def test_a_non_null_field_the_site_lacks_nulls_its_nearest_nullable_parent():
    caps = capabilities(without(read_sdl(), "Session", "visit"))
    text = query("{ id session { visit beamline } wavelength }")
    pruned = prune_document(text, SCHEMA, caps, ROOT, "DataCollection")
    assert pruned.fields == ["Session.visit"]
    assert pruned.paths == ["dataCollections.edges.node.session"]
    assert "session" not in pruned.text and "wavelength" in pruned.text


def test_a_non_null_field_of_the_record_itself_leaves_the_site_out():
    caps = capabilities(without(read_sdl(), "DataCollection", "localId"))
    with pytest.raises(Unanswerable) as lacking:
        prune_document(query("{ id localId }"), SCHEMA, caps, ROOT, "DataCollection")
    assert lacking.value.needs == ["DataCollection.localId"]


def test_fragments_are_pruned_where_they_are_defined():
    caps = capabilities(without(read_sdl(), "DataCollection", "flux"))
    text = query("{ ...F }") + "\nfragment F on DataCollection { id flux }\n"
    pruned = prune_document(text, SCHEMA, caps, ROOT, "DataCollection")
    assert pruned.fields == ["DataCollection.flux"]
    fragment = next(d for d in parse(pruned.text).definitions if d.kind == "fragment_definition")
    assert " ".join(print_ast(fragment).split()) == "fragment F on DataCollection { id }"


def test_an_object_that_loses_every_field_keeps_its_typename():
    caps = capabilities(without(read_sdl(), "DataCollection", "flux"))
    pruned = prune_document(query("{ flux }"), SCHEMA, caps, ROOT, "DataCollection")
    assert "node { __typename }" in " ".join(pruned.text.split())


def test_a_complete_site_gets_the_text_unchanged():
    text = query("{ id flux }")
    assert prune_document(text, SCHEMA, capabilities(read_sdl()), ROOT, "DataCollection").text == text


def test_a_filter_value_the_site_cannot_honour_is_named_and_a_null_one_dropped():
    caps = capabilities(read_version_sdl("1.0"))
    needs, sent = filter_needs(SCHEMA, "DataCollectionFilter", {"mine": True, "beamline": "i03"}, caps)
    assert needs == ["DataCollectionFilter.mine"]
    needs, sent = filter_needs(SCHEMA, "DataCollectionFilter", {"mine": None, "beamline": "i03"}, caps)
    assert needs == [] and sent == {"beamline": "i03"}
    # The SDL: `mine` "False or null: no restriction", so a 1.0 site answers it (reviewer's finding:
    # `mine: false` used to leave every 1.0 site out).
    needs, sent = filter_needs(SCHEMA, "DataCollectionFilter", {"mine": False, "beamline": "i03"}, caps)
    assert needs == [] and sent == {"beamline": "i03"}


def _site_schema(sdl: str):
    from graphql import build_schema

    federation = (
        "directive @link(url: String!, import: [String]) repeatable on SCHEMA\n"
        "directive @key(fields: String!, resolvable: Boolean = true) repeatable on OBJECT | INTERFACE\n"
        "directive @shareable on OBJECT | FIELD_DEFINITION\n"
    )
    return build_schema(federation + sdl)


def test_a_pruned_document_keeps_no_fragment_or_variable_only_the_removed_field_used():
    # Reviewer's finding: removing `detector` and `reprocessing` left `fragment D` and `$c` unused, and
    # the site's validation (NoUnusedFragments, NoUnusedVariables) refused the whole document.
    from graphql import parse, validate

    site_sdl = without(without(read_sdl(), "DataCollection", "detector"), "DataCollection", "reprocessing")
    caps = capabilities(site_sdl)
    text = (
        "query HubFanOut($mxhub_filter: DataCollectionFilter, $c: Boolean!) {\n"
        "  dataCollections(filter: $mxhub_filter) { totalCount edges { cursor node {"
        " id ...W detector { ...D } reprocessing(cellFromProcessing: $c) { xdsInp } } } }\n}\n"
        "fragment D on Detector { model serialNumber }\n"
        "fragment W on DataCollection { wavelength }\n"
    )
    pruned = prune_document(text, SCHEMA, caps, ROOT, "DataCollection")
    assert sorted(pruned.fields) == ["DataCollection.detector", "DataCollection.reprocessing"]
    assert validate(_site_schema(site_sdl), parse(pruned.text)) == []
    assert "fragment W" in pruned.text and "fragment D" not in pruned.text
    assert "$mxhub_filter" in pruned.text and "$c" not in pruned.text
