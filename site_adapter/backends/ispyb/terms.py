"""The filter terms of site_adapter.query on ISPyB's columns: one mapping per connection, compiled here.

What a term means and how its value is normalised lives in site_adapter.query; this module only says
which ISPyB columns answer it (aliases bs BLSample, c Crystal, pr Protein, dc, dcg, ses BLSession,
p Proposal). It runs nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from site_adapter import query
from site_adapter.backends.ispyb import normalise as n
from site_adapter.backends.ispyb.keyset import binary_equals
from site_adapter.backends.ispyb.schema_check import SchemaInfo

Predicates = tuple[list[str], list[Any]]
# A term compiled for this schema and value: WHERE predicates and their arguments, or None when the
# term can match nothing here (a column this ISPyB lacks).
TermSql = Callable[[SchemaInfo, Any], "Predicates | None"]

CODE = "CONCAT(p.`proposalCode`, p.`proposalNumber`)"


def proposal_predicates(code: str) -> Predicates:
    """Proposal-code match, case-insensitive as the native store's (ISPyB's latin1_swedish_ci does it),
    through the (proposalCode, proposalNumber) unique index when the code is letters then digits
    ('cm14451'); other codes ('ih-ls3100') compare the concatenation (Proposal is a small table)."""
    split = n.split_proposal(code)
    if split is None:
        return [f"{CODE} = %s"], [code]
    return ["p.`proposalCode` = %s", "p.`proposalNumber` = %s"], [split[0], split[1]]


def visit_predicates(s: SchemaInfo, visit: str) -> Predicates | None:
    """'cm14451-1': the proposal's predicates and BLSession.visit_number; None when nothing can match."""
    split = n.split_visit(visit)
    if split is None or not s.has("BLSession", "visit_number"):
        return None
    where, args = proposal_predicates(split[0])
    return where + ["ses.`visit_number` = %s"], args + [split[1]]


def exact(column: str, table: str, name: str) -> TermSql:
    """Equal, case- and accent-sensitive; the plain `=` lets an index serve it."""
    return lambda s, v: ([f"{column} = %s", binary_equals(column)], [v, v]) if s.has(table, name) else None


def simple(sql: str, table: str | None = None, name: str | None = None) -> TermSql:
    """One predicate with one argument, when the schema has `table`.`name` (if given)."""
    return lambda s, v: ([sql], [v]) if table is None or name is None or s.has(table, name) else None


def since(column: str) -> TermSql:
    """At or after an instant: the stored local wall time from the instant's first wall time on
    (localtime.WallClock.wall), so the comparison is between instants."""
    return lambda s, v: ([f"{column} >= %s"], [s.clock.wall(v)])


def until(column: str) -> TermSql:
    """Strictly before an instant (a zero or null date never matches)."""
    return lambda s, v: ([f"{column} < %s AND {column} >= '1000-01-01'"], [s.clock.wall(v)])


def _nothing(s: SchemaInfo, v: Any) -> None:
    return None


def _proposal(s: SchemaInfo, v: Any) -> Predicates:
    return proposal_predicates(v)


# Case-insensitive terms (codes, visits, beamlines, UUIDs) compare under ISPyB's latin1_swedish_ci.
CONTAINS_NAME = "LOCATE(LOWER(%s), LOWER(CONVERT(pr.`name` USING utf8mb4))) > 0"
SAMPLE: dict[str, TermSql] = {
    "name": exact("bs.`name`", "BLSample", "name"),
    "barcode": exact("bs.`code`", "BLSample", "code"),
    "crystal_uuid": simple("c.`crystalUUID` = %s", "Crystal", "crystalUUID"),
    "protein_acronym": exact("pr.`acronym`", "Protein", "acronym"),
    "proposal": _proposal,
}
PROTEIN: dict[str, TermSql] = {
    "acronym": exact("pr.`acronym`", "Protein", "acronym"),
    "name": simple(CONTAINS_NAME, "Protein", "name"),
    "uniprot_id": _nothing,  # ISPyB v5 has no UniProt column on Protein (tables.sql)
    "proposal": _proposal,
}
SESSION: dict[str, TermSql] = {
    "proposal": _proposal,
    "visit": visit_predicates,
    "beamline": simple("ses.`beamLineName` = %s"),
    "start_after": since("ses.`startDate`"),
    "start_before": until("ses.`startDate`"),
}
PROPOSAL: dict[str, TermSql] = {"code": _proposal}


def compile_terms(
    s: SchemaInfo, conditions: Iterable[query.Condition], terms: dict[str, TermSql]
) -> Predicates | None:
    """The `conditions` (of a site_adapter.query.QuerySpec) that `terms` maps, as predicates; None when
    one of them matches nothing here."""
    where: list[str] = []
    args: list[Any] = []
    for c in conditions:
        if c.term not in terms:
            continue
        compiled = terms[c.term](s, c.value)
        if compiled is None:
            return None
        where += compiled[0]
        args += compiled[1]
    return where, args
