"""The caller token's format (mx_schema.caller_token), without cryptography: the claims a hub builds are
the ones a site reads, and claims no hub of ours makes are refused."""

from __future__ import annotations

import hashlib

import pytest

from mx_schema import caller_token as ct


def test_built_claims_read_back_as_the_same_caller():
    claims = ct.build_claims("alice", {"I03", "*"}, False, "esrf", now=1000, ttl=60)
    assert claims["iss"] == "mxhub-hub" and claims["aud"] == "esrf" and claims["sub"] == "alice"
    assert (claims["iat"], claims["exp"]) == (1000, 1060) and len(claims["jti"]) == 32
    assert set(ct.REQUIRED) <= set(claims)
    assert ct.read_claims(claims) == ct.CallerClaims("alice", frozenset({"i03", "*"}), False)


def test_an_anonymous_admin_has_no_subject():
    claims = ct.build_claims(None, [], True, "esrf", now=0)
    assert "sub" not in claims and claims["mxhub_admin"] is True
    assert ct.read_claims(claims) == ct.CallerClaims(None, frozenset(), True)


@pytest.mark.parametrize(
    "change,message",
    [
        ({"exp": 1000 + ct.MAX_LIFETIME + 1}, f"at most {ct.MAX_LIFETIME} s"),
        ({"exp": 1000}, "lives 0 s"),
        ({"aud": ["esrf", "diamond"]}, "several audiences"),
        ({"mxhub_staff": "i03"}, "malformed"),
        ({"mxhub_staff": [3]}, "malformed"),
    ],
)
def test_claims_no_hub_makes_are_refused(change, message):
    claims = {**ct.build_claims("alice", [], False, "esrf", now=1000), **change}
    with pytest.raises(ct.MalformedClaims, match=message):
        ct.read_claims(claims)


def test_key_id_is_the_sha256_prefix_of_the_raw_key():
    raw = bytes(range(32))
    assert ct.key_id(raw) == hashlib.sha256(raw).hexdigest()[:16]
