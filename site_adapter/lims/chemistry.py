"""Reference chemistry for the demo LIMS: chemicals with CAS numbers, ligands with PDB CCD ids, and one
optimisation-grid screen per demo protein around its textbook crystallisation condition.

Data only (no SQL). CAS Registry Numbers are those of the forms screens use; each passes the CAS
check-digit rule (tested). Ligand ids are PDB Chemical Component Dictionary ids.
"""

from __future__ import annotations

from dataclasses import dataclass

# name -> (CAS Registry Number, usual role). Sources: CAS registry numbers as printed on the
# suppliers' (Hampton Research, Molecular Dimensions, Sigma-Aldrich) labels.
CHEMICALS: dict[str, tuple[str, str]] = {
    "sodium chloride": ("7647-14-5", "precipitant"),
    "sodium acetate": ("127-09-3", "buffer"),
    "ammonium sulfate": ("7783-20-2", "precipitant"),
    "polyethylene glycol 8000": ("25322-68-3", "precipitant"),
    "polyethylene glycol 4000": ("25322-68-3", "precipitant"),
    "glycerol": ("56-81-5", "additive"),
    "HEPES": ("7365-45-9", "buffer"),
    "sodium potassium tartrate tetrahydrate": ("6381-59-5", "precipitant"),
    "ADA": ("26239-55-4", "buffer"),
    "calcium acetate": ("62-54-4", "salt"),
    "dimethyl sulfoxide": ("67-68-5", "additive"),
    "sodium phosphate dibasic": ("7558-79-4", "precipitant"),
    "sodium citrate tribasic dihydrate": ("6132-04-3", "additive"),
    "sodium nitrate": ("7631-99-4", "precipitant"),
    "magnesium chloride hexahydrate": ("7791-18-6", "salt"),
    "Tris": ("77-86-1", "buffer"),
    "MES": ("4432-31-9", "buffer"),
    "ammonium acetate": ("631-61-8", "salt"),
    "ethylene glycol": ("107-21-1", "additive"),
    "imidazole": ("288-32-4", "buffer"),
}

# PDB CCD id -> (compound, SMILES)
LIGANDS: dict[str, tuple[str, str]] = {
    "BEN": ("benzamidine", "NC(=N)c1ccccc1"),
    "NAG": ("N-acetyl-beta-D-glucosamine", "CC(=O)N[C@@H]1[C@@H](O)[C@H](O)[C@@H](CO)O[C@H]1O"),
    "XYL": ("xylitol", "OCC(O)C(O)C(O)CO"),
    "IPH": ("phenol", "Oc1ccccc1"),
    "DMS": ("dimethyl sulfoxide", "CS(C)=O"),
    "GOL": ("glycerol", "OCC(O)CO"),
}


@dataclass(frozen=True)
class Grid:
    """A 96-condition optimisation grid: the precipitant rises along the columns (1-12), the buffer pH down
    the rows (A-H), other components are fixed. Labs build such grids around a hit; the names say so."""

    protein: str  # acronym in site_adapter.demo_data.PROTEINS
    screen: str
    precipitant: str
    precipitant_unit: str  # M or %w/v
    precipitant_start: float
    precipitant_step: float
    buffers: tuple[tuple[str, float], ...]  # per row A-H: (buffer, pH); concentration 0.1 M
    fixed: tuple[tuple[str, float, str], ...]  # (chemical, concentration, unit)
    method: str  # mmCIF _exptl_crystal_grow.method
    temperature: float  # K
    plate_type: str
    cryo: tuple[str, ...]
    soak: tuple[str, float, float, float] | None  # (CCD id, mM, minutes, share of crystals soaked)
    construct_residues: tuple[int, int] | None  # UniProt numbering of the mature chain, where well known
    expression_host: str
    modifications: str | None = None


def _rows(*pairs: tuple[str, float]) -> tuple[tuple[str, float], ...]:
    return tuple(pairs)


SITTING = "VAPOR DIFFUSION, SITTING DROP"
MRC3 = "MRC 3-drop 96-well (SWISSCI)"

GRIDS: dict[str, Grid] = {
    g.protein: g
    for g in (
        # HEWL: sodium chloride with sodium acetate pH 4.6, the classic tetragonal lysozyme condition.
        Grid(
            "HEWL",
            "HEWL NaCl/acetate grid",
            "sodium chloride",
            "M",
            0.5,
            0.1,
            _rows(*[("sodium acetate", round(4.0 + 0.2 * i, 1)) for i in range(8)]),
            (),
            SITTING,
            293.0,
            MRC3,
            ("25% (v/v) glycerol", "20% (v/v) ethylene glycol"),
            ("NAG", 50.0, 60.0, 0.2),
            (19, 147),
            "Gallus gallus (purified from egg white)",
        ),
        # Thaumatin: sodium/potassium tartrate with ADA (rows A-D) or HEPES (rows E-H).
        Grid(
            "THAU",
            "Thaumatin tartrate grid",
            "sodium potassium tartrate tetrahydrate",
            "M",
            0.5,
            0.1,
            _rows(
                ("ADA", 6.0),
                ("ADA", 6.3),
                ("ADA", 6.6),
                ("ADA", 6.9),
                ("HEPES", 7.0),
                ("HEPES", 7.2),
                ("HEPES", 7.4),
                ("HEPES", 7.6),
            ),
            (),
            SITTING,
            293.0,
            MRC3,
            ("25% (v/v) glycerol",),
            None,
            None,
            "Thaumatococcus daniellii (purified from fruit)",
        ),
        # Thermolysin: ammonium sulfate with calcium acetate, DMSO to dissolve the protein.
        Grid(
            "TLN",
            "Thermolysin sulfate/calcium grid",
            "ammonium sulfate",
            "M",
            1.0,
            0.1,
            _rows(*[("MES", round(5.6 + 0.2 * i, 1)) for i in range(8)]),
            (("calcium acetate", 0.05, "M"), ("dimethyl sulfoxide", 10.0, "%v/v")),
            SITTING,
            293.0,
            MRC3,
            ("20% (v/v) glycerol",),
            ("DMS", 100.0, 10.0, 0.1),
            (233, 548),
            "Bacillus thermoproteolyticus (secreted, purified)",
        ),
        # Insulin (cubic): sodium phosphate with sodium citrate.
        Grid(
            "INS",
            "Insulin phosphate/citrate grid",
            "sodium phosphate dibasic",
            "M",
            0.1,
            0.05,
            _rows(*[("Tris", round(7.6 + 0.2 * i, 1)) for i in range(8)]),
            (("sodium citrate tribasic dihydrate", 0.01, "M"),),
            SITTING,
            293.0,
            MRC3,
            ("25% (v/v) glycerol",),
            ("IPH", 10.0, 15.0, 0.15),
            None,
            "Bos taurus (purified from pancreas)",
        ),
        # Proteinase K: sodium nitrate with Tris.
        Grid(
            "PROK",
            "Proteinase K nitrate grid",
            "sodium nitrate",
            "M",
            0.6,
            0.1,
            _rows(*[("Tris", round(7.0 + 0.2 * i, 1)) for i in range(8)]),
            (),
            SITTING,
            293.0,
            MRC3,
            ("25% (v/v) glycerol", "20% (v/v) ethylene glycol"),
            None,
            (106, 384),
            "Engyodontium album (secreted, purified)",
        ),
        # Glucose (xylose) isomerase: ammonium sulfate, magnesium chloride, HEPES.
        Grid(
            "GI",
            "Glucose isomerase sulfate grid",
            "ammonium sulfate",
            "M",
            0.9,
            0.1,
            _rows(*[("HEPES", round(6.8 + 0.2 * i, 1)) for i in range(8)]),
            (("magnesium chloride hexahydrate", 0.01, "M"),),
            SITTING,
            293.0,
            MRC3,
            ("30% (v/v) glycerol",),
            ("XYL", 50.0, 120.0, 0.3),
            None,
            "Streptomyces rubiginosus",
        ),
        # Trypsin: PEG 8000 with ammonium sulfate; benzamidine soaked into most crystals.
        Grid(
            "TRY",
            "Trypsin PEG 8000 grid",
            "polyethylene glycol 8000",
            "%w/v",
            16.0,
            1.2,
            _rows(*[("imidazole", round(6.6 + 0.2 * i, 1)) for i in range(8)]),
            (("ammonium sulfate", 0.2, "M"),),
            SITTING,
            293.0,
            MRC3,
            ("20% (v/v) glycerol",),
            ("BEN", 20.0, 30.0, 0.7),
            (24, 246),
            "Bos taurus (purified from pancreas)",
        ),
        # Endothiapepsin: PEG 4000 with ammonium acetate and sodium acetate.
        Grid(
            "FAE",
            "Endothiapepsin PEG 4000 grid",
            "polyethylene glycol 4000",
            "%w/v",
            18.0,
            1.0,
            _rows(*[("sodium acetate", round(4.2 + 0.2 * i, 1)) for i in range(8)]),
            (("ammonium acetate", 0.1, "M"),),
            SITTING,
            293.0,
            MRC3,
            ("25% (v/v) glycerol",),
            ("GOL", 500.0, 5.0, 0.1),
            None,
            "Cryphonectria parasitica (secreted, purified)",
        ),
    )
}

ROWS = "ABCDEFGH"


def grid_condition(grid: Grid, well: str) -> tuple[float, list[tuple[str, float, str, float | None]]]:
    """The condition at `well` (A1..H12) of a grid: (pH, [(chemical, concentration, unit, pH or None)])."""
    row, col = ROWS.index(well[0]), int(well[1:]) - 1
    buffer, ph = grid.buffers[row]
    conc = round(grid.precipitant_start + grid.precipitant_step * col, 3)
    parts = [(grid.precipitant, conc, grid.precipitant_unit, None), (buffer, 0.1, "M", ph)]
    parts += [(name, c, unit, None) for name, c, unit in grid.fixed]
    return ph, parts
