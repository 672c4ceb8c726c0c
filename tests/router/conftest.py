"""Node and the pinned npm packages of tests/router (Apollo's composer, Hive Gateway): `.ci/run` installs
them with `npm ci --prefix tests/router`; without node the tests skip, except under CI=true."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def serve_gateway(
    node: str, subgraphs: dict[str, tuple[str, str]], workdir: Path, config: Path | None = None
) -> Iterator[str]:
    """Hive Gateway serving the supergraph Apollo's composer makes of `subgraphs` ({name: (url, sdl)}),
    with `config` (a gateway.config.mjs) when given; yields its base URL once it is ready."""
    result = compose(node, subgraphs)
    assert result["errors"] == [], result["errors"]
    supergraph = workdir / "supergraph.graphql"
    supergraph.write_text(result["supergraph"], encoding="utf-8")
    port = _free_port()
    bin_js = HERE / "node_modules" / "@graphql-hive" / "gateway" / "dist" / "bin.js"
    args = [node, str(bin_js), "supergraph", str(supergraph), "--host", "127.0.0.1", "--port", str(port)]
    if config is not None:
        args += ["--config-path", str(config)]
    log_path = workdir / "gateway.log"
    log = log_path.open("w")
    proc = subprocess.Popen(args, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"hive-gateway exited: {log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/readiness", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("hive-gateway was not ready within 120 s")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
