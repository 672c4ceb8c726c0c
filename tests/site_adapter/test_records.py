"""From record to GraphQL type by name (issue 14): every stored field of a type is filled from the
model, so a field added to both needs no conversion code, and a field the model lacks is named."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
import strawberry

from mx_schema.ids import decode_id
from site_adapter import model
from site_adapter.graphql.records import from_record
from site_adapter.graphql.types import Node, Session


def session_record() -> model.Session:
    values = {}
    for f in dataclasses.fields(model.Session):
        values[f.name] = {"local_id": "42", "visit": "cm14451-2", "proposal": "cm14451"}.get(f.name)
    values["start_time"] = dt.datetime(2020, 1, 1, 9)
    return model.Session(**values)


def test_every_field_comes_from_the_record_by_name():
    r = session_record()
    s = Session.of("diamond", r)
    g = decode_id(str(s.id))
    assert (g.site, g.type, g.local_id) == ("diamond", "Session", "42")
    assert (s.site, s.visit, s.proposal, s.start_time) == ("diamond", "cm14451-2", "cm14451", r.start_time)


def test_a_field_the_record_lacks_is_named():
    @strawberry.type
    class Odd(Node):
        site: str
        local_id: str
        colour: str | None

    with pytest.raises(TypeError, match=r"Odd\.colour: Session has no attribute 'colour'"):
        from_record(Odd, "diamond", session_record())
    assert from_record(Odd, "diamond", session_record(), colour="red").colour == "red"
