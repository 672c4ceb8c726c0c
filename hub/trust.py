"""The hub's signing key and the short-lived caller token it sends to every site (issue 8).

Sites trust a caller only through this token (`X-MXHub-Caller`), verified with the hub's public key.
This module signs; it must never accept a caller identity from a header itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from mx_schema import caller_token
from mx_schema.caller_token import DEFAULT_TTL as DEFAULT_TTL
from mx_schema.caller_token import HEADER as HEADER

if TYPE_CHECKING:
    import asyncpg

    from mx_hub.auth import Caller


def generate_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_pem(key: Ed25519PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


def read_private_pem(pem: str | bytes) -> Ed25519PrivateKey:
    """An Ed25519 private key from PEM; ValueError for anything else (RSA, EC, garbage)."""
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not an unencrypted PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the hub's signing key must be Ed25519")
    return key


def public_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The public half as SubjectPublicKeyInfo PEM: what a site is configured to trust."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def key_id(public_key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """First 16 hex characters of sha256 over the raw 32-byte public key (the JWS `kid`)."""
    public = public_key.public_key() if isinstance(public_key, Ed25519PrivateKey) else public_key
    return caller_token.key_id(
        public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )


def caller_claims(
    caller: Caller, audience: str, *, now: int | None = None, ttl: int = DEFAULT_TTL
) -> dict[str, Any]:
    """The claims for `caller` at site `audience` (the format: mx_schema.caller_token)."""
    return caller_token.build_claims(
        caller.login, caller.staff_beamlines, bool(caller.admin), audience, now=now, ttl=ttl
    )


def sign_caller(key: Ed25519PrivateKey, caller: Caller, audience: str, ttl: int = DEFAULT_TTL) -> str:
    """A compact JWS (EdDSA) naming `caller` for one site, valid `ttl` seconds."""
    return jwt.encode(
        caller_claims(caller, audience, ttl=ttl),
        key,
        algorithm=caller_token.ALGORITHM,
        headers={"kid": key_id(key)},
    )


async def load_or_create_key(pool: asyncpg.Pool, pem: str | None = None) -> Ed25519PrivateKey:
    """The hub's key: `pem` when given (from --signing-key), else the one in the registry database,
    created on first start (table hub_key, migration 002). Concurrent first starts agree on one key."""
    if pem is not None:
        return read_private_pem(pem)
    row = await pool.fetchval("SELECT private_pem FROM hub_key WHERE id = 1")
    if row is None:
        await pool.execute(
            "INSERT INTO hub_key (id, private_pem, kid) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING",
            private_pem(candidate := generate_key()),
            key_id(candidate),
        )
        row = await pool.fetchval("SELECT private_pem FROM hub_key WHERE id = 1")
    return read_private_pem(row)
