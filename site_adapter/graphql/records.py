"""One conversion from a common-model record to its GraphQL type, by field name (issue 14).

A GraphQL field takes the record's attribute of the same name; only fields that differ (a renamed
attribute, a nested type) are given by the caller. So a new scalar field is added to the model and the
type, and nothing here. Must not read a store or know a backend.
"""

from __future__ import annotations

import dataclasses
from functools import cache
from typing import Any, TypeVar

import strawberry

from mx_schema.ids import encode_id

T = TypeVar("T")


@cache
def _plain_fields(cls: type) -> tuple[str, ...]:
    """The type's stored fields and Private ones; not its resolvers (also dataclass fields)."""
    resolved = {
        f.python_name
        for f in cls.__strawberry_definition__.fields  # type: ignore[attr-defined]
        if f.base_resolver is not None
    }
    return tuple(f.name for f in dataclasses.fields(cls) if f.name not in resolved)


def from_record(cls: type[T], site: str, record: Any, **given: Any) -> T:
    """An instance of strawberry type `cls` for `record` at `site`: `id` is the record's global id,
    `site` the site, `_record` the record itself; every other field is `given` or read by name."""
    build = _builder(cls, frozenset(given))  # type: ignore[arg-type]  # a class is hashable
    try:
        made: T = build(site, record, given)
        return made
    except AttributeError:
        _missing(cls, record, given)  # names the field the record lacks
        raise


def _missing(cls: type, record: Any, given: dict[str, Any]) -> None:
    type_name = cls.__strawberry_definition__.name  # type: ignore[attr-defined]
    for name in _read_fields(cls):
        if name not in given and not hasattr(record, name):
            raise TypeError(
                f"{type_name}.{name}: {type(record).__name__} has no attribute {name!r}; "
                "name it in from_record(...)"
            ) from None


@cache
def _builder(cls: type, given: frozenset[str]) -> Any:
    """A function (site, record, given) -> instance of `cls`, written out once per type and set of given
    fields, as dataclasses writes its __init__: a page builds hundreds of records (issue 17), and a loop
    over field names per record was a sixth of a page's time."""
    plain = _plain_set(cls)
    special = _special_fields(cls)
    args = [f"{name}=given[{name!r}]" for name in sorted(given & plain)]
    args += [f"{name}=record.{name}" for name in _read_fields(cls) if name not in given]
    if "id" in special and "id" not in given:
        type_name = cls.__strawberry_definition__.name  # type: ignore[attr-defined]
        args.append(f"id=ID(encode_id(site, {type_name!r}, record.local_id))")
    if "site" in special and "site" not in given:
        args.append("site=site")
    if "_record" in special and "_record" not in given:
        args.append("_record=record")
    source = f"def build(site, record, given):\n    return cls({', '.join(args)})\n"
    namespace: dict[str, Any] = {"cls": cls, "encode_id": encode_id, "ID": strawberry.ID}
    exec(compile(source, f"<from_record {cls.__name__}>", "exec"), namespace)  # noqa: S102 - our own field names
    return namespace["build"]


_SPECIAL = ("id", "site", "_record")


@cache
def _read_fields(cls: type) -> tuple[str, ...]:
    """The plain fields read from the record by name (worked out once per type: issue 17)."""
    return tuple(n for n in _plain_fields(cls) if n not in _SPECIAL)


@cache
def _plain_set(cls: type) -> frozenset[str]:
    return frozenset(_plain_fields(cls))


@cache
def _special_fields(cls: type) -> frozenset[str]:
    return frozenset(n for n in _plain_fields(cls) if n in _SPECIAL)
