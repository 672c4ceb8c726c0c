"""The samples connection on every implementation: by name (code point), then local id, then site; every
page size walks every visible sample once; a caller sees a sample used by a collection it may see, or of
a proposal it is a member of (docs/security.md: members "see their own proposals' data")."""

from __future__ import annotations

from typing import Any

import pytest

from tests.contract.test_access import caller
from tests.fixtures.contract import (
    ADMIN,
    ANONYMOUS,
    Implementation,
    SampleFact,
    Who,
    sample_order_key,
    visible,
)

SAMPLES = """query($first: Int, $after: String) { samples(first: $first, after: $after) {
  totalCount pageInfo { hasNextPage endCursor } edges { node { id site localId name } } } }"""


def expected_samples(impl: Implementation, who: Who) -> list[tuple[str, str]]:
    seen_through = {(f.site, f.sample_id) for f in impl.facts if f.sample_id is not None and visible(f, who)}

    def sees(s: SampleFact) -> bool:
        if who.admin or "*" in who.staff or s.key in seen_through:
            return True
        return who.login is not None and who.login in s.proposal_members

    return [s.key for s in sorted((s for s in impl.samples if sees(s)), key=sample_order_key)]


def owner_of_unused_samples(impl: Implementation) -> Who:
    """The member whose proposal has the most samples no collection uses (else the suite's member)."""
    used = {(f.site, f.sample_id) for f in impl.facts}
    counts: dict[str, int] = {}
    for s in impl.samples:
        if s.key not in used:
            for login in s.proposal_members:
                counts[login] = counts.get(login, 0) + 1
    if not counts:
        return caller(impl.facts, "member")
    login = sorted(counts, key=lambda m: (-counts[m], m))[0]
    return Who(f"member {login}", login=login)


async def walk_samples(impl: Implementation, size: int, who: Who) -> tuple[list[tuple[str, str]], set[int]]:
    seen: list[tuple[str, str]] = []
    totals: set[int] = set()
    after = None
    while True:
        body = await impl.query(SAMPLES, {"first": size, "after": after}, who)
        assert "errors" not in body, body["errors"]
        conn: dict[str, Any] = body["data"]["samples"]
        totals.add(conn["totalCount"])
        assert len(conn["edges"]) <= size
        seen += [(e["node"]["site"], e["node"]["localId"]) for e in conn["edges"]]
        if not conn["pageInfo"]["hasNextPage"]:
            return seen, totals
        after = conn["pageInfo"]["endCursor"]


@pytest.mark.parametrize("size", [3, 100])
async def test_samples_walk_in_order_once_each(impl, size):
    want = expected_samples(impl, ADMIN)
    seen, totals = await walk_samples(impl, size, ADMIN)
    assert seen == want and totals == {len(want)}


@pytest.mark.parametrize("label", ["anonymous", "staff"])
async def test_samples_obey_the_access_rule(impl, label):
    who = ANONYMOUS if label == "anonymous" else caller(impl.facts, label)
    want = expected_samples(impl, who)
    seen, totals = await walk_samples(impl, 100, who)
    assert seen == want and totals == {len(want)}


async def test_a_member_sees_the_unused_samples_of_their_proposal(impl):
    # Failed on ISPyB (and so through the hub) before issue 14 made both backends compile one rule.
    who = owner_of_unused_samples(impl)
    want = expected_samples(impl, who)
    seen, totals = await walk_samples(impl, 100, who)
    assert seen == want and totals == {len(want)}
