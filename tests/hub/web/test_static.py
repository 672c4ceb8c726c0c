"""The page's files as the hub serves them: content types, no directory traversal, no outside assets."""

from __future__ import annotations

import re
from importlib import resources

import httpx
import pytest
from starlette.applications import Starlette

from mx_hub.web import web_routes


@pytest.fixture
async def client():
    app = Starlette(routes=web_routes())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub.test") as c:
        yield c


@pytest.mark.parametrize(
    "path, media",
    [
        ("/", "text/html"),
        ("/static/index.html", "text/html"),
        ("/static/app.js", "text/javascript"),
        ("/static/search.js", "text/javascript"),
        ("/static/app.css", "text/css"),
        ("/static/favicon.svg", "image/svg+xml"),
    ],
)
async def test_files_are_served_with_their_content_type(client, path, media):
    r = await client.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith(media)
    assert "default-src 'self'" in r.headers["content-security-policy"]
    again = await client.get(path, headers={"if-none-match": r.headers["etag"]})
    assert again.status_code == 304


@pytest.mark.parametrize(
    "path",
    [
        "/static/../web.py",
        "/static/..%2fweb.py",
        "/static/%2e%2e/web.py",
        "/static/.hidden",
        "/static/",
        "/static/nothere.js",
        "/static//etc/passwd",
        "/static/app.py",
        "/static/..\\web.py",
    ],
)
async def test_nothing_outside_the_static_folder(client, path):
    r = await client.get(path)
    assert r.status_code == 404
    assert "import" not in r.text


def test_every_asset_the_page_names_is_served_by_the_hub():
    static = resources.files("mx_hub").joinpath("static")
    html = static.joinpath("index.html").read_text()
    scripts = [p.name for p in static.iterdir() if p.name.endswith(".js")]
    for name in scripts:
        text = static.joinpath(name).read_text()
        for target in re.findall(r'from "([^"]+)"', text):
            assert target.startswith("./") and static.joinpath(target[2:]).is_file(), (name, target)
        assert "http://" not in text.replace("http://www.w3.org/2000/svg", "") and "https://" not in text, (
            name
        )
    for url in re.findall(r'(?:src|href)="([^"#]+)"', html):
        assert url.startswith("/"), url  # the hub's own: no CDN
        assert url in ("/graphql",) or static.joinpath(url.removeprefix("/static/")).is_file(), url
