"""Global ids: an opaque string that decodes to (site, type, local id).

The hub routes `node(id:)` by the site inside the id, so a global id never needs a broadcast.
Encoding: unpadded base64url of "Type:site:localId".
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from mx_schema.errors import BAD_FILE_PATH, ContractError, InvalidGlobalId

SITE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
NODE_TYPES = frozenset(
    {
        "DataCollection",
        "Sample",
        "Protein",
        "Session",
        "Proposal",
        "Crystal",
        "ProcessingResult",
        "Detector",
        "DataCollectionGroup",
        "ImageSet",
        "ResultFile",  # since 1.2.0: a file id names its site, for GET /files/{id}
        "Snapshot",
    }
)


@dataclass(frozen=True, slots=True)
class GlobalId:
    site: str
    type: str
    local_id: str

    def encode(self) -> str:
        return encode_id(self.site, self.type, self.local_id)

    def __str__(self) -> str:
        return self.encode()


_URL_SAFE = bytes.maketrans(b"+/", b"-_")  # base64's URL-safe alphabet (RFC 4648 section 5)


def encode_id(site: str, type_: str, local_id: str | int) -> str:
    """`type:site:local id` in unpadded URL-safe base64: a page encodes hundreds, so straight to binascii."""
    raw = f"{type_}:{site}:{local_id}".encode()
    return binascii.b2a_base64(raw, newline=False).rstrip(b"=").translate(_URL_SAFE).decode("ascii")


def decode_id(value: str) -> GlobalId:
    """Decode a global id, raising InvalidGlobalId with a message a user can act on."""
    if not isinstance(value, str) or not value or len(value) > 512:
        raise InvalidGlobalId(f"not a global id: {value!r}")
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidGlobalId(f"not a global id: {value!r}") from None
    parts = raw.split(":", 2)
    if len(parts) != 3:
        raise InvalidGlobalId(f"not a global id: {value!r}")
    type_, site, local_id = parts
    if type_ not in NODE_TYPES or not SITE_NAME.match(site) or not local_id:
        raise InvalidGlobalId(f"not a global id: {value!r}")
    return GlobalId(site, type_, local_id)


FILE_TYPES = frozenset({"ResultFile", "Snapshot"})  # what GET /files/{id} serves (docs/files.md)


def decode_file_id(value: str) -> GlobalId:
    """The global id of a file from a download path (GET /files/{id}, at a site or the hub): a path
    instead of an id (`..`, `/`, a leading dot; decoded %2e%2e and %2f too) or an id of another type
    is BAD_FILE_PATH, a malformed id INVALID_ID."""
    if "/" in value or "\\" in value or ".." in value or value.startswith("."):
        raise ContractError("a file is asked for by its global id, not by a path", code=BAD_FILE_PATH)
    gid = decode_id(value)
    if gid.type not in FILE_TYPES:
        raise ContractError(f"id names a {gid.type}, not a ResultFile or Snapshot", code=BAD_FILE_PATH)
    return gid
