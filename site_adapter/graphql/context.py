"""Per-request state: the site, its backend, and one DataLoader per relation so a page batches.

No SQL here: loaders call the backend's batch methods, one call per relation per request tick.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, cast

from strawberry.dataloader import DataLoader

from site_adapter.backends.base import Backend, ScreeningBackend
from site_adapter.files import FileRoots
from site_adapter.reprocess.detectors import Overrides


def _loader(
    batch: Callable[[Sequence[str]], Awaitable[dict[str, Any]]], default: Any = None
) -> DataLoader[str, Any]:
    async def load(keys: list[str]) -> list[Any]:
        found = await batch(keys)
        return [found.get(k, default) if default is None else found.get(k, list(default)) for k in keys]

    return DataLoader(load_fn=load)


@dataclass
class Loaders:
    data_collections: DataLoader[str, Any]
    sessions: DataLoader[str, Any]
    proposals: DataLoader[str, Any]
    samples: DataLoader[str, Any]
    crystals: DataLoader[str, Any]
    proteins: DataLoader[str, Any]
    detectors: DataLoader[str, Any]
    groups: DataLoader[str, Any]
    processing: DataLoader[str, Any]
    collections_of_sample: DataLoader[str, Any]
    processing_results: DataLoader[str, Any] | None = None  # by a result's own id, for node(id)
    image_sets: DataLoader[str, Any] | None = None
    first_headers: DataLoader[str, Any] | None = None
    # Grid scans and downstream results (issue 16), by collection or by processing result id
    grids: DataLoader[str, Any] | None = None
    image_quality: DataLoader[str, Any] | None = None
    xray_centring: DataLoader[str, Any] | None = None
    integrations: DataLoader[str, Any] | None = None
    mr_runs: DataLoader[str, Any] | None = None
    phasing: DataLoader[str, Any] | None = None
    # Since 1.2.0 (issue 16): by processing result, by processing result, by data collection.
    result_files: DataLoader[str, Any] | None = None
    program_messages: DataLoader[str, Any] | None = None
    snapshots: DataLoader[str, Any] | None = None
    # Characterisation, scans and plans (since 1.2.0): None when the backend has no such tables.
    screenings: DataLoader[str, Any] | None = None
    energy_scans_of_session: DataLoader[str, Any] | None = None
    energy_scans_of_sample: DataLoader[str, Any] | None = None
    xrf_spectra_of_session: DataLoader[str, Any] | None = None
    xrf_spectra_of_sample: DataLoader[str, Any] | None = None
    diffraction_plans: DataLoader[str, Any] | None = None
    collection_plans: DataLoader[str, Any] | None = None


@cache
def _screens(kind: type) -> bool:
    """Whether a backend class has the screening tables' methods: a runtime Protocol check walks every
    method of the Protocol, so it is made once per class, not per request (issue 17)."""
    return all(callable(getattr(kind, name, None)) for name in _SCREENING_METHODS)


_SCREENING_METHODS = tuple(
    name
    for name in dir(ScreeningBackend)
    if not name.startswith("_") and callable(getattr(ScreeningBackend, name))
)


def make_loaders(backend: Backend, extra: dict[str, DataLoader[str, Any]] | None = None) -> Loaders:
    loaders = Loaders(
        data_collections=_loader(backend.data_collections_by_id),
        sessions=_loader(backend.sessions_by_id),
        proposals=_loader(backend.proposals_by_id),
        samples=_loader(backend.samples_by_id),
        crystals=_loader(backend.crystals_by_id),
        proteins=_loader(backend.proteins_by_id),
        detectors=_loader(backend.detectors_by_id),
        groups=_loader(backend.groups_by_id),
        processing=_loader(backend.processing_by_collection, default=()),
        collections_of_sample=_loader(backend.data_collection_ids_by_sample, default=()),
        processing_results=_loader(backend.processing_results_by_id),
        grids=_loader(backend.grids_by_collection),
        image_quality=_loader(backend.image_quality_by_collection, default=()),
        xray_centring=_loader(backend.xray_centring_by_collection, default=()),
        integrations=_loader(backend.integrations_by_result, default=()),
        mr_runs=_loader(backend.mr_runs_by_result, default=()),
        phasing=_loader(backend.phasing_by_result, default=()),
        result_files=_loader(backend.files_by_processing, default=()),
        program_messages=_loader(backend.messages_by_processing, default=()),
        snapshots=_loader(backend.snapshots_by_collection, default=()),
    )
    if _screens(type(backend)) or isinstance(backend, ScreeningBackend):  # the check only when unsure
        screening = cast(ScreeningBackend, backend)
        loaders.screenings = _loader(screening.screenings_by_collection, default=())
        loaders.energy_scans_of_session = _loader(screening.energy_scans_by_session, default=())
        loaders.energy_scans_of_sample = _loader(screening.energy_scans_by_sample, default=())
        loaders.xrf_spectra_of_session = _loader(screening.xrf_spectra_by_session, default=())
        loaders.xrf_spectra_of_sample = _loader(screening.xrf_spectra_by_sample, default=())
        loaders.diffraction_plans = _loader(screening.diffraction_plans_by_sample)
        loaders.collection_plans = _loader(screening.diffraction_plans_by_collection)
    for name, loader in (extra or {}).items():
        setattr(loaders, name, loader)
    return loaders


@dataclass(frozen=True, slots=True)
class SiteServices:
    """The optional parts a site runs with beside its backend, each under its own name and type.

    They were one `dict[str, Any]` holding the detector overrides and an asyncpg pool side by side (issue
    14): a misspelt key or a wrong value passed silently and failed at the first query that read it.
    """

    image_pool: Any = None  # asyncpg.Pool of the image index (asyncpg has no types); None: no image store
    detector_overrides: Overrides | None = None  # the site's detector and beamline facts; None: library only
    file_roots: Any = (
        None  # site_adapter.files.FileRoots: where downloads may come from; None: no files served
    )

    def __post_init__(self) -> None:
        if self.detector_overrides is not None and not isinstance(self.detector_overrides, Overrides):
            raise TypeError(
                f"detector_overrides must be an Overrides (Overrides.from_file(path)), "
                f"not {type(self.detector_overrides).__name__}"
            )
        if self.file_roots is not None and not isinstance(self.file_roots, FileRoots):
            raise TypeError(
                f"file_roots must be a FileRoots (FileRoots([dir, ...])), not {type(self.file_roots).__name__}"
            )
        if self.image_pool is not None and not callable(getattr(self.image_pool, "acquire", None)):
            raise TypeError(f"image_pool must be an asyncpg pool, not {type(self.image_pool).__name__}")


@dataclass
class SiteContext:
    site: str
    backend: Backend
    schema_version: str
    loaders: Loaders
    warnings: list[dict[str, Any]] = field(default_factory=list)
    services: SiteServices = field(default_factory=SiteServices)

    def warn(self, code: str, message: str) -> None:
        self.warnings.append({"code": code, "message": message})
