"""The hub's schema: the common SDL without federation plumbing, plus hub-only parts.

Built with graphql-core from mx_schema's SDL file, so the hub serves exactly the contract the
sites serve, extended by the registry (`sites`), the `site` filter and admin mutations.
"""

from __future__ import annotations

from graphql import (
    DocumentNode,
    GraphQLSchema,
    ObjectTypeDefinitionNode,
    SchemaDefinitionNode,
    build_ast_schema,
    extend_schema,
    parse,
)

from mx_schema import read_sdl

FEDERATION_TYPES = {"_Any", "_Entity", "_Service"}
FEDERATION_FIELDS = {"_entities", "_service"}
ROOT_FILTERS = {
    "dataCollections": "DataCollectionFilter",
    "samples": "SampleFilter",
    "proteins": "ProteinFilter",
    "sessions": "SessionFilter",
    "proposals": "ProposalFilter",
}

HUB_EXTENSIONS = """
"A registered source: a site adapter or a crystallisation LIMS."
type Site {
  name: String!
  url: String!
  "site or lims"
  kind: String!
  "up, down or unknown, from the last health check or call"
  status: String!
  schemaVersion: String
  backend: String
  lastSeen: DateTime
  "Unit: ms. Round trip of the last health check."
  latencyMs: Float
  lastError: String
}

extend type Query {
  "The registry: every site and LIMS source the hub knows, with its health."
  sites: [Site!]!
}

extend schema { mutation: Mutation }

type Mutation {
  "Register (or re-register) a site adapter or LIMS source; its schema and health are checked first. Admin only."
  registerSite(name: String!, url: String!, kind: String = "site"): Site!
  "Remove a source from the registry. Admin only."
  deregisterSite(name: String!): Boolean!
}
""" + "".join(
    f"""
extend input {filter_type} {{
  "Only these registered sites (hub only)."
  site: String
  "Only these registered sites (hub only)."
  sites: [String!]
}}
""" for filter_type in ROOT_FILTERS.values())


def common_document() -> DocumentNode:
    """The site SDL with federation's schema link, directives and types removed."""
    doc = parse(read_sdl())
    definitions = []
    for d in doc.definitions:
        if isinstance(d, SchemaDefinitionNode):
            continue
        name = getattr(getattr(d, "name", None), "value", None)
        if name in FEDERATION_TYPES:
            continue
        if isinstance(d, ObjectTypeDefinitionNode):
            fields = tuple(f for f in d.fields or () if f.name.value not in FEDERATION_FIELDS)
            d = ObjectTypeDefinitionNode(name=d.name, description=d.description, interfaces=d.interfaces,
                                         directives=(), fields=fields, loc=d.loc)
        definitions.append(d)
    return DocumentNode(definitions=tuple(definitions))


def common_schema() -> GraphQLSchema:
    return build_ast_schema(common_document(), assume_valid_sdl=True)


def hub_schema() -> GraphQLSchema:
    return extend_schema(common_schema(), parse(HUB_EXTENSIONS))
