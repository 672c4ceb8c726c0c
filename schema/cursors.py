"""Opaque connection cursors and the order of every root connection.

A site cursor holds a record's keyset position (its ordering values, then its integer local id),
so the hub can merge sites' pages in one global order and resume each site exactly where it was.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from mx_schema.errors import ContractError, InvalidCursor


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


@dataclass(frozen=True, slots=True)
class SortOrder:
    """A caller's `orderBy` on dataCollections (since 1.2.0): a field of DATA_COLLECTION_ORDER_FIELDS
    (its GraphQL enum name) and a direction. Missing values sort last in both directions; ties break on
    the local id in the same direction, then (at the hub) on the site name ascending."""

    field: str
    descending: bool

    @property
    def tag(self) -> str:
        """How a cursor names the ordering it belongs to, e.g. `RESOLUTION:ASC`."""
        return f"{self.field}:{'DESC' if self.descending else 'ASC'}"

    @property
    def numeric(self) -> bool:
        return self.field != "START_TIME"


# The orderings dataCollections(orderBy:) offers: the enum name and what it sorts by. The metrics are
# those of the best processing result (the successful one with the smallest overall resolutionHigh).
DATA_COLLECTION_ORDER_FIELDS: dict[str, str] = {
    "START_TIME": "startTime",
    "RESOLUTION": "bestProcessing.overall.resolutionHigh",
    "COMPLETENESS": "bestProcessing.overall.completeness",
    "CC_HALF": "bestProcessing.overall.ccHalf",
    "I_OVER_SIGMA": "bestProcessing.overall.meanIOverSigI",
}
# Today's order (ORDERINGS["dataCollections"]): its cursors carry no tag, so 1.0/1.1 cursors stay valid.
DEFAULT_ORDER = SortOrder("START_TIME", descending=True)


def sort_order(field: str, descending: bool) -> SortOrder | None:
    """The SortOrder of an `orderBy` input; None for the default (so cursors stay untagged)."""
    if field not in DATA_COLLECTION_ORDER_FIELDS:
        raise ContractError(f"unknown ordering field {field!r}")
    order = SortOrder(field, descending)
    return None if order == DEFAULT_ORDER else order


def order_from_tag(tag: object) -> SortOrder | None:
    """The ordering a cursor's tag names (None: the default); InvalidCursor for an unknown tag."""
    if tag is None:
        return None
    if not isinstance(tag, str) or ":" not in tag:
        raise InvalidCursor("malformed cursor")
    field, _, direction = tag.partition(":")
    if field not in DATA_COLLECTION_ORDER_FIELDS or direction not in ("ASC", "DESC"):
        raise InvalidCursor("malformed cursor")
    return sort_order(field, direction == "DESC")


_PREFIX = "c1:"


def encode_cursor(connection: str, key: tuple[Any, ...], order: SortOrder | None = None) -> str:
    """A default-ordered cursor is [connection, value, id] as before 1.2.0; another ordering appends its tag."""
    values = [connection, *key] + ([order.tag] if order is not None else [])
    payload = json.dumps(values, separators=(",", ":"), default=str)
    return base64.urlsafe_b64encode((_PREFIX + payload).encode()).rstrip(b"=").decode("ascii")


def decode_cursor(connection: str, cursor: str, order: SortOrder | None = None) -> tuple[Any, ...]:
    """Return the keyset position in `cursor`, which must belong to `connection` and to `order`
    (None: the connection's default order): a cursor of another ordering is an InvalidCursor."""
    if not isinstance(cursor, str) or not cursor or len(cursor) > 4096:
        raise InvalidCursor("malformed cursor")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("utf-8")
        if not raw.startswith(_PREFIX):
            raise ValueError
        values = json.loads(raw[len(_PREFIX) :])
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidCursor("malformed cursor") from None
    if not isinstance(values, list) or len(values) not in (3, 4) or values[0] != connection:
        raise InvalidCursor(f"cursor does not belong to {connection}")
    if order_from_tag(values[3] if len(values) == 4 else None) != order:
        raise InvalidCursor(
            f"cursor belongs to another ordering of {connection} than {_describe(order)}: "
            "start again without `after` when you change `orderBy`"
        )
    sort_value, local_id = values[1], values[2]
    if not isinstance(local_id, int) or isinstance(local_id, bool):
        raise InvalidCursor("malformed cursor")
    if order is not None and order.numeric:
        ok = sort_value is None or (
            isinstance(sort_value, int | float)
            and not isinstance(sort_value, bool)
            and math.isfinite(sort_value)
        )
    else:
        ok = sort_value is None or isinstance(sort_value, str)
    if not ok:
        raise InvalidCursor("malformed cursor")
    return (sort_value, local_id)


def _describe(order: SortOrder | None) -> str:
    return "the default order" if order is None else f"orderBy {order.tag}"


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


def merge_key(
    connection: str, key: tuple[Any, ...], site: str, order: SortOrder | None = None
) -> tuple[Any, ...]:
    """A sort tuple that orders records of many sites as one list (used by the hub's merge).

    Default orders: null ordering values are the smallest: first when ascending, last when descending.
    Strings compare by code point, as the stores' ORDER BY ... COLLATE "C" (binary in MariaDB) does.
    An `orderBy` (SortOrder): missing values last in both directions, ties by local id in the same
    direction, then by site name ascending.
    """
    value, local_id = key
    if order is not None:
        if value is None:
            return (1, 0, -local_id if order.descending else local_id, site)
        if order.numeric:
            return (
                0,
                -value if order.descending else value,
                -local_id if order.descending else local_id,
                site,
            )
        codes = tuple(ord(ch) for ch in value)
        if order.descending:
            return (0, tuple(-c for c in codes) + (0x110000,), -local_id, site)
        return (0, codes, local_id, site)
    ordering = ORDERINGS[connection]
    if ordering.descending:
        # Invert by negating where possible; for strings, sort on a reversed code-point tuple.
        inv = tuple(-ord(ch) for ch in (value or "")) + (0x110000,) if value is not None else (0x110001,)
        return (0, inv, -local_id, site)
    return (0, tuple(ord(ch) for ch in (value or "")), local_id, site)


# distinctProteins (since 1.2.0; docs/proteins.md): groups ordered by (keyKind, key) ascending, by code
# point, ACRONYM before UNIPROT. A group's key is the same at every site, so its cursor names no site and
# no local id: the hub's cursor is the key of the last group it returned, and it is passed unchanged to
# every site. A cursor of `proteins` (or of any other connection) is an InvalidCursor here, and back.
GROUP_KINDS = ("ACRONYM", "UNIPROT")
GROUP_CONNECTIONS = ("distinctProteins",)


def encode_group_cursor(connection: str, kind: str, key: str) -> str:
    """The cursor of a group: [connection, keyKind, key] (a record cursor has an integer local id)."""
    return encode_cursor(connection, (kind, key))


def decode_group_cursor(connection: str, cursor: str) -> tuple[str, str]:
    """(keyKind, key) of a group cursor of `connection`; InvalidCursor for anything else."""
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
    kind, key = values[1], values[2]
    if kind not in GROUP_KINDS or not isinstance(key, str):
        raise InvalidCursor(f"cursor does not belong to {connection}")
    return kind, key


def group_merge_key(kind: str, key: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The order of groups as the stores sort them (COLLATE "C" / utf8mb4_bin): by code point."""
    return (tuple(ord(c) for c in kind), tuple(ord(c) for c in key))
