"""node(id:) round trips on every implementation: every id a list returns resolves to the same record;
a malformed id is INVALID_ID; an id naming another site is NOT_FOUND (mx_schema.ids: ids name their site)."""

from __future__ import annotations

from typing import Any

from mx_schema.ids import encode_id
from tests.contract.walk import codes, walk
from tests.fixtures.contract import ADMIN, ANONYMOUS, expected

BATCH = 25  # aliases per request, under the limit of 30 (docs/security.md)
FIELDS = "__typename id ... on DataCollection { site localId startTime session { visit } }"


async def resolve(impl, ids: list[str], caller=ADMIN) -> list[dict[str, Any] | None]:
    out: list[dict[str, Any] | None] = []
    for i in range(0, len(ids), BATCH):
        chunk = ids[i : i + BATCH]
        args = ", ".join(f"$i{n}: ID!" for n in range(len(chunk)))
        body = " ".join(f"n{n}: node(id: $i{n}) {{ {FIELDS} }}" for n in range(len(chunk)))
        answer = await impl.query(
            f"query({args}) {{ {body} }}", {f"i{n}": gid for n, gid in enumerate(chunk)}, caller
        )
        assert "errors" not in answer, answer["errors"]
        out += [answer["data"][f"n{n}"] for n in range(len(chunk))]
    return out


async def test_every_listed_id_resolves_to_the_same_record(impl):
    _, _, nodes = await walk(impl, None, 100, ADMIN)
    assert len(nodes) == len(expected(impl.facts, ADMIN))
    resolved = await resolve(impl, [n["id"] for n in nodes])
    for listed, got in zip(nodes, resolved, strict=True):
        assert got is not None, listed
        assert got["__typename"] == "DataCollection"
        assert (got["id"], got["site"], got["localId"], got["startTime"]) == (
            listed["id"],
            listed["site"],
            listed["localId"],
            listed["startTime"],
        )


async def test_a_malformed_id_is_invalid_id(impl):
    for bad in ("not-an-id!", "", encode_id("alpha", "DataCollection", "1")[:-3] + "$$$"):
        body = await impl.query("query($id: ID!) { node(id: $id) { id } }", {"id": bad}, ADMIN)
        assert body["data"] in (None, {"node": None}), body
        assert codes(body) == ["INVALID_ID"], (bad, body)


async def test_an_id_of_another_site_is_not_found(impl):
    """A site answers only for itself; the hub knows no site of that name. Either way: null, NOT_FOUND."""
    local = expected(impl.facts, ADMIN)[0].local_id
    gid = encode_id("elsewhere", "DataCollection", local)
    body = await impl.query("query($id: ID!) { node(id: $id) { id } }", {"id": gid}, ADMIN)
    assert body["data"] == {"node": None}, body
    assert codes(body) == ["NOT_FOUND"], body


async def test_an_embargoed_id_answers_like_a_missing_one(impl):
    """docs/security.md: node(id:) of a record the caller may not see answers like a missing record."""
    hidden = [f for f in expected(impl.facts, ADMIN) if f not in expected(impl.facts, ANONYMOUS)]
    query = "query($id: ID!) { node(id: $id) { id } }"
    missing = encode_id(sorted(impl.sites)[0], "DataCollection", "987654321")
    gone = await impl.query(query, {"id": missing}, ANONYMOUS)
    assert gone["data"] == {"node": None} and set(codes(gone)) <= {"NOT_FOUND"}, gone
    for f in hidden[:3]:
        gid = encode_id(f.site, "DataCollection", f.local_id)
        body = await impl.query(query, {"id": gid}, ANONYMOUS)
        assert body["data"] == {"node": None}, body
        assert codes(body) == codes(gone), body
        seen = await impl.query(query, {"id": gid}, ADMIN)
        assert seen["data"] == {"node": {"id": gid}}, seen
