"""SQL of the native store: filter predicates, keyset conditions and row-to-model conversion.

Every statement the native backend runs is built here, with bind parameters only: values from a
caller never become SQL text.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson

from mx_schema.cursors import time_key
from site_adapter import access, model
from site_adapter.backends.base import (
    DataCollectionFilter,
    SortKey,
)
from site_adapter.query import (
    REACH,
    AccessSpec,
    Condition,
    Match,
    Metric,
    Position,
    QuerySpec,
    Reach,
    Sort,
    access_spec,
)

NO_TIME = dt.datetime(
    1, 1, 1, tzinfo=dt.UTC
)  # what a missing start time sorts as (003_instants.sql sort_time)


class Params:
    """Collects bind values and hands out $n placeholders."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def add(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


def like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# --- the access rule (site_adapter/access.py) as SQL ---------------------------------------


def visible_sessions(spec: AccessSpec, p: Params) -> str:
    """SELECT of the session ids `spec` lets the viewer see (site_adapter.access.session_visible)."""
    cases = " ".join(f"WHEN {p.add(bl)} THEN {p.add(cut)}::timestamptz" for bl, cut in spec.beamline_cutoffs)
    default = f"{p.add(spec.default_cutoff)}::timestamptz"
    cutoff = f"CASE lower(se.beamline) {cases} ELSE {default} END" if cases else default
    rule = [f"se.end_time < {cutoff}"]
    if spec.staff_beamlines:
        rule.append(f"lower(se.beamline) = ANY({p.add(list(spec.staff_beamlines))}::text[])")
    if spec.login:
        rule += _member_rules(spec.login, p)
    return f"SELECT se.id FROM session se WHERE {' OR '.join(rule)}"


def _member_rules(login: str, p: Params) -> list[str]:
    """Sessions (alias se) whose proposal or session `login` is a member of."""
    arg = p.add(login)
    return [
        "se.proposal_id IN (SELECT pm.proposal_id FROM proposal_member pm JOIN person pe"
        f" ON pe.id = pm.person_id WHERE pe.login = {arg})",
        "se.id IN (SELECT sm.session_id FROM session_member sm JOIN person pe"
        f" ON pe.id = sm.person_id WHERE pe.login = {arg})",
    ]


def owned_sessions(owner: access.Ownership, p: Params) -> str | None:
    """`mine`: SELECT of the owner's session ids (member of, or staff for); None for staff of every
    beamline (no restriction); "" when the owner owns nothing."""
    if owner.every_beamline:
        return None
    rule: list[str] = []
    if owner.beamlines:
        rule.append(f"lower(se.beamline) = ANY({p.add(sorted(owner.beamlines))}::text[])")
    if owner.login:
        rule += _member_rules(owner.login, p)
    return f"SELECT se.id FROM session se WHERE {' OR '.join(rule)}" if rule else ""


def _member_proposals(login: str, p: Params) -> str:
    return (
        "SELECT pm.proposal_id FROM proposal_member pm JOIN person pe ON pe.id = pm.person_id"
        f" WHERE pe.login = {p.add(login)}"
    )


# Per kind: (column of the session id, or of the record's own proposal / use) as site_adapter.query.REACH says.
_USED_BY = {"sample": "sample_id", "protein": "protein_id"}


def visibility(kind: str, alias: str, p: Params) -> list[str]:
    """The access rule (site_adapter.query.AccessSpec) for one table, as WHERE clauses on `alias`
    (empty: everything visible)."""
    reach = REACH.get(kind, Reach.PUBLIC)
    spec = access_spec()
    if reach is Reach.PUBLIC or spec is None:
        return []  # detectors carry no proposal: visible to all
    if kind == "crystal":
        inner = visibility("sample", "s2", p)[0]
        return [f"{alias}.id IN (SELECT s2.crystal_id FROM sample s2 WHERE {inner})"]
    sessions = visible_sessions(spec, p)
    if reach is Reach.SESSION:
        if kind == "session":
            return [f"{alias}.id IN ({sessions})"]
        if kind == "processing_result":
            return [
                f"{alias}.data_collection_id IN (SELECT dc.id FROM data_collection dc"
                f" WHERE dc.session_id IN ({sessions}))"
            ]
        return [f"{alias}.session_id IN ({sessions})"]
    own = "id" if reach is Reach.PROPOSAL else "proposal_id"
    member = f" OR {alias}.{own} IN ({_member_proposals(spec.login, p)})" if spec.login else ""
    if reach is Reach.PROPOSAL:
        used = f"SELECT se2.proposal_id FROM session se2 WHERE se2.id IN ({sessions})"
    else:
        used = f"SELECT dc.{_USED_BY[kind]} FROM data_collection dc WHERE dc.session_id IN ({sessions})"
    return [f"({alias}.id IN ({used}){member})"]


# Each contract term of DataCollectionFilter (site_adapter.query.DATA_COLLECTION_TERMS, which says what
# it means and normalises its value) on the native columns; `{}` is the value's placeholder.
_DC_TERMS: dict[str, str] = {
    "sample_name": "dc.sample_id IN (SELECT id FROM sample WHERE name = {})",
    "sample_barcode": "dc.sample_id IN (SELECT id FROM sample WHERE barcode = {})",
    "crystal_uuid": "dc.sample_id IN (SELECT s.id FROM sample s JOIN crystal c ON c.id = s.crystal_id WHERE c.uuid = {})",
    "protein_acronym": "dc.protein_id IN (SELECT id FROM protein WHERE acronym = {})",
    "protein_name": "dc.protein_id IN (SELECT id FROM protein WHERE lower(name) LIKE {})",
    "uniprot_id": "dc.protein_id IN (SELECT id FROM protein WHERE uniprot_ids @> ARRAY[{}]::text[])",
    "proposal": "dc.proposal_id = (SELECT id FROM proposal WHERE code = {})",
    "visit": "dc.session_id = (SELECT id FROM session WHERE visit = {})",
    "beamline": "dc.beamline = {}",
    "experiment_type": "dc.experiment_type = {}",
    # On sort_time (start_time, or year 1 when there is none) with start_time present: the same rows as
    # `dc.start_time >= {}`, but a time range reads an index (migration 011) instead of the whole table,
    # and the planner's estimate of it is not halved by a second, correlated bound (issue 17).
    "start_after": "dc.sort_time >= {} AND dc.start_time IS NOT NULL",
    "start_before": "dc.sort_time < {} AND dc.start_time IS NOT NULL",
    "resolution_better_than": "dc.best_resolution <= {}",
    "space_group": "upper(replace(dc.best_space_group, ' ', '')) = {}",
    # Issue 19 (migration 010): a DOI of its own, of its data set or of its session; a PDB entry of its
    # protein or of one of its processing results.
    "has_doi": "{}::boolean = EXISTS (SELECT 1 FROM doi d WHERE d.data_collection_id = dc.id"
    " OR d.data_collection_group_id = dc.group_id OR d.session_id = dc.session_id)",
    "pdb_id": "EXISTS (SELECT 1 FROM pdb_entry pe LEFT JOIN processing_result pr2 ON pr2.id = pe.processing_result_id"
    " WHERE pe.pdb_id = {} AND (pe.protein_id = dc.protein_id OR pr2.data_collection_id = dc.id))",
}


def _value(c: Condition) -> Any:
    """A condition's bind value; a substring becomes a LIKE pattern."""
    if c.match is Match.CONTAINS:
        return "%" + like_escape(str(c.value).lower()) + "%"
    return c.value


def data_collection_where(spec: QuerySpec, f: DataCollectionFilter, p: Params) -> list[str]:
    """The spec's conditions, and the filter's parts beyond the contract terms (mine, LIMS keys, cell)."""
    w: list[str] = visibility("data_collection", "dc", p)
    if f.mine is not None:
        owned = owned_sessions(f.mine, p)
        if owned is not None:
            w.append(f"dc.session_id IN ({owned})" if owned else "FALSE")
    w += _terms(spec, _DC_TERMS, p)
    if f.has_sample_keys:
        w.append(_sample_keys(f, p))
    if f.cell is not None:
        close = " AND ".join(
            f"abs(pr.cell_{name} - {p.add(v)}) <= {p.add(tol)}" for name, v, tol in f.cell.bounds()
        )
        w.append(
            "EXISTS (SELECT 1 FROM processing_result pr WHERE pr.data_collection_id = dc.id"
            f" AND pr.status = 'SUCCESS' AND {close})"
        )
    return w


def _sample_keys(f: DataCollectionFilter, p: Params) -> str:
    """The hub's LIMS search: crystal UUID in one list OR pin barcode in the other."""
    uuids = [u.lower() for u in f.any_crystal_uuid or ()]
    barcodes = list(f.any_sample_barcode or ())
    return (
        "dc.sample_id IN (SELECT s.id FROM sample s LEFT JOIN crystal c ON c.id = s.crystal_id"
        f" WHERE c.uuid = ANY({p.add(uuids)}::text[]) OR s.barcode = ANY({p.add(barcodes)}::text[]))"
    )


_SAMPLE_SQL: dict[str, str] = {
    "name": "s.name = {}",
    "barcode": "s.barcode = {}",
    "crystal_uuid": "s.crystal_id IN (SELECT id FROM crystal WHERE uuid = {})",
    "protein_acronym": "s.protein_id IN (SELECT id FROM protein WHERE acronym = {})",
    "proposal": "s.proposal_id = (SELECT id FROM proposal WHERE code = {})",
}
_PROTEIN_SQL: dict[str, str] = {
    "acronym": "pr.acronym = {}",
    "name": "lower(pr.name) LIKE {}",
    "uniprot_id": "pr.uniprot_ids @> ARRAY[{}]::text[]",
    "proposal": "pr.proposal_id = (SELECT id FROM proposal WHERE code = {})",
}
_SESSION_SQL: dict[str, str] = {
    "proposal": "se.proposal_id = (SELECT id FROM proposal WHERE code = {})",
    "visit": "se.visit = {}",
    "beamline": "se.beamline = {}",
    "start_after": "se.start_time >= {}",
    "start_before": "se.start_time < {}",
}
_PROPOSAL_SQL: dict[str, str] = {"code": "po.code = {}"}


def _terms(spec: QuerySpec, sql: dict[str, str], p: Params) -> list[str]:
    """The spec's conditions on the native columns."""
    return [sql[c.term].format(p.add(_value(c))) for c in spec.conditions]


# The SQL of each connection's terms, by QuerySpec.kind, and the alias its access rule applies to.
_SQL: dict[str, tuple[str, dict[str, str]]] = {
    "sample": ("s", _SAMPLE_SQL),
    "protein": ("pr", _PROTEIN_SQL),
    "session": ("se", _SESSION_SQL),
    "proposal": ("po", _PROPOSAL_SQL),
}


def where(spec: QuerySpec, p: Params) -> list[str]:
    """WHERE clauses of a sample, protein, session or proposal page: the access rule and the terms."""
    alias, sql = _SQL[spec.kind]
    return visibility(spec.kind, alias, p) + _terms(spec, sql, p)


def time_keyset(sort_col: str, id_col: str, at: Position | None, p: Params) -> list[str]:
    """Records strictly after `at` in (time DESC, id DESC) order; a null time sorts as NO_TIME."""
    if at is None:
        return []
    when = at.value if at.value is not None else NO_TIME
    return [f"({sort_col}, {id_col}) < ({p.add(when)}, {p.add(at.local_id)})"]


def text_keyset(expr: str, id_col: str, at: Position | None, p: Params) -> list[str]:
    """Records strictly after `at` in (text ASC by code point, id ASC) order."""
    if at is None:
        return []
    return [f'({expr} COLLATE "C", {id_col}) > ({p.add(at.value)}, {p.add(at.local_id)})']


# dataCollections(orderBy:): each metric's column (data_collection.best_*, kept by the loader from the
# best result, migration 007), and how a missing value reads so that it sorts last in both directions.
_METRIC_COLUMNS: dict[Metric, str] = {
    Metric.START_TIME: "dc.start_time",
    Metric.RESOLUTION: "dc.best_resolution",
    Metric.COMPLETENESS: "dc.best_completeness",
    Metric.CC_HALF: "dc.best_cc_half",
    Metric.I_OVER_SIGMA: "dc.best_mean_i_over_sig_i",
}


def _sort_expr(sort: Sort) -> tuple[str, Any]:
    """The sort expression (as migration 007 indexes it) and the value a missing one reads as."""
    column = _METRIC_COLUMNS[sort.metric]
    if sort.metric is Metric.START_TIME:
        if sort.descending:  # today's order: 003_instants.sql's sort_time
            return "dc.sort_time", NO_TIME
        return f"coalesce({column}, 'infinity'::timestamptz)", "infinity"
    missing = float("-inf") if sort.descending else float("inf")
    literal = "'-Infinity'::float8" if sort.descending else "'Infinity'::float8"
    return f"coalesce({column}, {literal})", missing


def sort_keyset(sort: Sort, at: Position | None, p: Params) -> tuple[list[str], str]:
    """The keyset condition after `at` and the ORDER BY of an orderBy `sort`: one row comparison on
    (expression, id), which the index of migration 007 serves."""
    expr, missing = _sort_expr(sort)
    op, direction = ("<", "DESC") if sort.descending else (">", "ASC")
    order = f"{expr} {direction}, dc.id {direction}"
    if at is None:
        return [], order
    value = missing if at.value is None else at.value
    if value == "infinity":  # bound as a parameter all the same: the count statement drops two
        bound = f"coalesce({p.add(None)}::timestamptz, 'infinity'::timestamptz)"
    else:
        bound = p.add(value)
    return [f"({expr}, dc.id) {op} ({bound}, {p.add(at.local_id)})"], order


def sort_value(sort: Sort, r: Any) -> SortKey:
    """A row's keyset position under `sort`: the served value (a time key, or the number) and its id."""
    if sort.metric is Metric.START_TIME:
        return time_sort_key(r["start_time"], r["id"])
    value = r[_METRIC_COLUMNS[sort.metric].removeprefix("dc.")]
    return (None if value is None else float(value), int(r["id"]))


def audit_column(kind: str, alias: str) -> str:
    """A column `audit_proposal`: the code of the proposal a row of `kind` belongs to, which the audit
    log names (site_adapter.access.touch); codes, not ids, so both backends write the same thing."""
    if kind == "proposal":
        return f"{alias}.code AS audit_proposal"
    return f"(SELECT ap.code FROM proposal ap WHERE ap.id = {alias}.proposal_id) AS audit_proposal"


def where_sql(clauses: list[str]) -> str:
    return (" WHERE " + " AND ".join(clauses)) if clauses else ""


# --- rows to model -------------------------------------------------------------------------


def cell_of(r: Any) -> model.UnitCell | None:
    if r["cell_a"] is None:
        return None
    return model.UnitCell(
        r["cell_a"], r["cell_b"], r["cell_c"], r["cell_alpha"], r["cell_beta"], r["cell_gamma"]
    )


def time_sort_key(start_time: dt.datetime | None, local_id: int) -> SortKey:
    return (time_key(start_time), int(local_id))


# Rows become records by name (site_adapter.model.from_row): the store's columns carry the model's field
# names (ids as `<x>_id`), so a new field needs its column in the migration and nothing here.


def data_collection(r: Any) -> model.DataCollection:
    return model.from_row(model.DataCollection, r)


def session(r: Any) -> model.Session:
    return model.from_row(model.Session, r, proposal=r["proposal_code"])


def proposal(r: Any) -> model.Proposal:
    return model.from_row(model.Proposal, r)


def protein(r: Any) -> model.Protein:
    return model.from_row(model.Protein, r, uniprot_ids=tuple(r["uniprot_ids"] or ()))


def crystal(r: Any) -> model.Crystal:
    return model.from_row(model.Crystal, r, cell=cell_of(r))


def sample(r: Any) -> model.Sample:
    ext = r["external_ids"]
    if isinstance(ext, str):
        ext = orjson.loads(ext)
    external = tuple(model.ExternalId(e["system"], e["kind"], e["value"]) for e in ext or ())
    return model.from_row(model.Sample, r, external_ids=external)


def detector(r: Any) -> model.Detector:
    return model.from_row(model.Detector, r)


def group(r: Any) -> model.DataCollectionGroup:
    return model.from_row(model.DataCollectionGroup, r)


def _shell(v: Any) -> model.ShellStatistics | None:
    if v is None:
        return None
    if isinstance(v, str):
        v = orjson.loads(v)
    return model.ShellStatistics(**v)


def processing_result(r: Any) -> model.ProcessingResult:
    return model.from_row(
        model.ProcessingResult,
        r,
        cell=cell_of(r),
        overall=_shell(r["overall"]),
        inner=_shell(r["inner_shell"]),
        outer=_shell(r["outer_shell"]),
    )


# --- grid scans and downstream results (issue 16; migration 006) ---------------------------------


def grid_scan(r: Any) -> model.GridScan:
    return model.from_row(model.GridScan, r)


def image_quality(r: Any) -> model.ImageQuality:
    return model.from_row(model.ImageQuality, r)


def xray_centring_result(r: Any) -> model.XrayCentringResult:
    return model.from_row(model.XrayCentringResult, r)


def integration(r: Any) -> model.Integration:
    return model.from_row(model.Integration, r, cell=cell_of(r))


def mr_run(r: Any) -> model.MrRun:
    return model.from_row(model.MrRun, r, log_files=tuple(r["log_files"] or ()))


def phasing(r: Any) -> model.Phasing:
    return model.from_row(model.Phasing, r)


def visible_collections(column: str, p: Params) -> list[str]:
    """`column` (a data_collection id) names a collection the viewer may see (empty: no rule)."""
    rule = visibility("data_collection", "vdc", p)
    return [f"{column} IN (SELECT vdc.id FROM data_collection vdc WHERE {rule[0]})"] if rule else []


def visible_results(column: str, p: Params) -> list[str]:
    """`column` (a processing_result id) names a result the viewer may see (empty: no rule)."""
    rule = visibility("processing_result", "vpr", p)
    return [f"{column} IN (SELECT vpr.id FROM processing_result vpr WHERE {rule[0]})"] if rule else []


def result_file(r: Any) -> model.ResultFile:
    return model.from_row(model.ResultFile, r, processing_local_id=str(r["processing_id"]))


def snapshot(r: Any) -> model.Snapshot:
    dc = str(r["data_collection_id"])
    return model.Snapshot(f"{dc}-{r['position']}", dc, int(r["position"]), r["path"])
