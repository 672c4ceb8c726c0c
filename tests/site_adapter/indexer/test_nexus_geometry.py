"""NXmx masters as facilities write them today, written here with h5py after the NXmx gold standard
(DLS nexgen layout: per-image omega arrays, module_offset, det_z on two_theta, bslz4 data files), and the
legacy DECTRIS master: header fields, geometry as frame-free dot products, pixels, bad input."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import h5py
import hdf5plugin
import numpy as np
import pytest

from site_adapter.axes import dot, resolve
from site_adapter.indexer.cbf_header import HeaderError
from site_adapter.indexer.nexus import read_frame, read_nexus

NX, NY = 64, 80  # fast, slow pixels of the small test detector
BEAM = (30.5, 41.25)  # pixels along fast, slow
PIXEL = 0.075  # mm
DISTANCE = 200.0  # mm
WAVELENGTH = 0.97625  # Å
BSLZ4 = 32008  # HDF5 filter id of bitshuffle (with LZ4), as Eiger writes its data


def _attrs(obj: h5py.HLObject, **attrs: Any) -> None:
    for k, v in attrs.items():
        obj.attrs[k] = np.bytes_(v) if isinstance(v, str) else v


def _axis(
    group: h5py.Group,
    name: str,
    value: Any,
    kind: str,
    vector: tuple[float, float, float],
    depends_on: str,
    units: str,
    offset: tuple[float, float, float] | None = None,
    offset_units: str | None = None,
) -> h5py.Dataset:
    ds = group.create_dataset(name, data=np.asarray(value, dtype=float))
    _attrs(
        ds, transformation_type=kind, vector=np.array(vector, dtype=float), depends_on=depends_on, units=units
    )
    if offset is not None:
        ds.attrs["offset"] = np.array(offset, dtype=float)
    if offset_units is not None:
        _attrs(ds, offset_units=offset_units)
    return ds


def write_master(
    directory: Path,
    name: str = "x",
    *,
    n: int = 10,
    omega: Any = None,
    increment: float = 0.1,
    two_theta: float = 0.0,
    chi: float = 0.0,
    phi: Any = 0.0,
    translations: dict | None = None,
    beam_units: str = "pixels",
    pixel_units: str = "m",
    angle_units: str = "deg",
    files: int = 2,
    write_data: bool = True,
    beam_direction: bool = False,
    sample_depends_on: str | None = None,
) -> Path:
    """An NXmx master `name`_master.h5 with `files` data files `name`_00000k.h5 of n/files images each."""
    directory.mkdir(parents=True, exist_ok=True)
    master = directory / f"{name}_master.h5"
    omega = np.arange(n) * increment if omega is None else np.asarray(omega, dtype=float)
    per_file = -(-n // files)
    with h5py.File(master, "w") as f:
        entry = f.create_group("entry")
        _attrs(entry, NX_class="NXentry")
        entry["definition"] = np.bytes_("NXmx")
        entry["start_time"] = np.bytes_("2024-05-01T10:00:00Z")
        data = entry.create_group("data")
        _attrs(data, NX_class="NXdata")
        for k in range(files):
            data[f"data_{k + 1:06d}"] = h5py.ExternalLink(f"{name}_{k + 1:06d}.h5", "entry/data/data")
            if write_data:
                count = min(per_file, n - k * per_file)
                with h5py.File(directory / f"{name}_{k + 1:06d}.h5", "w") as d:
                    frames = np.zeros((count, NY, NX), dtype=np.uint32)
                    for i in range(count):  # image number in one corner, a ramp elsewhere
                        frames[i] = np.arange(NY * NX, dtype=np.uint32).reshape(NY, NX) % 7
                        frames[i, 0, 0] = k * per_file + i + 1
                    d.create_dataset(
                        "entry/data/data",
                        data=frames,
                        chunks=(1, NY, NX),
                        **hdf5plugin.Bitshuffle(cname="lz4"),
                    )
        inst = entry.create_group("instrument")
        _attrs(inst, NX_class="NXinstrument")
        inst["name"] = np.bytes_("DIAMOND BEAMLINE I03")
        beam = inst.create_group("beam")
        _attrs(beam, NX_class="NXbeam")
        _attrs(beam.create_dataset("incident_wavelength", data=WAVELENGTH), units="angstrom")
        if beam_direction:
            beam["incident_beam_direction"] = np.array([0.0, 0.0, 1.0])
        att = inst.create_group("attenuator")
        att["attenuator_transmission"] = 0.25
        det = inst.create_group("detector")
        _attrs(det, NX_class="NXdetector")
        det["description"] = np.bytes_("Eiger 16M")
        det["sensor_material"] = np.bytes_("Si")
        _attrs(det.create_dataset("sensor_thickness", data=4.5e-4), units="m")
        _attrs(det.create_dataset("count_time", data=0.01), units="s")
        det["saturation_value"] = np.int32(9266)
        _attrs(det.create_dataset("distance", data=DISTANCE / 1000.0), units="m")
        scale = {"pixels": 1.0, "mm": PIXEL, "m": PIXEL / 1000.0}[beam_units]
        _attrs(det.create_dataset("beam_center_x", data=BEAM[0] * scale), units=beam_units)
        _attrs(det.create_dataset("beam_center_y", data=BEAM[1] * scale), units=beam_units)
        pix = {"m": PIXEL / 1000.0, "mm": PIXEL, "um": PIXEL * 1000.0}[pixel_units]
        _attrs(det.create_dataset("x_pixel_size", data=pix), units=pixel_units)
        _attrs(det.create_dataset("y_pixel_size", data=pix), units=pixel_units)
        det["depends_on"] = np.bytes_("/entry/instrument/detector/transformations/det_z")
        tr = det.create_group("transformations")
        _attrs(tr, NX_class="NXtransformations")
        _axis(tr, "two_theta", [two_theta], "rotation", (-1, 0, 0), ".", "deg")
        _axis(
            tr,
            "det_z",
            [DISTANCE],
            "translation",
            (0, 0, 1),
            "/entry/instrument/detector/transformations/two_theta",
            "mm",
        )
        module = det.create_group("module")
        _attrs(module, NX_class="NXdetector_module")
        module["data_origin"] = np.array([0, 0], dtype=np.uint32)
        module["data_size"] = np.array([NY, NX], dtype=np.uint32)  # slow, fast
        fast, slow = np.array([-1.0, 0.0, 0.0]), np.array([0.0, -1.0, 0.0])
        origin = -(BEAM[0] * PIXEL * fast + BEAM[1] * PIXEL * slow)  # nexgen's calculate_origin
        _axis(
            module,
            "module_offset",
            np.linalg.norm(origin),
            "translation",
            tuple(origin / np.linalg.norm(origin)),
            "/entry/instrument/detector/transformations/det_z",
            "mm",
            (0, 0, 0),
            "mm",
        )
        for axis, vector in (("fast_pixel_direction", fast), ("slow_pixel_direction", slow)):
            _axis(
                module,
                axis,
                pix,
                "translation",
                tuple(vector),
                "/entry/instrument/detector/module/module_offset",
                pixel_units,
                (0, 0, 0),
                "mm",
            )
        sample = entry.create_group("sample")
        _attrs(sample, NX_class="NXsample")
        st = sample.create_group("transformations")
        _attrs(st, NX_class="NXtransformations")
        k = {"deg": 1.0, "rad": math.pi / 180.0}[angle_units]
        _axis(st, "omega", omega * k, "rotation", (-1, 0, 0), ".", angle_units)
        if omega.size > 1 or increment:
            st["omega_increment_set"] = increment * k
            _attrs(st["omega_increment_set"], units=angle_units)
            _attrs(st.create_dataset("omega_end", data=(omega + increment) * k), units=angle_units)
        _axis(st, "chi", [chi], "rotation", (0, 0, 1), "omega", "deg")  # relative depends_on
        _axis(
            st, "phi", np.atleast_1d(phi), "rotation", (-1, 0, 0), "/entry/sample/transformations/chi", "deg"
        )
        head = "/entry/sample/transformations/phi"
        for axis, (values, vector) in (translations or {}).items():
            _axis(st, axis, values, "translation", vector, head, "mm")
            head = f"/entry/sample/transformations/{axis}"
        sample["depends_on"] = np.bytes_(sample_depends_on or head)
    return master


def test_gold_standard_rotation_sweep(tmp_path):
    h = read_nexus(write_master(tmp_path))
    assert h.format == "NXmx" and h.detector == "Eiger 16M"
    assert (h.pixel_size_x, h.pixel_size_y, h.detector_distance, h.sensor_thickness) == (
        0.075,
        0.075,
        200.0,
        0.45,
    )
    assert (h.beam_x, h.beam_y) == BEAM and h.wavelength == WAVELENGTH
    assert (h.start_angle, h.angle_increment, h.oscillation_axis) == (0.0, pytest.approx(0.1), "omega")
    assert (h.dimension_x, h.dimension_y, h.count_cutoff, h.transmission) == (NX, NY, 9266, 25.0)
    assert h.extra["n_images"] == "10" and h.extra["scan_kind"] == "rotation"
    assert h.extra["data_files"] == "x_000001.h5 x_000002.h5" and "missing_data_files" not in h.extra
    assert h.timestamp is not None and h.timestamp.year == 2024
    lab = resolve(h.axes)
    assert dot(lab.fast, lab.slow) == pytest.approx(0.0, abs=1e-12)
    assert abs(dot(lab.fast, lab.rotation_axis)) == pytest.approx(1.0)
    assert dot(lab.beam, lab.normal) == pytest.approx(1.0)
    assert lab.distance == pytest.approx(DISTANCE)
    assert lab.beam_centre == pytest.approx((BEAM[0] * PIXEL, BEAM[1] * PIXEL))
    assert (lab.scan_axis, lab.start_angle, lab.increment) == ("omega", 0.0, pytest.approx(0.1))
    # The header keeps the axes through the indexer's JSON.
    from site_adapter.axes import from_dict

    assert resolve(from_dict(h.to_dict()["axes"])) == lab


def test_two_theta_detector(tmp_path):
    h = read_nexus(write_master(tmp_path, two_theta=30.0))
    assert h.detector_2theta == 30.0 and h.detector_distance == DISTANCE
    lab = resolve(h.axes)
    assert dot(lab.beam, lab.normal) == pytest.approx(math.cos(math.radians(30)))
    assert abs(dot(lab.fast, lab.rotation_axis)) == pytest.approx(1.0)
    assert lab.distance == pytest.approx(DISTANCE)
    # The direct beam meets the swung detector d*tan(2θ) away from the foot of the normal, along slow.
    (fx, fy), (bx, by) = lab.foot, lab.beam_centre
    assert (fx, fy) == pytest.approx((BEAM[0] * PIXEL, BEAM[1] * PIXEL))
    assert bx == pytest.approx(fx) and abs(by - fy) == pytest.approx(DISTANCE * math.tan(math.radians(30)))


@pytest.mark.parametrize("beam_units,pixel_units", [("mm", "m"), ("m", "mm"), ("pixels", "um")])
def test_units_by_attribute(tmp_path, beam_units, pixel_units):
    h = read_nexus(write_master(tmp_path, beam_units=beam_units, pixel_units=pixel_units, angle_units="rad"))
    assert h.pixel_size_x == pytest.approx(PIXEL) and h.axes.fast_step == pytest.approx(PIXEL)
    assert (h.beam_x, h.beam_y) == pytest.approx(BEAM)
    assert h.angle_increment == pytest.approx(0.1) and h.extra["n_images"] == "10"
    assert resolve(h.axes).beam_centre == pytest.approx((BEAM[0] * PIXEL, BEAM[1] * PIXEL))


def test_phi_scan_on_a_kappa_free_chi(tmp_path):
    n = 6
    h = read_nexus(
        write_master(
            tmp_path, omega=np.zeros(n), increment=0.0, chi=45.0, phi=np.arange(n) * 0.2, n=n, files=1
        )
    )
    assert (h.oscillation_axis, h.start_angle, h.angle_increment) == ("phi", 0.0, pytest.approx(0.2))
    assert (h.chi, h.omega, h.omega_increment) == (45.0, 0.0, 0.0)
    lab = resolve(h.axes)
    # phi turned by chi about the beam: fast·rotation = cos(chi), rotation ⟂ beam.
    assert abs(dot(lab.fast, lab.rotation_axis)) == pytest.approx(math.cos(math.radians(45)))
    assert dot(lab.beam, lab.rotation_axis) == pytest.approx(0.0, abs=1e-12)
    assert h.extra["scan_kind"] == "rotation" and h.extra["n_images"] == str(n)


def test_grid_and_still(tmp_path):
    n = 12
    xs, ys = np.tile(np.arange(4) * 0.02, 3), np.repeat(np.arange(3) * 0.02, 4)
    grid = read_nexus(
        write_master(
            tmp_path / "g",
            omega=np.full(n, 90.0),
            increment=0.0,
            n=n,
            files=1,
            translations={"sam_x": (xs, (1, 0, 0)), "sam_y": (ys, (0, 1, 0))},
        )
    )
    assert grid.extra["scan_kind"] == "grid" and set(grid.extra["scan_axes"].split()) == {"sam_x", "sam_y"}
    assert (grid.start_angle, grid.angle_increment, grid.oscillation_axis) == (90.0, 0.0, None)
    assert grid.extra["n_images"] == str(n) and resolve(grid.axes).rotation_axis is None
    still = read_nexus(write_master(tmp_path / "s", omega=np.full(4, 10.0), increment=0.0, n=4, files=1))
    assert still.extra["scan_kind"] == "still" and still.extra["n_images"] == "4"


def test_bslz4_pixels_across_data_files(tmp_path):
    master = write_master(tmp_path)
    with h5py.File(tmp_path / "x_000002.h5") as d:
        plist = d["entry/data/data"].id.get_create_plist()  # really compressed as an Eiger writes it
        assert [plist.get_filter(i)[0] for i in range(plist.get_nfilters())] == [BSLZ4]
    # h5py alone cannot decode it (a fresh interpreter, without hdf5plugin's filters registered) ...
    alone = subprocess.run(
        [
            sys.executable,
            "-c",
            "import h5py, sys; h5py.File(sys.argv[1])['entry/data/data'][0]",
            str(tmp_path / "x_000002.h5"),
        ],
        capture_output=True,
        text=True,
    )
    assert alone.returncode != 0 and "OSError" in alone.stderr
    # ... read_frame can.
    first, eighth = read_frame(master, 0), read_frame(master, 7)
    assert first.shape == (NY, NX) and first[0, 0] == 1 and eighth[0, 0] == 8
    assert int(eighth[1:].sum()) == int((np.arange(NY * NX).reshape(NY, NX)[1:] % 7).sum())
    with pytest.raises(HeaderError, match="beyond"):
        read_frame(master, 10)


def test_legacy_dectris_master(images):
    h = read_nexus(images / "image_examples/dectris_eiger_master.h5")
    assert (h.beam_x, h.beam_y, h.detector_distance, h.pixel_size_x) == (1607.415, 1586.431, 134.255, 0.075)
    assert (h.start_angle, h.angle_increment, h.oscillation_axis) == (0.0, 0.5, "omega")
    assert h.extra["scan_kind"] == "rotation" and h.extra["compression"] == "bslz4"
    # The fixture comes without its data file: indexed all the same, the absence reported.
    assert h.extra["missing_data_files"] == "dectris_eiger_data_000001.h5"
    assert "data files missing" in h.extra["warnings"]
    lab = resolve(h.axes)
    assert lab.distance == pytest.approx(134.255)
    assert lab.beam_centre == pytest.approx((1607.415 * 0.075, 1586.431 * 0.075))
    assert abs(dot(lab.fast, lab.rotation_axis)) == pytest.approx(1.0)
    assert dot(lab.beam, lab.normal) == pytest.approx(1.0)
    with pytest.raises(HeaderError, match="dectris_eiger_data_000001.h5"):
        read_frame(images / "image_examples/dectris_eiger_master.h5", 0)


def test_missing_data_files_are_a_warning(tmp_path):
    h = read_nexus(write_master(tmp_path, write_data=False, n=10))
    assert h.extra["missing_data_files"] == "x_000001.h5 x_000002.h5"
    assert h.extra["n_images"] == "10" and h.detector_distance == DISTANCE
    with pytest.raises(HeaderError, match="x_000001.h5"):
        read_frame(tmp_path / "x_master.h5", 0)


def _edit(master: Path, path: str, **attrs: Any) -> None:
    with h5py.File(master, "r+") as f:
        _attrs(f[path], **attrs)


def test_bad_input_names_the_axis(tmp_path):
    cycle = write_master(tmp_path / "c")
    _edit(cycle, "/entry/sample/transformations/omega", depends_on="/entry/sample/transformations/phi")
    with pytest.raises(HeaderError, match=r"depends_on cycle: /entry/sample/transformations/phi -> .*chi"):
        read_nexus(cycle)
    units = write_master(tmp_path / "u")
    _edit(units, "/entry/instrument/detector/transformations/det_z", units="furlong")
    with pytest.raises(
        HeaderError, match="/entry/instrument/detector/transformations/det_z: unknown units 'furlong'"
    ):
        read_nexus(units)
    beam = write_master(tmp_path / "b")
    _edit(beam, "/entry/instrument/detector/beam_center_x", units="parsec")
    with pytest.raises(HeaderError, match="beam_center_x: unknown units 'parsec'"):
        read_nexus(beam)
    dangling = write_master(tmp_path / "d")
    _edit(dangling, "/entry/sample/transformations/chi", depends_on="kappa")
    with pytest.raises(HeaderError, match="/entry/sample/transformations/kappa, which is not a dataset"):
        read_nexus(dangling)
    vector = write_master(tmp_path / "v")
    _edit(vector, "/entry/sample/transformations/omega", vector=np.array([1.0, 0.0]))
    with pytest.raises(HeaderError, match="omega vector"):
        read_nexus(vector)
    junk = tmp_path / "junk_master.h5"
    junk.write_bytes(b"not HDF5 at all\n" * 100)
    with pytest.raises(HeaderError, match="not a readable HDF5 file"):
        read_nexus(junk)
    empty = tmp_path / "empty_master.h5"
    h5py.File(empty, "w").close()
    with pytest.raises(HeaderError, match="without /entry"):
        read_nexus(empty)


def test_nxs_beside_its_master_is_one_sweep(tmp_path):
    from site_adapter.indexer.sweeps import IndexedFile, group_sweeps

    master = write_master(tmp_path, "thau_1", n=10)
    nxs = tmp_path / "thau_1.nxs"
    nxs.write_bytes(master.read_bytes())  # the facility's NXmx file over the same data files
    other = write_master(tmp_path, "thau_2", n=5, files=1)
    files = [
        IndexedFile(str(p), str(tmp_path), p.name, p.stat().st_size, read_nexus(p).to_dict())
        for p in (master, nxs, other)
    ]
    sweeps = group_sweeps(files)
    assert [(s.template, s.first, s.last, s.kind, s.duplicates) for s in sweeps] == [
        ("thau_1.nxs", 1, 10, "rotation", [str(master)]),
        ("thau_2_master.h5", 1, 5, "rotation", []),
    ]


def test_eiger_filewriter_master(tmp_path):
    """DECTRIS FileWriter NXmx masters: detectorSpecific beside the chains, data_size swapped by some
    firmware (detectorSpecific's pixel counts win), no /entry/sample/depends_on (the chain whose
    head nothing depends on is the sample's), energy instead of wavelength, a stated beam direction."""
    master = write_master(tmp_path, "e2", n=10, beam_direction=True)
    with h5py.File(master, "r+") as f:
        del f["/entry/sample/depends_on"]
        f["/entry/instrument/detector/module/data_size"][...] = [NX, NY]
        spec = f.create_group("/entry/instrument/detector/detectorSpecific")
        for key, value in (
            ("nimages", 10),
            ("ntrigger", 1),
            ("x_pixels_in_detector", NX),
            ("y_pixels_in_detector", NY),
        ):
            spec[key] = np.uint32(value)
        spec["eiger_fw_version"] = np.bytes_("release-2022.1.2")
        del f["/entry/instrument/beam/incident_wavelength"]
        _attrs(f["/entry/instrument/beam"].create_dataset("incident_energy", data=12.7), units="keV")
    h = read_nexus(master)
    assert (h.dimension_x, h.dimension_y, h.extra["n_images"]) == (NX, NY, "10")
    assert (h.oscillation_axis, h.angle_increment) == ("omega", pytest.approx(0.1))
    assert h.wavelength == pytest.approx(12398.42 / 12700.0, rel=1e-6)
    assert h.axes.beam == (0.0, 0.0, 1.0)
    assert {a.name for a in h.axes.axes if a.equipment == "goniometer"} == {"omega", "chi", "phi"}
    lab = resolve(h.axes)
    assert dot(lab.beam, lab.normal) == pytest.approx(1.0) and lab.distance == pytest.approx(DISTANCE)
