from __future__ import annotations

import shutil
from datetime import datetime

import pytest

from site_adapter.indexer.cbf_header import read_header
from site_adapter.indexer.integrity import TruncatedData, verify_sections
from site_adapter.indexer.nexus import read_nexus


def test_md5_of_every_section_matches(images):
    for name in [
        "l_cysteine/l-cyst_02_00003.cbf",
        "thaumatin_grid/thau_3_2_0002.cbf.bz2",
        "thermolysin_cspad/idx-20130301060858401.cbf",
    ]:
        path = images / name
        checks = verify_sections(path, read_header(path).binary_sections)
        assert checks and all(c.ok for c in checks)


def test_md5_absent_is_unknown_not_ok(images):
    path = images / "image_examples/dlsnxs2cbf_therm_0001.cbf.gz"
    (check,) = verify_sections(path, read_header(path).binary_sections)
    assert check.expected is None and check.ok is None


def test_flipped_byte_and_truncation(images, tmp_path):
    src = images / "l_cysteine/l-cyst_01_00002.cbf"
    bad = tmp_path / "x_0001.cbf"
    shutil.copy(src, bad)
    header = read_header(bad)
    with open(bad, "r+b") as f:
        f.seek(header.binary_sections[0].data_offset + 1000)
        byte = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([byte[0] ^ 0x01]))
    (check,) = verify_sections(bad, header.binary_sections)
    assert check.ok is False and check.expected == header.binary_sections[0].content_md5 != check.actual
    cut = tmp_path / "x_0002.cbf"
    cut.write_bytes(src.read_bytes()[:100_000])
    with pytest.raises(TruncatedData):
        verify_sections(cut, read_header(cut).binary_sections)


def test_nxmx_master(images):
    h = read_nexus(images / "image_examples/dectris_eiger_master.h5")
    assert h.format == "NXmx"
    assert (h.detector, h.serial_number, h.sensor_material) == ("Dectris Eiger 9M", "E-18-0102", "Silicon")
    assert (h.pixel_size_x, h.sensor_thickness, h.detector_distance) == (0.075, 0.45, 134.255)
    assert (h.wavelength, h.beam_x, h.beam_y) == (0.9801122, 1607.415, 1586.431)
    assert (h.exposure_time, h.exposure_period, h.threshold_setting) == (0.00499, 0.005, 6325.0)
    assert (h.omega, h.omega_increment, h.dimension_x, h.dimension_y) == (0.0, 0.5, 3110, 3269)
    assert h.timestamp == datetime(2016, 12, 16, 7, 6, 17, 852051)
    assert h.extra["data_files"] == "dectris_eiger_data_000001.h5" and h.extra["n_images"] == "1"
