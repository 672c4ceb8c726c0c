"""The schema versions a site can serve: the current SDL and the older minor versions kept in versions/.

Reads SDL files only; what a site or the hub does with an older version is theirs to decide.
"""

from __future__ import annotations

from pathlib import Path

from mx_schema import SCHEMA_VERSION, read_sdl

VERSIONS_DIR = Path(__file__).with_name("versions")


def kept_versions() -> list[str]:
    """Every version a site can serve, oldest first: the files in versions/ and the current one."""
    kept = {p.stem for p in VERSIONS_DIR.glob("*.graphql")} | {SCHEMA_VERSION}
    return sorted(kept, key=lambda v: tuple(int(part) for part in v.split(".")))


def resolve_version(asked: str) -> str:
    """The full version (`1.0` -> `1.0.0`) of a kept version, or ValueError naming the kept ones."""
    wanted = asked.strip()
    for version in reversed(kept_versions()):
        if wanted in (version, version.rsplit(".", 1)[0]):
            return version
    raise ValueError(f"schema version {asked!r} is not kept; a site can serve {', '.join(kept_versions())}")


def read_version_sdl(version: str) -> str:
    """The SDL of a kept version (the current one is schema/mxhub.graphql)."""
    full = resolve_version(version)
    if full == SCHEMA_VERSION:
        return read_sdl()
    return (VERSIONS_DIR / f"{full}.graphql").read_text(encoding="utf-8")
