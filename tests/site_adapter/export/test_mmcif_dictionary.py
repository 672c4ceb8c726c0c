"""The deposition mmCIF writer checked item by item against the PDBx/mmCIF dictionary (pdbx_subset.py
says which dictionary and where from)."""

from __future__ import annotations

import datetime as dt

import gemmi
import pytest

from site_adapter import model
from site_adapter.export import mmcif
from tests.site_adapter.export.pdbx_subset import CATEGORY_KEYS, check_against_dictionary


def full_deposition() -> mmcif.Deposition:
    """Every part filled: a rotation sweep, a detector, a result with three shells, a LIMS record, a DOI."""
    dc = model.DataCollection(
        local_id="42",
        group_local_id="7",
        session_local_id="3",
        sample_local_id="9",
        detector_local_id="1",
        experiment_type="OSC",
        start_time=dt.datetime(2021, 2, 25, 10, 15, 6),
        end_time=None,
        run_status=None,
        image_directory="/data/x",
        file_template="x_1_####.cbf",
        start_image_number=1,
        number_of_images=3600,
        wavelength=0.976254,
        detector_distance=240.0,
        beam_centre_x=210.1,
        beam_centre_y=220.2,
        axis_start=0.0,
        axis_end=360.0,
        axis_range=0.1,
        overlap=0.0,
        rotation_axis="Omega",
        exposure_time=0.004,
        transmission=12.5,
        flux=2e12,
        beam_size_x=80.0,
        beam_size_y=20.0,
        resolution=1.2,
    )
    shell = model.ShellStatistics
    result = model.ProcessingResult(
        local_id="596145",
        data_collection_local_id="42",
        program="xia2 dials",
        status="SUCCESS",
        space_group="P 61 2 2",
        cell=model.UnitCell(92.6461, 92.6461, 128.98, 90, 90, 120),
        overall=shell(59.3, 1.42, 99.8, 19.8, 17.5, 0.999, None, 0.081, 0.083, 0.019, 1131004, 57032),
        inner=shell(59.3, 6.35, 100.0, 18.1, 70.2, 0.996, None, 0.031, 0.032, 0.008, 12845, 709),
        outer=shell(1.44, 1.42, 97.9, 14.2, 1.1, 0.497, None, 2.38, 2.47, 0.65, 37012, 2609),
    )
    detector = model.Detector("1", "Dectris", "Eiger2 XE 16M", "E-32-0990", 0.075, 0.075)
    grow = mmcif.CrystalGrow(
        "VAPOR DIFFUSION, SITTING DROP", 7.5, 293.0, "0.1 M HEPES, 20 % PEG 3350, pH 7.5"
    )
    return mmcif.Deposition(
        entry_id="dls_42",
        collection=dc,
        detector=detector,
        synchrotron_site="diamond",
        beamline="i03",
        result=result,
        crystal_grow=grow,
        raw_data_doi="10.5281/zenodo.51405",
    )


def test_full_fragment_uses_dictionary_items_with_their_types():
    categories = check_against_dictionary(mmcif.render(full_deposition()))
    assert categories == sorted(CATEGORY_KEYS)


def test_values_in_mmcif_units():
    block = gemmi.cif.read_string(mmcif.render(full_deposition())).sole_block()
    assert block.find_value("_diffrn_radiation_wavelength.wavelength") == "0.976254"  # Å
    assert float(block.find_value("_reflns.pdbx_CC_half")) == pytest.approx(0.999)  # a fraction
    assert float(block.find_value("_reflns.percent_possible_obs")) == pytest.approx(99.8)  # %
    assert block.find_value("_diffrn_detector.pdbx_collection_date") == "2021-02-25"
    assert block.find_value("_pdbx_related_exp_data_set.data_reference") == "10.5281/zenodo.51405"
    shells = block.find("_reflns_shell.", ["pdbx_ordinal", "d_res_high", "pdbx_CC_half"])
    assert [(r[0], float(r[1]), float(r[2])) for r in shells] == [("1", 6.35, 0.996), ("2", 1.42, 0.497)]
    assert float(block.find_value("_exptl_crystal_grow.temp")) == 293.0  # K


def test_a_collection_without_results_or_detector_is_still_valid():
    bare = mmcif.Deposition(entry_id="site 1", collection=full_deposition().collection)
    categories = check_against_dictionary(mmcif.render(bare))
    assert "_reflns" not in categories and "_exptl_crystal_grow" not in categories
    block = gemmi.cif.read_string(mmcif.render(bare)).sole_block()
    assert block.find_value("_diffrn_detector.type") == "?"  # unknown, said as mmCIF says it


def test_crystal_grow_added_to_a_parsed_fragment_is_the_same_writer():
    d = full_deposition()
    without = mmcif.Deposition(entry_id=d.entry_id, collection=d.collection, result=d.result)
    doc = gemmi.cif.read_string(mmcif.render(without))
    assert doc.sole_block().find_value("_exptl_crystal_grow.method") is None
    assert d.crystal_grow is not None
    mmcif.add_crystal_grow(doc.sole_block(), d.crystal_grow)
    check_against_dictionary(mmcif.as_text(doc))
    assert (
        gemmi.cif.as_string(doc.sole_block().find_value("_exptl_crystal_grow.method"))
        == d.crystal_grow.method
    )
