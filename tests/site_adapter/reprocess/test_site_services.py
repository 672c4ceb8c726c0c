"""A site's optional parts (image store pool, detector overrides) are typed and checked when the site is
built (issue 14: they were one dict[str, Any], so `services={"detector_overrides": "facts.json"}` was
accepted and failed only at the first reprocessing query, as an internal error)."""

from __future__ import annotations

import pytest

from site_adapter.graphql.context import SiteServices


def test_overrides_given_as_a_path_are_refused_when_the_site_is_built():
    with pytest.raises(TypeError, match=r"detector_overrides must be an Overrides \(Overrides.from_file"):
        SiteServices(detector_overrides="site_facts.json")  # type: ignore[arg-type]


def test_an_image_store_given_as_a_dsn_is_refused_when_the_site_is_built():
    with pytest.raises(TypeError, match="image_pool must be an asyncpg pool, not str"):
        SiteServices(image_pool="postgresql://127.0.0.1/images")
