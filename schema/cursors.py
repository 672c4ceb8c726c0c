"""Opaque connection cursors and the order of every root connection.

A site cursor holds a record's keyset position (its ordering values, then its integer local id),
so the hub can merge sites' pages in one global order and resume each site exactly where it was.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from mx_schema.errors import InvalidCursor


# Per root connection: the ordering value's name and whether it descends. Ties break on the
# local id in the same direction; at the hub, then on the site name (ascending).
@dataclass(frozen=True, slots=True)
class Ordering:
    key: str
    descending: bool


ORDERINGS: dict[str, Ordering] = {
    "dataCollections": Ordering("startTime", descending=True),  # newest first, missing times last
    "sessions": Ordering("startTime", descending=True),
    "samples": Ordering("name", descending=False),
    "proteins": Ordering("acronym", descending=False),
    "proposals": Ordering("proposal", descending=False),
}

_PREFIX = "c1:"


def encode_cursor(connection: str, key: tuple[Any, ...]) -> str:
    payload = json.dumps([connection, *key], separators=(",", ":"), default=str)
    return base64.urlsafe_b64encode((_PREFIX + payload).encode()).rstrip(b"=").decode("ascii")


def decode_cursor(connection: str, cursor: str) -> tuple[Any, ...]:
    """Return the keyset position in `cursor`, which must belong to `connection`."""
    if not isinstance(cursor, str) or not cursor or len(cursor) > 4096:
        raise InvalidCursor("malformed cursor")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("utf-8")
        if not raw.startswith(_PREFIX):
            raise ValueError
        values = json.loads(raw[len(_PREFIX) :])
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidCursor("malformed cursor") from None
    if not isinstance(values, list) or len(values) != 3 or values[0] != connection:
        raise InvalidCursor(f"cursor does not belong to {connection}")
    sort_value, local_id = values[1], values[2]
    if not isinstance(local_id, int) or not (sort_value is None or isinstance(sort_value, str)):
        raise InvalidCursor("malformed cursor")
    return (sort_value, local_id)


def time_key(value: Any) -> str | None:
    """A timestamp as a fixed-width string of its UTC wall time, so that keys compare the same in
    Python and SQL and the hub merges sites in different zones by instant (docs/time.md). A naive
    value is taken as UTC already."""
    if value is None:
        return None
    if getattr(value, "tzinfo", None) is not None:
        value = value.astimezone(UTC)
    key: str = value.strftime("%Y-%m-%dT%H:%M:%S.%f")
    return key


def merge_key(connection: str, key: tuple[Any, ...], site: str) -> tuple[Any, ...]:
    """A sort tuple that orders records of many sites as one list (used by the hub's merge).

    Null ordering values are the smallest: first when ascending, last when descending. Strings
    compare by code point, as the stores' ORDER BY ... COLLATE "C" (binary in MariaDB) does.
    """
    ordering = ORDERINGS[connection]
    value, local_id = key
    if ordering.descending:
        # Invert by negating where possible; for strings, sort on a reversed code-point tuple.
        inv = tuple(-ord(ch) for ch in (value or "")) + (0x110000,) if value is not None else (0x110001,)
        return (0, inv, -local_id, site)
    return (0, tuple(ord(ch) for ch in (value or "")), local_id, site)
