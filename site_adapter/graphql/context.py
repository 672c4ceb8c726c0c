"""Per-request state: the site, its backend, and one DataLoader per relation so a page batches.

No SQL here: loaders call the backend's batch methods, one call per relation per request tick.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from strawberry.dataloader import DataLoader

from site_adapter.backends.base import Backend


def _loader(batch: Callable[[Sequence[str]], Awaitable[dict[str, Any]]], default: Any = None) -> DataLoader:
    async def load(keys: list[str]) -> list[Any]:
        found = await batch(keys)
        return [found.get(k, default) if default is None else found.get(k, list(default)) for k in keys]

    return DataLoader(load_fn=load)


@dataclass
class Loaders:
    data_collections: DataLoader
    sessions: DataLoader
    proposals: DataLoader
    samples: DataLoader
    crystals: DataLoader
    proteins: DataLoader
    detectors: DataLoader
    groups: DataLoader
    processing: DataLoader
    collections_of_sample: DataLoader
    processing_results: DataLoader | None = None  # by a result's own id, for node(id)
    image_sets: DataLoader | None = None
    first_headers: DataLoader | None = None


def make_loaders(backend: Backend, extra: dict[str, DataLoader] | None = None) -> Loaders:
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
    )
    for name, loader in (extra or {}).items():
        setattr(loaders, name, loader)
    return loaders


@dataclass
class SiteContext:
    site: str
    backend: Backend
    schema_version: str
    loaders: Loaders
    warnings: list[dict[str, Any]] = field(default_factory=list)
    services: dict[str, Any] = field(default_factory=dict)  # optional parts: image store, detector overrides

    def warn(self, code: str, message: str) -> None:
        self.warnings.append({"code": code, "message": message})
