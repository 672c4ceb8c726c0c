"""`mxhub lims import` and `mxhub lims serve` against real PostgreSQL."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from click.testing import CliRunner

from mxhub.cli import main

EXAMPLES = Path(__file__).resolve().parents[3] / "docs" / "lims-examples"


def test_import_examples_then_a_bad_file(empty_pg_dsn, tmp_path):
    runner = CliRunner()
    files = [
        str(EXAMPLES / n)
        for n in ("hewl-optimisation.rockmaker.xml", "crims-plate-export.csv", "crims-plate-export.json")
    ]
    ok = runner.invoke(main, ["lims", "import", *files, "--dsn", empty_pg_dsn, "--json"])
    assert ok.exit_code == 0, ok.output
    reports = json.loads(ok.output)["files"]
    assert [(r["format"], r["imported"], r["errors"]) for r in reports] == [
        ("rockmaker-xml", 3, []),
        ("crims-csv", 3, []),
        ("crims-json", 1, []),
    ]
    bad = tmp_path / "export.csv"
    bad.write_text("plate_barcode,well,drop,pin_barcode\nP1,A1,1,PIN-1\nP1,Q99,1,PIN-2\n")
    failed = runner.invoke(main, ["lims", "import", str(bad), "--dsn", empty_pg_dsn])
    assert failed.exit_code == 1
    assert "1 imported, 1 failed" in failed.output and "line 3: malformed well 'Q99'" in failed.output


def test_serve_demo_answers_and_stops_on_sigterm(empty_pg_dsn):
    env = dict(os.environ, MXHUB_LIMS_DSN=empty_pg_dsn)
    # --open-access: this test asks the LIMS directly, as only a trusted network may
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mxhub",
            "lims",
            "serve",
            "--port",
            "0",
            "--demo",
            "--demo-collections",
            "300",
            "--name",
            "crims",
            "--open-access",
        ],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stderr.readline()
        m = re.search(r"(http://\S+)/graphql \((\d+) crystals", line)
        assert m, line
        url, crystals = m.group(1), int(m.group(2))
        assert crystals > 0
        r = httpx.post(
            f"{url}/graphql",
            json={
                "query": '{ crystallisationSearch(filter: {uniprotId: "P00698"}) '
                "{ count } limsInfo { name } }"
            },
        )
        data = r.json()["data"]
        assert data["limsInfo"] == {"name": "crims"} and 0 < data["crystallisationSearch"]["count"] < crystals
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0


def test_serve_refuses_to_start_answering_anyone_unless_told(empty_pg_dsn):
    """Issue 15: a LIMS cannot apply the sites' embargo, so by default it answers only trusted hubs."""
    env = dict(os.environ, MXHUB_LIMS_DSN=empty_pg_dsn, MXHUB_TRUSTED_HUB_KEYS="", MXHUB_OPEN_ACCESS="")
    done = subprocess.run(
        [sys.executable, "-m", "mxhub", "lims", "serve", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "a LIMS answers only the hubs it trusts: give --trust-hub-key" in done.stderr
