"""crystallisationSearch on the demo LIMS: answers computed independently from the demo sites' crystals."""

from __future__ import annotations

import pytest

from site_adapter.lims.crims import import_crims_csv
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
    m, _ = await search(
        lims_gql, chemical="sodium chloride", concentrationMin=1.0, concentrationMax=1.2, phMin=4.5, phMax=4.7
    )
    expected = {
        k.pin
        for k in known
        if k.acronym == "HEWL" and 1.0 <= HEWL_NACL[int(k.well[1:])] <= 1.2 and HEWL_PH[k.well[0]] == 4.6
    }
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
    assert none == {
        "crystalUuids": [],
        "pinBarcodes": [],
        "plateWellDrops": [],
        "count": 0,
        "truncated": False,
    }


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


@pytest.mark.parametrize(
    "f, message",
    [
        ({"chemical": "7647-14-6"}, "check digit"),
        ({"uniprotId": "lysozyme"}, "malformed UniProt"),
        ({"ligand": "benzamidine"}, "malformed PDB chemical component id"),
        ({"concentrationMin": 1.0}, "need `chemical`"),
        ({"chemical": "sodium chloride", "phMin": 6, "phMax": 5}, "range is empty"),
        ({"method": "sitting drop"}, "unknown crystallisation method"),
    ],
)
async def test_bad_filters_are_bad_user_input(lims_gql, f, message):
    m, errors = await search(lims_gql, **f)
    assert m is None
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT" and message in errors[0]["message"]


UNKNOWN = """query($f: CrystallisationSearchFilter!) { crystallisationSearch(filter: $f) {
  count unknown { field value suggestions } } }"""


async def unknown(gql, **f):
    body = await gql(UNKNOWN, {"f": f})
    assert "errors" not in body, body  # an unknown term is not an error: another LIMS may know it
    return body["data"]["crystallisationSearch"]


async def test_an_unknown_chemical_matches_nothing_and_suggests_close_names(lims_gql):
    m = await unknown(lims_gql, chemical="sodium chlorde")
    assert m["count"] == 0
    assert [(u["field"], u["value"]) for u in m["unknown"]] == [("chemical", "sodium chlorde")]
    assert m["unknown"][0]["suggestions"][0] == "sodium chloride"
    m = await unknown(lims_gql, chemical="glycol")
    # Substring matches first, shortest first; only names some condition uses (ethylene glycol is a cryo only).
    assert m["unknown"][0]["suggestions"][:2] == ["polyethylene glycol 4000", "polyethylene glycol 8000"]
    # A PEG size nobody used: the vocabulary's name for it finds the sizes that are used.
    m = await unknown(lims_gql, chemical="PEG 3000")
    assert {"polyethylene glycol 4000", "polyethylene glycol 8000"} <= set(m["unknown"][0]["suggestions"])


async def test_an_unknown_ligand_is_said_the_same_way(lims_gql):
    m = await unknown(lims_gql, ligand="BNZ")
    assert m == {"count": 0, "unknown": [{"field": "ligand", "value": "BNZ", "suggestions": ["BEN"]}]}


async def test_known_terms_that_match_nothing_here_are_not_unknown(lims_gql):
    # sodium chloride is used, just never at pH 9: no match, nothing unknown.
    m = await unknown(lims_gql, chemical="sodium chloride", phMin=9)
    assert m == {"count": 0, "unknown": []}


@pytest.mark.parametrize(
    "canonical, spellings",
    [
        (
            "polyethylene glycol 8000",
            ["PEG 8000", "PEG8000", "peg-8000", "PEG 8K", "Polyethylene glycol 8,000"],
        ),
        ("sodium chloride", ["NaCl", "nacl", "Sodium  Chloride"]),
        ("ammonium sulfate", ["ammonium sulphate", "(NH4)2SO4", "Ammonium Sulphate"]),
        ("Tris", ["TRIS base", "tris(hydroxymethyl)aminomethane", "trometamol"]),
        ("HEPES", ["4-(2-hydroxyethyl)piperazine-1-ethanesulfonic acid"]),
        ("magnesium chloride hexahydrate", ["MgCl2", "magnesium chloride"]),
    ],
)
async def test_synonyms_and_abbreviations_find_the_same_crystals(lims_gql, canonical, spellings):
    want, _ = await search(lims_gql, chemical=canonical)
    assert want["count"] > 0
    for spelling in spellings:
        got, errors = await search(lims_gql, chemical=spelling)
        assert errors is None and got == want, spelling


async def test_a_cas_number_finds_records_that_only_name_the_chemical(empty_lims, empty_lims_gql):
    csv_text = (
        "plate_barcode,well,drop,components,crystal_uuid,pin_barcode,protein_name\n"
        "VOC1,A1,1,20 %w/v PEG3350; 0.2 M ammonium sulphate,21111111-2222-3333-4444-555555555555,VPIN1,Lysozyme\n"
        "VOC1,A2,1,1.0 M NaCl,21111111-2222-3333-4444-555555555556,VPIN2,Lysozyme\n"
    )
    async with empty_lims.pool.acquire() as conn:
        report = await import_crims_csv(conn, csv_text, source="voc.csv")
        assert report.errors == [] and report.imported == 2
        stored = [
            (r["name"], r["cas_number"])
            for r in await conn.fetch("SELECT name, cas_number FROM lims_component ORDER BY name")
        ]
        # Stored under the vocabulary's names, with their CAS numbers.
        assert stored == [
            ("ammonium sulfate", "7783-20-2"),
            ("polyethylene glycol 3350", "25322-68-3"),
            ("sodium chloride", "7647-14-5"),
        ]
        # A record written before the vocabulary (or by another tool) keeps its own spelling, and no CAS.
        await conn.execute(
            "UPDATE lims_component SET name = 'PEG 3350', cas_number = NULL"
            " WHERE name = 'polyethylene glycol 3350'"
        )
        await conn.execute(
            "UPDATE lims_component SET name = 'Sodium chloride (NaCl)', cas_number = NULL"
            " WHERE name = 'sodium chloride'"
        )
    for term in ("PEG 3350", "PEG3350", "polyethylene glycol 3350", "PEG 3,350"):
        m, errors = await search(empty_lims_gql, chemical=term)
        assert errors is None and m["pinBarcodes"] == ["VPIN1"], term
    m, _ = await search(empty_lims_gql, chemical="7783-20-2")  # CAS, and the record carries it
    assert m["pinBarcodes"] == ["VPIN1"]


async def test_a_cas_number_finds_a_chemical_recorded_by_a_synonym_without_cas(empty_lims, empty_lims_gql):
    csv_text = (
        "plate_barcode,well,drop,components,crystal_uuid,pin_barcode,protein_name\n"
        "VOC2,A1,1,1.5 M NaCl,31111111-2222-3333-4444-555555555555,WPIN1,Lysozyme\n"
    )
    async with empty_lims.pool.acquire() as conn:
        await import_crims_csv(conn, csv_text, source="voc.csv")
        await conn.execute("UPDATE lims_component SET name = 'NaCl', cas_number = NULL")
    m, errors = await search(empty_lims_gql, chemical="7647-14-5")
    assert errors is None and m["pinBarcodes"] == ["WPIN1"]
    m, _ = await search(empty_lims_gql, chemical="sodium chloride")
    assert m["pinBarcodes"] == ["WPIN1"]
