"""Where the real fixture images are: $MXHUB_FIXTURES, else ../shared/fixtures beside the repo."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


def fixtures_root() -> Path:
    configured = os.environ.get("MXHUB_FIXTURES")
    return Path(configured) if configured else REPO.parent / "shared" / "fixtures"


@pytest.fixture(scope="session")
def fixtures() -> Path:
    root = fixtures_root()
    if not (root / "images").is_dir():
        pytest.skip(f"real fixture images not found under {root}")
    return root


@pytest.fixture(scope="session")
def images(fixtures: Path) -> Path:
    return fixtures / "images"
