"""Is a site's schema one the hub can serve at all? Same major version, and the core of the contract
(root fields, node ids) present with the contract's types. Decides; changes nothing."""

from __future__ import annotations

from graphql import (
    GraphQLError,
    GraphQLSchema,
    GraphQLType,
    build_schema,
    is_input_object_type,
    is_interface_type,
    is_non_null_type,
    is_object_type,
)

from mx_hub.sdl import common_schema
from mx_schema import SCHEMA_VERSION

# The federation directives a subgraph's SDL uses; declared so graphql-core can build it.
FEDERATION_PRELUDE = (
    "directive @link(url: String!, import: [String]) repeatable on SCHEMA\n"
    "directive @key(fields: String!, resolvable: Boolean = true) repeatable on OBJECT | INTERFACE\n"
    "directive @external on FIELD_DEFINITION | OBJECT\n"
    "directive @requires(fields: String!) on FIELD_DEFINITION\n"
    "directive @provides(fields: String!) on FIELD_DEFINITION\n"
    "directive @shareable repeatable on OBJECT | FIELD_DEFINITION\n"
    "directive @extends on OBJECT | INTERFACE\n"
    "scalar link__Import\n"
)


# Root fields added in a minor version: a site without them is left out of those fields (a SITE_EXCLUDED
# warning, mx_hub.distinct), not refused. distinctProteins, dataCollectionFacets: since 1.2.0.
OPTIONAL_ROOTS = frozenset({"distinctProteins", "dataCollectionFacets"})


def major(version: str) -> str:
    return version.split(".", 1)[0]


def parse_site_sdl(sdl: str) -> GraphQLSchema:
    """Build a subgraph's SDL, tolerating the federation directives it declares or omits."""
    text = sdl if "directive @key" in sdl else FEDERATION_PRELUDE + sdl
    return build_schema(text, assume_valid_sdl=True)


def differences(site_sdl: str, site_version: str | None, contract: GraphQLSchema | None = None) -> list[str]:
    """What stops the hub from serving this site at all; empty when it can (issue 21: fields of another
    minor version are the site's capabilities, mx_hub.capabilities, not a refusal)."""
    problems: list[str] = []
    if not site_version:
        problems.append("the site does not report a schema version")
    elif major(site_version) != major(SCHEMA_VERSION):
        problems.append(
            f"schema version {site_version} has another major version than the hub's {SCHEMA_VERSION}"
        )
    try:
        site = parse_site_sdl(site_sdl)
    except (GraphQLError, TypeError) as exc:
        return problems + [f"the site's SDL does not parse: {str(exc).splitlines()[0]}"]
    contract = contract or common_schema()
    for name, want in contract.type_map.items():
        if name.startswith("__") or not (
            is_object_type(want) or is_interface_type(want) or is_input_object_type(want)
        ):
            continue
        have = site.type_map.get(name)
        have_fields = getattr(have, "fields", {}) if have is not None else {}
        for field_name, field in want.fields.items():
            got = have_fields.get(field_name)
            if got is None:
                if (name, field_name) in _core(contract):
                    problems.append(f"missing field {name}.{field_name}, the core of the contract")
            elif not _serves(got.type, field.type, output=not is_input_object_type(want)):
                problems.append(f"{name}.{field_name} is {got.type}, the contract says {field.type}")
    return problems


def _core(contract: GraphQLSchema) -> set[tuple[str, str]]:
    """What no minor version may lack: the root fields and every node's id (fan-out, paging, node(id))."""
    query = contract.query_type
    core = {("Query", f) for f in (query.fields if query is not None else {}) if f not in OPTIONAL_ROOTS}
    node = contract.type_map.get("Node")
    if node is not None:
        core |= {(t.name, "id") for t in contract.get_possible_types(node)} | {("Node", "id")}  # type: ignore[arg-type]
    return core


def _serves(have: GraphQLType, want: GraphQLType, *, output: bool) -> bool:
    """The site's type serves the contract's: the same, or (an output of an older minor version) non-null
    where the contract has since made it nullable (1.0's `Reprocessing.xdsInp: String!`)."""
    if str(have) == str(want):
        return True
    if output and is_non_null_type(have) and not is_non_null_type(want):
        return str(have.of_type) == str(want)
    return False
