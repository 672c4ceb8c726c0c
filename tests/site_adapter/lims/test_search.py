"""crystallisationSearch on the demo LIMS: answers computed independently from the demo sites' crystals."""

from __future__ import annotations

import pytest

from tests.site_adapter.lims.conftest import DEMO_LIMS_SITES
from tests.site_adapter.lims.expected import HEWL_NACL, HEWL_PH, demo_samples

SEARCH = """query($f: CrystallisationSearchFilter!, $first: Int) { crystallisationSearch(filter: $f, first: $first) {
  crystalUuids pinBarcodes plateWellDrops count truncated } }"""


@pytest.fixture(scope="module")
def known():
    return demo_samples(DEMO_LIMS_SITES)[0]


async def search(gql, first=100_000, **f):
    body = await gql(SEARCH, {"f": f, "first": first})
    return body.get("data") and body["data"]["crystallisationSearch"], body.get("errors")


async def test_chemical_by_name_finds_exactly_the_trypsin_crystals(lims_gql, known):
    m, errors = await search(lims_gql, chemical="Polyethylene Glycol 8000")
    tryp = [k for k in known if k.acronym == "TRY"]
    assert errors is None
    assert set(m["pinBarcodes"]) == {k.pin for k in tryp}
    assert set(m["crystalUuids"]) == {k.uuid for k in tryp if k.lims_has_uuid}
    assert m["count"] == len(tryp) and m["truncated"] is False


async def test_cas_number_spans_chemicals_sharing_it(lims_gql, known):
    # PEG 8000 and PEG 4000 share the generic polyethylene glycol CAS number 25322-68-3.
    m, _ = await search(lims_gql, chemical="25322-68-3")
    assert set(m["pinBarcodes"]) == {k.pin for k in known if k.acronym in ("TRY", "FAE")}


async def test_concentration_and_ph_ranges_apply_to_the_grid(lims_gql, known):
    m, _ = await search(lims_gql, chemical="sodium chloride", concentrationMin=1.0, concentrationMax=1.2,
                        phMin=4.5, phMax=4.7)
    expected = {k.pin for k in known if k.acronym == "HEWL" and 1.0 <= HEWL_NACL[int(k.well[1:])] <= 1.2
                and HEWL_PH[k.well[0]] == 4.6}
    assert expected and set(m["pinBarcodes"]) == expected


async def test_protein_uniprot_and_method(lims_gql, known):
    by_name, _ = await search(lims_gql, proteinName="lysozyme")
    by_uniprot, _ = await search(lims_gql, uniprotId="p00698", method="vapor diffusion, sitting drop")
    hewl = {k.pin for k in known if k.acronym == "HEWL"}
    assert set(by_name["pinBarcodes"]) == set(by_uniprot["pinBarcodes"]) == hewl


async def test_ligand_finds_only_soaked_trypsin(lims_gql, known):
    m, _ = await search(lims_gql, ligand="ben")
    tryp = {k.pin for k in known if k.acronym == "TRY"}
    assert set(m["pinBarcodes"]) <= tryp
    assert 0.5 * len(tryp) < m["count"] < 0.9 * len(tryp)  # the demo soaks 70 % of trypsin crystals
    none, _ = await search(lims_gql, ligand="ATP")
    assert none == {"crystalUuids": [], "pinBarcodes": [], "plateWellDrops": [], "count": 0, "truncated": False}


async def test_first_truncates_but_counts_all(lims_gql, lims_store, known):
    before = lims_store.statements
    m, _ = await search(lims_gql, first=5, chemical="sodium chloride")
    assert lims_store.statements - before == 1
    zero, _ = await search(lims_gql, first=0, chemical="sodium chloride")
    assert (zero["count"], zero["truncated"], zero["pinBarcodes"]) == (m["count"], True, [])
    assert len(m["plateWellDrops"]) == 5 and m["truncated"] is True
    # + each site's duplicate registration of its first crystal with a UUID, when that crystal is HEWL
    firsts = [next(k for k in known if k.site == site and k.lims_has_uuid) for site in DEMO_LIMS_SITES]
    assert m["count"] == sum(k.acronym == "HEWL" for k in known) + sum(k.acronym == "HEWL" for k in firsts)


@pytest.mark.parametrize("f, message", [
    ({"chemical": "sodium chlorde"}, "unknown chemical 'sodium chlorde'"),
    ({"chemical": "7647-14-6"}, "check digit"),
    ({"uniprotId": "lysozyme"}, "malformed UniProt"),
    ({"ligand": "benzamidine"}, "malformed PDB chemical component id"),
    ({"concentrationMin": 1.0}, "need `chemical`"),
    ({"chemical": "sodium chloride", "phMin": 6, "phMax": 5}, "range is empty"),
    ({"method": "sitting drop"}, "unknown crystallisation method"),
])
async def test_bad_filters_are_bad_user_input(lims_gql, f, message):
    m, errors = await search(lims_gql, **f)
    assert m is None
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT" and message in errors[0]["message"]


async def test_unknown_chemical_suggests_close_names(lims_gql):
    _, errors = await search(lims_gql, chemical="sodium chlorde")
    assert errors[0]["extensions"]["suggestions"][0] == "sodium chloride"
    _, errors = await search(lims_gql, chemical="glycol")
    # Substring matches first, shortest first; only names some condition uses (ethylene glycol is a cryo only).
    assert errors[0]["extensions"]["suggestions"][:2] == ["polyethylene glycol 4000", "polyethylene glycol 8000"]
