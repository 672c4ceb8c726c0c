"""Characterisation (screening), energy scans, XRF spectra and diffraction plans (issue 16, since 1.2.0).

Types built from model records by field name (records.from_record) and the resolvers the Session,
Sample and DataCollection types call; the batching is the request's DataLoaders'. No SQL here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import strawberry

from site_adapter import model
from site_adapter.graphql.batches import load
from site_adapter.graphql.context import SiteContext
from site_adapter.graphql.types import UnitCell, d

SINCE = "(since 1.2.0)"


def _fields(cls: type, r: Any, **given: Any) -> dict[str, Any]:
    """The record's attributes named like the type's plain fields, with `given` winning."""
    names = [f.python_name for f in cls.__strawberry_definition__.fields if f.base_resolver is None]  # type: ignore[attr-defined]
    return {n: given[n] if n in given else getattr(r, n) for n in names}


@strawberry.type(description=f"A lattice the characterisation indexed the images in {SINCE}.")
class ScreeningLattice:
    local_id: str
    space_group: str | None = strawberry.field(
        description="Space group as the indexing program wrote it, e.g. `I23`."
    )
    point_group: str | None
    bravais_lattice: str | None
    cell: UnitCell | None

    @classmethod
    def of(cls, r: model.ScreeningLattice) -> ScreeningLattice:
        return cls(**_fields(cls, r, cell=UnitCell.of(r.cell)))


@strawberry.type(description=f"A sub-wedge of a strategy wedge: one sweep to collect {SINCE}.")
class ScreeningSubWedge:
    local_id: str
    number: int | None = strawberry.field(
        description=d("count", "Number of this sub-wedge within its wedge.")
    )
    rotation_axis: str | None = strawberry.field(description="Omega, Kappa or Phi.")
    axis_start: float | None = strawberry.field(description=d("degrees"))
    axis_end: float | None = strawberry.field(description=d("degrees"))
    oscillation_range: float | None = strawberry.field(description=d("degrees", "Rotation per image."))
    exposure_time: float | None = strawberry.field(
        description=d("s", "Per image; null where the program gave none.")
    )
    transmission: float | None = strawberry.field(description=d("%"))
    completeness: float | None = strawberry.field(description=d("%", "Predicted."))
    multiplicity: float | None = strawberry.field(description=d("dimensionless", "Predicted."))
    resolution: float | None = strawberry.field(description=d("Å"))
    dose: float | None = strawberry.field(description=d("MGy", "Predicted absorbed dose."))
    number_of_images: int | None = strawberry.field(description=d("images"))
    comments: str | None

    @classmethod
    def of(cls, r: model.ScreeningSubWedge) -> ScreeningSubWedge:
        return cls(**_fields(cls, r))


@strawberry.type(description=f"A wedge of a strategy: one crystal orientation {SINCE}.")
class ScreeningWedge:
    local_id: str
    number: int | None = strawberry.field(description=d("count", "Number of this wedge within its strategy."))
    resolution: float | None = strawberry.field(description=d("Å"))
    completeness: float | None = strawberry.field(description=d("%", "Predicted."))
    multiplicity: float | None = strawberry.field(description=d("dimensionless", "Predicted."))
    dose: float | None = strawberry.field(description=d("MGy", "Predicted absorbed dose."))
    number_of_images: int | None = strawberry.field(description=d("images"))
    phi: float | None = strawberry.field(description=d("degrees"))
    kappa: float | None = strawberry.field(description=d("degrees"))
    chi: float | None = strawberry.field(description=d("degrees"))
    wavelength: float | None = strawberry.field(description=d("Å"))
    comments: str | None
    sub_wedges: list[ScreeningSubWedge]

    @classmethod
    def of(cls, r: model.ScreeningWedge) -> ScreeningWedge:
        return cls(**_fields(cls, r, sub_wedges=[ScreeningSubWedge.of(x) for x in r.sub_wedges]))


@strawberry.type(description=f"A proposed data-collection strategy (e.g. BEST's, mosflm's) {SINCE}.")
class ScreeningStrategy:
    local_id: str
    program: str | None = strawberry.field(description="e.g. `BEST`, `mosflm - native`.")
    anomalous: bool | None
    exposure_time: float | None = strawberry.field(description=d("s", "Per image."))
    resolution: float | None = strawberry.field(description=d("Å"))
    ranking_resolution: float | None = strawberry.field(
        description=d("Å", "Resolution the strategy is ranked by.")
    )
    transmission: float | None = strawberry.field(description=d("%"))
    phi_start: float | None = strawberry.field(description=d("degrees"))
    phi_end: float | None = strawberry.field(description=d("degrees"))
    rotation: float | None = strawberry.field(description=d("degrees", "Rotation per image."))
    completeness: float | None = strawberry.field(description=d("%", "Predicted."))
    multiplicity: float | None = strawberry.field(description=d("dimensionless", "Predicted."))
    wedges: list[ScreeningWedge]

    @classmethod
    def of(cls, r: model.ScreeningStrategy) -> ScreeningStrategy:
        return cls(**_fields(cls, r, wedges=[ScreeningWedge.of(x) for x in r.wedges]))


@strawberry.type(
    description=f"What a characterisation found: indexing, spots, mosaicity, strategies {SINCE}."
)
class ScreeningOutput:
    local_id: str
    status_description: str | None = strawberry.field(description="The program's own summary.")
    program: str | None
    indexing_success: bool | None
    strategy_success: bool | None
    alignment_success: bool | None
    mosaicity: float | None = strawberry.field(description=d("degrees"))
    mosaicity_estimated: bool | None
    ranking_resolution: float | None = strawberry.field(description=d("Å"))
    resolution_obtained: float | None = strawberry.field(description=d("Å"))
    i_over_sigma: float | None = strawberry.field(description=d("dimensionless", "Mean I/σ(I)."))
    spot_deviation_r: float | None = strawberry.field(description=d("mm", "RMS spot deviation, radial."))
    spot_deviation_theta: float | None = strawberry.field(
        description=d("degrees", "RMS spot deviation, angular.")
    )
    beam_shift_x: float | None = strawberry.field(description=d("mm"))
    beam_shift_y: float | None = strawberry.field(description=d("mm"))
    spots_found: int | None = strawberry.field(description=d("spots"))
    spots_used: int | None = strawberry.field(description=d("spots"))
    spots_rejected: int | None = strawberry.field(description=d("spots"))
    rejected_reflections: int | None = strawberry.field(description=d("reflections"))
    diffraction_rings: bool | None
    dose: float | None = strawberry.field(description=d("MGy", "Dose of the proposed collection."))
    total_exposure_time: float | None = strawberry.field(description=d("s"))
    total_rotation_range: float | None = strawberry.field(description=d("degrees"))
    total_number_of_images: int | None = strawberry.field(description=d("images"))
    r_friedel: float | None = strawberry.field(description=d("fraction"))
    lattices: list[ScreeningLattice]
    strategies: list[ScreeningStrategy]

    @classmethod
    def of(cls, r: model.ScreeningOutput) -> ScreeningOutput:
        return cls(
            **_fields(
                cls,
                r,
                lattices=[ScreeningLattice.of(x) for x in r.lattices],
                strategies=[ScreeningStrategy.of(x) for x in r.strategies],
            )
        )


@strawberry.type(description=f"A characterisation (screening) of a data collection's images {SINCE}.")
class Screening:
    local_id: str
    program: str | None = strawberry.field(description="Program and version, e.g. `EDNA MXv1`, `mosflm`.")
    short_comments: str | None = strawberry.field(description="e.g. `EDNAStrategy1`, `Mosflm native`.")
    comments: str | None
    time: dt.datetime | None
    outputs: list[ScreeningOutput]
    notes: list[str] = strawberry.field(description="How values were normalised from the store.")

    @classmethod
    def of(cls, r: model.Screening) -> Screening:
        return cls(
            **_fields(
                cls, r, outputs=[ScreeningOutput.of(x) for x in r.outputs], notes=list(r.provenance_notes)
            )
        )


@strawberry.type(description=f"A marked point of an energy scan's f′/f″ curve (peak or inflection) {SINCE}.")
class EnergyScanPoint:
    kind: str = strawberry.field(description="`peak` or `inflection`.")
    energy: float = strawberry.field(description=d("eV"))
    f_prime: float | None = strawberry.field(description=d("electrons", "f′, anomalous scattering factor."))
    f_double_prime: float | None = strawberry.field(
        description=d("electrons", "f″, anomalous scattering factor.")
    )


@strawberry.type(description=f"A fluorescence scan across an absorption edge, analysed by Chooch {SINCE}.")
class EnergyScan:
    local_id: str
    element: str | None = strawberry.field(description="Chemical symbol, e.g. `Se`.")
    edge: str | None = strawberry.field(description="Absorption edge, e.g. `K`, `L3`.")
    start_energy: float | None = strawberry.field(description=d("eV"))
    end_energy: float | None = strawberry.field(description=d("eV"))
    peak_energy: float | None = strawberry.field(description=d("eV"))
    peak_f_prime: float | None = strawberry.field(description=d("electrons", "f′ at the peak."))
    peak_f_double_prime: float | None = strawberry.field(description=d("electrons", "f″ at the peak."))
    inflection_energy: float | None = strawberry.field(description=d("eV"))
    inflection_f_prime: float | None = strawberry.field(description=d("electrons", "f′ at the inflection."))
    inflection_f_double_prime: float | None = strawberry.field(
        description=d("electrons", "f″ at the inflection.")
    )
    exposure_time: float | None = strawberry.field(description=d("s", "Per energy point."))
    transmission: float | None = strawberry.field(description=d("%"))
    beam_size_x: float | None = strawberry.field(description=d("µm", "Horizontal."))
    beam_size_y: float | None = strawberry.field(description=d("µm", "Vertical."))
    flux: float | None = strawberry.field(description=d("photons/s"))
    dose: float | None = strawberry.field(description=d("MGy"))
    fluorescence_detector: str | None
    start_time: dt.datetime | None
    end_time: dt.datetime | None
    comments: str | None
    scan_file: str | None = strawberry.field(
        description="Path of the raw scan file, as the facility records it."
    )
    chooch_file: str | None = strawberry.field(description="Path of Chooch's f′/f″ output.")
    chooch_plot_file: str | None = strawberry.field(description="Path of Chooch's plot image.")
    notes: list[str] = strawberry.field(description="How values were normalised from the store.")
    _record: strawberry.Private[model.EnergyScan]

    @classmethod
    def of(cls, r: model.EnergyScan) -> EnergyScan:
        return cls(**_fields(cls, r, notes=list(r.provenance_notes), _record=r))

    @strawberry.field(
        description="The curve's marked points as the store has them (peak, inflection), by energy; "
        "the full f′/f″ curve lives in choochFile."
    )
    def points(self) -> list[EnergyScanPoint]:
        r = self._record
        out = [
            EnergyScanPoint(kind=kind, energy=e, f_prime=fp, f_double_prime=fpp)
            for kind, e, fp, fpp in (
                ("peak", r.peak_energy, r.peak_f_prime, r.peak_f_double_prime),
                ("inflection", r.inflection_energy, r.inflection_f_prime, r.inflection_f_double_prime),
            )
            if e is not None
        ]
        return sorted(out, key=lambda p: p.energy)


@strawberry.type(
    description=f"An X-ray fluorescence spectrum at one energy: the elements a sample holds {SINCE}."
)
class XrfSpectrum:
    local_id: str
    energy: float | None = strawberry.field(description=d("eV", "Excitation energy."))
    exposure_time: float | None = strawberry.field(description=d("s"))
    transmission: float | None = strawberry.field(description=d("%"))
    beam_size_x: float | None = strawberry.field(description=d("µm", "Horizontal."))
    beam_size_y: float | None = strawberry.field(description=d("µm", "Vertical."))
    flux: float | None = strawberry.field(description=d("photons/s"))
    start_time: dt.datetime | None
    end_time: dt.datetime | None
    comments: str | None
    spectrum_file: str | None = strawberry.field(description="Path of the MCA spectrum.")
    scan_file: str | None = strawberry.field(description="Path of the spectrum as columns of numbers.")
    fitted_file: str | None = strawberry.field(description="Path of PyMca's fit.")
    annotated_file: str | None = strawberry.field(
        description="Path of PyMca's annotated spectrum (elements named)."
    )
    plot_file: str | None = strawberry.field(description="Path of the spectrum's plot image.")
    elements: list[str] = strawberry.field(
        description="Annotated elements, where the store lists them (else empty)."
    )
    notes: list[str] = strawberry.field(description="How values were normalised from the store.")

    @classmethod
    def of(cls, r: model.XrfSpectrum) -> XrfSpectrum:
        return cls(**_fields(cls, r, elements=list(r.elements), notes=list(r.provenance_notes)))


@strawberry.type(description=f"What the user asked the beamline to collect for a sample {SINCE}.")
class DiffractionPlan:
    local_id: str
    name: str | None
    experiment_kind: str | None = strawberry.field(description="e.g. `OSC`, `SAD`, `MAD`, `MXPressE`.")
    required_resolution: float | None = strawberry.field(description=d("Å"))
    required_completeness: float | None = strawberry.field(description=d("%"))
    required_multiplicity: float | None = strawberry.field(description=d("dimensionless"))
    anomalous: bool | None
    anomalous_scatterer: str | None = strawberry.field(description="Chemical symbol, e.g. `Se`.")
    preferred_beam_size_x: float | None = strawberry.field(description=d("µm"))
    preferred_beam_size_y: float | None = strawberry.field(description=d("µm"))
    radiation_sensitivity: float | None = strawberry.field(
        description=d("dimensionless", "Relative to a standard protein crystal (1).")
    )
    number_of_positions: int | None = strawberry.field(description=d("positions"))
    exposure_time: float | None = strawberry.field(description=d("s"))
    energy: float | None = strawberry.field(description=d("eV"))
    forced_space_group: str | None
    comments: str | None

    @classmethod
    def of(cls, r: model.DiffractionPlan) -> DiffractionPlan:
        return cls(**_fields(cls, r))


# --- resolvers the Session, Sample and DataCollection types call ---------------------------------


# Batch forms (site_adapter/graphql/batches.py): over collections, sessions or samples, in order.


async def screenings_of(c: SiteContext, collections: Sequence[Any]) -> list[list[Screening]]:
    found = await load(c.loaders.screenings, [dc.local_id for dc in collections])
    return [[Screening.of(r) for r in rs or ()] for rs in found]


async def energy_scans_of(c: SiteContext, parents: Sequence[Any], of: str) -> list[list[EnergyScan]]:
    loader = c.loaders.energy_scans_of_session if of == "session" else c.loaders.energy_scans_of_sample
    found = await load(loader, [p.local_id for p in parents])
    return [[EnergyScan.of(r) for r in rs or ()] for rs in found]


async def xrf_spectra_of(c: SiteContext, parents: Sequence[Any], of: str) -> list[list[XrfSpectrum]]:
    loader = c.loaders.xrf_spectra_of_session if of == "session" else c.loaders.xrf_spectra_of_sample
    found = await load(loader, [p.local_id for p in parents])
    return [[XrfSpectrum.of(r) for r in rs or ()] for rs in found]


async def diffraction_plans_of(
    c: SiteContext, parents: Sequence[Any], of: str = "sample"
) -> list[DiffractionPlan | None]:
    loader = c.loaders.diffraction_plans if of == "sample" else c.loaders.collection_plans
    found = await load(loader, [p.local_id for p in parents])
    return [None if r is None else DiffractionPlan.of(r) for r in found]
