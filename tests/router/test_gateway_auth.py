"""Who sees what behind a facility's router (issue 20): the real Hive Gateway forwards the user's own OIDC
token (tests/router/gateway.config.mjs) to a site and a LIMS that check it themselves; the same token
gives the same answer as our hub gives that user. Expected sets come from SQL on the demo store with the
access rule's truth table (docs/security.md), not from our code."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from mx_schema import read_sdl
from mx_schema.oidc import OidcVerifier
from site_adapter.lims.app import create_lims_app
from site_adapter.lims.store import LimsStore
from tests.fixtures.hub import HUB_KEY, RunningHub, serve_hub, trusted_site_app
from tests.fixtures.sites import serve_in_thread
from tests.router.conftest import HERE, serve_gateway
from tests.site_adapter.facility_issuer import (
    AUDIENCE,
    FacilityIssuer,
    member_with_embargoed_data,
    served_issuer,
    visible_collections,
)

LIMS_SDL = (Path(__file__).resolve().parents[2] / "schema" / "lims.graphql").read_text(encoding="utf-8")
SITE = "diamond"
IDS = """query($after: String) { dataCollections(first: 200, after: $after) {
  pageInfo { hasNextPage endCursor } edges { node { localId } } } }"""
SAMPLES = """query($after: String) { samples(first: 200, after: $after) {
  pageInfo { hasNextPage endCursor }
  edges { node { id barcode crystallisation { recordId source pinBarcode crystalUuid } } } } }"""


@pytest.fixture(scope="module")
def issuer() -> Iterator[FacilityIssuer]:
    with served_issuer() as issuer:
        yield issuer


@pytest.fixture(scope="module")
def subgraphs(issuer, diamond_demo_dsn, lims_demo_dsn) -> Iterator[dict[str, str]]:
    """The diamond demo site and the demo LIMS, each trusting the test hubs' key and the facility's
    issuer (its keys found by discovery), as `mxhub site serve --oidc-issuer ...` runs them."""

    def verifier(party: str) -> OidcVerifier:
        return OidcVerifier(issuer.url, None, AUDIENCE, party=party)

    with ExitStack() as stack:
        site = stack.enter_context(
            serve_in_thread(trusted_site_app(diamond_demo_dsn, SITE, oidc=verifier("this site")))
        )
        lims = stack.enter_context(
            serve_in_thread(
                create_lims_app(
                    LimsStore(lims_demo_dsn),
                    name="lims",
                    trusted_keys=[HUB_KEY.public_key()],
                    oidc=verifier("this LIMS"),
                )
            )
        )
        yield {"site": site, "lims": lims}


@pytest.fixture
def gateway(node, subgraphs, tmp_path) -> Iterator[str]:
    """Hive Gateway over the site and the LIMS, forwarding `Authorization` (gateway.config.mjs)."""
    graphs = {
        "site": (f"{subgraphs['site']}/graphql", read_sdl()),
        "lims": (f"{subgraphs['lims']}/graphql", LIMS_SDL),
    }
    with serve_gateway(node, graphs, tmp_path, config=HERE / "gateway.config.mjs") as url:
        yield url


@pytest.fixture
async def hub(hub_dsn, issuer, subgraphs) -> RunningHub:
    """Our hub, trusting the same issuer, over the same site and LIMS."""
    with serve_hub(
        hub_dsn, oidc_issuer=issuer.url, oidc_jwks=f"{issuer.url}/jwks", oidc_audience=AUDIENCE
    ) as hub:
        assert "errors" not in await hub.register(SITE, f"{subgraphs['site']}/graphql")
        assert "errors" not in await hub.register("lims", f"{subgraphs['lims']}/graphql", kind="lims")
        yield hub
        await hub.http.aclose()


async def _pages(client: httpx.AsyncClient, url: str, query: str, root: str, token: str | None) -> list[dict]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    nodes, after = [], None
    while True:
        r = await client.post(url, json={"query": query, "variables": {"after": after}}, headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert "errors" not in body, body["errors"]
        page = body["data"][root]
        nodes += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


async def test_the_same_token_sees_the_same_through_the_router_and_the_hub(
    gateway, hub, issuer, diamond_demo_dsn
):
    member = await member_with_embargoed_data(diamond_demo_dsn)
    callers = {
        "anonymous": (None, await visible_collections(diamond_demo_dsn)),
        "member": (issuer.token(member), await visible_collections(diamond_demo_dsn, login=member)),
        "staff": (
            issuer.token("beamline-scientist", ["staff:I04"]),
            await visible_collections(diamond_demo_dsn, staff="i04"),
        ),
    }
    assert callers["anonymous"][1] < callers["member"][1]  # the member has embargoed collections
    assert callers["anonymous"][1] < callers["staff"][1]
    async with httpx.AsyncClient(timeout=120) as client:
        for label, (token, expected) in callers.items():
            through_router = await _pages(client, f"{gateway}/graphql", IDS, "dataCollections", token)
            through_hub = await _pages(client, f"{hub.url}/graphql", IDS, "dataCollections", token)
            assert {n["localId"] for n in through_router} == expected, label
            assert {n["localId"] for n in through_hub} == expected, label


async def test_crystallisation_through_the_router_for_a_signed_in_user(
    gateway, hub, issuer, diamond_demo_dsn
):
    """The LIMS answers the router for a user with a valid facility token, exactly as it answers our hub for
    that user; without a token the LIMS refuses, and the router says so rather than inventing records."""
    token = issuer.token(await member_with_embargoed_data(diamond_demo_dsn))
    async with httpx.AsyncClient(timeout=120) as client:
        through_router = await _pages(client, f"{gateway}/graphql", SAMPLES, "samples", token)
        through_hub = await _pages(client, f"{hub.url}/graphql", SAMPLES, "samples", token)
        assert sorted(through_router, key=lambda s: s["id"]) == sorted(through_hub, key=lambda s: s["id"])
        assert any(s["crystallisation"] is not None for s in through_router)
        r = await client.post(f"{gateway}/graphql", json={"query": SAMPLES, "variables": {"after": None}})
        body = r.json()
        assert body.get("errors"), body  # the LIMS refused the anonymous request
        assert all(e["node"]["crystallisation"] is None for e in body["data"]["samples"]["edges"])


@pytest.mark.parametrize("case", ["forged", "expired", "audience"])
async def test_a_bad_token_through_the_router_is_an_error_not_anonymous(gateway, issuer, case):
    from cryptography.hazmat.primitives.asymmetric import rsa

    token = {
        "forged": lambda: issuer.token("boaty", ["mxhub-admin"], key=rsa.generate_private_key(65537, 2048)),
        "expired": lambda: issuer.token("boaty", ttl=-120),
        "audience": lambda: issuer.token("boaty", audience="another-service"),
    }[case]()
    code = {
        "forged": "OIDC_TOKEN_INVALID",
        "expired": "OIDC_TOKEN_EXPIRED",
        "audience": "OIDC_AUDIENCE_MISMATCH",
    }
    async with httpx.AsyncClient(timeout=120) as client:
        r = await client.post(
            f"{gateway}/graphql",
            json={"query": IDS, "variables": {"after": None}},
            headers={"authorization": f"Bearer {token}"},
        )
    body = r.json()
    assert (body.get("data") or {}).get("dataCollections") is None, body  # no records, not anonymous ones
    assert body.get("errors"), body
    assert code[case] in r.text, body  # the site's reason reaches the caller through the router
