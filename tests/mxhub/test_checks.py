"""CI runs ruff, mypy and import-linter before the tests, with pinned checkers, and the package directions
are import-linter contracts that hold (issue 14, item 6: checks that nothing runs are not checks)."""

from __future__ import annotations

import subprocess
import sys
import tomllib

import pytest

from tests.mxhub.docrun import REPO

CHECKS = [
    "python3 -m ruff check .",
    "python3 -m ruff format --check .",
    "python3 -m mypy",
    "lint-imports",
]


def _ci_lines() -> list[str]:
    text = (REPO / ".ci" / "run").read_text()
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def test_ci_runs_every_check_after_installing_them_and_before_the_tests():
    lines = _ci_lines()
    assert "set -euo pipefail" in lines  # a failing check stops CI
    install = lines.index("python3 -m pip install -e '.[lint]'")
    tests = next(k for k, line in enumerate(lines) if "python3 -m pytest" in line)
    for check in CHECKS:
        assert check in lines, f".ci/run does not run {check!r}"
        assert install < lines.index(check) < tests, f"{check!r} runs after the tests or before its install"


def test_the_lint_extra_pins_each_checker_to_a_range():
    lint = _pyproject()["project"]["optional-dependencies"]["lint"]
    names = {spec.split(">")[0].split("<")[0].split("=")[0].strip(): spec for spec in lint}
    assert set(names) == {"ruff", "mypy", "import-linter"}
    for name, spec in names.items():
        assert ">=" in spec and "<" in spec.replace("<=", ""), f"{name} is not pinned to a range: {spec!r}"


def test_the_import_contracts_are_the_package_directions():
    config = _pyproject()["tool"]["importlinter"]
    assert set(config["root_packages"]) == {"mx_schema", "mx_hub", "site_adapter", "mxhub"}
    forbidden = {
        tuple(c["source_modules"]): set(c["forbidden_modules"])
        for c in config["contracts"]
        if c["type"] == "forbidden"
    }
    assert forbidden == {
        ("mx_schema",): {"mx_hub", "site_adapter", "mxhub"},
        ("mx_hub",): {"site_adapter", "mxhub"},
        ("site_adapter",): {"mx_hub", "mxhub"},
    }


def test_the_import_contracts_hold():
    pytest.importorskip("importlinter", reason="the lint extra (pip install -e '.[lint]') is not installed")
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from importlinter.cli import lint_imports_command as c; sys.exit(c())",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 kept, 0 broken" in done.stdout, done.stdout
