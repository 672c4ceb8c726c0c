import datetime as dt

import pytest

from mx_schema.cursors import decode_cursor, encode_cursor, merge_key, time_key
from mx_schema.errors import InvalidCursor, InvalidGlobalId
from mx_schema.ids import decode_id, encode_id


def test_global_id_round_trip_names_the_site():
    gid = decode_id(encode_id("esrf", "DataCollection", "993677"))
    assert (gid.site, gid.type, gid.local_id) == ("esrf", "DataCollection", "993677")


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "xx",
        "!!!",
        encode_id("esrf", "DataCollection", "1")[:-3] + "$$$",
        "RGF0YUNvbGxlY3Rpb24",
        "Tm9wZTplc3JmOjE",
    ],
)
def test_malformed_global_ids_are_rejected(bad):
    with pytest.raises(InvalidGlobalId):
        decode_id(bad)


def test_cursor_round_trip_and_connection_check():
    key = (time_key(dt.datetime(2020, 5, 1, 12, 0, 0, 5)), 42)
    c = encode_cursor("dataCollections", key)
    assert decode_cursor("dataCollections", c) == key
    with pytest.raises(InvalidCursor):
        decode_cursor("samples", c)
    for bad in ["", "garbage", c[:-4], "YzE6WzFd"]:
        with pytest.raises(InvalidCursor):
            decode_cursor("dataCollections", bad)


def test_merge_key_orders_descending_times_with_nulls_last_and_sites_breaking_ties():
    keys = [
        (("2020-01-01T00:00:00.000000", 5), "b"),
        ((None, 9), "a"),
        (("2021-01-01T00:00:00.000000", 1), "a"),
        (("2020-01-01T00:00:00.000000", 5), "a"),
        (("2020-01-01T00:00:00.000000", 7), "a"),
    ]
    ordered = sorted(keys, key=lambda k: merge_key("dataCollections", k[0], k[1]))
    assert ordered == [keys[2], keys[4], keys[3], keys[0], keys[1]]


def test_merge_key_ascending_by_code_point():
    names = [("b", 1), ("B", 2), ("", 3), ("ab", 4), ("a", 5)]
    ordered = sorted(names, key=lambda k: merge_key("samples", k, "s"))
    assert [n for n, _ in ordered] == ["", "B", "a", "ab", "b"]
