"""Expected demo LIMS content, recomputed here from site_adapter.demo_data and the documented rule
(docs/lims.md: a crystal is known when sha256("seed:site:crystal:lims") / 16^12 < 0.85, and carries no
UUID below 0.04), without calling the LIMS's own generator."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from site_adapter.demo_data import DemoFacility, plate_well_drop


@dataclass(frozen=True)
class Known:
    site: str
    crystal_id: int
    sample_id: int
    uuid: str  # the site's crystal UUID
    lims_has_uuid: bool
    pin: str
    acronym: str
    plate: str
    well: str
    drop: int


def fraction(site: str, crystal_id: int, seed: int = 1) -> float:
    return int(hashlib.sha256(f"{seed}:{site}:{crystal_id}:lims".encode()).hexdigest()[:12], 16) / 16**12


def demo_samples(sites: dict[str, int]) -> tuple[list[Known], list[Known]]:
    """(crystals the LIMS knows, crystals it does not) for the given demo sites."""
    known, unknown = [], []
    for site, n in sites.items():
        fac = DemoFacility(site, n)
        ref = fac.reference()
        acronym = {row[0]: row[2] for row in ref.protein}
        uuids = {}
        for table, row in fac.rows(ref):
            if table == "crystal":
                uuids[row[0]] = row[2]
            elif table == "sample":
                sample_id, crystal_id, protein_id, proposal_id, _, pin = row[:6]
                plate, well, drop = plate_well_drop(site, proposal_id, crystal_id)
                f = fraction(site, crystal_id)
                k = Known(
                    site,
                    crystal_id,
                    sample_id,
                    uuids[crystal_id],
                    f >= 0.04,
                    pin,
                    acronym[protein_id],
                    plate,
                    well,
                    drop,
                )
                (known if f < 0.85 else unknown).append(k)
    return known, unknown


HEWL_NACL = {col: round(0.5 + 0.1 * (col - 1), 3) for col in range(1, 13)}  # M, by grid column
HEWL_PH = {row: round(4.0 + 0.2 * i, 1) for i, row in enumerate("ABCDEFGH")}  # sodium acetate pH, by grid row
