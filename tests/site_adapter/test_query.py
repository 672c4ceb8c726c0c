"""The query specification's pure parts: filter terms and their normalisation, keyset positions,
the access spec of a request, and rows to records by name. No database."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from site_adapter import model
from site_adapter.access import EmbargoPolicy, Scope, Viewer
from site_adapter.backends.base import DataCollectionFilter, InvalidInput
from site_adapter.query import (
    DATA_COLLECTION_TERMS,
    Direction,
    Match,
    Position,
    access_spec,
    conditions,
    position,
)


def test_every_contract_term_has_a_meaning():
    """CONTRACT.md's DataCollectionFilter terms are all in the spec, and each is a filter field."""
    contract = {
        "sample_name", "sample_barcode", "crystal_uuid", "protein_acronym", "protein_name", "uniprot_id",
        "proposal", "visit", "beamline", "experiment_type", "start_after", "start_before",
        "resolution_better_than", "space_group",
    }  # fmt: skip
    assert contract <= set(DATA_COLLECTION_TERMS)  # 1.2.0 adds terms (issue 19: has_doi, pdb_id)
    assert contract <= {f.name for f in dataclasses.fields(DataCollectionFilter)}


def test_conditions_normalise_values_once():
    aware = dt.datetime(2020, 1, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    f = DataCollectionFilter(
        proposal="CM14451", uniprot_id="p00800", start_after=aware, space_group="P 61 2 2", sample_name="Tlys"
    )
    got = {c.term: (c.match, c.value) for c in conditions(f)}
    assert got == {
        "sample_name": (Match.EXACT, "Tlys"),  # exact: untouched
        "uniprot_id": (Match.UPPER, "P00800"),
        "proposal": (Match.CASELESS, "cm14451"),
        "start_after": (Match.FROM, dt.datetime(2020, 1, 1, 10, tzinfo=dt.UTC)),  # the instant, in UTC
        "space_group": (Match.SPACE_GROUP, "P6122"),
    }


def test_positions():
    assert position(None, Direction.TIME_DESC) is None
    assert position(("2020-01-01T10:00:00.000000", 7), Direction.TIME_DESC) == Position(
        dt.datetime(2020, 1, 1, 10, tzinfo=dt.UTC), 7
    )  # a cursor's time is a UTC instant (mx_schema.cursors.time_key)
    assert position((None, 7), Direction.TIME_DESC) == Position(None, 7)  # a null time
    assert position((None, 3), Direction.TEXT_ASC) == Position("", 3)  # a null text sorts as ""
    for bad in [("x", 1), (1.5, 1), ("2020-01-01T10:00:00.000000", "1"), ("a",)]:
        with pytest.raises(InvalidInput):
            position(bad, Direction.TIME_DESC)
    with pytest.raises(InvalidInput):
        position((5, 1), Direction.TEXT_ASC)


def test_access_spec():
    now = dt.datetime(2026, 1, 1)
    scope = Scope(Viewer("pm", frozenset({"i03", "*"})), EmbargoPolicy(3.0, {"I04": -1}))
    assert access_spec(scope, now) is None  # staff of every beamline sees everything
    scope = Scope(Viewer("pm", frozenset({"i03"})), EmbargoPolicy(3.0, {"I04": -1}))
    spec = access_spec(scope, now)
    assert spec is not None and spec.login == "pm" and spec.staff_beamlines == ("i03",)
    assert spec.cutoff_for("i04") is None and spec.cutoff_for("I04") is None  # never public
    # a naive `now` is UTC; the cut-off is an instant (docs/time.md)
    assert spec.cutoff_for("i03") == now.replace(tzinfo=dt.UTC) - dt.timedelta(days=365.25 * 3)
    assert access_spec(Scope(Viewer(admin=True), EmbargoPolicy()), now) is None


def test_rows_become_records_by_field_name():
    row = {
        "id": 5,
        "session_id": 7,
        "sample_id": None,
        "acronym": "x",
        "name": "n",
        "proposal_id": 9,
        "extra": 1,
    }
    protein = model.from_row(model.Protein, row, None, None, uniprot_ids=("P1",))
    assert protein == model.Protein(
        local_id="5", acronym="x", name="n", uniprot_ids=("P1",), sequence_hash=None, proposal_local_id="9"
    )
    group = model.from_row(model.DataCollectionGroup, {**row, "experiment_type": "OSC"}, {str: str.lower})
    assert group.session_local_id == "7" and group.sample_local_id is None and group.experiment_type == "osc"


def test_a_page_spec_is_built_once_from_the_inputs():
    from site_adapter.backends.base import SampleFilter
    from site_adapter.query import spec

    got = spec("sample", SampleFilter(proposal="CM1", name="x"), 20, ("x", 4))
    assert got.kind == "sample" and got.first == 20 and got.order is Direction.TEXT_ASC
    assert got.after == Position("x", 4) and got.access is None  # no access control in this context
    assert [(c.term, c.value) for c in got.conditions] == [("name", "x"), ("proposal", "cm1")]
    assert got.terms == {"name", "proposal"}
