"""The registration commands as a facility runs them (issue 13): `mxhub hub key` asks the running hub,
every command takes a base URL (a trailing /graphql tolerated), register-site prints the cause's code,
and `mxhub site serve` without --trust-hub-key does what its warning says."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time

import httpx
from click.testing import CliRunner

from mx_hub import trust
from mx_hub.auth import Caller
from mxhub.cli import main
from tests.fixtures.hub import ADMIN_TOKEN, HUB_KEY, start_site

CLEAN_ENV = {
    "MXHUB_HUB_URL": "",
    "MXHUB_URL": "",
    "MXHUB_TOKEN": "",
    "MXHUB_HUB_DSN": "",
    "MXHUB_HUB_SIGNING_KEY": "",
    "MXHUB_SITE_NAME": "",
}


async def cli(*args: str, env: dict[str, str] | None = None):
    runner = CliRunner()
    return await asyncio.to_thread(runner.invoke, main, list(args), env={**CLEAN_ENV, **(env or {})})


async def test_hub_key_asks_the_running_hub(running_hub):
    want = trust.public_pem(HUB_KEY)
    for args, env in (
        (["hub", "key", "--hub", running_hub.url], None),
        (["hub", "key"], {"MXHUB_HUB_URL": running_hub.url + "/graphql/"}),
    ):
        result = await cli(*args, env=env)
        assert result.exit_code == 0, result.output
        assert want in result.output and trust.key_id(HUB_KEY) in result.output  # key id on stderr
    result = await cli("hub", "key", "--hub", running_hub.url, "--dsn", running_hub.dsn)
    assert result.exit_code == 2 and "one of --hub" in result.output


async def test_hub_commands_take_a_base_url_with_or_without_graphql(running_hub, esrf_demo_dsn):
    from contextlib import ExitStack

    with ExitStack() as stack:
        url = start_site(stack, esrf_demo_dsn, "esrf")
        for hub_url in (running_hub.url, running_hub.url + "/", running_hub.url + "/graphql"):
            result = await cli("hub", "sites", env={"MXHUB_HUB_URL": hub_url})
            assert result.exit_code == 0, result.output
        result = await cli(
            "hub",
            "register-site",
            "grenoble",
            url,
            env={"MXHUB_HUB_URL": running_hub.url, "MXHUB_TOKEN": ADMIN_TOKEN},
        )
        assert (
            result.exit_code == 1
            and "[SITE_NAME_MISMATCH]" in result.output
            and "--name esrf" in result.output
        )
        result = await cli(
            "hub",
            "register-site",
            "esrf",
            url,
            env={"MXHUB_HUB_URL": running_hub.url, "MXHUB_TOKEN": ADMIN_TOKEN},
        )
        assert result.exit_code == 0, result.output


async def test_reprocess_takes_the_same_base_url(running_hub, esrf_demo_dsn):
    """MXHUB_HUB_URL means the hub's base URL for `mxhub reprocess` too; MXHUB_URL a site's or hub's."""
    from contextlib import ExitStack

    with ExitStack() as stack:
        url = start_site(stack, esrf_demo_dsn, "esrf")
        assert (await running_hub.register("esrf", url))["data"]["registerSite"]["status"] == "up"
        async with httpx.AsyncClient(base_url=url) as c:
            r = await c.post(
                "/graphql", json={"query": "{ dataCollections(first: 1) { edges { node { id } } } }"}
            )
        gid = r.json()["data"]["dataCollections"]["edges"][0]["node"]["id"]
        for env in ({"MXHUB_HUB_URL": running_hub.url}, {"MXHUB_URL": url}, {"MXHUB_URL": url + "/graphql"}):
            result = await cli("reprocess", gid, "--format", "xds", env=env)
            assert result.exit_code == 0 and "JOB=" in result.output, (env, result.output)


def test_site_without_a_hub_key_does_what_it_says(native_dsn):
    """Its warning says every caller, a hub's too, is served as anonymous; so it is (no 401)."""
    env = {
        **os.environ,
        **CLEAN_ENV,
        "MXHUB_TRUSTED_HUB_KEYS": "",
        "MXHUB_OPEN_ACCESS": "",
        "MXHUB_DEMO_COLLECTIONS": "300",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mxhub",
            "site",
            "serve",
            "--backend",
            "native",
            "--dsn",
            native_dsn,
            "--name",
            "esrf",
            "--port",
            "0",
        ],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stderr.readline()  # type: ignore[union-attr]
            if not line:
                break
            lines.append(line)
            if "serving" in line:
                break
        text = "".join(lines)
        url = re.search(r"serving (http://\S+)/graphql", text)
        assert url, text
        assert "anonymous" in text and "public, embargo-expired records only" in text
        q = {"query": "{ dataCollections(first: 1) { totalCount } }"}
        plain = httpx.post(url.group(1) + "/graphql", json=q, timeout=30)
        token = trust.sign_caller(HUB_KEY, Caller("root", admin=True), "esrf")
        as_hub = httpx.post(url.group(1) + "/graphql", json=q, headers={"x-mxhub-caller": token}, timeout=30)
        assert as_hub.status_code == 200, as_hub.text
        assert as_hub.json()["data"] == plain.json()["data"]
        assert plain.json()["data"]["dataCollections"]["totalCount"] < 300
        assert as_hub.json()["extensions"]["warnings"][0]["code"] == "CALLER_TOKEN_IGNORED"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


def test_admin_token_from_a_file_never_on_the_command_line(hub_dsn, tmp_path):
    """Issue 15: `--admin-token` shows in `ps`; a file (or the environment) keeps it private."""
    secret = "adm_" + os.urandom(8).hex()
    token_file = tmp_path / "admin-token"
    token_file.write_text(secret + "\n")
    env = {**os.environ, **CLEAN_ENV, "MXHUB_ADMIN_TOKEN": ""}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mxhub",
            "hub",
            "serve",
            "--dsn",
            hub_dsn,
            "--port",
            "0",
            "--admin-token-file",
            str(token_file),
            "--health-interval",
            "0",
        ],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 120
        url = None
        while time.monotonic() < deadline and url is None:
            line = proc.stderr.readline()  # type: ignore[union-attr]
            if not line:
                break
            lines.append(line)
            url = re.search(r"(http://127\.0\.0\.1:\d+)", line)
        assert url, "".join(lines)
        assert secret not in " ".join(proc.args)  # type: ignore[arg-type]
        q = {"query": 'mutation { issueApiToken(login: "x") { token } }'}
        ok = httpx.post(
            url.group(1) + "/graphql", json=q, headers={"authorization": f"Bearer {secret}"}, timeout=30
        )
        assert ok.status_code == 200 and ok.json()["data"]["issueApiToken"]["token"], ok.text
        wrong = httpx.post(
            url.group(1) + "/graphql", json=q, headers={"authorization": "Bearer nope"}, timeout=30
        )
        assert wrong.status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=30)
