"""The search-api's `filter` query parameter (LoopBack 3 filter as JSON: `where`, `include` with nested
`scope`, `limit`, `skip`; search-api doc/query.md): parsed and checked, and `where` evaluated on a record.

Pure. Anything malformed is a FilterError with a reason (the routes answer 400), raised before any site
is asked.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

COMPARISONS = {
    "eq",
    "neq",
    "gt",
    "gte",
    "lt",
    "lte",
    "between",
    "inq",
    "nin",
    "like",
    "nlike",
    "ilike",
    "nilike",
}
MAX_LIMIT = 1000
MAX_SKIP = 100_000


class FilterError(ValueError):
    """A filter the provider cannot read: the reason is shown to the caller (400)."""


@dataclass
class Include:
    relation: str
    where: dict[str, Any] | None = None
    include: list[Include] = field(default_factory=list)


@dataclass
class Filter:
    where: dict[str, Any] = field(default_factory=dict)
    include: list[Include] = field(default_factory=list)
    limit: int | None = None
    skip: int = 0

    def relations(self) -> set[str]:
        return {i.relation for i in self.include}


def parse_json(raw: str | None, what: str = "filter") -> Any:
    if raw is None or raw.strip() == "":
        return {}
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise FilterError(f"{what} is not JSON: {exc.msg} at character {exc.pos}") from None


def parse_filter(raw: str | None, relations: Mapping[str, set[str]], model: str) -> Filter:
    """`raw` (the query parameter) for `model`; `relations` maps each model to its relation names."""
    value = parse_json(raw)
    if not isinstance(value, dict):
        raise FilterError("filter must be a JSON object")
    unknown = set(value) - {"where", "include", "limit", "skip", "fields", "order"}
    if unknown:
        raise FilterError(f"unknown filter key(s): {', '.join(sorted(unknown))}")
    where = check_where(value.get("where") or {})
    return Filter(
        where=where,
        include=parse_include(value.get("include"), relations, model),
        limit=_count(value.get("limit"), "limit", MAX_LIMIT),
        skip=_count(value.get("skip"), "skip", MAX_SKIP) or 0,
    )


def parse_where(raw: str | None) -> dict[str, Any]:
    """The `where` query parameter of the /count endpoints."""
    return check_where(parse_json(raw, "where"))


def _count(value: Any, name: str, maximum: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FilterError(f"{name} must be a non-negative integer")
    if value > maximum:
        raise FilterError(f"{name} is at most {maximum}")
    return value


def parse_include(value: Any, relations: Mapping[str, set[str]], model: str) -> list[Include]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        scope: dict[str, Any] = {}
        if isinstance(item, str):
            relation = item
        elif isinstance(item, dict) and isinstance(item.get("relation"), str):
            relation = item["relation"]
            scope = {} if item.get("scope") is None else item["scope"]
            if not isinstance(scope, dict):
                raise FilterError(f"scope of relation {relation!r} must be an object")
        else:
            raise FilterError('include takes relation names or {"relation": ..., "scope": {...}} objects')
        if relation not in relations.get(model, set()):
            known = ", ".join(sorted(relations.get(model, set()))) or "none"
            raise FilterError(f"unknown relation {relation!r} of {model}; known: {known}")
        target = RELATION_MODEL.get((model, relation), relation)
        out.append(
            Include(
                relation,
                check_where(scope.get("where")) if scope.get("where") else None,
                parse_include(scope.get("include"), relations, target),
            )
        )
    return out


# (model, relation) -> the related model's name, for nested includes.
RELATION_MODEL = {
    ("Dataset", "document"): "Document",
    ("Dataset", "instrument"): "Instrument",
    ("Dataset", "parameters"): "Parameter",
    ("Dataset", "techniques"): "Technique",
    ("Dataset", "samples"): "Sample",
    ("Dataset", "files"): "File",
    ("Document", "datasets"): "Dataset",
    ("Document", "parameters"): "Parameter",
    ("Document", "members"): "Member",
    ("Instrument", "datasets"): "Dataset",
}


def check_where(where: Any) -> dict[str, Any]:
    """`where` checked for shape and operators (so that evaluation cannot fail half way)."""
    if not isinstance(where, dict):
        raise FilterError("where must be a JSON object")
    for key, cond in where.items():
        if key in ("and", "or"):
            if not isinstance(cond, list) or not cond:
                raise FilterError(f"{key} takes a non-empty list of conditions")
            for c in cond:
                check_where(c)
        elif isinstance(cond, dict):
            check_condition(key, cond)
    return where


ARGUMENT_CHECKS: dict[str, tuple[Any, str]] = {
    "between": (lambda a: isinstance(a, list) and len(a) == 2, "a list of two values"),
    "inq": (lambda a: isinstance(a, list), "a list"),
    "nin": (lambda a: isinstance(a, list), "a list"),
    "like": (lambda a: isinstance(a, str), "a string"),
    "nlike": (lambda a: isinstance(a, str), "a string"),
    "ilike": (lambda a: isinstance(a, str), "a string"),
    "nilike": (lambda a: isinstance(a, str), "a string"),
}


def check_condition(key: str, cond: dict[str, Any]) -> None:
    if len(cond) != 1:
        raise FilterError(f"condition on {key!r} must have exactly one operator")
    op, arg = next(iter(cond.items()))
    if op not in COMPARISONS:
        raise FilterError(f"unknown operator {op!r} on {key!r}; known: {', '.join(sorted(COMPARISONS))}")
    check = ARGUMENT_CHECKS.get(op)
    if check is not None and not check[0](arg):
        raise FilterError(f"{op} on {key!r} takes {check[1]}")


def _like(pattern: str, flags: int) -> re.Pattern[str]:
    """LoopBack's like: a regular expression; SQL's % and _ wildcards are read as .* and . too."""
    translated = (
        pattern.replace("%", ".*").replace("_", ".") if ("%" in pattern or "_" in pattern) else pattern
    )
    try:
        return re.compile(translated, flags)
    except re.error as exc:
        raise FilterError(f"like pattern {pattern!r} is not a regular expression: {exc}") from None


def lookup(record: Mapping[str, Any], key: str) -> list[Any]:
    """Values at a dotted key; lists along the way fan out (`techniques.name`)."""
    values: list[Any] = [record]
    for part in key.split("."):
        nxt: list[Any] = []
        for v in values:
            if isinstance(v, Mapping):
                got = v.get(part)
                nxt.extend(got if isinstance(got, list) else [got])
        values = nxt
    return [v for v in values if v is not None]


ORDERED: dict[str, Any] = {
    "eq": lambda v, a: v == a,
    "neq": lambda v, a: v != a,
    "gt": lambda v, a: v > a,
    "gte": lambda v, a: v >= a,
    "lt": lambda v, a: v < a,
    "lte": lambda v, a: v <= a,
    "between": lambda v, a: a[0] <= v <= a[1],
    "inq": lambda v, a: v in a,
    "nin": lambda v, a: v not in a,
}


def _compare(op: str, value: Any, arg: Any) -> bool:
    compare = ORDERED.get(op)
    if compare is not None:
        try:
            return bool(compare(value, arg))
        except TypeError:
            return False  # a string against a number: no match, as in LoopBack's memory connector
    flags = re.IGNORECASE if op in ("ilike", "nilike") else 0
    found = isinstance(value, str) and _like(arg, flags).search(value) is not None
    return found if op in ("like", "ilike") else not found


# Date properties of the model (search-api doc/data-model.md): compared as instants, not as text, so
# that `2021-05-04`, `2021-05-04T00:00:00Z` and the hub's `+00:00` times order correctly.
DATE_KEYS = frozenset({"creationDate", "startDate", "endDate", "releaseDate"})


def instant(value: Any) -> Any:
    """An RFC 3339 date or date-time as an aware datetime (no offset: UTC, as the hub reads inputs);
    anything else unchanged (and then it compares as nothing does)."""
    if not isinstance(value, str):
        return value
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _instants(arg: Any) -> Any:
    return [instant(a) for a in arg] if isinstance(arg, list) else instant(arg)


def matches(where: Mapping[str, Any], record: Mapping[str, Any]) -> bool:
    for key, cond in where.items():
        if key == "and":
            if not all(matches(c, record) for c in cond):
                return False
            continue
        if key == "or":
            if not any(matches(c, record) for c in cond):
                return False
            continue
        op, arg = next(iter(cond.items())) if isinstance(cond, dict) else ("eq", cond)
        values = lookup(record, key)
        if key.rsplit(".", 1)[-1] in DATE_KEYS:
            values, arg = [instant(v) for v in values], _instants(arg)
        if op in ("neq", "nin", "nlike", "nilike"):
            if not all(_compare(op, v, arg) for v in values):
                return False
        elif not any(_compare(op, v, arg) for v in values):
            return False
    return True
