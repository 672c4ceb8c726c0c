"""Fixtures for the reprocessing tests: the shared real data, skipped with a reason when it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.site_adapter.reprocess.reference import fixtures_dir


@pytest.fixture(scope="session")
def fixtures() -> Path:
    path = fixtures_dir()
    if not (path / "seed").is_dir():
        pytest.skip(f"shared fixtures not found at {path} (set MXHUB_FIXTURES)")
    return path


@pytest.fixture(scope="session")
def seed(fixtures: Path) -> Path:
    return fixtures / "seed"
