"""GraphiQL from the package, offline: in headless Chromium with every non-loopback request aborted, the
hub's and a site's GraphiQL load their files, the schema (docs and explorer) and run a query."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx
import pytest

from mx_schema import graphiql
from site_adapter.lims.app import create_lims_app
from site_adapter.lims.store import LimsStore
from tests.hub.web.conftest import OUTPUT

ROOT = Path(__file__).resolve().parents[3]
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def expect(target):
    from playwright.async_api import expect as playwright_expect

    return playwright_expect(target)


@pytest.fixture
async def offline(browser):
    """A browser context that aborts every request leaving loopback, as on a beamline network without
    internet; the test checks what it tried (`tab.blocked`) and any script or console error (`tab.problems`)."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    blocked: list[str] = []

    async def only_loopback(route) -> None:
        parts = urlsplit(route.request.url)
        if parts.scheme in ("data", "blob") or parts.hostname in LOOPBACK:
            await route.continue_()
        else:
            blocked.append(route.request.url)
            await route.abort("internetdisconnected")

    await context.route("**/*", only_loopback)
    tab = await context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    tab.on(
        "console",
        lambda msg: problems.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None,
    )
    tab.blocked = blocked  # type: ignore[attr-defined]
    tab.problems = problems  # type: ignore[attr-defined]
    yield tab
    await context.close()


async def use_graphiql(tab, url: str, query: str, shot: str) -> str:
    """Open GraphiQL at `url` with `query` in the editor, check the schema loaded (explorer and docs),
    run the query and return the response pane's text."""
    await tab.goto(f"{url}/graphql?q={quote(query)}")
    await tab.wait_for_selector(".graphiql-container .graphiql-query-editor .CodeMirror")
    # the explorer plugin lists the root fields: only an introspected schema gives it them
    await tab.click('button[aria-label="Show GraphiQL Explorer"]')
    await expect(tab.locator(".graphiql-explorer-root")).to_contain_text("dataCollections", timeout=60_000)
    await tab.click('button[aria-label="Show Documentation Explorer"]')
    docs = tab.locator(".graphiql-doc-explorer")
    await expect(docs).to_contain_text("Query", timeout=60_000)
    await docs.get_by_text("Query", exact=True).first.click()
    await expect(docs).to_contain_text("dataCollections", timeout=60_000)
    await tab.click(".graphiql-execute-button")
    response = tab.locator(".graphiql-response")
    await expect(response).to_contain_text('"data"', timeout=60_000)
    OUTPUT.mkdir(exist_ok=True)
    await tab.screenshot(path=OUTPUT / shot)
    return await response.inner_text()


async def test_hub_graphiql_works_offline(offline, web_hub):
    text = await use_graphiql(offline, web_hub.url, "{ sites { name status } }", "graphiql-hub.png")
    assert "esrf" in text and "diamond" in text
    assert offline.blocked == [] and offline.problems == []


async def test_site_graphiql_works_offline(offline, demo_sites):
    text = await use_graphiql(
        offline, demo_sites["esrf"], "{ siteInfo { name backend } }", "graphiql-site.png"
    )
    assert '"esrf"' in text
    assert offline.blocked == [] and offline.problems == []


async def test_page_names_no_other_host_and_its_files_are_served(web_hub, demo_sites):
    # the LIMS serves the same view; in-process, its store never started (no query reaches it)
    lims = create_lims_app(LimsStore("postgresql://127.0.0.1:9/unused"), name="lims")
    async with httpx.AsyncClient(
        timeout=30, mounts={"http://lims.test": httpx.ASGITransport(app=lims)}
    ) as client:
        for base in (web_hub.url, demo_sites["esrf"], "http://lims.test"):
            page = await client.get(f"{base}/graphql", headers={"accept": "text/html"})
            assert page.status_code == 200 and "unpkg" not in page.text and "://" not in page.text
            assert "default-src 'self'" in page.headers["content-security-policy"]
            refs = re.findall(r'(?:src|href)="(graphiql/[^"?]+)', page.text)
            assert len(refs) == 7
            for ref in refs:
                r = await client.get(f"{base}/{ref}")
                assert r.status_code == 200, ref
                assert r.headers["content-type"].startswith(("text/javascript", "text/css")), ref
                assert r.content == (graphiql.STATIC / ref.split("/", 1)[1]).read_bytes()
            assert (await client.get(f"{base}/graphiql/NOTICE")).status_code == 200
            for name in ("page.html", "..%2F__init__.py", "%2E%2E%2Fpage.html", "nope.js"):
                assert (await client.get(f"{base}/graphiql/{name}")).status_code == 404, name


def test_every_graphiql_file_is_package_data():
    """`pip install .` ships what the page loads: pyproject's package-data covers every file."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "mx_schema.graphiql" in config["packages"]
    patterns = config["package-data"]["mx_schema.graphiql"]
    folder = Path(graphiql.__file__).parent
    files = [
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and p.suffix != ".py" and "__pycache__" not in p.parts
    ]
    assert {"page.html", "static/LICENSE", "static/NOTICE", "static/graphiql.min.js"} <= set(files)
    for name in files:
        assert any(fnmatch.fnmatch(name, pattern) for pattern in patterns), name
    for name in graphiql.MEDIA_TYPES:
        assert (graphiql.STATIC / name).is_file(), name
        assert name in (graphiql.STATIC / "NOTICE").read_text() or name in (
            "mxhub-graphiql.js",
            "LICENSE",
            "NOTICE",
        )
