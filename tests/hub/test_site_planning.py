"""What the hub forwards for CONTRACT.md's page is what the site's page executor plans whole (issue 17):
the speed of a site page holds through the hub, not only for queries sent to the site directly."""

from __future__ import annotations

from mx_schema.examples import CONTRACT_QUERY
from tests.fixtures.hub import start_site


async def test_the_hub_s_forwarded_page_is_planned_whole_at_the_site(quiet_hub, esrf_demo_dsn, monkeypatch):
    from contextlib import ExitStack

    from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

    by_graphql_core: list[str] = []
    original = StrawberryGraphQLCoreExecutionContext.execute_fields

    def recording(self, parent_type, *args, **kwargs):  # the site's objects graphql-core completes
        by_graphql_core.append(parent_type.name)
        return original(self, parent_type, *args, **kwargs)

    with ExitStack() as stack:
        url = start_site(stack, esrf_demo_dsn, "esrf")
        assert "errors" not in await quiet_hub.register("esrf", url)
        monkeypatch.setattr(StrawberryGraphQLCoreExecutionContext, "execute_fields", recording)
        body = await quiet_hub.query(CONTRACT_QUERY, {"filter": {}, "first": 30})
    assert "errors" not in body, body
    edges = body["data"]["dataCollections"]["edges"]
    assert len(edges) == 30 and all(e["node"]["session"]["visit"] for e in edges)
    assert by_graphql_core and set(by_graphql_core) == {"Query"}, by_graphql_core
