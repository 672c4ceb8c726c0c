"""The detail view lists a collection's result files as download links and shows its crystal snapshots
(issue 16), through the hub's GET /files/{id}; a headless Chromium reads the page."""

from __future__ import annotations

import uuid
from contextlib import ExitStack
from pathlib import Path

import asyncpg
import pytest

from mx_hub.app import create_app as create_hub_app
from mx_hub.settings import HubSettings
from mx_schema.ids import encode_id
from site_adapter.app import create_app as create_site_app
from site_adapter.backends.native import NativeBackend
from site_adapter.files import FileRoots
from site_adapter.graphql.context import SiteServices
from tests.fixtures.hub import ADMIN_TOKEN, RunningHub
from tests.fixtures.postgres import create_database, drop_database
from tests.fixtures.sites import serve_in_thread
from tests.hub.web.conftest import CHROMIUM_ARGS, OUTPUT, chromium_path, missing, with_web_routes
from tests.site_adapter.test_result_files_native import demo_store_with_files


@pytest.fixture(scope="module")
async def files_hub(pg_server_dsn, native_template, tmp_path_factory):
    """A hub (page included) with one open native site whose newest collections have files."""
    root = tmp_path_factory.mktemp("page-files")
    site_db, site_dsn = await demo_store_with_files(pg_server_dsn, native_template, root, n=150)
    hub_db = f"mxhub_fileshub_{uuid.uuid4().hex[:8]}"
    hub_dsn = await create_database(pg_server_dsn, hub_db)
    site = create_site_app(
        NativeBackend(site_dsn, min_size=1, max_size=2),
        site="esrf",
        services=SiteServices(file_roots=FileRoots([str(root)])),
    )
    settings = HubSettings(site_timeout=60.0, soft_deadline=10.0, health_interval=0, admin_token=ADMIN_TOKEN)
    app = with_web_routes(create_hub_app(hub_dsn, settings))
    try:
        with ExitStack() as stack:
            site_url = stack.enter_context(serve_in_thread(site))
            hub = RunningHub(stack.enter_context(serve_in_thread(app)), app, hub_dsn)
            assert "errors" not in await hub.register("esrf", f"{site_url}/graphql")
            yield hub, site_dsn
            await hub.http.aclose()
    finally:
        await drop_database(pg_server_dsn, hub_db)
        await drop_database(pg_server_dsn, site_db)


async def test_detail_view_links_files_and_shows_snapshots(files_hub):
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        missing("playwright is not installed: python3 -m pip install playwright")
    executable = chromium_path()
    if executable is None:
        missing("chromium is not installed: apt-get install chromium")
    hub, dsn = files_hub
    conn = await asyncpg.connect(dsn)
    try:  # a collection with a snapshot and its log files: the reference is the store
        dc = await conn.fetchval(
            "SELECT data_collection_id FROM snapshot ORDER BY data_collection_id LIMIT 1"
        )
        logs = await conn.fetch(
            "SELECT f.directory, f.name FROM result_file f JOIN processing_result pr ON pr.id = f.processing_result_id"
            " WHERE pr.data_collection_id = $1 ORDER BY f.id",
            dc,
        )
    finally:
        await conn.close()
    OUTPUT.mkdir(exist_ok=True)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(base_url=hub.url, accept_downloads=True)
            page = await context.new_page()
            problems: list[str] = []
            page.on("pageerror", lambda exc: problems.append(str(exc)))
            await page.goto(f"/#/dc/{encode_id('esrf', 'DataCollection', dc)}")
            await page.wait_for_selector('section[aria-labelledby="files-heading"] a[data-file]')
            names = await page.eval_on_selector_all("a[data-file]", "links => links.map(a => a.textContent)")
            assert {n.split(" (")[0] for n in names} == {r["name"] for r in logs}
            # the snapshots are real images the browser decoded (naturalWidth of the 64x48 PNG)
            await page.wait_for_function(
                "() => [...document.querySelectorAll('img[data-snapshot]')].every(i => i.complete && i.naturalWidth > 0)"
            )
            widths = await page.eval_on_selector_all(
                "img[data-snapshot]", "imgs => imgs.map(i => i.naturalWidth)"
            )
            assert widths and set(widths) == {64}
            first = logs[0]
            async with page.expect_download() as info:
                await page.click(f'a[data-file]:has-text("{first["name"]}")')
            download = await info.value
            saved = OUTPUT / first["name"]
            await download.save_as(saved)
            assert saved.read_bytes() == (Path(first["directory"]) / first["name"]).read_bytes()
            await page.screenshot(path=OUTPUT / "detail-files.png", full_page=True)
            assert not problems, problems
        finally:
            await browser.close()
