"""The query specification every backend compiles (QuerySpec): filter terms and what each means, the
order and keyset position, the access rule as data. Built once per page from the contract's inputs; a
backend maps the terms to its own columns and SQL dialect. No SQL and no column names here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum

from mx_schema.cursors import SortOrder
from mx_schema.vocabulary import space_group_key
from site_adapter import access
from site_adapter.backends.base import InvalidInput

KEY_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"  # mx_schema.cursors.time_key


class Reach(Enum):
    """How a kind of record meets the rule of site_adapter.access.visible (RecordFacts)."""

    SESSION = "session"  # through its one session: sessions, groups, collections, processing results
    USED_OR_OWNED = (
        "used"  # through the collections that use it, or its proposal's members: samples, proteins
    )
    PROPOSAL = "proposal"  # through its sessions, or its members: proposals
    PUBLIC = "public"  # carries no proposal (detectors): visible to all


REACH: dict[str, Reach] = {
    "session": Reach.SESSION,
    "data_collection_group": Reach.SESSION,
    "data_collection": Reach.SESSION,
    "processing_result": Reach.SESSION,
    "sample": Reach.USED_OR_OWNED,
    "crystal": Reach.USED_OR_OWNED,  # through its samples
    "protein": Reach.USED_OR_OWNED,
    "proposal": Reach.PROPOSAL,
    "detector": Reach.PUBLIC,
}


@dataclass(frozen=True, slots=True)
class AccessSpec:
    """The access rule for one request, as data a backend compiles to a SQL predicate.

    A session is visible when it ended before `cutoff_for(beamline)`, or its beamline (lower case) is
    in `staff_beamlines`, or `login` is on it or on its proposal; other records follow REACH.
    """

    default_cutoff: dt.datetime | None  # None: never public by the embargo
    beamline_cutoffs: tuple[tuple[str, dt.datetime | None], ...]  # (lower-case beamline, cut-off)
    staff_beamlines: tuple[str, ...]  # lower case, sorted
    login: str | None

    def cutoff_for(self, beamline: str | None) -> dt.datetime | None:
        for name, cut in self.beamline_cutoffs:
            if beamline is not None and name == beamline.lower():
                return cut
        return self.default_cutoff


def access_spec(scope: access.Scope | None = None, now: dt.datetime | None = None) -> AccessSpec | None:
    """The request's rule as an AccessSpec; None when the request may see everything (no access
    control, an admin, staff of every beamline)."""
    scope = scope if scope is not None else access.restricted_scope()
    if scope is None or not scope.restricted:
        return None
    default, per_beamline = scope.embargo.cutoffs(now)
    return AccessSpec(
        default_cutoff=default,
        beamline_cutoffs=tuple(sorted(per_beamline.items())),
        staff_beamlines=tuple(sorted(b for b in scope.viewer.staff_beamlines if b != "*")),
        login=scope.viewer.login,
    )


def instant(value: dt.datetime) -> dt.datetime:
    """A time as an aware UTC instant; a naive one is read as UTC (docs/time.md)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


class Direction(Enum):
    TIME_DESC = "time_desc"  # newest first; null (and zero) times last; ties by local id descending
    TEXT_ASC = "text_asc"  # by code point; null as ""; ties by local id ascending


# The order of each root connection (mx_schema.cursors.ORDERINGS): what every backend sorts by.
ORDER: dict[str, Direction] = {
    "data_collection": Direction.TIME_DESC,
    "session": Direction.TIME_DESC,
    "sample": Direction.TEXT_ASC,  # by name
    "protein": Direction.TEXT_ASC,  # by acronym
    "proposal": Direction.TEXT_ASC,  # by code
}


class Metric(Enum):
    """What dataCollections(orderBy:) sorts by (mx_schema.cursors.DATA_COLLECTION_ORDER_FIELDS): the start
    time, or a statistic of the overall shell of the best processing result (types.best_of: the successful
    result with the smallest overall resolutionHigh, ties by the lowest local id)."""

    START_TIME = "start_time"
    RESOLUTION = "resolution_high"  # Å
    COMPLETENESS = "completeness"  # %
    CC_HALF = "cc_half"  # fraction 0-1
    I_OVER_SIGMA = "mean_i_over_sig_i"  # mean I/sigI


@dataclass(frozen=True, slots=True)
class Sort:
    """A caller's ordering of data collections: missing values last in both directions; ties by local
    id in the same direction."""

    metric: Metric
    descending: bool


def sort_of(order: SortOrder | None) -> Sort | None:
    """The Sort of a PageRequest's order; None for the default (Direction.TIME_DESC)."""
    if order is None:
        return None
    return Sort(Metric[order.field], order.descending)


@dataclass(frozen=True, slots=True)
class Position:
    """A keyset position: the sort value of the last record seen (a time, a text or a number) and its
    local id.

    `value` None is a record with no sort value (a null time or metric; a text position never is None)."""

    value: dt.datetime | str | float | None  # a time is an aware UTC instant
    local_id: int


def sort_position(after: tuple[object, ...] | None, sort: Sort) -> Position | None:
    """The keyset position of a decoded cursor of an orderBy `sort`; InvalidInput when malformed."""
    if after is None:
        return None
    if sort.metric is Metric.START_TIME:
        return position(after, Direction.TIME_DESC)  # the same value: a time key or None
    if not isinstance(after, tuple) or len(after) != 2 or not isinstance(after[1], int):
        raise InvalidInput("malformed keyset position")
    value = after[0]
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise InvalidInput("malformed keyset position")
    return Position(None if value is None else float(value), after[1])


def position(after: tuple[object, ...] | None, direction: Direction) -> Position | None:
    """The keyset position of a decoded cursor (sort value, local id) for `direction`; InvalidInput
    for one no record of ours could have produced."""
    if after is None:
        return None
    if not isinstance(after, tuple) or len(after) != 2 or not isinstance(after[1], int):
        raise InvalidInput("malformed keyset position")
    value, local_id = after[0], after[1]
    if direction is Direction.TEXT_ASC:
        if value is not None and not isinstance(value, str):
            raise InvalidInput("malformed keyset position")
        return Position(value or "", local_id)
    if value is None:
        return Position(None, local_id)
    if not isinstance(value, str):
        raise InvalidInput("malformed keyset position")
    try:
        return Position(dt.datetime.strptime(value, KEY_TIME_FORMAT).replace(tzinfo=dt.UTC), local_id)
    except ValueError:
        raise InvalidInput("malformed keyset position") from None


class Match(Enum):
    """What a filter term means, whichever store answers it."""

    EXACT = "exact"  # equal, case- and accent-sensitive (names, barcodes, acronyms, experiment types)
    CASELESS = "caseless"  # equal ignoring case (proposal codes, visits, beamlines, crystal UUIDs)
    UPPER = "upper"  # equal to the upper-case value (UniProt accessions are stored upper case)
    CONTAINS = "contains"  # a case-insensitive substring (protein names)
    FROM = "from"  # at or after (an instant: an aware UTC datetime; docs/time.md)
    BEFORE = "before"  # strictly before; a record with no time never matches
    AT_MOST = "at_most"  # at most (the best result's resolution, Å)
    SPACE_GROUP = "space_group"  # the same space group, spaces and case ignored (the best result's)
    FLAG = "flag"  # True: the record has the thing; False: it has none (hasDoi)


# DataCollectionFilter's contract terms (CONTRACT.md) and their meaning; a backend maps each term to
# its columns. The other fields (mine, the LIMS sample keys, cell) are compiled by each backend as a whole.
DATA_COLLECTION_TERMS: dict[str, Match] = {
    "sample_name": Match.EXACT,
    "sample_barcode": Match.EXACT,
    "crystal_uuid": Match.CASELESS,
    "protein_acronym": Match.EXACT,
    "protein_name": Match.CONTAINS,
    "uniprot_id": Match.UPPER,
    "proposal": Match.CASELESS,
    "visit": Match.CASELESS,
    "beamline": Match.CASELESS,
    "experiment_type": Match.EXACT,
    "start_after": Match.FROM,
    "start_before": Match.BEFORE,
    "resolution_better_than": Match.AT_MOST,
    "space_group": Match.SPACE_GROUP,
    "has_doi": Match.FLAG,  # its own DOI, its data set's or its session's (issue 19)
    "pdb_id": Match.UPPER,  # a PDB entry of its protein or of one of its processing results
}


@dataclass(frozen=True, slots=True)
class Condition:
    """One filter term with its value, normalised as its Match says (the one place that does it)."""

    term: str
    match: Match
    value: object


def _normalised(match: Match, value: object) -> object:
    if match is Match.CASELESS and isinstance(value, str):
        return value.lower()
    if match is Match.UPPER and isinstance(value, str):
        return value.upper()
    if match in (Match.FROM, Match.BEFORE) and isinstance(value, dt.datetime):
        return instant(value)
    if match is Match.AT_MOST and isinstance(value, int | float):
        return float(value)
    if match is Match.SPACE_GROUP and isinstance(value, str):
        return space_group_key(value)
    return value


def conditions(f: object, terms: dict[str, Match] = DATA_COLLECTION_TERMS) -> tuple[Condition, ...]:
    """The terms of filter `f` that are set, in the order of `terms`."""
    out = []
    for term, match in terms.items():
        value = getattr(f, term, None)
        if value is not None:
            out.append(Condition(term, match, _normalised(match, value)))
    return tuple(out)


# The other connections' filters (CONTRACT.md root fields), term by term.
SAMPLE_TERMS: dict[str, Match] = {
    "name": Match.EXACT,
    "barcode": Match.EXACT,
    "crystal_uuid": Match.CASELESS,
    "protein_acronym": Match.EXACT,
    "proposal": Match.CASELESS,
}
PROTEIN_TERMS: dict[str, Match] = {
    "acronym": Match.EXACT,
    "name": Match.CONTAINS,
    "uniprot_id": Match.UPPER,
    "proposal": Match.CASELESS,
}
SESSION_TERMS: dict[str, Match] = {
    "proposal": Match.CASELESS,
    "visit": Match.CASELESS,
    "beamline": Match.CASELESS,
    "start_after": Match.FROM,
    "start_before": Match.BEFORE,
}
PROPOSAL_TERMS: dict[str, Match] = {"code": Match.CASELESS}


TERMS: dict[str, dict[str, Match]] = {
    "data_collection": DATA_COLLECTION_TERMS,
    "sample": SAMPLE_TERMS,
    "protein": PROTEIN_TERMS,
    "session": SESSION_TERMS,
    "proposal": PROPOSAL_TERMS,
}


@dataclass(frozen=True, slots=True)
class QuerySpec:
    """One page of a root connection, as every backend compiles it: the filter's conditions, the
    order and the position after which the page starts, its size, and the access rule (None: all).

    `terms` lists the condition names set, for backends that join tables only when a term needs them.
    """

    kind: str
    conditions: tuple[Condition, ...]
    order: Direction
    after: Position | None
    first: int
    access: AccessSpec | None
    sort: Sort | None = None  # dataCollections(orderBy:); None: `order`, the connection's default

    @property
    def terms(self) -> frozenset[str]:
        return frozenset(c.term for c in self.conditions)


def spec(
    kind: str, f: object, first: int, after: tuple[object, ...] | None, order_by: SortOrder | None = None
) -> QuerySpec:
    """The QuerySpec of a root connection's page: built once, from the contract's inputs (the filter
    dataclass of site_adapter.backends.base, `first`, the decoded `after` cursor, `orderBy`) and the
    request's scope."""
    order = ORDER[kind]
    sort = sort_of(order_by) if kind == "data_collection" else None
    return QuerySpec(
        kind=kind,
        conditions=conditions(f, TERMS[kind]),
        order=order,
        after=position(after, order) if sort is None else sort_position(after, sort),
        first=first,
        access=access_spec(),
        sort=sort,
    )
