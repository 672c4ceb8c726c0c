"""Result files, program messages and crystal snapshots as GraphQL types (since 1.2.0, issue 16).

What a record says comes from the backend; whether the site can serve the file (`exists`, `size`) from
the site's file roots (site_adapter.files). The `url` is relative: GET it from whoever answered.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from typing import Any

import strawberry
from strawberry.types import Info

from mx_schema.ids import encode_id
from site_adapter import model
from site_adapter.files import FileRoots, Located, media_type, url_of
from site_adapter.graphql.batches import load
from site_adapter.graphql.context import SiteContext
from site_adapter.graphql.types import ctx, d

_NO_ROOTS = FileRoots()


def _locate(info: Info, directory: str | None, name: str) -> Located:
    return (ctx(info).services.file_roots or _NO_ROOTS).locate(directory, name)


@strawberry.type(
    description="A file a processing program wrote: a log, a result (MTZ, PDB), a graph (since 1.2.0)."
)
class ResultFile:
    id: strawberry.ID = strawberry.field(description="Global id: names the site; GET `url` to download.")
    local_id: str
    name: str = strawberry.field(description="File name, e.g. `fast_dp.log`.")
    directory: str | None = strawberry.field(description="Where the facility recorded it.")
    type: str | None = strawberry.field(
        description="Log, Result, Graph, Debug or Input, as the facility says."
    )
    importance: int | None = strawberry.field(
        description=d("rank", "Higher is more important, within one result and type; null when not ranked.")
    )
    recorded: dt.datetime | None
    media_type: str = strawberry.field(description="Content-Type it is served with, e.g. `text/plain`.")
    url: str = strawberry.field(
        description="Download path, relative to the server that answered (site or hub): `/files/{id}`."
    )
    _record: strawberry.Private[model.ResultFile]

    @classmethod
    def of(cls, site: str, r: model.ResultFile) -> ResultFile:
        gid = encode_id(site, "ResultFile", r.local_id)
        return cls(
            id=strawberry.ID(gid),
            local_id=r.local_id,
            name=r.name,
            directory=r.directory,
            type=r.kind,
            importance=r.importance,
            recorded=r.recorded,
            media_type=media_type(r.name),
            url=url_of(gid),
            _record=r,
        )

    @strawberry.field(description="The site can serve it: present under one of its file roots.")
    def exists(self, info: Info) -> bool:
        return _locate(info, self.directory, self.name).exists

    @strawberry.field(description=d("bytes", "On disk; null when the site cannot serve it."))
    def size(self, info: Info) -> float | None:
        found = _locate(info, self.directory, self.name).size
        return None if found is None else float(found)


@strawberry.type(
    description="A message a processing program left: why it failed, or what to look at (since 1.2.0)."
)
class ProgramMessage:
    severity: str = strawberry.field(description="ERROR, WARNING or INFO.")
    message: str | None
    description: str | None
    time: dt.datetime | None

    @classmethod
    def of(cls, r: model.ProgramMessage) -> ProgramMessage:
        return cls(severity=r.severity, message=r.message, description=r.description, time=r.time)


@strawberry.type(description="A crystal snapshot: the on-axis camera's image of the crystal (since 1.2.0).")
class Snapshot:
    id: strawberry.ID = strawberry.field(description="Global id: names the site; GET `url` to download.")
    position: int = strawberry.field(
        description=d("position number", "1 to 4, in the order the facility took them.")
    )
    name: str = strawberry.field(description="File name, e.g. `xtal1_1_1_90.0.png`.")
    media_type: str = strawberry.field(description="image/png or image/jpeg.")
    url: str = strawberry.field(
        description="Download path, relative to the server that answered (site or hub): `/files/{id}`."
    )
    _record: strawberry.Private[model.Snapshot]

    @classmethod
    def of(cls, site: str, r: model.Snapshot) -> Snapshot:
        gid = encode_id(site, "Snapshot", r.local_id)
        name = os.path.basename(r.path)
        return cls(
            id=strawberry.ID(gid),
            position=r.position,
            name=name,
            media_type=media_type(name),
            url=url_of(gid),
            _record=r,
        )

    @strawberry.field(description="The site can serve it: present under one of its file roots.")
    def exists(self, info: Info) -> bool:
        directory, name = os.path.split(self._record.path)
        return _locate(info, directory, name).exists

    @strawberry.field(description=d("bytes", "On disk; null when the site cannot serve it."))
    def size(self, info: Info) -> float | None:
        directory, name = os.path.split(self._record.path)
        found = _locate(info, directory, name).size
        return None if found is None else float(found)


# Batch forms (site_adapter/graphql/batches.py): over processing results or data collections, in order.


async def files_of(c: SiteContext, results: Sequence[Any]) -> list[list[ResultFile]]:
    found = await load(c.loaders.result_files, [r.local_id for r in results])
    return [[ResultFile.of(c.site, f) for f in fs or ()] for fs in found]


async def messages_of(c: SiteContext, results: Sequence[Any]) -> list[list[ProgramMessage]]:
    found = await load(c.loaders.program_messages, [r.local_id for r in results])
    return [[ProgramMessage.of(m) for m in ms or ()] for ms in found]


async def snapshots_of(c: SiteContext, collections: Sequence[Any]) -> list[list[Snapshot]]:
    found = await load(c.loaders.snapshots, [dc.local_id for dc in collections])
    return [[Snapshot.of(dc.site, r) for r in rs or ()] for dc, rs in zip(collections, found, strict=True)]
