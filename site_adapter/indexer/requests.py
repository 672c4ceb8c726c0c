"""Index requests as they travel on the broker (issue 18): the message format, its validation, and the
rule that a request may only name paths under the worker's configured roots. Pure: no broker, no store.

A request is one AMQP message, content type `application/json`, body
`{"paths": ["/abs/path", ...], "collection": "optional id"}` (CONTRACT.md, "Additions in 1.1").
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

CONTENT_TYPE = "application/json"
MAX_PATHS = 100_000  # one request per collection or per file; more is a mistake, not a collection


class Rejected(Exception):
    """A request that will never succeed as sent: it is dead-lettered with `reason`, never retried.

    `kind` is a bounded label for metrics and the dead letter's `x-mxhub-kind` header."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


@dataclass(frozen=True, slots=True)
class IndexRequest:
    paths: tuple[str, ...]
    collection: str | None = None

    def to_body(self) -> bytes:
        return json.dumps({"paths": list(self.paths), "collection": self.collection}).encode()


def parse_request(body: bytes, content_type: str | None) -> IndexRequest:
    """The request in a message, or Rejected("malformed", why) for a wrong content type, a body that is
    not UTF-8 JSON, or one of the wrong shape. Keys other than paths and collection are ignored."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media != CONTENT_TYPE:
        raise Rejected("malformed", f"content type must be {CONTENT_TYPE}, not {content_type or 'none'!r}")
    try:
        data: Any = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise Rejected("malformed", f"body is not UTF-8 JSON: {exc}") from None
    return request_from(data)


def request_from(data: Any) -> IndexRequest:
    """The request in a decoded body (or a zocalo recipe step's parameters), or Rejected("malformed")."""
    if not isinstance(data, dict):
        raise Rejected("malformed", f"body must be a JSON object, not {type(data).__name__}")
    paths = data.get("paths")
    if not isinstance(paths, list) or not paths:
        raise Rejected("malformed", '"paths" must be a non-empty list of absolute paths')
    if len(paths) > MAX_PATHS:
        raise Rejected("malformed", f'"paths" lists {len(paths)} paths; at most {MAX_PATHS} per request')
    for p in paths:
        if not isinstance(p, str) or not p or "\x00" in p:
            raise Rejected("malformed", f'"paths" must hold non-empty strings, not {p!r}'[:300])
        if not os.path.isabs(p):
            raise Rejected("malformed", f"path is not absolute: {p!r}"[:300])
    collection = data.get("collection")
    if collection is not None and not isinstance(collection, str | int):
        raise Rejected("malformed", '"collection" must be a string (a data collection id) or null')
    return IndexRequest(tuple(paths), None if collection is None else str(collection))


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def check_roots(paths: Sequence[str], roots: Sequence[str]) -> None:
    """Refuse (Rejected "outside_roots") a path that is not under a configured root, by its normalised
    name and by where its links lead: a message must not make a worker read /etc or another facility's
    tree. Symbolic links met during the walk are held to the same roots (scan's follow_links_into)."""
    real_roots = [os.path.realpath(r) for r in roots]
    plain_roots = [os.path.normpath(r) for r in roots]
    outside = [
        p
        for p in paths
        if not any(_inside(os.path.normpath(p), r) for r in plain_roots)
        or not any(_inside(os.path.realpath(p), r) for r in real_roots)
    ]
    if outside:
        shown = ", ".join(outside[:5]) + (f" and {len(outside) - 5} more" if len(outside) > 5 else "")
        raise Rejected("outside_roots", f"outside the worker's roots ({', '.join(roots)}): {shown}"[:1000])
