"""ISPyB's local wall-clock times (DataCollection.startTime, BLSession.startDate, ...) and instants:
the one place that converts between them with the facility's zone, in both directions (docs/time.md).

Rules, chosen so that the order of stored wall times is the order of the instants served (so keyset
pages stay exact, with the one exception docs/time.md states): a time in the autumn overlap is its first occurrence (summer offset, fold 0); a
time in the spring gap, which no clock showed, is the instant of the change. Both are noted. No SQL.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from site_adapter.backends.ispyb.normalise import date

_UTC = dt.UTC
_TICK = dt.timedelta(microseconds=1)
_REACH = dt.timedelta(days=1)  # every zone's offset from its wall time to UTC is well inside a day


@dataclass(frozen=True, slots=True)
class WallClock:
    """The facility's zone, converting its stored naive wall times to aware UTC instants and back."""

    zone: zoneinfo.ZoneInfo = zoneinfo.ZoneInfo("UTC")

    def instant(self, wall: dt.datetime) -> dt.datetime:
        """The UTC instant of a stored wall time, by the rules above."""
        return self.read(wall, "")[0]

    def read(self, wall: dt.datetime, label: str) -> tuple[dt.datetime, str | None]:
        """The UTC instant of a stored wall time and, for an ambiguous or non-existent one, a
        provenance note naming the column `label`."""
        first = wall.replace(tzinfo=self.zone, fold=0)
        second = wall.replace(tzinfo=self.zone, fold=1)
        early = first.astimezone(_UTC)
        if first.utcoffset() == second.utcoffset():
            return early, None
        if early.astimezone(self.zone).replace(tzinfo=None) == wall:  # the overlap: it happened twice
            return early, (
                f"{label}: local time {wall.isoformat()} occurred twice ({self.zone.key} clocks went back);"
                f" read as the first occurrence (UTC offset {_offset(first)})"
            )
        change = self._change(second.astimezone(_UTC), early)
        return change, (
            f"{label}: local time {wall.isoformat()} does not exist ({self.zone.key} clocks went forward);"
            f" read as the instant of the change, {change.isoformat()}"
        )

    def stored(self, raw: object, label: str) -> tuple[dt.datetime | None, str | None]:
        """A column's value as read from ISPyB (zero dates and NULL are None, normalise.date) as an
        instant, with read()'s note: the one conversion every ISPyB time goes through."""
        wall = date(raw)
        return (None, None) if wall is None else self.read(wall, label)

    def wall(self, instant: dt.datetime) -> dt.datetime:
        """The first stored wall time whose instant is at or after `instant` (aware; naive is UTC): so
        `column >= wall(t)` selects exactly the rows served at or after t, and `column < wall(t)` those
        before it, whatever the overlap and gap."""
        t = instant if instant.tzinfo is not None else instant.replace(tzinfo=_UTC)
        try:
            return self._wall(t)
        except OverflowError:  # a bound at the end of the calendar: no stored time lies beyond it
            return dt.datetime.max if t.year > 5000 else dt.datetime.min

    def _wall(self, t: dt.datetime) -> dt.datetime:
        guess = t.astimezone(self.zone).replace(tzinfo=None)
        if self.zone.key == "UTC":  # no changes: the wall time is the instant's (sites before issue 21)
            return guess
        low, high = guess - _REACH, guess + _REACH
        if self.instant(low) >= t:
            return low
        while high - low > _TICK:  # instant() never decreases with the wall time: halve the interval
            mid = low + (high - low) / 2
            if self.instant(mid) >= t:
                high = mid
            else:
                low = mid
        return high

    def walls(self, instant: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
        """The stored wall times served as exactly `instant`: those w with lo <= w < hi."""
        try:
            after = instant + _TICK
        except OverflowError:
            return self.wall(instant), dt.datetime.max
        return self.wall(instant), self.wall(after)

    def _change(self, before: dt.datetime, after: dt.datetime) -> dt.datetime:
        """The instant in (before, after] at which the zone's offset changed (a spring change)."""
        low, high = before, after
        target = after.astimezone(self.zone).utcoffset()
        while high - low > _TICK:
            mid = low + (high - low) / 2
            if mid.astimezone(self.zone).utcoffset() == target:
                high = mid
            else:
                low = mid
        return high


def _offset(value: dt.datetime) -> str:
    return value.isoformat()[-6:]


UTC_CLOCK = WallClock()
