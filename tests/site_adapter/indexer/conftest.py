"""The real fixture images (tests/fixtures/images.py): re-exported for the indexer's tests."""

from tests.fixtures.images import REPO, fixtures_root  # noqa: F401
