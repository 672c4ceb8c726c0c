from __future__ import annotations

import dataclasses

from site_adapter.indexer.cbf_header import read_header
from site_adapter.indexer.sweeps import IndexedFile, group_sweeps, split_template


def _files(paths):
    return [
        IndexedFile(str(p), str(p.parent), p.name, p.stat().st_size, read_header(p).to_dict()) for p in paths
    ]


def test_template():
    assert split_template("l-cyst_01_00001.cbf") == ("l-cyst_01_#####.cbf", 1)
    assert split_template("thau_3_2_0019.cbf.bz2") == ("thau_3_2_####.cbf", 19)
    assert split_template("notes.cbf") is None
    assert split_template("hit-20181213155134902.cbf") is None


def test_l_cysteine_is_four_rotation_sweeps_of_15(images):
    sweeps = group_sweeps(_files(sorted((images / "l_cysteine").glob("*.cbf"))))
    assert [(s.template, s.first, s.last, s.count, s.kind) for s in sweeps] == [
        (f"l-cyst_0{k}_#####.cbf", 1, 15, 15, "rotation") for k in range(1, 5)
    ]
    assert all(s.missing == [] and s.duplicates == [] for s in sweeps)


def test_thaumatin_is_one_grid_of_19(images):
    (s,) = group_sweeps(_files(sorted((images / "thaumatin_grid").glob("*.cbf.bz2"))))
    assert (s.template, s.first, s.last, s.count, s.kind) == ("thau_3_2_####.cbf", 1, 19, 19, "grid")


def test_gap_duplicate_and_geometry_break(images):
    files = _files(sorted((images / "l_cysteine").glob("l-cyst_01_*.cbf")))
    files = [f for f in files if not f.name.endswith(("_00007.cbf", "_00008.cbf"))]
    dup = dataclasses.replace(files[2], path=files[2].path + ".gz", name=files[2].name + ".gz")
    (s,) = group_sweeps(files + [dup])
    assert (s.count, s.missing, s.duplicates) == (13, [7, 8], [dup.path])
    moved = [
        dataclasses.replace(f, header={**f.header, "detector_distance": 200.0})
        if f.name >= "l-cyst_01_00010.cbf"
        else f
        for f in files
    ]
    assert [(x.first, x.last) for x in group_sweeps(moved)] == [(1, 9), (10, 15)]
    # An angle that does not follow from the image number starts a new sweep.
    jumped = [
        dataclasses.replace(f, header={**f.header, "start_angle": f.header["start_angle"] + 5})
        if f.name >= "l-cyst_01_00012.cbf"
        else f
        for f in files
    ]
    assert [(x.first, x.last) for x in group_sweeps(jumped)] == [(1, 11), (12, 15)]


def test_single_still(images):
    (s,) = group_sweeps(_files([images / "kapton_test_data/rayonix340/hit-20181213155134902.cbf"]))
    assert (s.kind, s.count, s.first, s.template) == ("still", 1, 1, "hit-20181213155134902.cbf")
