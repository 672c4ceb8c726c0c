"""Exports of a data collection's metadata in other communities' formats (issue 19: PDB deposition)."""
