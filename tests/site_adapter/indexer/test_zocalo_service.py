"""The index worker as a zocalo/workflows service (issue 18, item 2), on the real RabbitMQ through
workflows' own PikaTransport: a recipe whose step names the l_cysteine files ends with 4 sweeps of 15
in the store and the result on the step's output queue; a step outside the roots goes to `failure`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aio_pika
import asyncpg
import pytest

from tests.fixtures.images import REPO

pytest.importorskip("workflows", reason="workflows (the zocalo service framework) is not installed")

LIMIT = 120.0  # seconds: a generous bound for a condition, never an assertion on time
START = (
    "import sys; from workflows.contrib.start_service import ServiceStarter; "
    "ServiceStarter().run(['-s', 'MxhubIndex', '-t', 'PikaTransport', *sys.argv[1:]], program_name='svc')"
)


def _pika_options(url: str) -> dict[str, str]:
    """workflows' PikaTransport options for an amqp:// URL (it takes host, port, user, password, vhost)."""
    parts = urlsplit(url)
    return {
        "--rabbit-host": parts.hostname or "127.0.0.1",
        "--rabbit-port": str(parts.port or 5672),
        "--rabbit-user": unquote(parts.username or "guest"),
        "--rabbit-pass": unquote(parts.password or "guest"),
        "--rabbit-vhost": unquote(parts.path[1:]) if len(parts.path) > 1 else "/",
    }


STATUS = "transient.status"


async def _ensure_status_exchange(connection: aio_pika.abc.AbstractConnection) -> bool:
    """Declare the status exchange when it is absent; True when this test made it."""
    probe = await connection.channel()
    try:
        await probe.declare_exchange(STATUS, passive=True)
        return False
    except aio_pika.exceptions.ChannelClosed:  # NOT_FOUND closes the probing channel
        pass
    channel = await connection.channel()
    await channel.declare_exchange(STATUS, aio_pika.ExchangeType.FANOUT, durable=True)
    await channel.close()
    return True


def _send_recipe(recipe: dict, options: dict[str, str]) -> None:
    """Start a recipe as zocalo's own tools do: workflows' RecipeWrapper over PikaTransport."""
    from workflows.recipe.wrapper import RecipeWrapper
    from workflows.transport.pika_transport import PikaTransport

    transport = PikaTransport()
    transport.config = {**options, "--rabbit-port": int(options["--rabbit-port"])}
    transport.connect()
    try:
        RecipeWrapper(recipe=recipe, transport=transport).start()
    finally:
        transport.disconnect()


async def _get(channel: aio_pika.abc.AbstractChannel, queue: str) -> dict:
    q = await channel.declare_queue(queue, durable=True)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LIMIT
    while (message := await q.get(no_ack=True, fail=False)) is None:
        if loop.time() > deadline:
            pytest.fail(f"nothing arrived on {queue}")
        await asyncio.sleep(0.1)
    return json.loads(message.body)


async def test_recipe_step_indexes_and_sends_its_result_onwards(rabbitmq_url, native_dsn, images, tmp_path):
    options = _pika_options(rabbitmq_url)
    name = f"mxhub.test.zocalo.{uuid.uuid4().hex[:10]}"
    queues = {"service": name, "out": f"{name}.out", "failure": f"{name}.failure"}
    connection = await aio_pika.connect(rabbitmq_url)
    channel = await connection.channel()
    for q in queues.values():
        await channel.declare_queue(q, durable=True)
    # A zocalo broker has the status broadcast exchange (zocalo.configure_rabbitmq makes it); a bare
    # RabbitMQ does not, and workflows' frontend broadcasts its status there.
    created_status = await _ensure_status_exchange(connection)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MXHUB_")}
    env.update(
        MXHUB_IMAGE_STORE_DSN=native_dsn,
        MXHUB_INDEX_ROOTS=str(images / "l_cysteine"),
        MXHUB_SITE_NAME="testsite",
        MXHUB_ZOCALO_QUEUE=queues["service"],
    )
    log = tmp_path / "service.log"
    with log.open("wb") as out:
        args = [a for pair in options.items() for a in pair]
        proc = subprocess.Popen(
            [sys.executable, "-c", START, *args],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=out,
            start_new_session=True,  # the frontend forks the service: stop both, as one group
        )
    try:
        lcys = images / "l_cysteine"
        step = {"service": "mxhub index", "queue": queues["service"]}
        recipe = {
            "1": {**step, "parameters": {"paths": [str(lcys)], "collection": "11"}, "output": 2},
            "2": {"service": "collector", "queue": queues["out"]},
            "start": [[1, {}]],
        }
        await asyncio.to_thread(_send_recipe, recipe, options)
        result = await _get(channel, queues["out"])
        refused = {
            "1": {
                **step,
                "parameters": {"paths": [str(Path(tmp_path))]},
                "output": {"success": 2, "failure": 3},
            },
            "2": {"service": "collector", "queue": queues["out"]},
            "3": {"service": "failures", "queue": queues["failure"]},
            "start": [[1, {}]],
        }
        await asyncio.to_thread(_send_recipe, refused, options)
        failure = await _get(channel, queues["failure"])
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        for q in queues.values():
            await channel.queue_delete(q)
        if created_status:
            await channel.exchange_delete(STATUS)
        await connection.close()
    payload = result["payload"]
    assert payload["collection"] == "11" and payload["failed"] == [], log.read_text()
    assert [(s["template"], s["first"], s["last"], s["count"]) for s in payload["sweeps"]] == [
        (f"l-cyst_0{k}_#####.cbf", 1, 15, 15) for k in range(1, 5)
    ]
    assert payload["indexed"] == 60
    conn = await asyncpg.connect(native_dsn)
    try:
        assert await conn.fetchval("SELECT count(DISTINCT path) FROM image_file") == 60
        assert await conn.fetchval("SELECT count(*) FROM image_set WHERE image_count = 15") == 4
    finally:
        await conn.close()
    assert failure["payload"]["kind"] == "outside_roots"
    assert str(tmp_path) in failure["payload"]["reason"]
