"""`mxhub site serve --exact-count-limit / --count-max-cost` (issue 17): they reach the native store, which
then answers totalCountKind by them; a negative value is refused at start."""

from __future__ import annotations

from click.testing import CliRunner

from mxhub.cli import main
from mxhub.commands.site import open_backend
from site_adapter.backends.base import CountKind, DataCollectionFilter, PageRequest


async def test_the_limits_reach_the_native_store(esrf_demo_dsn):
    exact = await open_backend("native", esrf_demo_dsn, "esrf", 0)
    capped = await open_backend(
        "native", esrf_demo_dsn, "esrf", 0, None, {"exact_count_limit": 3, "count_max_cost": 1e9}
    )
    try:
        assert (capped.exact_count_limit, capped.count_max_cost) == (3, 1e9)  # type: ignore[attr-defined]
        every = await exact.data_collections(DataCollectionFilter(), PageRequest(first=1))
        some = await capped.data_collections(DataCollectionFilter(), PageRequest(first=1))
        assert every.count_kind is CountKind.EXACT and every.total_count > 3
        assert some.count_kind is CountKind.ESTIMATE and some.total_count > 3
    finally:
        await exact.close()
        await capped.close()


def test_negative_limits_are_refused_and_help_names_the_variables():
    out = CliRunner().invoke(main, ["site", "serve", "--name", "x", "--exact-count-limit", "-1"])
    assert out.exit_code == 2 and "--exact-count-limit" in out.output
    out = CliRunner().invoke(main, ["site", "serve", "--name", "x"], env={"MXHUB_SITE_COUNT_MAX_COST": "-5"})
    assert out.exit_code == 2 and "--count-max-cost" in out.output
    help_text = CliRunner().invoke(main, ["site", "serve", "--help"]).output
    assert "MXHUB_SITE_EXACT_COUNT_LIMIT" in help_text and "MXHUB_SITE_COUNT_MAX_COST" in help_text
