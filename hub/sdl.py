"""The hub's schema: the common SDL without federation plumbing, plus hub-only parts.

Built with graphql-core from mx_schema's SDL file, so the hub serves exactly the contract the
sites serve, extended by the registry (`sites`), the `site` filter and admin mutations.
"""

from __future__ import annotations

from pathlib import Path

from graphql import (
    DocumentNode,
    GraphQLSchema,
    ObjectTypeDefinitionNode,
    SchemaDefinitionNode,
    build_ast_schema,
    extend_schema,
    parse,
)

import mx_schema
from mx_schema import read_sdl

FEDERATION_TYPES = {"_Any", "_Entity", "_Service"}
LIMS_OWN = {"Query", "Sample", "LimsInfo"}  # the LIMS subgraph's own roots and entity stub
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
  "What the site serves of this hub's schema, from the SDL it served at registration or its last health check (null for a LIMS source)."
  capabilities: SiteCapabilities
}

"What a site of another minor version lacks relative to the hub's schema (docs/facility.md, Versions)."
type SiteCapabilities {
  "True when the site serves every field, input field and argument of the hub's common schema."
  complete: Boolean!
  "Output fields the site lacks, as Type.field, sorted: selected, they are answered null for its records, with a FIELD_UNAVAILABLE warning."
  missingFields: [String!]!
  "Input fields (Input.field) and arguments (Type.field(arg)) the site lacks, sorted: a query that gives one a value leaves the site out of the answer, with a SITE_EXCLUDED warning."
  missingInputs: [String!]!
}

"Who the hub takes the caller to be (from the bearer token; anonymous without one)."
type Viewer {
  "The caller's login; null when anonymous (or the bootstrap admin token)."
  login: String
  "Beamlines the caller is staff for; `*` means every beamline."
  staffBeamlines: [String!]!
  admin: Boolean!
  "anonymous, api-token, oidc or admin-token"
  via: String!
}

"An API token as an admin sees it: never its secret."
type ApiToken {
  id: ID!
  login: String!
  roles: [String!]!
  "read or admin"
  scope: String!
  createdAt: DateTime!
  expiresAt: DateTime
  revokedAt: DateTime
}

"A newly issued API token: `token` is shown this once; the hub keeps only its hash."
type IssuedToken {
  id: ID!
  token: String!
  login: String!
  roles: [String!]!
  scope: String!
  expiresAt: DateTime
}

extend type Query {
  "The registry: every site and LIMS source the hub knows, with its health."
  sites: [Site!]!
  "The caller, as the hub authenticated it."
  viewer: Viewer!
  "API tokens issued by this hub, revoked ones included. Admin only."
  apiTokens: [ApiToken!]!
}

extend schema { mutation: Mutation }

type Mutation {
  "Register (or re-register) a site adapter or LIMS source; its schema and health are checked first. Admin only."
  registerSite(name: String!, url: String!, kind: String = "site"): Site!
  "Remove a source from the registry. Admin only."
  deregisterSite(name: String!): Boolean!
  "Issue an API token for scripts acting as `login`; roles: `admin`, `staff:<beamline>` (`staff:*`: all). Admin only."
  issueApiToken(login: String!, roles: [String!] = [], expiresInDays: Int = 90): IssuedToken!
  "Revoke an API token by its id; false when no live token has that id. Admin only."
  revokeApiToken(id: ID!): Boolean!
}
""" + "".join(
    f"""
extend input {filter_type} {{
  "Only these registered sites (hub only)."
  site: String
  "Only these registered sites (hub only)."
  sites: [String!]
}}
"""
    for filter_type in ROOT_FILTERS.values()
)


def lims_sdl() -> str:
    return (Path(mx_schema.__file__).with_name("lims.graphql")).read_text(encoding="utf-8")


def common_document(sdl: str | None = None, skip: frozenset[str] = frozenset()) -> DocumentNode:
    """An SDL (the site's by default) with federation's schema link, directives and types removed."""
    doc = parse(sdl if sdl is not None else read_sdl())
    definitions = []
    for d in doc.definitions:
        if isinstance(d, SchemaDefinitionNode):
            continue
        name = getattr(getattr(d, "name", None), "value", None)
        if name in FEDERATION_TYPES or name in skip:
            continue
        if isinstance(d, ObjectTypeDefinitionNode):
            fields = tuple(f for f in d.fields or () if f.name.value not in FEDERATION_FIELDS)
            d = ObjectTypeDefinitionNode(
                name=d.name,
                description=d.description,
                interfaces=d.interfaces,
                directives=(),
                fields=fields,
                loc=d.loc,
            )
        definitions.append(d)
    return DocumentNode(definitions=tuple(definitions))


def common_schema() -> GraphQLSchema:
    return build_ast_schema(common_document(), assume_valid_sdl=True)


LIMS_EXTENSIONS = """
extend type Sample {
  "The crystallisation record from a registered LIMS (null when no LIMS knows the sample). Hub only."
  crystallisation: Crystallisation
}

extend input DataCollectionFilter {
  "Only collections of samples a registered LIMS finds with this search (hub only): ANDed with the other filters."
  lims: CrystallisationSearchFilter
}
"""


def hub_schema() -> GraphQLSchema:
    """The common schema, the LIMS types (schema/lims.graphql) stitched onto Sample, and hub-only parts."""
    schema = extend_schema(common_schema(), parse(HUB_EXTENSIONS))
    # The LIMS restates the site's types its `@requires` reads (Crystal, ExternalId): the site's stand.
    skip = frozenset(LIMS_OWN) | frozenset(schema.type_map)
    schema = extend_schema(schema, common_document(lims_sdl(), skip=skip))
    return extend_schema(schema, parse(LIMS_EXTENSIONS))
