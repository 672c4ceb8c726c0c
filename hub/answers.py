"""Checking a site's record against the hub schema for the caller's selection, once. Pure; no network.

A null in a non-null field, a value its scalar or enum cannot hold, or a __typename that is not the
record's type is a lie: the field is nulled as GraphQL propagates nulls (spec, "Handling Field Errors")
and the site is named. A record without lies is returned as it came, not copied or walked again.

Over 400 lines because its two paths must accept exactly the same values, so they sit side by side: a
fast one (a predicate generated per selection) for records without lies, a slow one that names each lie.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    BooleanValueNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    InlineFragmentNode,
    SelectionSetNode,
    Undefined,
    VariableNode,
    is_abstract_type,
)

from mx_hub.plan import TYPENAME_KEY

PathKey = str | int
# A field of a plan: response key, field name, its type, the caller's nodes for it (None: __typename).
_Field = tuple[str, str, GraphQLOutputType, list[FieldNode] | None]
# The wire types a JSON response may carry for each built-in scalar (GraphQL spec, "Scalars": a Float is
# a number, an ID is serialised as a String). bool is no int here: `type(x) in ...` is exact.
WIRE_TYPES: dict[str, tuple[type, ...]] = {
    "Float": (float, int),
    "Int": (int,),
    "String": (str,),
    "Boolean": (bool,),
    "ID": (str,),
}
INT_RANGE = range(-(2**31), 2**31)
# The same checks as expressions over `x`, for the generated fast path.
WIRE_CONDITIONS = {
    "Float": "(type(x) is float or type(x) is int)",
    "Int": "(type(x) is int and -2147483648 <= x <= 2147483647)",
    "String": "type(x) is str",
    "Boolean": "type(x) is bool",
    "ID": "type(x) is str",
}
_MISSING = object()
SHARED_FAST_SIZE = 256
_SHARED_FAST: OrderedDict[tuple[Any, ...], tuple[object, Callable[[Any], bool]]] = OrderedDict()


@dataclass(frozen=True, slots=True)
class Lie:
    """One wrong value in a site's record: where (below the record) and what was wrong."""

    path: tuple[PathKey, ...]
    message: str


class _Null(Exception):
    """The value at this position must become null; raised through non-null positions (propagation)."""

    def __init__(self, message: str) -> None:
        self.message = message
        self.path: list[PathKey] = []  # filled in reverse while unwinding


@dataclass
class Checked:
    value: Any  # the record to send on: the site's own object when nothing was wrong
    lies: list[Lie] = field(default_factory=list)
    nulled: bool = False  # the record itself had to become null (a lie propagated up to it)


@dataclass(frozen=True, slots=True)
class _Selection:
    """The caller's field nodes for one record position, and the object that stands for them in caches."""

    nodes: list[FieldNode]
    key: object


class AnswerChecker:
    """Checks records of one request; selections are collected once per (field nodes, type) and reused,
    as graphql-core memoises its own collection per request."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self._plans: dict[tuple[int, str], tuple[object, list[_Field]]] = {}
        self._fast: dict[tuple[int, str], Callable[[Any], bool]] = {}
        self._selections: dict[int, _Selection] = {}
        self.field_nodes: dict[int, list[FieldNode]] = {}  # the caller's, by id of what stands for them

    def check(
        self, record: Any, type_: GraphQLOutputType, field_nodes: list[FieldNode], key: object = None
    ) -> Checked:
        """`record` as the value of a field of type `type_` selected by `field_nodes` (the caller's).

        `key`, when given, stands for `field_nodes` in the cache: an object that lives as long as this
        checker and is the same for every record of one field (graphql-core's field details list)."""
        nodes = self._selection(field_nodes, key)
        if isinstance(record, dict) and self._fast_record(record, type_, nodes):
            # Nothing wrong (almost always): the record as the site sent it, less the hub's own key.
            return Checked({k: v for k, v in record.items() if k != TYPENAME_KEY})
        lies: list[Lie] = []
        try:
            value = self._value(record, type_, nodes, lies, None, top=True)
        except _Null as null:
            lies.append(Lie(tuple(reversed(null.path)), null.message))
            return Checked(None, lies, nulled=True)
        return Checked(value, lies)

    def _selection(self, field_nodes: list[FieldNode], key: object) -> _Selection:
        if key is None:
            return _Selection(field_nodes, field_nodes)
        hit = self._selections.get(id(key))
        if hit is None:
            hit = self._selections[id(key)] = _Selection(field_nodes, key)  # holds key: its id stays
        return hit

    # The fast path: a predicate compiled once per (selection, type) per request, true when the record
    # holds no lie and exactly the keys asked for. Anything else goes the slow way below, which finds
    # and names each lie; both accept the same values (tests/hub/test_answers.py runs both).
    def _fast_record(self, record: dict[str, Any], type_: GraphQLOutputType, nodes: _Selection) -> bool:
        object_type = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
        if is_abstract_type(object_type):
            name = record.get(TYPENAME_KEY)
            runtime = self.schema.get_type(name) if isinstance(name, str) else None
            if not isinstance(runtime, GraphQLObjectType) or not self.schema.is_sub_type(
                object_type, runtime
            ):
                return False
        elif isinstance(object_type, GraphQLObjectType):
            runtime = object_type
        else:
            return False
        key = (id(nodes.key), runtime.name)
        fast = self._fast.get(key)
        if fast is None:
            fast = self._fast[key] = self._shared_fast(runtime, nodes)
        return fast(record)

    def _shared_fast(self, runtime: GraphQLObjectType, nodes: _Selection) -> Callable[[Any], bool]:
        """The predicate for this selection, from earlier requests when they sent the same document
        (parsed once, so the same nodes) with the same Boolean variables (all @skip/@include can use):
        generating and compiling it costs more than checking a page."""
        bools = tuple(sorted((k, v) for k, v in self.variables.items() if isinstance(v, bool)))
        key = (id(self.schema), tuple(map(id, nodes.nodes)), runtime.name, bools)
        hit = _SHARED_FAST.get(key)
        if hit is not None:
            _SHARED_FAST.move_to_end(key)
            return hit[1]
        fast = self._fast_object(runtime, nodes, extra=TYPENAME_KEY)
        _SHARED_FAST[key] = ((self.schema, nodes.nodes), fast)  # held: their ids stay theirs while cached
        if len(_SHARED_FAST) > SHARED_FAST_SIZE:
            _SHARED_FAST.popitem(last=False)
        return fast

    def _fast_value(self, type_: GraphQLOutputType, nodes: Any) -> Callable[[Any], bool]:
        leaf = _fast_wire(type_)
        if leaf is not None:
            return leaf
        if isinstance(type_, GraphQLNonNull):
            inner = self._fast_nullable(type_.of_type, nodes)
            return lambda v: v is not None and inner(v)
        inner = self._fast_nullable(type_, nodes)
        return lambda v: v is None or inner(v)

    def _fast_nullable(self, type_: Any, nodes: Any) -> Callable[[Any], bool]:
        if isinstance(type_, GraphQLList):
            item = self._fast_value(type_.of_type, nodes)
            return lambda v: type(v) is list and all(map(item, v))
        if isinstance(type_, GraphQLScalarType):
            return _fast_scalar(type_)
        if isinstance(type_, GraphQLEnumType):
            names = frozenset(type_.values)
            return lambda v: type(v) is str and v in names
        if isinstance(type_, GraphQLObjectType):
            return self._fast_object(type_, nodes)
        return lambda v: False  # abstract inside a record: the slow path resolves its type

    def _fast_object(
        self, runtime: GraphQLObjectType, nodes: Any, extra: str | None = None
    ) -> Callable[[Any], bool]:
        """One straight-line function per selection of an object type: a closure per field cost the hub
        twice as much. Its source is built from the plan alone: response keys and type names are GraphQL
        names (validated), written with repr(); values are never part of it."""
        env: dict[str, Any] = {"M": _MISSING}
        fields = self._plan(runtime, nodes)
        count = f"{len(fields)} + ({extra!r} in v)" if extra is not None else str(len(fields))
        lines = [
            "def fast(v):",
            f"    if not isinstance(v, dict) or len(v) != {count}:",
            "        return False",
        ]
        lines.append("    get = v.get")
        for i, (key, name, field_type, sub_nodes) in enumerate(fields):
            if name == "__typename":
                env[f"t{i}"] = runtime.name
                cond = f"x == t{i}"
            else:
                cond = self._fast_condition(field_type, sub_nodes, env, i)
            lines += [f"    x = get({key!r}, M)", f"    if not ({cond}):", "        return False"]
        lines.append("    return True")
        exec("\n".join(lines), env)  # noqa: S102 - generated from the schema and the validated query only
        fast: Callable[[Any], bool] = env["fast"]
        return fast

    def _fast_condition(self, type_: GraphQLOutputType, nodes: Any, env: dict[str, Any], i: int) -> str:
        """A Python expression over `x` (M when the key is missing) that is true when `x` is right."""
        if isinstance(type_, GraphQLNonNull):
            return f"x is not None and {self._fast_inner(type_.of_type, nodes, env, i)}"
        return f"(x is None or {self._fast_inner(type_, nodes, env, i)})"

    def _fast_inner(self, type_: Any, nodes: Any, env: dict[str, Any], i: int) -> str:
        if isinstance(type_, GraphQLScalarType) and type_.name in WIRE_TYPES:
            return WIRE_CONDITIONS[type_.name]
        if isinstance(type_, GraphQLEnumType):
            env[f"e{i}"] = frozenset(type_.values)
            return f"(type(x) is str and x in e{i})"
        if isinstance(type_, GraphQLObjectType):
            env[f"o{i}"] = self._fast_object(type_, nodes)
            return f"o{i}(x)"
        if isinstance(type_, GraphQLList):
            env[f"l{i}"] = self._fast_value(type_.of_type, nodes)
            return f"(type(x) is list and all(map(l{i}, x)))"
        if isinstance(type_, GraphQLScalarType):
            env[f"c{i}"] = _fast_scalar(type_)
            return f"(x is not M and c{i}(x))"
        return "False"  # abstract inside a record: the slow path resolves its type

    # The slow path: one function per kind of type; each returns the value to send or raises _Null. `at` is the
    # position's path from the record, as linked pairs (parent, key): built for nothing but lies.
    def _value(
        self, value: Any, type_: GraphQLOutputType, nodes: Any, lies: list[Lie], at: Any, top: bool = False
    ) -> Any:
        if isinstance(type_, GraphQLNonNull):
            if value is None:
                raise _Null(f"null in the non-null {type_}")
            return self._nullable(value, type_.of_type, nodes, lies, at, top)
        if value is None:
            return None
        try:
            return self._nullable(value, type_, nodes, lies, at, top)
        except _Null as null:
            if top:
                raise  # the record's own position: the caller decides (graphql-core propagates further)
            lies.append(Lie(_flatten(at) + tuple(reversed(null.path)), null.message))
            return None

    def _nullable(self, value: Any, type_: Any, nodes: Any, lies: list[Lie], at: Any, top: bool) -> Any:
        if isinstance(type_, GraphQLList):
            return self._list(value, type_, nodes, lies, at)
        if isinstance(type_, GraphQLScalarType):
            return _scalar(value, type_)
        if isinstance(type_, GraphQLEnumType):
            if type(value) is str and value in type_.values:
                return value
            raise _Null(f"{value!r} is no value of the enum {type_.name}")
        return self._object(value, type_, nodes, lies, at, top)

    def _list(self, value: Any, type_: GraphQLList[Any], nodes: Any, lies: list[Lie], at: Any) -> Any:
        if type(value) is not list:
            raise _Null(f"{type(value).__name__} where a list ({type_}) belongs")
        out: list[Any] | None = None
        for i, item in enumerate(value):
            try:
                checked = self._value(item, type_.of_type, nodes, lies, (at, i))
            except _Null as null:
                null.path.append(i)
                raise
            if checked is not item:
                out = out if out is not None else list(value)
                out[i] = checked
        return value if out is None else out

    def _object(
        self, value: Any, type_: Any, nodes: list[FieldNode], lies: list[Lie], at: Any, top: bool
    ) -> Any:
        if not isinstance(value, dict):
            raise _Null(f"{type(value).__name__} where an object ({type_.name}) belongs")
        runtime = self._runtime_type(value, type_)
        fields = self._plan(runtime, nodes)
        out: dict[str, Any] | None = None
        for key, name, field_type, sub_nodes in fields:
            got = value.get(key)
            if name == "__typename":
                if got != runtime.name:
                    wrong = _Null(f"__typename {got!r} for a record of type {runtime.name}")
                    wrong.path.append(key)
                    raise wrong
                checked = got
            else:
                try:
                    checked = self._value(got, field_type, sub_nodes, lies, (at, key))
                except _Null as null:
                    null.path.append(key)
                    raise
            if checked is not got or (got is None and key not in value):
                out = out if out is not None else dict(value)
                out[key] = checked
        extra = len(value) - len(fields) - (1 if top and TYPENAME_KEY in value else 0)
        if out is None and extra == 0 and not top:
            return value
        # Keys nobody asked for (and the hub's own __typename) are dropped; the caller's order is kept.
        source = value if out is None else out
        return {key: source.get(key) for key, *_ in fields}

    def _runtime_type(self, value: dict[str, Any], type_: Any) -> GraphQLObjectType:
        if isinstance(type_, GraphQLObjectType):
            return type_
        name = value.get(TYPENAME_KEY)
        runtime = self.schema.get_type(name) if isinstance(name, str) else None
        if not isinstance(runtime, GraphQLObjectType) or not self.schema.is_sub_type(type_, runtime):
            raise _Null(f"__typename {name!r} is no type of {type_.name}")
        return runtime

    def _plan(self, runtime: GraphQLObjectType, selection: list[FieldNode] | _Selection) -> list[_Field]:
        held = selection.key if isinstance(selection, _Selection) else selection
        nodes = selection.nodes if isinstance(selection, _Selection) else selection
        key = (id(held), runtime.name)
        hit = self._plans.get(key)
        if hit is None:
            grouped: dict[str, list[FieldNode]] = {}
            for node in nodes:
                self._collect(node.selection_set, runtime, grouped, set())
            fields: list[_Field] = []
            for response_key, group in grouped.items():
                name = group[0].name.value
                if name == "__typename":
                    fields.append((response_key, name, runtime, None))
                    continue
                definition = runtime.fields.get(name)
                if definition is None:  # validation keeps unknown fields out; a meta field left: pass
                    continue
                fields.append((response_key, name, definition.type, group))
            hit = (held, fields)  # the nodes are held so that their id is not reused while cached
            self._plans[key] = hit
        return hit[1]

    def _collect(
        self,
        selection_set: SelectionSetNode | None,
        runtime: GraphQLObjectType,
        grouped: dict[str, list[FieldNode]],
        seen: set[str],
    ) -> None:
        """The caller's fields for records of `runtime`, by response key (spec, "CollectFields")."""
        if selection_set is None:
            return
        for sel in selection_set.selections:
            if not self._included(sel):
                continue
            if isinstance(sel, FieldNode):
                grouped.setdefault(sel.alias.value if sel.alias else sel.name.value, []).append(sel)
            elif isinstance(sel, InlineFragmentNode):
                if sel.type_condition is None or self._applies(sel.type_condition.name.value, runtime):
                    self._collect(sel.selection_set, runtime, grouped, seen)
            elif isinstance(sel, FragmentSpreadNode) and sel.name.value not in seen:
                seen.add(sel.name.value)
                frag = self.fragments.get(sel.name.value)
                if frag is not None and self._applies(frag.type_condition.name.value, runtime):
                    self._collect(frag.selection_set, runtime, grouped, seen)

    def _applies(self, condition: str, runtime: GraphQLObjectType) -> bool:
        cond = self.schema.get_type(condition)
        if cond is runtime:
            return True
        return is_abstract_type(cond) and self.schema.is_sub_type(cond, runtime)

    def _included(self, sel: Any) -> bool:
        for directive in sel.directives or ():
            name = directive.name.value
            if name not in ("skip", "include"):
                continue
            arg = next((a for a in directive.arguments if a.name.value == "if"), None)
            if arg is None:
                continue
            if isinstance(arg.value, VariableNode):
                flag = bool(self.variables.get(arg.value.name.value))
            else:
                flag = isinstance(arg.value, BooleanValueNode) and arg.value.value
            if flag == (name == "skip"):
                return False
        return True


def _flatten(at: Any) -> tuple[PathKey, ...]:
    keys: list[PathKey] = []
    while at is not None:
        at, key = at
        keys.append(key)
    return tuple(reversed(keys))


def _fast_wire(type_: GraphQLOutputType) -> Callable[[Any], bool] | None:
    """A one-call predicate for a String, ID, Boolean or Float field (most of a record), else None."""
    non_null = isinstance(type_, GraphQLNonNull)
    named = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    wire = (
        WIRE_TYPES.get(named.name) if isinstance(named, GraphQLScalarType) and named.name != "Int" else None
    )
    if wire is None:
        return None
    if len(wire) == 1:
        only = wire[0]
        return (lambda v: type(v) is only) if non_null else (lambda v: v is None or type(v) is only)
    return (lambda v: type(v) in wire) if non_null else (lambda v: v is None or type(v) in wire)


def _fast_scalar(type_: GraphQLScalarType) -> Callable[[Any], bool]:
    wire = WIRE_TYPES.get(type_.name)
    if wire is None:
        coerce = type_.coerce_output_value
        return lambda v: _coerces_to_itself(coerce, v)
    if type_.name == "Int":
        return lambda v: type(v) is int and -(2**31) <= v < 2**31
    if len(wire) == 1:
        only = wire[0]
        return lambda v: type(v) is only
    return lambda v: type(v) in wire


def _coerces_to_itself(coerce: Callable[[Any], Any], value: Any) -> bool:
    try:
        return coerce(value) is value
    except Exception:  # noqa: BLE001 - refused: the slow path names it
        return False


def _scalar(value: Any, type_: GraphQLScalarType) -> Any:
    wire = WIRE_TYPES.get(type_.name)
    if wire is None:  # the schema's own scalars (DateTime, JSON): whatever their coercion accepts
        return _coerce(value, type_)
    if type(value) not in wire:
        raise _Null(f"{type(value).__name__} {_short(value)} where a {type_.name} belongs")
    if type_.name == "Int" and value not in INT_RANGE:
        raise _Null(f"{value} is out of range for an Int")
    return value


def _coerce(value: Any, type_: GraphQLScalarType) -> Any:
    coerce: Callable[[Any], Any] = type_.coerce_output_value
    try:
        out = coerce(value)
    except Exception:  # noqa: BLE001 - any refusal of the scalar is the site's lie, named the same way
        out = Undefined
    if out is Undefined or out is None:
        raise _Null(f"{_short(value)} is not a valid {type_.name}")
    return out


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
