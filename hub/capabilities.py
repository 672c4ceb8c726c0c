"""What a registered site serves relative to the hub's schema (issue 21): the output fields, input fields
and arguments of the common schema its SDL lacks. Pure; no network, no registry, no policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from graphql import (
    GraphQLError,
    GraphQLNamedType,
    GraphQLSchema,
    is_input_object_type,
    is_interface_type,
    is_object_type,
)

from mx_hub.compat import parse_site_sdl
from mx_hub.sdl import common_schema


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a site lacks: output fields as `Type.field` (answered null there, with FIELD_UNAVAILABLE),
    input fields as `Input.field` and arguments as `Type.field(arg)` (a query using one leaves the site out,
    with SITE_EXCLUDED). Empty sets: the site serves everything the hub's common schema has."""

    missing_fields: frozenset[str] = frozenset()
    missing_inputs: frozenset[str] = frozenset()

    @property
    def complete(self) -> bool:
        return not self.missing_fields and not self.missing_inputs


FULL = Capabilities()


def capabilities(sdl: str | None) -> Capabilities:
    """The capabilities a site's SDL gives it (an unknown or unparsable SDL: assumed complete, as before
    issue 21: the hub then forwards the caller's selection unchanged)."""
    if not sdl:
        return FULL
    return _capabilities(sdl)


@lru_cache(maxsize=64)
def _capabilities(sdl: str) -> Capabilities:
    try:
        site = parse_site_sdl(sdl)
    except (GraphQLError, TypeError):
        return FULL
    fields: set[str] = set()
    inputs: set[str] = set()
    for name, want in _contract().type_map.items():
        if name.startswith("__"):
            continue
        have = site.type_map.get(name)
        if is_object_type(want) or is_interface_type(want):
            _compare_output(name, want, have, fields, inputs)
        elif is_input_object_type(want):
            have_fields = getattr(have, "fields", {}) if is_input_object_type(have) else {}
            inputs.update(f"{name}.{f}" for f in getattr(want, "fields", {}) if f not in have_fields)
    return Capabilities(frozenset(fields), frozenset(inputs))


def _compare_output(
    name: str, want: GraphQLNamedType, have: GraphQLNamedType | None, fields: set[str], inputs: set[str]
) -> None:
    have_fields = getattr(have, "fields", {}) if have is not None else {}
    for field_name, field in getattr(want, "fields", {}).items():
        got = have_fields.get(field_name)
        if got is None:
            fields.add(f"{name}.{field_name}")
            continue
        inputs.update(f"{name}.{field_name}({arg})" for arg in field.args if arg not in got.args)


@lru_cache(maxsize=1)
def _contract() -> GraphQLSchema:
    return common_schema()
