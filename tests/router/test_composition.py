"""The site's SDL, the LIMS's SDL and a facility's own subgraph compose with Apollo's composer, and the
supergraph tells a router to fetch the LIMS's `@requires` fields from the site; the check can fail."""

from __future__ import annotations

from pathlib import Path

from graphql import ObjectTypeDefinitionNode, StringValueNode, parse

from mx_schema import read_sdl
from site_adapter.lims.schema import REQUIRES
from tests.router.conftest import HERE, compose

LIMS_SDL = (Path(__file__).resolve().parents[2] / "schema" / "lims.graphql").read_text(encoding="utf-8")
VISITS_SDL = (HERE / "subgraphs" / "visits.graphql").read_text(encoding="utf-8")
LIMS_BEFORE = (HERE / "subgraphs" / "lims-hub-keys.graphql").read_text(encoding="utf-8")


def subgraphs(site: str = "", lims: str = "") -> dict[str, tuple[str, str]]:
    return {
        "site": ("http://site.test/graphql", site or read_sdl()),
        "lims": ("http://lims.test/graphql", lims or LIMS_SDL),
        "visits": ("http://visits.test/graphql", VISITS_SDL),
    }


def join_field_requires(supergraph: str, type_name: str, field_name: str) -> list[str | None]:
    """The `requires` of each @join__field on one supergraph field (None where a join has none)."""
    doc = parse(supergraph)
    t = next(
        d for d in doc.definitions if isinstance(d, ObjectTypeDefinitionNode) and d.name.value == type_name
    )
    f = next(f for f in t.fields or () if f.name.value == field_name)
    found: list[str | None] = []
    for d in f.directives or ():
        if d.name.value == "join__field":
            arg = next((a.value for a in d.arguments if a.name.value == "requires"), None)
            found.append(arg.value if isinstance(arg, StringValueNode) else None)
    return found


def test_site_lims_and_a_facility_subgraph_compose(node):
    result = compose(node, subgraphs())
    assert result["errors"] == []
    assert result["supergraph"]
    # A router reads this: fetch these fields from the site, pass them in the LIMS's representation.
    assert join_field_requires(result["supergraph"], "Sample", "crystallisation") == [REQUIRES]
    # The facility's subgraph keeps its own Sample field; PageInfo is shared, not an error.
    assert join_field_requires(result["supergraph"], "Sample", "dewarLocation") == [None]
    # No description of the site's types is overridden by the LIMS's restatement of them.
    assert [h for h in result["hints"] if "inconsistent descriptions" in h["message"]] == []


def test_the_lims_before_issue_20_gives_a_router_nothing_to_match_on(node):
    result = compose(node, subgraphs(lims=LIMS_BEFORE))
    assert result["errors"] == []  # it composes, but a router would send only the key:
    assert join_field_requires(result["supergraph"], "Sample", "crystallisation") == [None]


def test_a_page_info_not_shareable_fails_composition(node):
    site = read_sdl().replace("type PageInfo @shareable {", "type PageInfo {")
    assert site != read_sdl()
    result = compose(node, subgraphs(site=site))
    assert result["supergraph"] is None
    assert {e["code"] for e in result["errors"]} == {"INVALID_FIELD_SHARING"}
    assert all("PageInfo." in e["message"] for e in result["errors"])


def test_a_required_field_the_site_does_not_serve_fails_composition(node):
    lims = LIMS_SDL.replace("barcode externalIds", "pinBarcode externalIds").replace(
        "barcode: String @external", "pinBarcode: String @external"
    )
    assert lims != LIMS_SDL
    result = compose(node, subgraphs(lims=lims))
    assert result["supergraph"] is None
    assert any("pinBarcode" in e["message"] for e in result["errors"]), result["errors"]
