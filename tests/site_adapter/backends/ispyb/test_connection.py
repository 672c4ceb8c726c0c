"""DSN parsing and the backend's shape, without a database."""

from __future__ import annotations

import pytest

from site_adapter.backends.base import Backend, BackendError
from site_adapter.backends.ispyb import IspybBackend
from site_adapter.backends.ispyb.connection import parse_dsn


def test_dsn_forms():
    d = parse_dsn("mysql://reader:s%40cret@db.example:3307/ispyb")
    assert (d.user, d.password, d.host, d.port, d.database) == (
        "reader",
        "s@cret",
        "db.example",
        3307,
        "ispyb",
    )
    assert d.safe() == "mysql://reader@db.example:3307/ispyb"  # never the password
    assert parse_dsn("mariadb://root@127.0.0.1/ispyb").port == 3306
    with pytest.raises(BackendError):
        parse_dsn("postgresql://x/ispyb")
    with pytest.raises(BackendError):
        parse_dsn("mysql://x:3306")


def test_backend_implements_the_protocol():
    backend = IspybBackend("mysql://root@127.0.0.1:3306/ispyb")
    assert isinstance(backend, Backend) and backend.kind == "ispyb"
    assert backend.schema_version is None  # known after start()
