"""Access facts (logins of proposals and sessions, staff) and the embargo rule."""

from __future__ import annotations

import datetime as dt

from site_adapter import model
from site_adapter.access import EmbargoPolicy


async def test_logins_of_proposals_and_sessions(ispyb):
    assert await ispyb.proposals_of_login("boaty") == {"cm14451"}  # Proposal.personId and ProposalHasPerson
    assert await ispyb.sessions_of_login("boaty") == {"cm14451-1", "cm14451-2"}
    assert await ispyb.proposals_of_login("alice") == {"mx90001"}
    assert await ispyb.sessions_of_login("alice") == {"cm14451-2", "mx90001-1"}
    assert await ispyb.proposals_of_login("staffy") == set()
    assert await ispyb.sessions_of_login("staffy") == {"mx90001-1"}
    assert await ispyb.proposals_of_login("nobody") == set() and await ispyb.sessions_of_login("") == set()


async def test_staff(ispyb):
    assert await ispyb.is_staff("staffy") is True  # UserGroup 2 (mx_admin) holds permission mx_admin
    assert await ispyb.is_staff("boaty") is False


def session(end: dt.datetime | None, beamline: str = "i03") -> model.Session:
    return model.Session(
        local_id="1",
        proposal_local_id="1",
        proposal="cm1",
        visit="cm1-1",
        visit_number=1,
        beamline=beamline,
        start_time=None,
        end_time=end,
    )


def is_public(policy: EmbargoPolicy, s: model.Session, now: dt.datetime | None = None) -> bool:
    return policy.is_public(s.end_time, s.beamline, now)


def test_embargo_default_and_per_beamline():
    policy = EmbargoPolicy(default_years=3, per_beamline={"i02-2": 5, "i24": -1})
    now = dt.datetime(2021, 6, 1)
    assert is_public(policy, session(dt.datetime(2016, 1, 1, 17)), now=now)
    assert not is_public(policy, session(dt.datetime(2019, 1, 1)), now=now)
    assert not is_public(policy, session(dt.datetime(2018, 7, 27), "i02-2"), now=now)  # 5 years there
    assert is_public(policy, session(dt.datetime(2018, 7, 27), "i02-2"), now=dt.datetime(2023, 7, 28))
    assert not is_public(policy, session(dt.datetime(2000, 1, 1), "i24"), now=now)  # never public
    assert not is_public(policy, session(None), now=now)  # no end date (or a zero date)
    # beamline names compare case-insensitively, as the SQL of both backends does (LOWER(beamLineName))
    assert not is_public(policy, session(dt.datetime(2018, 7, 27), "I02-2"), now=now)
    assert not is_public(policy, session(dt.datetime(2000, 1, 1), "I24"), now=now)
    assert not is_public(EmbargoPolicy(3, {"I24": -1}), session(dt.datetime(2000, 1, 1), "i24"), now=now)
    aware = dt.datetime(2021, 6, 1, tzinfo=dt.UTC)
    assert is_public(policy, session(dt.datetime(2016, 1, 1)), now=aware)


async def test_embargo_on_fixture_sessions(ispyb):
    sessions = await ispyb.sessions_by_id(["55167", "339535", "339525"])
    policy = EmbargoPolicy(default_years=3, per_beamline={"i02-2": 100})
    assert is_public(policy, sessions["55167"])  # ended 2016-01-01
    assert not is_public(policy, sessions["339535"])  # i02-2: 100 years
    assert not is_public(policy, sessions["339525"])  # no end date
    assert ispyb.is_public(sessions["55167"])  # the backend's configured policy (3 years by default)
