"""Node and the pinned npm packages of tests/router (Apollo's composer, Hive Gateway): `.ci/run` installs
them with `npm ci --prefix tests/router`; without node the tests skip, except under CI=true."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (required under CI=true)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def node() -> str:
    """The node binary, with tests/router/node_modules installed from the committed lock file."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        unavailable("node and npm are needed for the router tests (tests/router/package.json)")
        raise AssertionError("unreachable")
    if not (HERE / "node_modules" / "@apollo" / "composition").is_dir():
        try:
            done = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--prefix", str(HERE)],
                capture_output=True,
                text=True,
                timeout=600,
            )
        except subprocess.TimeoutExpired:
            unavailable("npm ci --prefix tests/router took over 600 s")
        if done.returncode != 0:
            unavailable(f"npm ci --prefix tests/router failed: {done.stderr.strip()[-500:]}")
    return node


def compose(node: str, subgraphs: dict[str, tuple[str, str]]) -> dict:
    """Apollo's composer over {name: (url, sdl)}: {errors, hints, supergraph} (tests/router/compose.mjs)."""
    services = [{"name": n, "url": url, "sdl": sdl} for n, (url, sdl) in subgraphs.items()]
    done = subprocess.run(
        [node, str(HERE / "compose.mjs")],
        input=json.dumps(services),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict = json.loads(done.stdout)
    return result
