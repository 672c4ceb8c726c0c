"""Controlled values the contract accepts in filters, so a typo gets a clear error, not zero rows."""

from __future__ import annotations

# ISPyB v5 DataCollectionGroup.experimentType enum (tables.sql), the field's shared vocabulary.
EXPERIMENT_TYPES: tuple[str, ...] = (
    "SAD",
    "SAD - Inverse Beam",
    "OSC",
    "Collect - Multiwedge",
    "MAD",
    "Helical",
    "Multi-positional",
    "Mesh",
    "Burn",
    "MAD - Inverse Beam",
    "Characterization",
    "Dehydration",
    "tomo",
    "experiment",
    "EM",
    "PDF",
    "PDF+Bragg",
    "Bragg",
    "single particle",
    "Serial Fixed",
    "Serial Jet",
    "Standard",
    "Time Resolved",
    "Diamond Anvil High Pressure",
    "Custom",
    "XRF map",
    "Energy scan",
    "XRF spectrum",
    "XRF map xas",
    "Mesh3D",
    "Screening",
    "Still",
    "SSX-Chip",
    "SSX-Jet",
    "Metal ID",
)


def canonical_experiment_type(value: str) -> str | None:
    """The vocabulary's spelling of `value` (case-insensitive), or None when unknown."""
    folded = value.strip().casefold()
    for known in EXPERIMENT_TYPES:
        if known.casefold() == folded:
            return known
    return None


def space_group_key(value: str) -> str:
    """Compare space groups as crystallographers write them: 'P 61 2 2' equals 'P6122'."""
    return "".join(value.split()).upper()
