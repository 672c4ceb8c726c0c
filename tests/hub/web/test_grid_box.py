"""Where detail-grid.js draws each image of a grid scan (issue 16), run in node: a raster fills its fast
direction first (GridInfo.orientation) and, when snaked (GridInfo.snaked: "the images were collected
in a snaked pattern"), runs every other line backwards. Without node the test skips, except under CI=true."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from importlib import resources

import pytest

SCRIPT = """
import { gridBox } from %s;
const grids = JSON.parse(process.argv[1]);
console.log(JSON.stringify(grids.map((g) => Array.from({ length: g.stepsX * g.stepsY }, (_, i) => gridBox(i, g)))));
"""


def positions(grids: list[dict]) -> list[list[list[int]]]:
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true and node is not installed")
        pytest.skip("node is not installed")
    module = resources.files("mx_hub").joinpath("static", "detail-grid.js")
    script = SCRIPT % json.dumps(f"file://{module}")
    out = subprocess.run(
        [node, "--input-type=module", "-e", script, json.dumps(grids)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(out.stdout)


def test_rasters_fill_the_fast_direction_and_snake_back():
    horizontal, snaked, vertical = positions(
        [
            {"stepsX": 3, "stepsY": 2, "orientation": "horizontal", "snaked": False},
            {"stepsX": 3, "stepsY": 2, "orientation": "horizontal", "snaked": True},
            {"stepsX": 2, "stepsY": 3, "orientation": "vertical", "snaked": True},
        ]
    )
    # images 1..6 as (column, row)
    assert horizontal == [[0, 0], [1, 0], [2, 0], [0, 1], [1, 1], [2, 1]]
    assert snaked == [[0, 0], [1, 0], [2, 0], [2, 1], [1, 1], [0, 1]]
    assert vertical == [[0, 0], [0, 1], [0, 2], [1, 2], [1, 1], [1, 0]]
