"""The unit rules of ISPyB's characterisation and scan tables, on the values data.sql holds."""

from __future__ import annotations

import pytest

from site_adapter.backends.ispyb import scan_units as u


def test_energies_in_ev_stay_and_kev_are_converted():
    assert u.energy_ev(7062.75, "EnergyScan.startEnergy") == (7062.75, None)  # Diamond, Fe K
    value, note = u.energy_ev(12.658, "EnergyScan.peakEnergy")
    assert value == pytest.approx(12658.0) and note and "keV" in note
    assert u.energy_ev(None, "x") == (None, None) and u.energy_ev(0, "x") == (None, None)


def test_a_transmission_fraction_becomes_percent():
    assert u.fraction_percent(0.016, "t")[0] == pytest.approx(1.6)
    assert u.fraction_percent(1, "t")[0] == pytest.approx(100.0)
    assert u.fraction_percent(25.6, "t") == (25.6, None)


def test_screening_completeness_fraction_becomes_percent():
    assert u.completeness_percent(0.997) == (pytest.approx(99.7), True)
    assert u.completeness_percent(99.5) == (99.5, False)
    assert u.completeness_percent(None) == (None, False)


def test_beam_sizes_in_um_stay_and_mm_are_converted():
    assert u.beam_um(50, "b") == (50.0, None)
    value, note = u.beam_um(0.05, "b")
    assert value == pytest.approx(50.0) and note and "mm" in note


def test_zero_means_not_given():
    assert u.positive(0) is None and u.positive(0.428) == pytest.approx(0.428) and u.positive(None) is None
