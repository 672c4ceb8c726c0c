"""The access matrix on every implementation (each runs with access control): anonymous, proposal members,
beamline staff, staff of every beamline and admins see what docs/security.md's rule says, with expected
sets from the data (session end dates against the embargo, membership tables); `mine` likewise."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from tests.contract.walk import codes, keys, walk
from tests.fixtures.contract import ADMIN, ANONYMOUS, Fact, Who, expected, owned


def _gain(facts: list[Fact], who: Who) -> int:
    return len(expected(facts, who)) - len(expected(facts, ANONYMOUS))


def members(facts: list[Fact]) -> list[Who]:
    """Two members (of different records where the data has them), the one who sees most first."""
    logins: Iterable[str] = sorted({m for f in facts for m in f.members})
    ranked = sorted(logins, key=lambda m: (-_gain(facts, Who(m, login=m)), m))
    assert ranked, "no member in the data"
    first = ranked[0]
    mine = {f.key for f in facts if first in f.members}
    other = next((m for m in ranked[1:] if {f.key for f in facts if m in f.members} != mine), ranked[-1])
    return [Who(f"member {first}", login=first), Who(f"member {other}", login=other)]


def staff(facts: list[Fact]) -> Who:
    """Staff of the beamline whose embargoed records are most numerous (ties: by name)."""
    beamlines = sorted({f.beamline for f in facts if f.beamline})
    best = sorted(beamlines, key=lambda b: (-_gain(facts, Who(b, staff=(b,))), b))[0]
    return Who(f"staff {best}", login="beamline-scientist", staff=(best,))


def callers(facts: list[Fact]) -> list[Who]:
    return [
        ANONYMOUS,
        *members(facts),
        staff(facts),
        Who("staff *", login="head-of-mx", staff=("*",)),
        ADMIN,
    ]


CALLERS = ["anonymous", "member", "other member", "staff", "staff *", "admin"]


def caller(facts: list[Fact], label: str) -> Who:
    return callers(facts)[CALLERS.index(label)]


@pytest.mark.parametrize("label", CALLERS)
async def test_each_caller_sees_what_the_rule_says(impl, label):
    who = caller(impl.facts, label)
    want = keys(expected(impl.facts, who))
    seen, totals, _ = await walk(impl, None, 100, who)
    assert seen == want, who
    assert totals == {len(want)}, who


async def test_embargo_hides_something_where_the_data_has_it(impl):
    """Where the data holds sessions still under embargo, anonymous callers see strictly less than admins
    and than the staff of that beamline (the native sites' demo data has such sessions)."""
    everything = expected(impl.facts, ADMIN)
    public = expected(impl.facts, ANONYMOUS)
    if public == everything:
        pytest.skip(f"{impl.name}: every session in the data ended before the embargo (Diamond's fixture)")
    assert len(public) < len(everything)
    assert len(expected(impl.facts, caller(impl.facts, "staff"))) > len(public)


@pytest.mark.parametrize("label", ["member", "other member", "staff", "staff *", "admin"])
async def test_mine_is_the_callers_own_records(impl, label):
    who = caller(impl.facts, label)
    want = keys(expected(impl.facts, who, lambda f: owned(f, who)))
    seen, totals, _ = await walk(impl, {"mine": True}, 100, who)
    assert seen == want, who
    assert totals == {len(want)}, who
    if label != "admin":
        assert want, f"{who} owns nothing in the data"


async def test_mine_false_restricts_nothing(impl):
    who = caller(impl.facts, "member")
    seen, _, _ = await walk(impl, {"mine": False}, 100, who)
    assert seen == keys(expected(impl.facts, who))


async def test_mine_needs_a_signed_in_caller(impl):
    body = await impl.query(
        "query($f: DataCollectionFilter) { dataCollections(filter: $f, first: 1) { totalCount } }",
        {"f": {"mine": True}},
        ANONYMOUS,
    )
    assert "UNAUTHENTICATED" in codes(body), body
