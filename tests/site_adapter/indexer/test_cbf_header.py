from __future__ import annotations

import bz2
import gzip
from datetime import datetime

import pytest

from site_adapter.indexer.cbf_header import (
    BINARY_MARKER,
    HeaderError,
    NotAnImage,
    TruncatedHeader,
    parse_header_text,
    read_header,
)


def test_pilatus_2m_every_field(images):
    h = read_header(images / "l_cysteine/l-cyst_01_00001.cbf")
    assert h.format == "miniCBF" and h.header_convention == "PILATUS_1.2"
    assert (h.detector, h.serial_number) == ("PILATUS 2M", "24-0107")
    assert h.timestamp == datetime(2016, 3, 5, 9, 1, 45, 613000)
    assert (h.pixel_size_x, h.pixel_size_y) == (0.172, 0.172)
    assert (h.sensor_material, h.sensor_thickness) == ("Silicon", 0.32)
    assert (h.exposure_time, h.exposure_period, h.tau) == (0.0964, 0.1, 1.24e-07)
    assert (h.count_cutoff, h.threshold_setting, h.n_excluded_pixels) == (388705, 9000.0, 262)
    assert h.gain_setting == "low gain (vrf = -0.300)"
    assert (h.wavelength, h.detector_distance, h.detector_voffset) == (0.6889, 160.0, 0.0)
    assert (h.beam_x, h.beam_y, h.flux, h.transmission) == (730.0, 865.0, 0.0, 100.0)
    assert (h.start_angle, h.angle_increment, h.detector_2theta, h.polarization) == (-145.0, 0.1, 30.0, 0.99)
    assert (h.alpha, h.kappa, h.phi, h.phi_increment) == (0.0, 0.0, 0.0, 0.0)
    assert (h.omega, h.omega_increment, h.chi, h.chi_increment) == (-145.0, 0.1, -54.7, 0.0)
    assert (h.oscillation_axis, h.oscillation_axis_tokens, h.n_oscillations) == ("OMEGA", ("OMEGA",), 1)
    assert (h.dimension_x, h.dimension_y) == (1475, 1679)
    assert h.extra["Trim_file"] == "p2m0107_E18000_T9000_vrf_m0p30.bin"
    (s,) = h.binary_sections
    assert (s.conversions, s.binary_size, s.content_md5) == (
        "x-CBF_BYTE_OFFSET",
        2476549,
        "WJ+xxsiUxrAgcDo0PSzCoA==",
    )
    assert (s.element_type, s.number_of_elements, s.padding) == ("signed 32-bit integer", 2476525, 4095)
    raw = (images / "l_cysteine/l-cyst_01_00001.cbf").read_bytes()
    assert raw[s.data_offset - 4 : s.data_offset] == BINARY_MARKER


def test_bz2_grid_still_and_diamond_percent_transmission(images):
    h = read_header(images / "thaumatin_grid/thau_3_2_0001.cbf.bz2")
    assert (h.detector, h.serial_number) == ("PILATUS3 6M", "60-0119")
    # Filter_transmission 0.2547 written by Diamond's GDA (Image_path /ramdisk/2019/cm23007-4/...), which
    # writes percent on every beamline in the fixtures (I03 30.0376, I19 100.0, I23 9.9956): 0.2547 %.
    assert h.transmission == 0.2547
    assert (h.flux, h.angle_increment, h.start_angle) == (1.396021, 0.0, 89.9997)
    assert h.oscillation_axis_tokens == ("X", "CW", "+SLOW")
    assert h.binary_sections[0].content_md5 == "iGRmdGGUIqJyF2y7dyHbQg=="


def test_gzip_header_longer_than_4k(images):
    h = read_header(images / "image_examples/DLS_I03_smargon_0001.cbf.gz")
    assert h.binary_sections[0].data_offset == 6720 > 4096
    assert h.transmission == 30.0376  # DLS I03 writes percent in Filter_transmission
    assert (h.detector_distance, h.sensor_thickness, h.kappa, h.chi, h.phi) == (291.47, 1.0, 0.0, 45.0, 45.0)
    assert h.oscillation_axis_tokens == ("X", "CW")


def test_i23_and_eiger_as_cbf(images):
    h = read_header(images / "image_examples/DLS_I23_P12M_thau_00001.cbf.gz")
    assert (h.detector, h.dimension_x, h.dimension_y) == ("PILATUS 12M", 2463, 5071)
    assert (h.flux, h.wavelength, h.oscillation_axis) == (130126001666.235092, 2.7552, "X, CW")
    e = read_header(images / "image_examples/dlsnxs2cbf_therm_0001.cbf.gz")
    assert (e.detector, e.serial_number, e.pixel_size_x) == ("EIGER 16M XR4i", "160-0001", 0.075)
    assert e.transmission == 1.1 and e.binary_sections[0].content_md5 is None


def test_sls_dialect_integer_beam_and_deg_without_period(images):
    h = read_header(images / "dialects/psi_in16c_010001.cbf")
    assert h.header_convention == "SLS/DECTRIS_1.1"
    assert (h.beam_x, h.beam_y) == (244.0, 308.0)
    assert (h.start_angle, h.angle_increment) == (0.0, 0.1)
    assert h.timestamp == datetime(2011, 11, 1, 17, 59, 4, 733000)
    assert (h.detector, h.serial_number, h.detector_distance) == ("PILATUS 300K", "3-0118", 40.0)


def test_kappa_header_without_oscillation_axis(images):
    h = read_header(images / "dialects/dxtbx_i19_omega_scan.cbf")
    assert (h.alpha, h.kappa, h.phi, h.chi, h.chi_increment) == (50.0, 30.0, 20.0, -10.0, 0.5)
    # Filter_transmission 1.0000 from GDA at I19 (Image_path /dls/i19/...): percent, as GDA writes it on
    # every beamline in the fixtures, so 1 % (the spec's fraction would read it as 100 %).
    assert h.oscillation_axis is None and h.omega is None and h.transmission == 1.0


def test_esrf_seed_header(fixtures):
    h = parse_header_text((fixtures / "seed/id29_pilatus3_6m_header.cbf.txt").read_text())
    assert h.transmission == 6.63615401085  # ESRF `Transmission` is percent
    assert h.sensor_thickness == 0.32 and h.n_excluded_pixels == 321 and h.n_oscillations == 1220
    assert h.timestamp == datetime(2015, 7, 22, 15, 38, 43)
    assert (h.detector, h.serial_number, h.flux) == ("PILATUS3 6M", "60-0128", 3.7e11)
    assert h.binary_sections[0].conversions == "x-CBF_BYTE_OFFSET"  # despite the blank line in the MIME block
    assert h.binary_sections[0].padding == 128


def test_seed_file_is_a_truncated_image(fixtures):
    with pytest.raises(TruncatedHeader):
        read_header(fixtures / "seed/id29_pilatus3_6m_header.cbf.txt")


def test_imgcif_packed_and_multi_section(images):
    r = read_header(images / "kapton_test_data/rayonix340/hit-20181213155134902.cbf")
    assert r.format == "imgCIF" and r.wavelength == 1.30375729885 and r.detector == "Rayonix"
    assert r.binary_sections[0].conversions == "x-CBF_PACKED"
    c = read_header(images / "thermolysin_cspad/idx-20130301060858401.cbf")
    assert [s.binary_id for s in c.binary_sections] == [1, 2, 3, 4]
    assert c.wavelength == 1.272607
    raw = (images / "thermolysin_cspad/idx-20130301060858401.cbf").read_bytes()
    for s in c.binary_sections:
        assert raw[s.data_offset - 4 : s.data_offset] == BINARY_MARKER


def test_headerless_binary_parses(images):
    h = read_header(images / "dialects/psi_example_headerless.cbf")
    assert h.wavelength is None and (h.dimension_x, h.dimension_y) == (1475, 1679)


def test_reads_only_the_header(images, tmp_path):
    # The same file cut 10 bytes into its pixels still gives the whole header: nothing past it is read.
    raw = (images / "image_examples/DLS_I03_smargon_0001.cbf.gz").read_bytes()
    data = gzip.decompress(raw)
    cut = data.index(BINARY_MARKER) + 14
    (tmp_path / "cut.cbf.bz2").write_bytes(bz2.compress(data[:cut]))
    h = read_header(tmp_path / "cut.cbf.bz2")
    assert h.wavelength == 0.97625 and h.binary_sections[0].binary_size == 6224017


def test_not_an_image(tmp_path):
    p = tmp_path / "notes_0001.cbf"
    p.write_text("this is a lab notebook, not an image\n" * 300)
    with pytest.raises(NotAnImage):
        read_header(p)
    empty = tmp_path / "empty_0001.cbf"
    empty.write_bytes(b"")
    with pytest.raises(HeaderError):
        read_header(empty)


def _dls_text(images) -> str:
    path = images / "l_cysteine" / "l-cyst_01_00001.cbf"
    return path.read_bytes()[:9000].decode("latin-1")


def test_diamond_filter_transmission_is_percent_even_below_one(images) -> None:
    from site_adapter.indexer.cbf_header import parse_header_text

    text = _dls_text(images)
    assert "Filter_transmission 100.0000" in text
    assert (
        parse_header_text(
            text.replace("Filter_transmission 100.0000", "Filter_transmission 0.5000")
        ).transmission
        == 0.5
    )
    # the same header from elsewhere (no Diamond name, no DLS path) follows the PILATUS spec: a fraction
    foreign = (
        text.replace("Diamond", "Elsewhere")
        .replace("/dls_sw/", "/opt/")
        .replace("/mt11145-4/", "/x/")
        .replace("Filter_transmission 100.0000", "Filter_transmission 0.5000")
    )
    assert parse_header_text(foreign).transmission == 50.0


def test_sectioned_multi_panel_imgcif_has_no_single_panel_axes(images) -> None:
    from site_adapter.indexer.cbf_header import read_header

    header = read_header(images / "thermolysin_cspad" / "idx-20130301060858401.cbf")
    assert header.axes is None and len(header.binary_sections) == 4
