"""Condition components as exports write them: checked against the chemical catalogue (names through the
vocabulary), with canonical units, and the one-line inline syntax `1.0 M sodium chloride [7647-14-5]; 0.1 M sodium acetate pH 4.6`.

Pure: raises ContractError with a reason fit for an import report; no SQL here.
"""

from __future__ import annotations

import re

from mx_schema.errors import ContractError
from site_adapter.lims import keys
from site_adapter.lims.chemistry import CHEMICALS
from site_adapter.lims.records import Component
from site_adapter.lims.units import normalise_unit
from site_adapter.lims.vocabulary import vocabulary

ROLES = {
    "buffer": "buffer",
    "precipitant": "precipitant",
    "salt": "salt",
    "additive": "additive",
    "polymer": "precipitant",
    "detergent": "additive",
    "organic": "precipitant",
}


def component(
    name: str, cas: str | None, conc: float | None, unit: str | None, role: str | None, ph: float | None
) -> Component:
    """A checked component: catalogue spelling and CAS filled in, a CAS that contradicts the name refused."""
    clean = " ".join(name.split())
    if not clean:
        raise ContractError("a component has no name")
    known = {k.lower(): k for k in CHEMICALS}
    checked_cas = keys.cas_number(cas) if cas else None
    # A synonym, abbreviation or formula the vocabulary knows ("PEG 3350", "NaCl") is stored under the
    # vocabulary's name, unless the row's CAS number says it is another form (a hydrate, a salt).
    spelled = vocabulary().canonical(clean)
    if spelled is not None and (checked_cas is None or spelled[1] is None or checked_cas == spelled[1]):
        clean = spelled[0]
        if checked_cas is None and clean.lower() not in known:
            checked_cas = spelled[1]
    canonical = known.get(clean.lower())
    if canonical is not None:
        expected = CHEMICALS[canonical][0]
        if checked_cas is not None and checked_cas != expected:
            raise ContractError(f"CAS number {checked_cas} is not {canonical}'s ({expected})")
        clean, checked_cas = canonical, expected
    value, canon_unit = normalise_unit(conc, unit)
    role_key = (role or "").strip().lower()
    if role_key and role_key not in ROLES:
        raise ContractError(f"unknown component role {role!r}: one of {', '.join(sorted(ROLES))}")
    if ph is not None and not 0 <= ph <= 14:
        raise ContractError(f"pH {ph} is outside 0-14")
    return Component(
        clean,
        checked_cas,
        value,
        canon_unit,
        ROLES.get(role_key) or (CHEMICALS[canonical][1] if canonical else None),
        ph,
    )


_COMPONENT = re.compile(
    r"^(?P<conc>[0-9]+(?:\.[0-9]+)?)\s*(?P<unit>M|mM|µM|uM|%\s*\(?[wv]/v\)?|mg/ml)\s+(?P<name>.+?)"
    r"(?:\s*\[(?P<cas>[0-9-]+)\])?(?:\s+pH\s*(?P<ph>[0-9]+(?:\.[0-9]+)?))?(?:\s*\((?P<role>[a-z]+)\))?$"
)


def parse_components(text: str) -> list[Component]:
    """`1.0 M sodium chloride [7647-14-5]; 0.1 M sodium acetate [127-09-3] pH 4.6 (buffer)`."""
    out = []
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        m = _COMPONENT.match(part)
        if not m:
            raise ContractError(
                f"component {part!r} is not `<concentration> <unit> <name> [CAS] pH <x> (role)`"
            )
        out.append(
            component(
                m["name"],
                m["cas"],
                float(m["conc"]),
                m["unit"],
                m["role"],
                float(m["ph"]) if m["ph"] else None,
            )
        )
    return out
