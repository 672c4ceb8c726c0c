"""Identifier checks: CAS check digits, UUIDs, barcodes, wells, UniProt and CCD ids, units."""

import pytest

from mx_schema.errors import ContractError
from site_adapter.lims import keys
from site_adapter.lims.chemistry import CHEMICALS, GRIDS, LIGANDS
from site_adapter.lims.units import normalise_unit


@pytest.mark.parametrize("name", sorted(CHEMICALS))
def test_every_catalogue_cas_number_passes_the_check_digit(name):
    assert keys.cas_number(CHEMICALS[name][0]) == CHEMICALS[name][0]


@pytest.mark.parametrize("bad", ["7647-14-6", "7647-145", "7647_14_5", "1-11-1", "56-81-4"])
def test_bad_cas_numbers_are_refused(bad):
    with pytest.raises(ContractError):
        keys.cas_number(bad)


def test_uuid_is_canonical_lower_case():
    assert (
        keys.crystal_uuid(" 6F1C7A52-3C1E-4C8E-9A55-1B7D2F0E8C11 ") == "6f1c7a52-3c1e-4c8e-9a55-1b7d2f0e8c11"
    )
    for bad in [
        "6f1c7a52-3c1e-4c8e-9a55",
        "not-a-uuid",
        "{6f1c7a52-3c1e-4c8e-9a55-1b7d2f0e8c11}",
        "6f1c7a523c1e4c8e9a551b7d2f0e8c11",
    ]:
        with pytest.raises(ContractError, match="malformed crystal UUID"):
            keys.crystal_uuid(bad)


def test_plate_well_drop_normalises_the_well():
    k = keys.plate_well_drop("ESPL0200101/b07/2")
    assert (k.plate, k.well, k.drop, str(k)) == ("ESPL0200101", "B7", 2, "ESPL0200101/B7/2")
    for bad in ["ESPL/B7", "ESPL 1/B7/1", "ESPL/7B/1", "ESPL/B7/0", "ESPL/B7/x"]:
        with pytest.raises(ContractError):
            keys.plate_well_drop(bad)


def test_barcodes_uniprot_ccd_and_methods():
    assert keys.barcode("ESPIN02000001") == "ESPIN02000001"
    with pytest.raises(ContractError):
        keys.barcode("pin with space")
    assert keys.uniprot_id("p00698") == "P00698"
    assert keys.uniprot_id("A0A023GPI8") == "A0A023GPI8"
    with pytest.raises(ContractError):
        keys.uniprot_id("lysozyme")
    assert keys.ccd_id("ben") == "BEN"
    with pytest.raises(ContractError):
        keys.ccd_id("benzamidine")
    assert keys.method("vapor  diffusion, sitting drop") == "VAPOR DIFFUSION, SITTING DROP"
    with pytest.raises(ContractError, match="mmCIF"):
        keys.method("sitting drop")


def test_units_are_canonical():
    assert normalise_unit(200.0, "mM") == (0.2, "M")
    assert normalise_unit(20.0, "mM", molar_base="mM") == (20.0, "mM")
    assert normalise_unit(0.02, "M", molar_base="mM") == (20.0, "mM")
    assert normalise_unit(25.0, "% (w/v)") == (25.0, "%w/v")
    assert normalise_unit(10.0, "%v/v") == (10.0, "%v/v")
    with pytest.raises(ContractError, match="unknown concentration unit"):
        normalise_unit(1.0, "furlongs")


def test_grids_use_only_catalogue_chemicals_and_ligands():
    for grid in GRIDS.values():
        names = [grid.precipitant] + [b for b, _ in grid.buffers] + [n for n, _, _ in grid.fixed]
        assert all(n in CHEMICALS for n in names), grid.screen
        assert grid.soak is None or grid.soak[0] in LIGANDS
        keys.method(grid.method)
