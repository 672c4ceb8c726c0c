"""Space-group numbers for the 65 Sohncke groups (the only ones a protein crystal can have).

Turns a processing program's Hermann-Mauguin symbol into XDS's SPACE_GROUP_NUMBER; nothing else.
"""

from __future__ import annotations

import re

# International Tables for Crystallography vol. A, table 2.1.3.x: the chiral (Sohncke) space groups,
# short symbols without spaces. R groups in their hexagonal setting, as MX programs report them.
SOHNCKE: dict[str, int] = {
    "P1": 1,
    "P2": 3,
    "P21": 4,
    "C2": 5,
    "P222": 16,
    "P2221": 17,
    "P21212": 18,
    "P212121": 19,
    "C2221": 20,
    "C222": 21,
    "F222": 22,
    "I222": 23,
    "I212121": 24,
    "P4": 75,
    "P41": 76,
    "P42": 77,
    "P43": 78,
    "I4": 79,
    "I41": 80,
    "P422": 89,
    "P4212": 90,
    "P4122": 91,
    "P41212": 92,
    "P4222": 93,
    "P42212": 94,
    "P4322": 95,
    "P43212": 96,
    "I422": 97,
    "I4122": 98,
    "P3": 143,
    "P31": 144,
    "P32": 145,
    "R3": 146,
    "P312": 149,
    "P321": 150,
    "P3112": 151,
    "P3121": 152,
    "P3212": 153,
    "P3221": 154,
    "R32": 155,
    "P6": 168,
    "P61": 169,
    "P65": 170,
    "P62": 171,
    "P64": 172,
    "P63": 173,
    "P622": 177,
    "P6122": 178,
    "P6522": 179,
    "P6222": 180,
    "P6422": 181,
    "P6322": 182,
    "P23": 195,
    "F23": 196,
    "I23": 197,
    "P213": 198,
    "I213": 199,
    "P432": 207,
    "P4232": 208,
    "F432": 209,
    "F4132": 210,
    "I432": 211,
    "P4332": 212,
    "P4132": 213,
    "I4132": 214,
}
# Settings programs print that are not the short symbol: full monoclinic "P 1 21 1", I2 (a C2 setting),
# H3 / H32 (the hexagonal setting of R3 / R32 as CCP4 names it).
ALIASES: dict[str, int] = {"I2": 5, "H3": 146, "H32": 155, "R3:H": 146, "R32:H": 155}
_FULL_MONOCLINIC = re.compile(r"^([PCI])1(2|21)1$")


def space_group_number(symbol: str | None) -> int | None:
    """1-230 for a Sohncke group symbol in any usual spelling, None when absent or not recognised."""
    if not symbol:
        return None
    s = re.sub(r"\s+", "", symbol).upper()
    if s.isdigit():
        n = int(s)
        return n if n in SOHNCKE.values() else None
    m = _FULL_MONOCLINIC.match(s)
    if m:
        s = m.group(1) + m.group(2)
    if s in SOHNCKE:
        return SOHNCKE[s]
    return ALIASES.get(s)
