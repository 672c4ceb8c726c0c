"""Runs the shell examples of README.md and docs/*.md as written (issue 13): the blocks, the convention
that marks them, and a session that runs one document's blocks in order with real processes.

The convention (every fenced block names its language):
- ```sh is a shell example: it runs, in order with the document's other sh blocks, in one shell
  session (exported variables and `cd` carry over from block to block); a failing command fails the test.
- ```text (also sql, python, graphql, json, xml, ...) is not run: synopses, diagrams, output.
- An HTML comment on the line before a sh block says more, as `<!-- doc-test: WORD ... -->`:
  `server`        a long-running command (`mxhub demo`, `... serve`): started in the background, stopped
                  (SIGTERM) when the document is done;
  `wait=URL`      a server is up when URL answers HTTP 200 (`$VAR`s from the session's environment);
  `needs=mariadb` the block needs MariaDB with the ISPyB fixture: MXHUB_SITE_DSN names it;
  `cwd=repo`      run in the checkout (e.g. `pip install -e .`), not in the session's folder;
  `skip=REASON`   not run, for the reason given (only README's test-suite line: CI runs that one).
- The environment a facility would configure comes from the test: free ports in MXHUB_*_PORT, fresh
  databases in MXHUB_*_DSN, HOME a fresh folder, MXHUB_FIXTURES the real test data. Blocks read these
  documented variables, with the default a reader gets (`${MXHUB_HUB_PORT:-8000}`).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^```(\S*)\s*$")
DIRECTIVE = re.compile(r"^<!--\s*doc-test:(.*?)-->\s*$")
SHELL = "sh"


@dataclass(frozen=True)
class Block:
    doc: str  # path relative to the checkout
    line: int  # 1-based line of the opening fence
    lang: str
    text: str
    options: dict[str, str] = field(default_factory=dict)

    @property
    def server(self) -> bool:
        return "server" in self.options

    def __str__(self) -> str:
        return f"{self.doc}:{self.line}"


def documents() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def blocks(path: Path) -> list[Block]:
    """Every fenced block of a Markdown file, with the doc-test options of the comment before it."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start = i
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        options: dict[str, str] = {}
        d = DIRECTIVE.match(lines[start - 1]) if start > 0 else None
        if d:
            for word in shlex.split(d.group(1)):
                key, _, value = word.partition("=")
                options[key] = value
        found.append(
            Block(
                str(path.relative_to(REPO)), start + 1, m.group(1), "\n".join(lines[start + 1 : j]), options
            )
        )
        i = j + 1
    return found


class Session:
    """One document's shell session: its environment, its folder, and the servers it started."""

    def __init__(
        self, env: dict[str, str], *, block_timeout: float = 300.0, server_timeout: float = 180.0
    ) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="mxhub-doc-"))
        bindir = str(Path(sys.executable).parent)  # `mxhub` and `python3` of the installation under test
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("MXHUB_")},
            "HOME": str(self.folder / "home"),
            "PATH": bindir + os.pathsep + os.environ.get("PATH", ""),
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        (self.folder / "home").mkdir()
        self.cwd = self.folder / "work"
        self.cwd.mkdir()
        self.block_timeout = block_timeout
        self.server_timeout = server_timeout
        self.servers: list[tuple[Block, subprocess.Popen, Path]] = []
        self.outputs: dict[str, str] = {}  # str(block) -> its stdout
        self.errors: dict[str, str] = {}  # str(block) -> its stderr

    def expand(self, text: str) -> str:
        return re.sub(r"\$\{?([A-Z_][A-Z0-9_]*)\}?", lambda m: self.env.get(m.group(1), ""), text)

    def run(self, block: Block) -> str:
        if "skip" in block.options:
            return ""
        if block.server:
            self._start(block)
            return ""
        state = self.folder / "state"
        script = f"set -eo pipefail\n{block.text}\nenv -0 > {shlex.quote(str(state))}\npwd > {shlex.quote(str(state))}.cwd\n"
        cwd = REPO if block.options.get("cwd") == "repo" else self.cwd
        try:
            done = subprocess.run(
                ["bash", "-c", script],
                cwd=cwd,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=self.block_timeout,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as exc:
            raise AssertionError(
                f"{block} did not finish in {self.block_timeout:g} s:\n{block.text}\n{self.server_logs()}"
            ) from exc
        if done.returncode != 0:
            raise AssertionError(
                f"{block} failed (exit {done.returncode}):\n{block.text}\n--- stdout\n{done.stdout}"
                f"\n--- stderr\n{done.stderr}\n{self.server_logs()}"
            )
        self.env = dict(item.split("=", 1) for item in state.read_text().split("\0") if "=" in item)
        if cwd == self.cwd:
            self.cwd = Path(Path(f"{state}.cwd").read_text().strip())
        self.outputs[str(block)] = done.stdout
        self.errors[str(block)] = done.stderr
        return done.stdout + done.stderr

    def _start(self, block: Block) -> None:
        log = self.folder / f"server-{len(self.servers)}.log"
        cwd = REPO if block.options.get("cwd") == "repo" else self.cwd
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                ["bash", "-c", f"set -eo pipefail\n{block.text}"],
                cwd=cwd,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )  # its own process group: stopped as one
        self.servers.append((block, proc, log))
        url = block.options.get("wait")
        if not url:
            return
        url = self.expand(url)
        deadline = time.monotonic() + self.server_timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(
                    f"{block} exited ({proc.returncode}) before {url} answered:\n{block.text}\n"
                    f"{log.read_text(errors='replace')[-4000:]}"
                )
            try:
                if httpx.get(url, timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise AssertionError(
            f"{block}: {url} did not answer within {self.server_timeout:g} s\n"
            f"{log.read_text(errors='replace')[-4000:]}"
        )

    def server_logs(self) -> str:
        return "\n".join(
            f"--- server {b} log\n{log.read_text(errors='replace')[-3000:]}" for b, _, log in self.servers
        )

    def close(self) -> list[str]:
        """Stop every server (SIGTERM to its process group, then wait); return what did not stop cleanly."""
        problems = []
        for block, proc, _ in reversed(self.servers):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
                problems.append(f"{block} did not stop within 60 s of SIGTERM")
        shutil.rmtree(self.folder, ignore_errors=True)
        return problems
