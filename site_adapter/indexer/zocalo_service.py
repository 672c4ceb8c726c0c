"""The index worker as a service of Diamond's `workflows`/zocalo framework (issue 18, item 2): it takes a
recipe step's parameters (`paths`, `collection`), runs the indexer's own scan on them, and sends the
result to the step's output. Registered as the `workflows.services` entry point `MxhubIndex`.

Configured from the environment, like any zocalo service: MXHUB_IMAGE_STORE_DSN (then MXHUB_SITE_DSN) for
the store, MXHUB_INDEX_ROOTS for the trees a step may name, MXHUB_SITE_NAME, MXHUB_ZOCALO_QUEUE for the
queue it listens on. Started with `zocalo.service -s MxhubIndex` or workflows' ServiceStarter.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import asyncpg
import workflows.recipe
from workflows.services.common_service import CommonService

from site_adapter.indexer.requests import Rejected, check_roots, request_from
from site_adapter.indexer.worker import index_request, roots_from

DEFAULT_QUEUE = "mxhub.index.zocalo"


class MxhubIndex(CommonService):
    """Index the files a recipe step names; send `{"collection", "sweeps", "failed", ...}` onwards.

    The message is acked in the same broker transaction as the output is sent, after the store commit:
    a service killed mid-step leaves the step to be redelivered (the store write is idempotent). A step
    that can never succeed (bad parameters, paths outside the roots) is sent to the step's `failure`
    output, when it has one, with the reason, and acked; never retried forever. Files that cannot be
    indexed are listed in the result's `failed`, with their reasons, as `mxhub index --json` lists them."""

    _service_name = "mxhub index"
    _logger_name = "mxhub.index.zocalo"

    def initializing(self) -> None:
        self._dsn = os.environ.get("MXHUB_IMAGE_STORE_DSN") or os.environ.get("MXHUB_SITE_DSN") or ""
        self._roots = roots_from([os.environ.get("MXHUB_INDEX_ROOTS", "")])
        self._site = os.environ.get("MXHUB_SITE_NAME") or "local"
        self._loop = asyncio.new_event_loop()
        if not self._dsn or not self._roots:
            raise RuntimeError("set MXHUB_IMAGE_STORE_DSN (or MXHUB_SITE_DSN) and MXHUB_INDEX_ROOTS")
        queue = os.environ.get("MXHUB_ZOCALO_QUEUE") or DEFAULT_QUEUE
        workflows.recipe.wrap_subscribe(self._transport, queue, self.index, acknowledgement=True)

    def in_shutdown(self) -> None:
        self._loop.close()

    def index(self, rw: Any, header: dict[str, Any], message: Any) -> None:
        parameters = dict(rw.recipe_step.get("parameters") or {})
        paths = parameters.get("paths")
        if isinstance(paths, str):  # a recipe naming one directory
            parameters["paths"] = [paths]
        try:
            request = request_from(parameters)
            check_roots(request.paths, self._roots)
        except Rejected as exc:
            self.log.warning("index step refused: %s", exc.reason)
            self._finish(rw, header, "failure", {"kind": exc.kind, "reason": exc.reason})
            return
        summary = self._loop.run_until_complete(self._scan(request))
        result = {
            "collection": request.collection,
            "files": summary["files"],
            "indexed": summary["indexed"],
            "skipped": summary["skipped"],
            "failed": summary["failed"],
            "sweeps": summary["sweeps"],
        }
        self._finish(rw, header, None, result)

    async def _scan(self, request: Any) -> dict[str, Any]:
        conn = await asyncpg.connect(self._dsn)
        try:
            from site_adapter.backends.native.migrate import migrate

            await migrate(conn)
            return await index_request(conn, request, roots=self._roots, site=self._site)
        finally:
            await conn.close()

    def _finish(self, rw: Any, header: dict[str, Any], output: str | None, payload: dict[str, Any]) -> None:
        """Ack and send in one broker transaction: the result to the step's output (its unnamed output,
        or the channel `success` when outputs are named), a refusal to the channel `failure` (dropped
        when the recipe has none)."""
        rw.set_default_channel("success")
        txn = rw.transport.transaction_begin(subscription_id=header["subscription"])
        rw.transport.ack(header, transaction=txn)
        if output is None:
            rw.send(payload, transaction=txn)
        else:
            rw.send_to(output, payload, transaction=txn)
        rw.transport.transaction_commit(txn)
