"""ISPyB's identifiers (issue 19): PDB entries of proteins (PDB, Protein_has_PDB) and of processing
programs (PDBEntry, PDBEntry_has_AutoProcProgram), and the `pdbId` / `hasDoi` filter terms.

ISPyB v5 (tables.sql of DiamondLightSource/ispyb-database) has no DOI and no archive-link column on
any table, so an ISPyB site answers "none" for both and `hasDoi: true` matches nothing. Reads only;
the tables are optional (schema_check.OPTIONAL_TABLES): a schema without them has no entries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from site_adapter import model
from site_adapter.backends.ispyb.keyset import id_list, int_ids
from site_adapter.backends.ispyb.schema_check import SchemaInfo
from site_adapter.backends.ispyb.terms import Predicates


def _code(value: Any) -> str | None:
    """A PDB code as the schema gives it (upper case); blank is none. ISPyB's PDB table also holds
    models with no code at all (data.sql: pdbId 6, 'ceo2', a CIF with no code)."""
    text = str(value).strip().upper() if value is not None else ""
    return text or None


async def by_protein(db: Any, s: SchemaInfo, ids: Sequence[str]) -> dict[str, list[model.PdbEntry]]:
    keys = int_ids(ids)
    out: dict[str, list[model.PdbEntry]] = {str(k): [] for k in keys}
    if not keys or not (s.has("PDB") and s.has("Protein_has_PDB")):
        return out
    rows = await db.fetch_rows(
        "SELECT php.`proteinid` AS protein, pdb.`pdbId` AS id, pdb.`code` AS code, pdb.`name` AS name,"
        f" {s.col('pdb', 'PDB', 'source')} AS source FROM Protein_has_PDB php"
        " JOIN PDB pdb ON pdb.`pdbId` = php.`pdbid`"
        f" WHERE php.`proteinid` IN ({id_list(keys)}) ORDER BY php.`proteinid`, pdb.`pdbId`",
        keys,
    )
    for r in rows:
        out[str(r["protein"])].append(
            model.PdbEntry(
                local_id=f"pdb-{r['id']}",
                pdb_id=_code(r["code"]),
                relation="protein",
                name=r["name"],
                source=r["source"],
                owner_local_id=str(r["protein"]),
            )
        )
    return out


def _programs_sql(s: SchemaInfo) -> str:
    """(pdbEntryId, autoProcProgramId) pairs: the entry's own program and those of the link table."""
    own = "SELECT pe.`pdbEntryId` AS entry, pe.`autoProcProgramId` AS program FROM PDBEntry pe"
    if not s.has("PDBEntry_has_AutoProcProgram"):
        return own
    return f"{own} UNION SELECT l.`pdbEntryId`, l.`autoProcProgramId` FROM PDBEntry_has_AutoProcProgram l"


async def by_collection(db: Any, s: SchemaInfo, ids: Sequence[str]) -> dict[str, list[model.PdbEntry]]:
    """Entries matched to the processing programs of each collection (through AutoProcIntegration)."""
    keys = int_ids(ids)
    out: dict[str, list[model.PdbEntry]] = {str(k): [] for k in keys}
    if not keys or not s.has("PDBEntry"):
        return out
    rows = await db.fetch_rows(
        "SELECT DISTINCT api.`dataCollectionId` AS dc, pe.`pdbEntryId` AS id, pe.`code` AS code,"
        f" {s.col('pe', 'PDBEntry', 'pdbTitle')} AS title, {s.col('pe', 'PDBEntry', 'resolution')} AS resolution,"
        " api.`autoProcProgramId` AS program"
        f" FROM ({_programs_sql(s)}) link JOIN PDBEntry pe ON pe.`pdbEntryId` = link.entry"
        " JOIN AutoProcIntegration api ON api.`autoProcProgramId` = link.program"
        f" WHERE api.`dataCollectionId` IN ({id_list(keys)}) ORDER BY api.`dataCollectionId`, pe.`pdbEntryId`",
        keys,
    )
    seen: set[tuple[str, str]] = set()
    for r in rows:
        key = (str(r["dc"]), str(r["id"]))
        if key in seen:  # one entry linked through two programs of one collection: once
            continue
        seen.add(key)
        out[key[0]].append(
            model.PdbEntry(
                local_id=f"entry-{r['id']}",
                pdb_id=_code(r["code"]),
                relation="processing",
                title=r["title"],
                resolution=None if r["resolution"] is None else float(r["resolution"]),
                owner_local_id=f"program-{r['program']}",
            )
        )
    return out


def has_doi(s: SchemaInfo, v: Any) -> Predicates | None:
    """No DOI column in ISPyB v5: true matches nothing (None), false matches every collection."""
    return None if v else ([], [])


def pdb_id(s: SchemaInfo, v: Any) -> Predicates | None:
    """Collections (alias dc) whose protein has the PDB code, or whose processing programs were matched
    to an entry with it; the collection's sample is its group's, else the legacy BLSAMPLEID."""
    where: list[str] = []
    args: list[Any] = []
    if s.has("PDB") and s.has("Protein_has_PDB"):
        legacy = "dc.`BLSAMPLEID`" if s.has("DataCollection", "BLSAMPLEID") else "NULL"
        where.append(
            "EXISTS (SELECT 1 FROM Protein_has_PDB php9 JOIN PDB pdb9 ON pdb9.`pdbId` = php9.`pdbid`"
            " JOIN Crystal c9 ON c9.`proteinId` = php9.`proteinid` JOIN BLSample bs9 ON bs9.`crystalId` = c9.`crystalId`"
            " WHERE pdb9.`code` = %s AND bs9.`blSampleId` = COALESCE((SELECT g9.`blSampleId` FROM DataCollectionGroup g9"
            f" WHERE g9.`dataCollectionGroupId` = dc.`dataCollectionGroupId`), {legacy}))"
        )
        args.append(v)
    if s.has("PDBEntry"):
        where.append(
            f"EXISTS (SELECT 1 FROM ({_programs_sql(s)}) l9 JOIN PDBEntry pe9 ON pe9.`pdbEntryId` = l9.entry"
            " JOIN AutoProcIntegration a9 ON a9.`autoProcProgramId` = l9.program"
            " WHERE a9.`dataCollectionId` = dc.`dataCollectionId` AND pe9.`code` = %s)"
        )
        args.append(v)
    if not where:
        return None
    return ["(" + " OR ".join(where) + ")"], args
