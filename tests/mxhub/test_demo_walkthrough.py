"""`mxhub demo`, then `mxhub index` as the demo prints it, on the default embedded PostgreSQL (issue 13):
the images link to the demo's collections, the hub serves their image sets, `reprocess --image` uses the
sweep, and the demo's ports are the ones asked for. Real processes, a fresh data folder."""

from __future__ import annotations

import json
import os
import random
import shlex
import signal
import socket
import subprocess
import sys
import threading

import httpx
import pytest

from mx_schema.ids import decode_id
from tests.fixtures.images import REPO

START_TIMEOUT = 600  # s: generous, the machine may be loaded (issue 13, point 8)


def free_port_run(n: int) -> int:
    """A first port of n consecutive free loopback ports."""
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20000, 60000 - n)
        socks = []
        try:
            for port in range(base, base + n):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no run of free ports")


class Demo:
    """`python -m mxhub demo` in a process; its stdout lines collected by a thread."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mxhub", "demo", *args],
            env=env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self.ready = threading.Event()
        self.errors: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=lambda: self.errors.extend(self.proc.stderr), daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            if line.startswith("Ctrl-C stops everything."):
                self.ready.set()
        self.ready.set()

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise


@pytest.fixture
def demo_env(tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MXHUB_") or k == "MXHUB_FIXTURES"}
    env["MXHUB_DATA_DIR"] = str(tmp_path / "data")  # the default store, in a folder of this test's own
    return env


def mxhub(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mxhub", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
    )


def test_index_after_demo_links_the_real_images(demo_env, images):
    base = free_port_run(5)
    demo = Demo(["--port", str(base), "--site-ports", str(base + 1), "--collections", "50"], demo_env)
    try:
        assert demo.ready.wait(START_TIMEOUT) and demo.proc.poll() is None, "".join(demo.errors)
        out = "\n".join(demo.lines)
        # pinned ports: the hub on --port, the sites and the LIMS from --site-ports on
        for name, port in (("esrf", base + 1), ("diamond", base + 2), ("maxiv", base + 3)):
            assert f"site {name:8s} http://127.0.0.1:{port}/graphql" in out
        assert f"LIMS lims     http://127.0.0.1:{base + 4}/graphql" in out
        hub = f"http://127.0.0.1:{base}/graphql"
        assert f"hub (GraphQL, GraphiQL in a browser): {hub}" in out

        # the index command exactly as printed, with --json added
        (command,) = [line.strip() for line in demo.lines if line.strip().startswith("mxhub index ")]
        argv = shlex.split(command)
        assert argv[:4] == ["mxhub", "index", "--site", "esrf"]
        assert sorted(argv[4:]) == [str(images / "l_cysteine"), str(images / "thaumatin_grid")]
        done = mxhub(argv[1:] + ["--json"], demo_env)
        assert done.returncode == 0, done.stderr
        summary = json.loads(done.stdout)
        assert (summary["files"], summary["indexed"], summary["skipped"], summary["failed"]) == (
            79,
            79,
            0,
            [],
        )
        linked = {s["template"]: s["linked"] for s in summary["sweeps"]}
        assert len(linked) == 5 and all(linked.values()), linked  # today: every sweep "not linked"
        assert {decode_id(g).site for g in linked.values()} == {"esrf"}

        # the hub (anonymous: these sessions ended years ago) serves the linked collections' image sets
        query = (
            "query($id: ID!) { node(id: $id) { ... on DataCollection { fileTemplate startImageNumber "
            "numberOfImages images { count first kind } } } }"
        )
        with httpx.Client(timeout=60) as client:
            for template, gid in linked.items():
                body = client.post(hub, json={"query": query, "variables": {"id": gid}}).json()
                node = body["data"]["node"]
                kind = "grid" if template.startswith("thau") else "rotation"
                assert node["fileTemplate"] == template
                assert node["images"] == [{"count": node["numberOfImages"], "first": 1, "kind": kind}], body

        # reprocess --image finds the sweep in the same store
        image = str(images / "l_cysteine" / "l-cyst_04_00009.cbf")
        xds = mxhub(["reprocess", "--image", image, "--format", "xds", "--site", "esrf"], demo_env)
        assert xds.returncode == 0, xds.stderr
        assert "DATA_RANGE= 1 15" in xds.stdout.splitlines()

        again = json.loads(mxhub(argv[1:] + ["--json"], demo_env).stdout)
        assert (again["files"], again["indexed"], again["skipped"]) == (79, 0, 79)
    finally:
        assert demo.stop() == 0, "".join(demo.errors)


def test_demo_starts_without_the_fixtures(demo_env, tmp_path):
    demo_env["MXHUB_FIXTURES"] = str(tmp_path / "no-fixtures-here")
    demo = Demo(["--port", "0", "--collections", "50"], demo_env)
    try:
        assert demo.ready.wait(START_TIMEOUT) and demo.proc.poll() is None, "".join(demo.errors)
        out = "\n".join(demo.lines)
        assert "mxhub demo federation is running." in out and "mxhub index" not in out
    finally:
        assert demo.stop() == 0, "".join(demo.errors)
