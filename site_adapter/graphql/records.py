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
    type_name = cls.__strawberry_definition__.name  # type: ignore[attr-defined]
    plain = _plain_set(cls)  # type: ignore[arg-type]
    values: dict[str, Any] = {k: v for k, v in given.items() if k in plain}
    for name in _read_fields(cls):  # type: ignore[arg-type]
        if name in given:
            continue
        try:
            values[name] = getattr(record, name)
        except AttributeError:
            raise TypeError(
                f"{type_name}.{name}: {type(record).__name__} has no attribute {name!r}; "
                "name it in from_record(...)"
            ) from None
    special = _special_fields(cls)  # type: ignore[arg-type]
    if "id" in special and "id" not in given:
        values["id"] = strawberry.ID(encode_id(site, type_name, record.local_id))
    if "site" in special and "site" not in given:
        values["site"] = site
    if "_record" in special and "_record" not in given:
        values["_record"] = record
    return cls(**values)


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
