"""The deposition mmCIF fragment of one data collection, written with gemmi from plain values.

Both the site (DataCollection.export) and the CLI (`mxhub export`, which adds the LIMS's
crystallisation at the hub) write through this one module. Item names and value types follow the
PDBx/mmCIF dictionary (wwPDB mmcif_pdbx); values come in the model's canonical units, which are
already mmCIF's: wavelength and resolution Å, completeness %, CC½ a fraction (-1..1), R factors
fractions, temperatures K. It reads no store and no GraphQL.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import gemmi

from site_adapter import model

DIFFRN_ID = "1"
CRYSTAL_ID = "1"


@dataclass(frozen=True, slots=True)
class CrystalGrow:
    """Crystallisation as the LIMS records it (Sample.crystallisation), for `_exptl_crystal_grow`."""

    method: str | None = None  # e.g. "VAPOR DIFFUSION, SITTING DROP"
    ph: float | None = None
    temperature: float | None = None  # K
    details: str | None = None  # the conditions, e.g. "0.1 M sodium acetate, 2 M sodium chloride"


@dataclass(frozen=True, slots=True)
class Deposition:
    """Everything the fragment says, in canonical units."""

    entry_id: str
    collection: model.DataCollection
    detector: model.Detector | None = None
    synchrotron_site: str | None = None
    beamline: str | None = None
    result: model.ProcessingResult | None = None
    crystal_grow: CrystalGrow | None = None
    raw_data_doi: str | None = None
    notes: tuple[str, ...] = field(default=())


def _num(value: float | int | None) -> str | None:
    """A number as mmCIF writes it (6 significant digits); None stays unknown ('?')."""
    if value is None:
        return None
    if isinstance(value, int):
        return str(value)
    return f"{value:.6g}"


def _block_name(entry_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", entry_id) or "mxhub"


def detector_kind(detector: model.Detector | None) -> str | None:
    """`_diffrn_detector.detector`: PIXEL for hybrid photon counters, CCD for CCDs (the dictionary's
    examples and the PDB's usage); None when the model says neither."""
    if detector is None:
        return None
    text = f"{detector.manufacturer or ''} {detector.model or ''}".lower()
    if any(word in text for word in ("pilatus", "eiger", "dectris", "jungfrau", "pixel")):
        return "PIXEL"
    if any(word in text for word in ("ccd", "adsc", "rayonix", "mar ", "marccd", "quantum")):
        return "CCD"
    return None


def _measurement(dc: model.DataCollection) -> tuple[str | None, str | None]:
    if dc.axis_range == 0 or (dc.experiment_type or "").lower() in ("mesh", "grid"):
        method = "grid scan" if (dc.experiment_type or "").lower() in ("mesh", "grid") else "stills"
    else:
        method = f"{(dc.rotation_axis or 'rotation').lower()} scan"
    parts = []
    if dc.number_of_images is not None:
        parts.append(f"{dc.number_of_images} images")
    if dc.axis_range is not None:
        parts.append(f"{_num(dc.axis_range)} degrees per image")
    if dc.exposure_time is not None:
        parts.append(f"{_num(dc.exposure_time)} s per image")
    if dc.transmission is not None:
        parts.append(f"transmission {_num(dc.transmission)} %")
    return method, ", ".join(parts) or None


def _diffrn(block: gemmi.cif.Block, d: Deposition) -> None:
    dc = d.collection
    block.set_mmcif_category("_diffrn", {"id": [DIFFRN_ID], "crystal_id": [CRYSTAL_ID]})
    block.set_mmcif_category(
        "_diffrn_radiation",
        {
            "diffrn_id": [DIFFRN_ID],
            "wavelength_id": ["1"],
            "pdbx_monochromatic_or_laue_m_l": ["M"],
            "pdbx_diffrn_protocol": ["SINGLE WAVELENGTH"],
        },
    )
    block.set_mmcif_category(
        "_diffrn_radiation_wavelength", {"id": ["1"], "wavelength": [_num(dc.wavelength)]}
    )
    site = (d.synchrotron_site or "").upper() or None
    beamline = (d.beamline or "").upper() or None
    block.set_mmcif_category(
        "_diffrn_source",
        {
            "diffrn_id": [DIFFRN_ID],
            "source": ["SYNCHROTRON"],
            "type": [" ".join(x for x in (site, "BEAMLINE", beamline) if x) if beamline else None],
            "pdbx_synchrotron_site": [site],
            "pdbx_synchrotron_beamline": [beamline],
            "pdbx_wavelength_list": [_num(dc.wavelength)],
        },
    )
    det = d.detector
    name = " ".join(x for x in (det.manufacturer, det.model) if x).upper() if det else ""
    when: dt.datetime | None = dc.start_time
    block.set_mmcif_category(
        "_diffrn_detector",
        {
            "diffrn_id": [DIFFRN_ID],
            "detector": [detector_kind(det)],
            "type": [name or None],
            "pdbx_collection_date": [when.date().isoformat() if when else None],
            "pdbx_frames_total": [_num(dc.number_of_images)],
        },
    )
    method, details = _measurement(dc)
    block.set_mmcif_category(
        "_diffrn_measurement", {"diffrn_id": [DIFFRN_ID], "method": [method], "details": [details]}
    )


_REFLNS = (  # (_reflns item, _reflns_shell item, ShellStatistics field)
    ("d_resolution_high", "d_res_high", "resolution_high"),
    ("d_resolution_low", "d_res_low", "resolution_low"),
    ("percent_possible_obs", "percent_possible_all", "completeness"),
    ("pdbx_redundancy", "pdbx_redundancy", "multiplicity"),
    ("pdbx_netI_over_sigmaI", "meanI_over_sigI_obs", "mean_i_over_sig_i"),
    ("pdbx_Rmerge_I_obs", "Rmerge_I_obs", "r_merge"),
    ("pdbx_Rrim_I_all", "pdbx_Rrim_I_all", "r_meas"),
    ("pdbx_Rpim_I_all", "pdbx_Rpim_I_all", "r_pim"),
    ("pdbx_CC_half", "pdbx_CC_half", "cc_half"),
    ("number_obs", "number_unique_all", "n_total_unique"),
    ("pdbx_number_measured_all", "number_measured_all", "n_total_observations"),
)


def _reflns(block: gemmi.cif.Block, entry_id: str, r: model.ProcessingResult) -> None:
    if r.cell is not None:
        c = r.cell
        block.set_mmcif_category(
            "_cell",
            {
                "entry_id": [entry_id],
                **{f"length_{k}": [_num(getattr(c, k))] for k in ("a", "b", "c")},
                **{f"angle_{k}": [_num(getattr(c, k))] for k in ("alpha", "beta", "gamma")},
            },
        )
    if r.space_group:
        block.set_mmcif_category(
            "_symmetry", {"entry_id": [entry_id], "space_group_name_H-M": [r.space_group]}
        )
    if r.overall is not None:
        o = r.overall
        block.set_mmcif_category(
            "_reflns",
            {
                "entry_id": [entry_id],
                "pdbx_diffrn_id": [DIFFRN_ID],
                "pdbx_ordinal": ["1"],
                **{item: [_num(getattr(o, f))] for item, _, f in _REFLNS},
            },
        )
    shells = [s for s in (r.inner, r.outer) if s is not None]
    if shells:
        columns: dict[str, list[str | None]] = {
            "pdbx_diffrn_id": [DIFFRN_ID] * len(shells),
            "pdbx_ordinal": [str(i + 1) for i in range(len(shells))],
        }
        for _, item, f in _REFLNS:
            columns[item] = [_num(getattr(s, f)) for s in shells]
        block.set_mmcif_category("_reflns_shell", columns)


def add_crystal_grow(block: gemmi.cif.Block, grow: CrystalGrow) -> None:
    """`_exptl_crystal_grow` (and the `_exptl_crystal` row it points at): the CLI adds it to a
    site's fragment from the LIMS record the hub stitched in."""
    block.set_mmcif_category("_exptl_crystal", {"id": [CRYSTAL_ID]})
    block.set_mmcif_category(
        "_exptl_crystal_grow",
        {
            "crystal_id": [CRYSTAL_ID],
            "method": [grow.method.upper() if grow.method else None],
            "pH": [_num(grow.ph)],
            "temp": [_num(grow.temperature)],
            "pdbx_details": [grow.details],
        },
    )


def add_related_data_set(block: gemmi.cif.Block, doi: str) -> None:
    """`_pdbx_related_exp_data_set`: the raw-data DOI, the one link to raw data wwPDB accepts. PDBx v5
    types `data_reference` as `exp_data_doi` (a bare `10.NNNN/...`, no `doi:` prefix) and wants a DOI in
    `metadata_reference` too, so that item is left out rather than given a URL."""
    block.set_mmcif_category(
        "_pdbx_related_exp_data_set",
        {"ordinal": ["1"], "data_reference": [doi], "data_set_type": ["diffraction image data"]},
    )


def document(d: Deposition) -> gemmi.cif.Document:
    entry_id = _block_name(d.entry_id)  # _entry.id is of type code: no white space
    doc = gemmi.cif.Document()
    block = doc.add_new_block(entry_id)
    block.set_mmcif_category("_entry", {"id": [entry_id]})
    # _diffrn.crystal_id points at _exptl_crystal.id (its parent in the dictionary): the row is written
    # even when no LIMS told how the crystal grew.
    block.set_mmcif_category("_exptl_crystal", {"id": [CRYSTAL_ID]})
    _diffrn(block, d)
    if d.result is not None:
        _reflns(block, entry_id, d.result)
    if d.crystal_grow is not None:
        add_crystal_grow(block, d.crystal_grow)
    if d.raw_data_doi:
        add_related_data_set(block, d.raw_data_doi)
    return doc


def render(d: Deposition) -> str:
    """The fragment as text: single-row categories as item-value pairs, as depositors paste them."""
    return as_text(document(d))


def as_text(doc: gemmi.cif.Document) -> str:
    options = gemmi.cif.WriteOptions()  # gemmi 0.7's spelling of the old Style.PreferPairs
    options.prefer_pairs = True
    return doc.as_string(options)
