"""The chemical vocabulary (site_adapter/lims/vocabulary.toml): shipped as package data, sourced, consistent."""

from __future__ import annotations

import tomllib
from importlib import resources

import pytest

from mx_schema.errors import ContractError
from site_adapter.lims import keys
from site_adapter.lims.chemistry import CHEMICALS
from site_adapter.lims.search import make_filter
from site_adapter.lims.vocabulary import vocabulary

V = vocabulary()


@pytest.mark.parametrize(
    "term, name",
    [
        ("PEG 3350", "polyethylene glycol 3350"),
        ("PEG3350", "polyethylene glycol 3350"),
        ("peg-3350", "polyethylene glycol 3350"),
        ("Polyethylene glycol 3,350", "polyethylene glycol 3350"),
        ("PEG 4000", "polyethylene glycol 4000"),
        ("PEG 4K", "polyethylene glycol 4000"),
        ("polyethylene glycol 8000", "polyethylene glycol 8000"),
        ("PEG MME 550", "polyethylene glycol monomethyl ether 550"),
        ("PEG 5000 MME", "polyethylene glycol monomethyl ether 5000"),
        ("ammonium sulphate", "ammonium sulfate"),
        ("(NH4)2SO4", "ammonium sulfate"),
        ("NaCl", "sodium chloride"),
        ("sodium  chloride", "sodium chloride"),
        ("Tris", "Tris"),
        ("TRIS base", "Tris"),
        ("tris(hydroxymethyl)aminomethane", "Tris"),
        ("Tris-HCl", "Tris hydrochloride"),
        ("HEPES", "HEPES"),
        ("MPD", "MPD"),
        ("(+/-)-2-Methyl-2,4-pentanediol", "MPD"),
        ("lithium sulphate", "lithium sulfate monohydrate"),
    ],
)
def test_synonyms_abbreviations_and_formulas_name_one_chemical(term, name):
    found = V.lookup(term)
    assert found is not None and found.name == name


@pytest.mark.parametrize("term", ["sodium chlorid", "PEG", "PEG 0", "lysozyme", "tris buffer pH"])
def test_other_terms_are_unknown(term):
    assert V.lookup(term) is None


def test_every_cas_number_passes_its_check_digit():
    for chem in V.chemicals:
        assert chem.cas and keys.cas_number(chem.cas) == chem.cas, chem.name
    for family in V.families:
        assert family.cas and keys.cas_number(family.cas) == family.cas


def test_no_spelling_names_two_chemicals_and_every_entry_cites_a_source():
    seen: dict[str, str] = {}
    for chem in V.chemicals:
        assert chem.source, chem.name
        for form in chem.spellings:
            key = V.normalise(form)
            assert seen.setdefault(key, chem.name) == chem.name, (form, seen[key], chem.name)
            assert V.lookup(form).name == chem.name  # a synonym is not swallowed by a family pattern
    assert len(V.references) >= 3 and all(r.strip() for r in V.references)


def test_catalogue_chemicals_keep_their_spelling():
    # The demo catalogue's names are what the store holds: the vocabulary must answer with the same ones.
    for name, (cas, _) in CHEMICALS.items():
        found = V.lookup(name)
        assert found is not None and found.name == name, name
        if "polyethylene glycol" not in name:
            assert found.cas == cas, name


def test_the_file_is_package_data_and_valid_toml():
    text = resources.files("site_adapter.lims").joinpath("vocabulary.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    assert {"source", "spelling", "family", "chemical"} <= set(data)


def test_search_filter_widens_a_name_to_its_spellings_and_own_cas():
    f = make_filter(chemical="PEG 3350")
    assert {"peg 3350", "peg3350", "polyethylene glycol 3350"} <= set(f.chemical_names)
    assert f.chemical_cas is None  # PEG's CAS number is every PEG's: it would find PEG 4000 too
    f = make_filter(chemical="NaCl")
    assert "sodium chloride" in f.chemical_names and f.chemical_cas == "7647-14-5"
    f = make_filter(chemical="ammonium sulfate")
    assert "ammonium sulphate" in f.chemical_names  # records written with British spelling match
    f = make_filter(chemical="7783-20-2")
    assert "(nh4)2so4" in f.chemical_names and f.chemical_cas == "7783-20-2"
    with pytest.raises(ContractError):
        make_filter(chemical="7783-20-3")
