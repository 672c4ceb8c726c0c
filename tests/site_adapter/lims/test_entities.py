"""`_entities` on the demo LIMS: keys in order UUID, pin, plate/well/drop; one SQL statement per batch;
conflicts listed, never merged; malformed keys fail only their own entity."""

from __future__ import annotations

import pytest

from tests.site_adapter.lims.conftest import DEMO_LIMS_SITES
from tests.site_adapter.lims.expected import HEWL_NACL, HEWL_PH, demo_samples

QUERY = """query($r: [_Any!]!) { _entities(representations: $r) { ... on Sample { id crystallisation {
  method temperature ph well drop screen condition plate { barcode type } crystalUuid pinBarcode recordId
  components { name casNumber concentration unit role ph } soaks { ccdId } construct { uniprotId } source conflicts } } } }"""


@pytest.fixture(scope="module")
def samples():
    return demo_samples(DEMO_LIMS_SITES)


def rep(k, *, uuid=True, pin=True, pwd=True, sample_id=None):
    """What a Federation v2 router sends: the key and the `@requires` fields, as the site serves them."""
    return {
        "__typename": "Sample",
        "id": f"{k.site}:Sample:{sample_id or k.sample_id}",
        "crystal": {"uuid": k.uuid if uuid else None},
        "barcode": k.pin if pin else None,
        "externalIds": [
            {"system": "lims", "kind": "plate-well-drop", "value": f"{k.plate}/{k.well}/{k.drop}"}
        ]
        if pwd
        else [],
    }


def test_demo_share_is_about_85_percent(samples):
    known, unknown = samples
    share = len(known) / (len(known) + len(unknown))
    assert 0.8 < share < 0.9
    assert 0 < sum(not k.lims_has_uuid for k in known) < 0.1 * len(known)


async def test_hewl_record_is_exact(lims_gql, samples):
    known, _ = samples
    k = next(k for k in known if k.acronym == "HEWL" and k.lims_has_uuid and k.site == "diamond")
    body = await lims_gql(QUERY, {"r": [rep(k, pin=False, pwd=False)]})
    c = body["data"]["_entities"][0]["crystallisation"]
    col, row = int(k.well[1:]), k.well[0]
    assert c["well"] == k.well and c["drop"] == k.drop and c["plate"]["barcode"] == k.plate
    assert (c["crystalUuid"], c["pinBarcode"], c["source"]) == (k.uuid, k.pin, "lims")
    assert (c["method"], c["temperature"], c["ph"]) == ("VAPOR DIFFUSION, SITTING DROP", 293.0, HEWL_PH[row])
    assert (c["screen"], c["condition"]) == ("HEWL NaCl/acetate grid", k.well)
    assert c["components"] == [
        {
            "name": "sodium chloride",
            "casNumber": "7647-14-5",
            "concentration": HEWL_NACL[col],
            "unit": "M",
            "role": "precipitant",
            "ph": None,
        },
        {
            "name": "sodium acetate",
            "casNumber": "127-09-3",
            "concentration": 0.1,
            "unit": "M",
            "role": "buffer",
            "ph": HEWL_PH[row],
        },
    ]
    assert c["construct"] == {"uniprotId": "P00698"}
    assert all(s["ccdId"] == "NAG" for s in c["soaks"])


async def test_a_batch_is_one_statement_and_keys_fall_back_in_order(
    lims_gql, lims_store, lims_query_log, samples
):
    known, unknown = samples
    with_uuid = [k for k in known if k.lims_has_uuid][5:45]
    without_uuid = [k for k in known if not k.lims_has_uuid][:5]
    reps = [rep(k) for k in with_uuid]
    reps += [rep(k) for k in without_uuid]  # the LIMS has no UUID: found by pin barcode
    reps += [rep(k, uuid=False, pin=False) for k in with_uuid[:5]]  # plate/well/drop only
    reps += [rep(k) for k in unknown[:5]]  # not in the LIMS: null
    await lims_gql(QUERY, {"r": reps[:1]})  # warm the pool's connections
    before_statements, before_log = lims_store.statements, len(lims_query_log)
    body = await lims_gql(QUERY, {"r": reps})
    assert lims_store.statements - before_statements == 1
    # Server-side, the batch is one statement; asyncpg's pool adds its reset (RESET ALL ...) on release.
    sent = [q for q in lims_query_log[before_log:] if not q.startswith("SELECT pg_advisory_unlock_all()")]
    assert len(sent) == 1 and "WITH hit AS" in sent[0], sent
    assert "errors" not in body
    got = [e["crystallisation"] for e in body["data"]["_entities"]]
    expected = with_uuid + without_uuid + with_uuid[:5]
    assert [(g["plate"]["barcode"], g["well"], g["drop"], g["pinBarcode"]) for g in got[:50]] == [
        (k.plate, k.well, k.drop, k.pin) for k in expected
    ]
    assert [g["crystalUuid"] for g in got[40:45]] == [None] * 5
    assert got[50:] == [None] * 5


async def test_malformed_keys_fail_only_their_entity(lims_gql, samples):
    known, _ = samples
    good = rep(known[10])
    body = await lims_gql(
        QUERY,
        {
            "r": [
                good,
                {"__typename": "Sample", "id": "x", "crystal": {"uuid": "nope"}, "externalIds": []},
                {"__typename": "Sample", "id": "y", "barcode": "PIN WITH SPACE", "externalIds": []},
                {
                    "__typename": "Sample",
                    "id": "z",
                    "externalIds": [{"system": "lims", "kind": "plate-well-drop", "value": "PL/B7"}],
                },
            ]
        },
    )
    ents = body["data"]["_entities"]
    assert ents[0]["crystallisation"]["pinBarcode"] == known[10].pin
    assert ents[1:] == [None, None, None]
    assert sorted((e["path"][1], e["extensions"]["code"]) for e in body["errors"]) == [
        (1, "BAD_USER_INPUT"),
        (2, "BAD_USER_INPUT"),
        (3, "BAD_USER_INPUT"),
    ]
    assert "malformed crystal UUID" in next(e["message"] for e in body["errors"] if e["path"][1] == 1)


async def test_duplicate_registration_is_reported_not_merged(lims_gql, samples):
    known, _ = samples
    # The demo registers the first crystal with a UUID of each site twice (docs/lims.md).
    first = next(k for k in known if k.site == "esrf" and k.lims_has_uuid)
    body = await lims_gql(QUERY, {"r": [rep(first)]})
    c = body["data"]["_entities"][0]["crystallisation"]
    assert (c["well"], c["drop"], c["pinBarcode"]) == (
        first.well,
        first.drop,
        first.pin,
    )  # the one the pin agrees with
    assert len(c["conflicts"]) == 1
    assert f"crystal UUID {first.uuid} names 2 LIMS records" in c["conflicts"][0]
    assert f"drop {first.drop % 3 + 1}" in c["conflicts"][0]


async def test_keys_naming_different_crystals_are_a_conflict(lims_gql, samples):
    known, _ = samples
    a, b = [k for k in known if k.lims_has_uuid][20:22]
    mixed = rep(a) | {"barcode": b.pin}
    body = await lims_gql(QUERY, {"r": [mixed]})
    c = body["data"]["_entities"][0]["crystallisation"]
    assert c["crystalUuid"] == a.uuid and c["pinBarcode"] == a.pin  # the strongest key wins
    assert any(
        f"pin barcode {b.pin} names LIMS record" in x and "but crystal UUID" in x for x in c["conflicts"]
    )
    assert any(f"the site's pin barcode {b.pin} differs" in x for x in c["conflicts"])


async def test_only_id_is_null_without_sql(lims_gql, lims_store):
    before = lims_store.statements
    body = await lims_gql(QUERY, {"r": [{"__typename": "Sample", "id": "esrf:Sample:1"}]})
    assert body["data"]["_entities"] == [{"id": "esrf:Sample:1", "crystallisation": None}]
    assert lims_store.statements == before
