"""One meaning for every URL a command takes (issue 13): the base URL of a hub or site, e.g.
http://127.0.0.1:8000; a trailing `/graphql` (what GraphiQL's address bar shows) is tolerated."""

from __future__ import annotations


def base_url(url: str) -> str:
    """`http://host:port` from a base URL or a GraphQL endpoint URL (trailing slashes ignored)."""
    url = url.strip().rstrip("/")
    if url.endswith("/graphql"):
        url = url[: -len("/graphql")].rstrip("/")
    return url


def graphql_endpoint(url: str) -> str:
    """The GraphQL endpoint under a base URL (or the endpoint itself, given one)."""
    return base_url(url) + "/graphql"
