"""The search-api's queries answered from the federation: the hub's connections walked cursor by cursor
(exact cross-site paging, never per-site offsets), the filter applied to each mapped record, `skip` and
`limit` counted over the matches. Sites that fail are collected, never dropped silently.

Talks only to the hub's own GraphQL (inprocess.py); no HTTP here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mx_hub.dataset_record import parse_dataset_id
from mx_hub.inprocess import HubQuery
from mx_hub.panosc import model
from mx_hub.panosc.filters import Filter, FilterError, Include, matches
from mx_hub.panosc.units import UNITS, from_canonical, to_canonical

PAGE = 500  # the hub's page-size limit (mx_schema.limits.MAX_PAGE_SIZE)
MAX_SCAN = 50_000  # records walked for one request; past it the caller is asked to narrow the filter

DC_QUERY = (
    "query($f: DataCollectionFilter, $first: Int, $after: String) {"
    " dataCollections(filter: $f, first: $first, after: $after) {"
    " totalCount pageInfo { hasNextPage endCursor } edges { node {" + model.DATASET_FIELDS + "} } } }"
)
POSITIONS = (
    "query($f: DataCollectionFilter, $first: Int, $after: String) {"
    " dataCollections(filter: $f, first: $first, after: $after) {"
    " pageInfo { hasNextPage endCursor } edges { cursor } } }"
)


@dataclass
class Result:
    items: list[dict[str, Any]] = field(default_factory=list)
    failed_sites: set[str] = field(default_factory=set)
    count: int = 0


class Walker:
    """One request's walks over hub connections, remembering which sites failed along the way."""

    def __init__(self, query: HubQuery) -> None:
        self.query = query
        self.failed: set[str] = set()

    async def page(self, text: str, root: str, variables: dict[str, Any]) -> dict[str, Any]:
        """One page of a connection; the caller's input refused by the hub is a FilterError (400)."""
        answer = await self.query.run(text, variables)
        user = answer.user_errors()
        if user:
            raise FilterError(str(user[0].get("message")))
        self.failed.update(answer.failed_sites)
        conn: dict[str, Any] = (answer.data or {}).get(root) or {}
        return conn

    async def skip(self, variables: dict[str, Any], skip: int) -> tuple[str | None, bool]:
        """The cursor after the first `skip` data collections, walking positions only (no records);
        False when there are fewer. Exact: the hub's cursors, not per-site offsets."""
        after: str | None = None
        left = skip
        while left > 0:
            conn = await self.page(
                POSITIONS, "dataCollections", {**variables, "first": min(PAGE, left), "after": after}
            )
            edges = conn.get("edges") or []
            left -= len(edges)
            after = (conn.get("pageInfo") or {}).get("endCursor") or after
            if left > 0 and (not edges or not (conn.get("pageInfo") or {}).get("hasNextPage")):
                return after, False
        return after, True

    async def pages(self, text: str, root: str, variables: dict[str, Any], after: str | None = None) -> Any:
        scanned = 0
        while True:
            conn = await self.page(text, root, {**variables, "first": PAGE, "after": after})
            nodes = [e["node"] for e in conn.get("edges") or []]
            yield nodes, conn
            scanned += len(nodes)
            info = conn.get("pageInfo") or {}
            if not info.get("hasNextPage") or not nodes:
                return
            if scanned >= MAX_SCAN:
                raise FilterError(f"the filter matches more than {MAX_SCAN} records to scan: narrow it")
            after = info.get("endCursor")

    async def collect(
        self,
        text: str,
        root: str,
        variables: dict[str, Any],
        keep: Callable[[Any], dict[str, Any] | None],
        skip: int,
        limit: int | None,
        after: str | None = None,
    ) -> list[dict[str, Any]]:
        """Mapped records kept by `keep` (None: dropped), from match number `skip`, at most `limit`."""
        out: list[dict[str, Any]] = []
        seen = 0
        async for nodes, _ in self.pages(text, root, variables, after):
            for node in nodes:
                item = keep(node)
                if item is None:
                    continue
                if seen >= skip:
                    out.append(item)
                    if limit is not None and len(out) >= limit:
                        return out
                seen += 1
        return out


# --- datasets -------------------------------------------------------------------------------------


def parameter_units(where: Any) -> list[str]:
    """The units a parameter scope names ({"unit": "nm"} anywhere in it)."""
    found: list[str] = []
    if isinstance(where, dict):
        for key, value in where.items():
            if key == "unit" and isinstance(value, str):
                found.append(value)
            elif key in ("and", "or") and isinstance(value, list):
                for c in value:
                    found.extend(parameter_units(c))
    return found


def check_parameter_units(flt: Filter) -> None:
    for inc in flt.include:
        if inc.relation == "parameters" and inc.where:
            for unit in parameter_units(inc.where):
                canon = {c for _, _, c in model.PARAMETERS.values()}
                if unit not in UNITS and unit not in canon:
                    raise FilterError(f"unknown unit {unit!r}; known: {', '.join(sorted(UNITS))}")


def in_unit(param: dict[str, Any], unit: str) -> dict[str, Any] | None:
    """`param` shown in `unit` (search-api doc/query.md: values are compared and returned in the unit
    asked); None when the unit is not of the parameter's dimension."""
    _, dimension, canonical = model.PARAMETERS[param["name"]]
    try:
        to_canonical(1.0, unit, dimension, canonical)
    except FilterError:
        return None
    return {**param, "value": from_canonical(float(param["value"]), unit, dimension, canonical), "unit": unit}


def scoped_parameters(params: list[dict[str, Any]], where: dict[str, Any]) -> list[dict[str, Any]]:
    units = parameter_units(where)
    out = []
    for p in params:
        shown = in_unit(p, units[0]) if units else p
        if shown is not None and matches(where, shown):
            out.append(shown)
    return out


def apply_includes(item: dict[str, Any], includes: list[Include]) -> dict[str, Any] | None:
    """The Dataset with only the included relations; None when an include's scope matches nothing
    (as the search-api's reference provider answers: only data sets with matching relations)."""
    shown: dict[str, Any] = {
        k: item[k]
        for k in ("pid", "title", "isPublic", "creationDate", "size", "documentId", "instrumentId", "score")
    }
    for inc in includes:
        value = item.get(inc.relation)
        if inc.where is not None:
            if inc.relation == "parameters":
                value = scoped_parameters(value or [], inc.where)
            elif isinstance(value, list):
                value = [v for v in value if matches(inc.where, v)]
            elif isinstance(value, dict):
                value = value if matches(inc.where, value) else None
            if not value:
                return None
        earlier = shown.get(inc.relation)
        if isinstance(earlier, list) and isinstance(value, list):  # the same relation twice: AND, shown once
            value = earlier + [v for v in value if v not in earlier]
        shown[inc.relation] = value
    return shown


def hub_filter(flt: Filter, registered: Callable[[str], bool]) -> dict[str, Any]:
    """What of the filter the hub can narrow by itself (a superset: the filter is still applied to each
    record): an instrument's facility (site) and name (beamline)."""
    out: dict[str, Any] = {}
    for inc in flt.include:
        if inc.relation == "instrument" and inc.where:
            facility, name = inc.where.get("facility"), inc.where.get("name")
            if isinstance(facility, str):
                if not registered(facility):
                    out["sites"] = []
                else:
                    out["site"] = facility
            if isinstance(name, str):
                out["beamline"] = name
    return out


def fold_techniques(flt: Filter) -> Filter | None:
    """Every data set has the one technique (MX): a techniques scope holds for all or for none, so it
    is decided once here (None: for none) instead of record by record."""
    includes = []
    for inc in flt.include:
        if inc.relation == "techniques" and inc.where is not None:
            if not any(matches(inc.where, t) for t in model.TECHNIQUES):
                return None
            inc = Include(inc.relation, None, inc.include)
        includes.append(inc)
    return Filter(flt.where, includes, flt.limit, flt.skip)


def needs_records(flt: Filter) -> bool:
    """Whether records must be read to decide which match (else the hub's own filter decides)."""
    return bool(flt.where) or any(inc.where is not None for inc in flt.include)


async def datasets(query: HubQuery, flt: Filter, registered: Callable[[str], bool]) -> Result:
    check_parameter_units(flt)
    pushed = hub_filter(flt, registered)
    walker = Walker(query)
    folded = fold_techniques(flt)
    if pushed.get("sites") == [] or folded is None:
        return Result()
    flt = folded
    public = query.anonymous

    def keep(node: dict[str, Any]) -> dict[str, Any] | None:
        item = model.dataset(node, public)
        if not matches(flt.where, item):
            return None
        return apply_includes(item, flt.include)

    variables = {"f": pushed or None}
    if needs_records(flt) or not flt.skip:
        items = await walker.collect(DC_QUERY, "dataCollections", variables, keep, flt.skip, flt.limit)
        return Result(items, walker.failed)
    # Every record matches: skip by positions only, then read just the page asked for.
    after, more = await walker.skip(variables, flt.skip)
    if not more:
        return Result([], walker.failed)
    items = await walker.collect(DC_QUERY, "dataCollections", variables, keep, 0, flt.limit, after)
    return Result(items, walker.failed)


async def count_datasets(query: HubQuery, where: dict[str, Any]) -> Result:
    walker = Walker(query)
    if not where:
        answer = await query.run("query { dataCollections(first: 0) { totalCount } }")
        total = ((answer.data or {}).get("dataCollections") or {}).get("totalCount", 0)
        return Result([], set(answer.failed_sites), int(total))
    public = query.anonymous
    n = 0
    async for nodes, _ in walker.pages(DC_QUERY, "dataCollections", {"f": None}):
        n += sum(1 for node in nodes if matches(where, model.dataset(node, public)))
    return Result([], walker.failed, n)


async def dataset(query: HubQuery, pid: str, flt: Filter) -> tuple[dict[str, Any] | None, set[str]]:
    if parse_dataset_id(pid) is None:
        return None, set()
    text = "query($id: ID!) { node(id: $id) { ... on DataCollection {" + model.DATASET_FIELDS + "} } }"
    answer = await query.run(text, {"id": pid})
    node = (answer.data or {}).get("node")
    if not isinstance(node, dict) or not node.get("id"):
        return None, set(answer.failed_sites)
    item = model.dataset(node, query.anonymous)
    return apply_includes(item, flt.include) or None, set(answer.failed_sites)


# --- instruments and documents --------------------------------------------------------------------

SESSIONS = (
    "query($f: SessionFilter, $first: Int, $after: String) { sessions(filter: $f, first: $first, after: $after) {"
    " pageInfo { hasNextPage endCursor } edges { node { site beamline } } } }"
)
PROPOSALS = (
    "query($f: ProposalFilter, $first: Int, $after: String) { proposals(filter: $f, first: $first, after: $after) {"
    " pageInfo { hasNextPage endCursor } edges { node { site code title } } } }"
)


async def instruments(
    query: HubQuery, where: dict[str, Any], variables: dict[str, Any] | None = None
) -> Result:
    """Every (facility, beamline) of the sessions the caller may see, by facility then name."""
    walker = Walker(query)
    found: set[tuple[str, str]] = set()
    async for nodes, _ in walker.pages(SESSIONS, "sessions", {"f": None, **(variables or {})}):
        found.update((n["site"], n["beamline"]) for n in nodes if n.get("beamline"))
    items = [model.instrument(s, b) for s, b in sorted(found)]
    return Result([i for i in items if matches(where, i)], walker.failed)


async def documents(
    query: HubQuery, where: dict[str, Any], variables: dict[str, Any] | None = None
) -> Result:
    walker = Walker(query)
    items: list[dict[str, Any]] = []
    async for nodes, _ in walker.pages(PROPOSALS, "proposals", {"f": None, **(variables or {})}):
        for n in nodes:
            doc = model.document(n["site"], n["code"], n.get("title"))
            if matches(where, doc):
                items.append(doc)
    return Result(items, walker.failed)


async def datasets_of(
    query: HubQuery, hub_flt: dict[str, Any], inc: Include
) -> tuple[list[dict[str, Any]], set[str]]:
    """A document's or instrument's included datasets (all of them: exact, not a first page)."""
    walker = Walker(query)
    public = query.anonymous

    def keep(node: dict[str, Any]) -> dict[str, Any] | None:
        item = model.dataset(node, public)
        if inc.where is not None and not matches(inc.where, item):
            return None
        return apply_includes(item, inc.include)

    items = await walker.collect(DC_QUERY, "dataCollections", {"f": hub_flt}, keep, 0, None)
    return items, walker.failed


def split_pid(pid: str) -> tuple[str, str] | None:
    site, sep, rest = pid.partition(":")
    return (site, rest) if sep and site and rest else None


def page(items: list[dict[str, Any]], flt: Filter) -> list[dict[str, Any]]:
    end = None if flt.limit is None else flt.skip + flt.limit
    return items[flt.skip : end]
