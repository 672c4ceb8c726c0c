"""Binding the hub schema's fields to their resolvers (connections.py, admin.py, execution.py).

Only binds; the resolvers live in their own modules (settings in settings.py)."""

from __future__ import annotations

from graphql import GraphQLSchema

from mx_hub import admin, connections, distinct, facets
from mx_hub.execution import bind_types
from mx_hub.sdl import ROOT_FILTERS

__all__ = ["bind_resolvers"]


def bind_resolvers(schema: GraphQLSchema) -> GraphQLSchema:
    query = schema.query_type
    if query is None:
        raise RuntimeError("the hub schema has no Query type")
    for root in ROOT_FILTERS:
        query.fields[root].resolve = connections.connection_resolver(root)
    query.fields["node"].resolve = connections.resolve_node
    query.fields["distinctProteins"].resolve = distinct.resolve_distinct_proteins  # since 1.2.0
    query.fields["dataCollectionFacets"].resolve = facets.resolve_data_collection_facets  # since 1.2.0
    query.fields["sites"].resolve = admin.resolve_sites
    query.fields["siteInfo"].resolve = admin.resolve_site_info
    query.fields["viewer"].resolve = admin.resolve_viewer
    query.fields["apiTokens"].resolve = admin.resolve_api_tokens
    mutation = schema.mutation_type
    if mutation is not None:
        mutation.fields["registerSite"].resolve = admin.resolve_register_site
        mutation.fields["deregisterSite"].resolve = admin.resolve_deregister_site
        mutation.fields["issueApiToken"].resolve = admin.resolve_issue_api_token
        mutation.fields["revokeApiToken"].resolve = admin.resolve_revoke_api_token
    bind_types(schema)
    return schema
