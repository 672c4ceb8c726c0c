"""The layout keeps its promises: dependencies point one way, packages come from this checkout,
docs name every setting, and every command answers --help."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"schema": "mx_schema", "hub": "mx_hub", "site_adapter": "site_adapter", "mxhub": "mxhub"}


def imports_of(folder: str) -> dict[str, set[str]]:
    out = {}
    for path in (ROOT / folder).rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        out[str(path.relative_to(ROOT))] = names
    return out


# Issue 14 item 5: one PostgreSQL pool and migration runner for registry, native store and LIMS lives in
# schema/postgres.py, the one module of schema/ allowed to import asyncpg.
# Issue 20: schema/oidc.py, the OIDC token check shared by the hub and sites behind a facility's router
# (neither may import the other), fetches the issuer's keys with httpx.
ALLOWED = {"schema/postgres.py": {"asyncpg"}, "schema/oidc.py": {"httpx"}}


@pytest.mark.parametrize(
    "folder,forbidden",
    [
        ("schema", {"site_adapter", "mx_hub", "mxhub", "strawberry", "starlette", "asyncpg", "httpx"}),
        ("hub", {"site_adapter", "mxhub"}),
        ("site_adapter", {"mx_hub", "mxhub"}),
    ],
)
def test_dependencies_point_one_way(folder, forbidden):
    found = imports_of(folder)
    bad = {
        path: sorted(hits)
        for path, names in found.items()
        if (hits := names & forbidden - ALLOWED.get(path, set()))
    }
    assert bad == {}
    assert all(path in found for path in ALLOWED if path.startswith(f"{folder}/"))  # no stale exception


def test_clashing_names_import_from_this_checkout():
    import mx_hub
    import mx_schema

    assert Path(mx_schema.__file__).resolve().parent == ROOT / "schema"
    assert Path(mx_hub.__file__).resolve().parent == ROOT / "hub"


def test_every_package_folder_is_packaged():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    packaged = set(config["packages"])
    found = set()
    for folder, name in FOLDERS.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            found.add(".".join([name, *rel.parts]))
    assert found - packaged == set()


def test_readme_names_every_environment_variable():
    used = set()
    for folder in FOLDERS:
        for path in (ROOT / folder).rglob("*.py"):
            used |= set(re.findall(r"MXHUB_[A-Z_]+", path.read_text(encoding="utf-8")))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert sorted(v for v in used if v not in readme) == []


def _commands(group, prefix=()):
    import click

    yield prefix
    if isinstance(group, click.Group):
        for name, cmd in group.commands.items():
            yield from _commands(cmd, prefix + (name,))


def test_every_command_has_help():
    from mxhub.cli import main

    runner = CliRunner()
    paths = list(_commands(main))
    assert ("demo",) in paths and ("site", "serve") in paths and ("hub", "register-site") in paths
    for path in paths:
        result = runner.invoke(main, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage:" in result.output


def test_python_dash_m_works():
    import subprocess

    out = subprocess.run(
        [sys.executable, "-m", "mxhub", "--help"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0 and "demo" in out.stdout


def test_unreachable_store_is_one_clear_line_and_nonzero_exit():
    import subprocess

    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "mxhub",
            "site",
            "serve",
            "--name",
            "x",
            "--open-access",
            "--dsn",
            "postgresql://nobody@127.0.0.1:1/none",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot connect" in lines[0] and "Traceback" not in out.stderr
