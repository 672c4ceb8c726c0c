"""The part of the PDBx/mmCIF dictionary the deposition writer uses, and a check of a fragment against it.

The dictionary is not on this machine and the tests cannot fetch it, so the subset of it that the
writer uses is written here: every item's name, its type (`_item_type.code`, a parent's type for a
linked child item) and its `_item_range`, each category's key (`_category_key.name`), and the type
patterns (`_item_type_list.construct`). Source: the wwPDB's dictionary repository
(github.com/wwpdb-dictionaries/mmcif_pdbx, commit 1543bcd, 2026-06-11), file
previous/dist/mmcif_pdbx_v42.dic, `_dictionary.version` 4.073: the newest complete dictionary file
whose content that snapshot holds (its dist/mmcif_pdbx_v50.dic was not in the snapshot). Where PDBx
v5 narrowed an item since (its history in base/mmcif_pdbx_v50-header.dic, version 5.415), the v5 rule
is used, with its type pattern from base/mmcif_pdbx-data.dic: `_pdbx_related_exp_data_set.data_reference`
is an `exp_data_doi` (5.301), `_diffrn_source.pdbx_wavelength_list` a `pdbx_wavelength_list`, and
`_exptl_crystal_grow.pH` at most 14 ("Set upper limit ... to 14.0"). Not checked here: v5's advisory
deposition enumerations (e.g. of `_diffrn_detector.type`).
"""

from __future__ import annotations

import re

import gemmi

DICTIONARY = "mmcif_pdbx_v42.dic 4.073 + v5 narrowings (wwpdb-dictionaries/mmcif_pdbx @ 1543bcd)"

# _item_type_list.construct of each type used (the dictionary's regular expressions).
TYPE_PATTERNS = {
    "code": r"""[][_,.;:"&<>()/\{}'`~!@#$%A-Za-z0-9*|+-]*""",
    "float": r"-?(([0-9]+)[.]?|([0-9]*[.][0-9]+))([(][0-9]+[)])?([eE][+-]?[0-9]+)?",
    "int": r"[+-]?[0-9]+",
    "line": r"""[][ \t_(),.;:"&<>/\{}'`~!@#$%?+=*A-Za-z0-9|^-]*""",
    "text": r"""[][ \n\t()_,.;:"&<>/\{}'`~!@#$%?+=*A-Za-z0-9|^-]*""",
    # PDBx v5 (base/mmcif_pdbx-data.dic)
    "exp_data_doi": r"10\.[0-9]{4,9}/[-._;()/:A-Za-z0-9]+",
    "pdbx_wavelength_list": r"((([0-9]+(\.[0-9]*)?)|(\.[0-9]+))|(([0-9]+(\.[0-9]*)?)|(\.[0-9]+)) *- *(([0-9]+(\.[0-9]*)?)|"
    r"(\.[0-9]+)) *) *(, *((([0-9]+(\.[0-9]*)?)|(\.[0-9]+))|(([0-9]+(\.[0-9]*)?)|(\.[0-9]+)) *- *(([0-9]+(\.[0-9]*)?)|"
    r"(\.[0-9]+)) *) *)*",
    "yyyy-mm-dd:hh:mm-flex": r"[0-9][0-9][0-9][0-9](-[0-9]?[0-9])?(-[0-9][0-9])?(:[0-9]?[0-9]:[0-9][0-9])?",
}

# item -> (type, minimum, maximum) from _item_type.code and _item_range (None: unbounded).
ITEMS: dict[str, tuple[str, float | None, float | None]] = {
    "_entry.id": ("code", None, None),
    "_diffrn.id": ("code", None, None),
    "_diffrn.crystal_id": ("code", None, None),
    "_diffrn_radiation.diffrn_id": ("code", None, None),
    "_diffrn_radiation.wavelength_id": ("code", None, None),
    "_diffrn_radiation.pdbx_monochromatic_or_laue_m_l": ("code", None, None),
    "_diffrn_radiation.pdbx_diffrn_protocol": ("line", None, None),
    "_diffrn_radiation_wavelength.id": ("code", None, None),
    "_diffrn_radiation_wavelength.wavelength": ("float", 0.0, None),
    "_diffrn_source.diffrn_id": ("code", None, None),
    "_diffrn_source.source": ("text", None, None),
    "_diffrn_source.type": ("text", None, None),
    "_diffrn_source.pdbx_synchrotron_site": ("line", None, None),
    "_diffrn_source.pdbx_synchrotron_beamline": ("line", None, None),
    "_diffrn_source.pdbx_wavelength_list": ("pdbx_wavelength_list", None, None),  # v5
    "_diffrn_detector.diffrn_id": ("code", None, None),
    "_diffrn_detector.detector": ("text", None, None),
    "_diffrn_detector.type": ("text", None, None),
    "_diffrn_detector.pdbx_collection_date": ("yyyy-mm-dd:hh:mm-flex", None, None),
    "_diffrn_detector.pdbx_frames_total": ("int", None, None),
    "_diffrn_measurement.diffrn_id": ("code", None, None),
    "_diffrn_measurement.method": ("text", None, None),
    "_diffrn_measurement.details": ("text", None, None),
    "_cell.entry_id": ("code", None, None),
    "_cell.length_a": ("float", 0.0, None),
    "_cell.length_b": ("float", 0.0, None),
    "_cell.length_c": ("float", 0.0, None),
    "_cell.angle_alpha": ("float", 0.0, 180.0),
    "_cell.angle_beta": ("float", 0.0, 180.0),
    "_cell.angle_gamma": ("float", 0.0, 180.0),
    "_symmetry.entry_id": ("code", None, None),
    "_symmetry.space_group_name_H-M": ("line", None, None),
    "_reflns.entry_id": ("code", None, None),
    "_reflns.pdbx_diffrn_id": ("code", None, None),
    "_reflns.pdbx_ordinal": ("int", None, None),
    "_reflns.d_resolution_high": ("float", 0.0, None),
    "_reflns.d_resolution_low": ("float", 0.0, None),
    "_reflns.percent_possible_obs": ("float", 0.0, None),
    "_reflns.pdbx_redundancy": ("float", None, None),
    "_reflns.pdbx_netI_over_sigmaI": ("float", None, None),
    "_reflns.pdbx_Rmerge_I_obs": ("float", None, None),
    "_reflns.pdbx_Rrim_I_all": ("float", None, None),
    "_reflns.pdbx_Rpim_I_all": ("float", None, None),
    "_reflns.pdbx_CC_half": ("float", -1.0, 1.0),
    "_reflns.number_obs": ("int", 0.0, None),
    "_reflns.pdbx_number_measured_all": ("int", None, None),
    "_reflns_shell.pdbx_diffrn_id": ("code", None, None),
    "_reflns_shell.pdbx_ordinal": ("int", None, None),
    "_reflns_shell.d_res_high": ("float", 0.0, None),
    "_reflns_shell.d_res_low": ("float", 0.0, None),
    "_reflns_shell.percent_possible_all": ("float", 0.0, None),
    "_reflns_shell.pdbx_redundancy": ("float", None, None),
    "_reflns_shell.meanI_over_sigI_obs": ("float", None, None),
    "_reflns_shell.Rmerge_I_obs": ("float", 0.0, None),
    "_reflns_shell.pdbx_Rrim_I_all": ("float", None, None),
    "_reflns_shell.pdbx_Rpim_I_all": ("float", None, None),
    "_reflns_shell.pdbx_CC_half": ("float", -1.0, 1.0),
    "_reflns_shell.number_unique_all": ("int", None, None),
    "_reflns_shell.number_measured_all": ("int", None, None),
    "_exptl_crystal.id": ("code", None, None),
    "_exptl_crystal_grow.crystal_id": ("code", None, None),
    "_exptl_crystal_grow.method": ("text", None, None),
    "_exptl_crystal_grow.pH": ("float", 0.0, 14.0),  # v5
    "_exptl_crystal_grow.temp": ("float", 0.0, None),
    "_exptl_crystal_grow.pdbx_details": ("text", None, None),
    "_pdbx_related_exp_data_set.ordinal": ("int", None, None),
    "_pdbx_related_exp_data_set.data_reference": ("exp_data_doi", None, None),  # v5 (5.301)
    "_pdbx_related_exp_data_set.metadata_reference": ("line", None, None),
    "_pdbx_related_exp_data_set.data_set_type": ("line", None, None),
    "_pdbx_related_exp_data_set.details": ("text", None, None),
}

# _category_key.name of each category written: a row without its key is not a row.
CATEGORY_KEYS = {
    "_entry": ["id"],
    "_diffrn": ["id"],
    "_diffrn_radiation": ["diffrn_id"],
    "_diffrn_radiation_wavelength": ["id"],
    "_diffrn_source": ["diffrn_id"],
    "_diffrn_detector": ["diffrn_id"],
    "_diffrn_measurement": ["diffrn_id"],
    "_cell": ["entry_id"],
    "_symmetry": ["entry_id"],
    "_reflns": ["pdbx_ordinal"],
    "_reflns_shell": ["pdbx_ordinal"],
    "_exptl_crystal": ["id"],
    "_exptl_crystal_grow": ["crystal_id"],
    "_pdbx_related_exp_data_set": ["ordinal"],
}


def pairs(block: gemmi.cif.Block) -> list[tuple[str, str]]:
    """(tag, raw value) of every item in the block, pairs and loop cells alike."""
    out: list[tuple[str, str]] = []
    for item in block:
        if item.pair is not None:
            out.append((item.pair[0], item.pair[1]))
        elif item.loop is not None:
            for row in range(item.loop.length()):
                for col, tag in enumerate(item.loop.tags):
                    out.append((tag, item.loop[row, col]))
    return out


def check_against_dictionary(text: str) -> list[str]:
    block = gemmi.cif.read_string(text).sole_block()
    seen = pairs(block)
    assert seen, "an empty fragment"
    for tag, raw in seen:
        assert tag in ITEMS, f"{tag} is not a PDBx item ({DICTIONARY})"
        if raw in ("?", "."):
            continue
        kind, low, high = ITEMS[tag]
        value = gemmi.cif.as_string(raw)
        assert re.fullmatch(TYPE_PATTERNS[kind], value), f"{tag} {value!r} is not of type {kind}"
        if kind in ("float", "int"):
            if low is not None:
                assert float(value) >= low, f"{tag} {value} below {low}"
            if high is not None:
                assert float(value) <= high, f"{tag} {value} above {high}"
    categories = {tag.split(".")[0] for tag, _ in seen}
    for category in categories:
        for key in CATEGORY_KEYS[category]:
            values = list(block.find_values(f"{category}.{key}"))  # a pair or a loop column
            assert values and all(v not in ("?", ".") for v in values), f"{category} without its key {key}"
    return sorted(categories)
