"""The ISPyB wall clock without a database: the rules of docs/time.md at the 2021 changes, by hand, and
the inverse (`wall`) that filters, cursors and the embargo use to compare instants in SQL."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from site_adapter.backends.ispyb.localtime import WallClock
from site_adapter.zones import UnknownTimeZone, facility_zone

LONDON = WallClock(zoneinfo.ZoneInfo("Europe/London"))
PARIS = WallClock(zoneinfo.ZoneInfo("Europe/Paris"))
Z = dt.UTC


def test_ordinary_times_take_the_offset_in_force():
    assert LONDON.read(dt.datetime(2021, 1, 10, 9), "startTime") == (
        dt.datetime(2021, 1, 10, 9, tzinfo=Z),
        None,
    )
    assert LONDON.read(dt.datetime(2021, 7, 10, 9), "startTime") == (
        dt.datetime(2021, 7, 10, 8, tzinfo=Z),
        None,
    )
    assert PARIS.read(dt.datetime(2021, 7, 10, 9), "startTime") == (
        dt.datetime(2021, 7, 10, 7, tzinfo=Z),
        None,
    )


def test_a_time_in_the_spring_gap_is_the_instant_of_the_change_and_noted():
    for clock, wall in ((LONDON, dt.datetime(2021, 3, 28, 1, 30)), (PARIS, dt.datetime(2021, 3, 28, 2, 30))):
        got, note = clock.read(wall, "startTime")
        assert got == dt.datetime(2021, 3, 28, 1, tzinfo=Z)  # EU clocks change at 01:00 UTC
        assert note is not None and note.startswith("startTime:") and "does not exist" in note


def test_a_time_in_the_autumn_overlap_is_its_first_occurrence_and_noted():
    got, note = LONDON.read(dt.datetime(2021, 10, 31, 1, 30), "endDate")
    assert got == dt.datetime(2021, 10, 31, 0, 30, tzinfo=Z)  # 01:30 BST, not 01:30 GMT
    assert note is not None and note.startswith("endDate:") and "occurred twice" in note and "+01:00" in note
    got, note = PARIS.read(dt.datetime(2021, 10, 31, 2, 30), "startTime")
    assert got == dt.datetime(2021, 10, 31, 0, 30, tzinfo=Z) and note is not None and "+02:00" in note


def test_zero_dates_and_null_stay_null():
    assert LONDON.stored("0000-00-00 00:00:00", "startTime") == (None, None)
    assert LONDON.stored(None, "startTime") == (None, None)


def _night(start: dt.datetime) -> list[dt.datetime]:
    return [start + dt.timedelta(minutes=m) for m in range(0, 6 * 60, 7)]


@pytest.mark.parametrize("clock", [LONDON, PARIS])
@pytest.mark.parametrize("night", [dt.datetime(2021, 3, 27, 22), dt.datetime(2021, 10, 30, 22)])
def test_wall_order_is_instant_order_and_wall_inverts_it(clock, night):
    walls = _night(night)
    instants = [clock.instant(w) for w in walls]
    assert instants == sorted(instants)  # never decreasing: SQL's wall order is the served order
    tick = dt.timedelta(microseconds=1)
    for t in [
        dt.datetime(2021, night.month, night.day, 21, tzinfo=Z) + dt.timedelta(minutes=m)
        for m in range(0, 360, 5)
    ]:
        w = clock.wall(t)
        assert clock.instant(w) >= t and clock.instant(w - tick) < t  # the first wall time at or after t
        # the SQL bound selects exactly the walls whose instant is at or after t
        assert [x for x in walls if x >= w] == [x for x in walls if clock.instant(x) >= t]


def test_bounds_at_the_ends_of_the_calendar_do_not_overflow():
    assert PARIS.wall(dt.datetime.max.replace(tzinfo=Z)) == dt.datetime.max
    assert PARIS.wall(dt.datetime.min.replace(tzinfo=Z)) == dt.datetime.min


def test_zone_names():
    assert facility_zone(None).key == "UTC" and facility_zone("").key == "UTC"
    assert facility_zone("Europe/Stockholm").key == "Europe/Stockholm"
    for bad in ("Europe/Nowhere", "../etc/passwd", "CEST+2"):
        with pytest.raises(UnknownTimeZone, match="unknown time zone"):
            facility_zone(bad)


@pytest.mark.parametrize("zone", ["Europe/Paris", "Asia/Tokyo", "America/New_York", "UTC"])
@pytest.mark.parametrize(
    "instant",
    [
        dt.datetime(1, 1, 1, 23, 55, 39, tzinfo=Z),  # Paris: its wall time overflowed (reviewer's finding)
        dt.datetime(1, 1, 1, tzinfo=Z),
        dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=Z),
    ],
)
def test_bounds_at_the_ends_of_the_calendar_give_a_wall_time_not_an_error(zone, instant):
    # A filter or a forged cursor can carry any instant; the bound must clamp, never raise (an INTERNAL error).
    clock = WallClock(zoneinfo.ZoneInfo(zone))
    low, high = clock.walls(instant)
    assert dt.datetime.min <= low <= high <= dt.datetime.max
    assert clock.wall(instant) == low
