"""Readers for the beamline-generated reference inputs (XDS.INP, MOSFLM) and the shared fixture paths.

Test-side only: they parse what ESRF wrote so tests can compare values numerically with ours.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
_KEYWORD = re.compile(r"([A-Z][A-Z0-9_()\-./']*)=")  # FRIEDEL'S_LAW= has an apostrophe


def fixtures_dir() -> Path:
    """MXHUB_FIXTURES when set, else ../shared/fixtures beside the repository root."""
    env = os.environ.get("MXHUB_FIXTURES")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "fixtures"


def parse_xds_inp(text: str) -> dict[str, list[str]]:
    """KEYWORD -> every value string it was given, in order (several keywords may share a line)."""
    out: dict[str, list[str]] = {}
    for raw in text.splitlines():
        line = raw.split("!", 1)[0]
        matches = list(_KEYWORD.finditer(line))
        for i, m in enumerate(matches):
            end = matches[i + 1].start() if i + 1 < len(matches) else len(line)
            out.setdefault(m.group(1), []).append(line[m.end() : end].strip())
    return out


def parse_mosflm(text: str) -> dict[str, list[str]]:
    """lower-case keyword -> its arguments, ignoring '#' comment lines."""
    out: dict[str, list[str]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        out[word.lower()] = rest.split()
    return out


def floats(value: str) -> list[float]:
    return [float(v) for v in value.split()]
