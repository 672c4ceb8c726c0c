"""The DateTime scalar the site serves: RFC 3339 with an offset, always UTC (+00:00), read back the
same way; an input without an offset is read as UTC (docs/time.md). No store access here."""

from __future__ import annotations

import datetime as dt

from strawberry.schema.types.base_scalars import DateTimeDefinition
from strawberry.types.scalar import ScalarDefinition

DESCRIPTION = (
    "An instant, as RFC 3339 date-time with its UTC offset. Sites serve every time in UTC "
    "(`2021-03-28T00:59:00+00:00`), converted from the facility's local time where the store keeps "
    "local wall-clock times. Input: any offset (`2021-03-28T01:59:00+01:00` is the same instant); "
    "a time without an offset is read as UTC."
)


def serialize(value: dt.datetime) -> str:
    """The instant in UTC with its offset; a naive value (none should reach here) is taken as UTC."""
    aware = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    return aware.isoformat()


DATE_TIME = ScalarDefinition(
    name="DateTime",
    description=DESCRIPTION,
    specified_by_url="https://datatracker.ietf.org/doc/html/rfc3339#section-5.6",
    serialize=serialize,
    parse_value=DateTimeDefinition.parse_value,  # strawberry's ISO 8601 reading; filters.py makes it UTC
    parse_literal=None,
    origin=dt.datetime,
)
