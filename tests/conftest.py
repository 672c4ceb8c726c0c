"""Fixtures for every real component live in tests/fixtures/, one module each."""

from tests.fixtures.access import *  # noqa: F401,F403
from tests.fixtures.contract import *  # noqa: F401,F403
from tests.fixtures.hub import *  # noqa: F401,F403
from tests.fixtures.images import *  # noqa: F401,F403
from tests.fixtures.lims import *  # noqa: F401,F403
from tests.fixtures.mariadb import *  # noqa: F401,F403
from tests.fixtures.postgres import *  # noqa: F401,F403
from tests.fixtures.rabbitmq import *  # noqa: F401,F403
from tests.fixtures.redis import *  # noqa: F401,F403
from tests.fixtures.sites import *  # noqa: F401,F403
from tests.fixtures.spans import *  # noqa: F401,F403
from tests.fixtures.time_zones import *  # noqa: F401,F403
