"""Bad input at start (one line, BackendError), read-only operation, and recovery from a lost link."""

from __future__ import annotations

import asyncio
import socket
import uuid
from urllib.parse import urlsplit

import pytest

from site_adapter.backends.base import BackendError, DataCollectionFilter, PageRequest
from site_adapter.backends.ispyb import IspybBackend
from tests.fixtures.mariadb import admin_execute, with_database


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def start_error(dsn: str) -> str:
    backend = IspybBackend(dsn)
    with pytest.raises(BackendError) as info:
        await backend.start()
    await backend.close()
    message = str(info.value)
    assert "\n" not in message and message.startswith("ispyb backend: ")
    return message


async def test_unreachable_server():
    message = await start_error(f"mysql://root@127.0.0.1:{free_port()}/ispyb")
    assert "cannot connect to mysql://root@127.0.0.1" in message


async def test_wrong_credentials(ispyb_dsn):
    parts = urlsplit(ispyb_dsn)
    message = await start_error(f"mysql://root:wrong-password@{parts.hostname}:{parts.port}{parts.path}")
    assert "Access denied" in message and "wrong-password" not in message


async def test_bad_dsn():
    assert "mysql://" in await start_error("postgresql://localhost/ispyb")
    assert "no database" in await start_error("mysql://root@127.0.0.1:3306/")


async def test_not_an_ispyb_database(mariadb_server_dsn):
    name = f"mxhub_not_ispyb_{uuid.uuid4().hex[:8]}"
    await admin_execute(
        mariadb_server_dsn, f"CREATE DATABASE `{name}`; CREATE TABLE `{name}`.`Proposal` (proposalId int)"
    )
    try:
        message = await start_error(with_database(mariadb_server_dsn, name))
        assert "not an ISPyB database" in message and "BLSession" in message
        await admin_execute(mariadb_server_dsn, f"DROP TABLE `{name}`.`Proposal`")
        assert "no tables" in await start_error(with_database(mariadb_server_dsn, name))
    finally:
        await admin_execute(mariadb_server_dsn, f"DROP DATABASE `{name}`")


async def test_select_only_user_serves_everything(ispyb_readonly_dsn):
    backend = IspybBackend(ispyb_readonly_dsn, pool_size=2)
    await backend.start()
    try:
        assert backend.schema_version == "5.0.0"  # AdminVar.schemaVersion
        page = await backend.data_collections(
            DataCollectionFilter(sample_name="tlys_jan_4"), PageRequest(first=5)
        )
        assert [k[1] for k, _ in page.items] == [6017405, 993677]
        assert len((await backend.processing_by_collection(["993677"]))["993677"]) == 6
        assert await backend.sessions_of_login("boaty") == {"cm14451-1", "cm14451-2"}
        assert await backend.is_staff("staffy")
    finally:
        await backend.close()


async def test_sessions_are_read_only_even_for_root(ispyb):
    with pytest.raises(BackendError) as info:
        await ispyb.db.fetch("UPDATE Proposal SET title = 'x' WHERE proposalId = 37027")
    assert "READ ONLY" in str(info.value)
    assert (await ispyb.proposals_by_id(["37027"]))["37027"].title == "I03 Commissioning Directory 2016"


async def test_a_slow_query_times_out_and_the_pool_goes_on(ispyb_dsn):
    backend = IspybBackend(ispyb_dsn, pool_size=1)
    backend.db.query_timeout = 0.3
    await backend.start()
    try:
        with pytest.raises(BackendError) as info:
            await backend.db.fetch("SELECT SLEEP(2)")
        assert str(info.value) == "ispyb backend: query timed out after 0.3 s"
        await backend.ping()
        assert "993677" in await backend.data_collections_by_id(["993677"])
    finally:
        await backend.close()


class Proxy:
    """A TCP relay we can cut and restore, standing in for a MariaDB that goes away and comes back."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = free_port()
        self.server: asyncio.base_events.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
        for w in list(self.writers):
            w.close()
        self.writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


async def test_lost_connection_is_reported_and_recovered_without_restart(ispyb_dsn):
    parts = urlsplit(ispyb_dsn)
    proxy = Proxy(parts.hostname, parts.port)
    await proxy.start()
    backend = IspybBackend(
        f"mysql://{parts.netloc.split('@')[0]}@127.0.0.1:{proxy.port}{parts.path}", pool_size=2
    )
    backend.db.connect_timeout = 2
    await backend.start()
    try:
        assert "993677" in await backend.data_collections_by_id(["993677"])
        await proxy.stop()  # MariaDB "goes away": open sockets cut, new connections refused
        with pytest.raises(BackendError) as info:
            await backend.data_collections_by_id(["993677"])
        assert str(info.value).startswith("ispyb backend: ")
        with pytest.raises(BackendError):
            await backend.ping()
        await proxy.start()  # ... and comes back on the same address
        await backend.ping()
        assert "993677" in await backend.data_collections_by_id(["993677"])
    finally:
        await backend.close()
        await proxy.stop()
