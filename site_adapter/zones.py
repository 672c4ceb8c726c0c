"""A facility's time zone: the configured IANA name checked once, at start-up (docs/time.md).

It reads no store and converts no record; the ISPyB backend's wall clock does that.
"""

from __future__ import annotations

import zoneinfo

DEFAULT_TIME_ZONE = "UTC"  # what a site that states no zone served before issue 21: its times as UTC


class UnknownTimeZone(ValueError):
    """A zone name the IANA database (zoneinfo) does not know."""


def facility_zone(name: str | None) -> zoneinfo.ZoneInfo:
    """The zone `name` (e.g. "Europe/London"), the default for None or ""; UnknownTimeZone otherwise."""
    key = (name or "").strip() or DEFAULT_TIME_ZONE
    try:
        return zoneinfo.ZoneInfo(key)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise UnknownTimeZone(
            f"unknown time zone {key!r}: give an IANA name such as Europe/London or UTC"
        ) from None
