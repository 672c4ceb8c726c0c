"""Which LIMS record answers a sample's keys, and which conflicts to report: crystal UUID first, then pin
barcode, then plate + well + drop.

Pure: takes the records one batched statement returned; never merges two records into one answer.
"""

from __future__ import annotations

from collections.abc import Iterable

from site_adapter.lims.keys import SampleKeys
from site_adapter.lims.records import CrystalRecord, Resolution


def resolve(keys: SampleKeys, candidates: Iterable[CrystalRecord]) -> Resolution:
    pwd = str(keys.plate_well_drop) if keys.plate_well_drop else None
    pool = list(candidates)
    by_uuid = [c for c in pool if keys.crystal_uuid and c.crystal_uuid == keys.crystal_uuid]
    by_pin = [c for c in pool if keys.pin_barcode and c.pin_barcode == keys.pin_barcode]
    by_pwd = [c for c in pool if pwd and c.plate_well_drop == pwd]
    ladder = (
        ("crystal UUID", keys.crystal_uuid, by_uuid),
        ("pin barcode", keys.pin_barcode, by_pin),
        ("plate/well/drop", pwd, by_pwd),
    )
    strongest = next(((name, value, found) for name, value, found in ladder if found), None)
    if strongest is None:
        return Resolution(None)
    key_name, key_value, found = strongest

    def agreement(c: CrystalRecord) -> tuple[int, int]:
        # Among several records for the strongest key, prefer the one the weaker keys also name;
        # then the oldest record (lowest id), so the choice is stable.
        score = (keys.pin_barcode is not None and c.pin_barcode == keys.pin_barcode) + (
            pwd is not None and c.plate_well_drop == pwd
        )
        return (-score, c.record_id)

    chosen = min(found, key=agreement)
    conflicts: list[str] = []
    if len(found) > 1:
        conflicts.append(
            f"{key_name} {key_value} names {len(found)} LIMS records: "
            + "; ".join(c.describe() for c in sorted(found, key=lambda c: c.record_id))
            + f"; answered with record {chosen.record_id}"
        )
    for name, value, matches in ladder:
        if name == key_name or value is None:
            continue
        others = [c for c in matches if c.record_id != chosen.record_id and c not in found]
        for other in others:
            conflicts.append(
                f"{name} {value} names {other.describe()}, but {key_name} {key_value} names "
                f"record {chosen.record_id}; answered with record {chosen.record_id}"
            )
    if keys.pin_barcode and chosen.pin_barcode and chosen.pin_barcode != keys.pin_barcode:
        conflicts.append(
            f"the site's pin barcode {keys.pin_barcode} differs from the LIMS record's "
            f"{chosen.pin_barcode} (record {chosen.record_id})"
        )
    if pwd and chosen.plate_well_drop != pwd:
        conflicts.append(
            f"the site's plate/well/drop {pwd} differs from the LIMS record's "
            f"{chosen.plate_well_drop} (record {chosen.record_id})"
        )
    if keys.crystal_uuid and chosen.crystal_uuid and chosen.crystal_uuid != keys.crystal_uuid:
        conflicts.append(
            f"the site's crystal UUID {keys.crystal_uuid} differs from the LIMS record's "
            f"{chosen.crystal_uuid} (record {chosen.record_id})"
        )
    return Resolution(chosen, tuple(conflicts))
