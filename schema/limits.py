"""Limits on what one query may ask -- depth, aliases, size, tokens, page size and list cost -- as
validation rules, the same at the hub, every site and every LIMS (one front, issue 15).

An operation whose root asks only introspection (`__schema`, `__type`, `__typename`) is measured against
its own bounds, so GraphiQL, Apollo and graphql-codegen can load the schema; any other operation, an
introspection part included, is measured against the data limits. Pure AST code: no I/O, no schema lookups.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    ASTValidationRule,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
)

from mx_schema.errors import ErrorCode

MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_TOKENS = 5000
MAX_PAGE_SIZE = 500

# Introspection-only operations. The standard queries are 13 (graphql-js 16, GraphiQL 3/4: `ofType` 7 deep)
# to 15 (graphql-core 3.3, graphql-js 17: 9 deep) fields deep, Apollo Sandbox's 8-deep `ofType` sits
# between; 20 leaves room for a `typeDepth` of 14 (no schema wraps a type more than 5 times, e.g.
# `[[T!]!]!`). The nesting of `fields`/`interfaces`/`possibleTypes`/`inputFields` that makes introspection
# explode is refused by graphql-core's MaxIntrospectionDepthRule (in specified_rules since 3.3).
MAX_INTROSPECTION_DEPTH = 20
MAX_INTROSPECTION_ALIASES = 10
# Field selections with every fragment spread expanded: the full graphql-core query has about 230.
MAX_INTROSPECTION_FIELDS = 1000

QUERY_TOO_DEEP = ErrorCode.QUERY_TOO_DEEP
TOO_MANY_ALIASES = ErrorCode.TOO_MANY_ALIASES
QUERY_TOO_LARGE = ErrorCode.QUERY_TOO_LARGE

INTROSPECTION_ROOTS = frozenset({"__schema", "__type", "__typename"})


@dataclass(frozen=True, slots=True)
class Shape:
    """What an operation asks, fragments expanded: its depth, field selections and aliases."""

    depth: int = 0
    fields: int = 0
    aliases: int = 0
    cost: int = 0  # records the connections may return (see MAX_COST)


class Measure:
    """Shapes of selection sets, each fragment measured once: the expansion of `...A ...A` chains grows
    exponentially with the document, the memo keeps measuring linear (a spread in a cycle counts zero:
    NoFragmentCyclesRule reports the cycle)."""

    def __init__(self, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self.memo: dict[str, Shape] = {}
        self.roots_memo: dict[str, frozenset[str]] = {}
        self.active: set[str] = set()

    def selection_set(self, node: SelectionSetNode | None) -> Shape:
        if node is None:
            return Shape()
        depth = fields = aliases = cost = 0
        for sel in node.selections:
            if isinstance(sel, FieldNode):
                inner = self.selection_set(sel.selection_set)
                depth = max(depth, 1 + inner.depth)
                fields += 1 + inner.fields
                aliases += (sel.alias is not None) + inner.aliases
                page = _page(sel)
                cost += page * (1 + inner.cost) if page is not None else inner.cost
                continue
            if isinstance(sel, InlineFragmentNode):
                inner = self.selection_set(sel.selection_set)
            elif isinstance(sel, FragmentSpreadNode):
                inner = self.fragment(sel.name.value)
            else:  # pragma: no cover - graphql-core has no other selection kind
                continue
            depth = max(depth, inner.depth)
            fields += inner.fields
            aliases += inner.aliases
            cost += inner.cost
        return Shape(depth, fields, aliases, cost)

    def fragment(self, name: str) -> Shape:
        shape = self.memo.get(name)
        if shape is not None:
            return shape
        frag = self.fragments.get(name)
        if frag is None or name in self.active:
            return Shape()  # unknown fragments and cycles are other rules' errors
        self.active.add(name)
        try:
            shape = self.selection_set(frag.selection_set)
        finally:
            self.active.discard(name)
        self.memo[name] = shape
        return shape

    def root_fields(self, node: SelectionSetNode) -> frozenset[str]:
        """Names of the fields an operation's root selects, through fragments and inline fragments."""
        names: set[str] = set()
        for sel in node.selections:
            if isinstance(sel, FieldNode):
                names.add(sel.name.value)
            elif isinstance(sel, InlineFragmentNode):
                names |= self.root_fields(sel.selection_set)
            elif isinstance(sel, FragmentSpreadNode):
                names |= self.fragment_roots(sel.name.value)
        return frozenset(names)

    def fragment_roots(self, name: str) -> frozenset[str]:
        roots = self.roots_memo.get(name)
        if roots is not None:
            return roots
        frag = self.fragments.get(name)
        if frag is None or name in self.active:
            return frozenset()
        self.active.add(name)
        try:
            roots = self.root_fields(frag.selection_set)
        finally:
            self.active.discard(name)
        self.roots_memo[name] = roots
        return roots


def is_introspection_only(operation: OperationDefinitionNode, measure: Measure) -> bool:
    """True when every root field is an introspection field: such an operation reads no site."""
    names = measure.root_fields(operation.selection_set)
    return bool(names) and names <= INTROSPECTION_ROOTS


class OperationLimits(ASTValidationRule):
    """Depth, aliases and (for introspection) size of each operation, fragments expanded."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        fragments = {
            d.name.value: d for d in context.document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.measure = Measure(fragments)

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        shape = self.measure.selection_set(node.selection_set)
        if is_introspection_only(node, self.measure):
            depth, aliases, fields = (
                MAX_INTROSPECTION_DEPTH,
                MAX_INTROSPECTION_ALIASES,
                MAX_INTROSPECTION_FIELDS,
            )
            kind = "introspection query"
        else:
            depth, aliases, fields = MAX_DEPTH, MAX_ALIASES, None
            kind = "query"
        if shape.depth > depth:
            self.report_error(
                GraphQLError(
                    f"{kind} depth {shape.depth} exceeds the limit of {depth}",
                    node,
                    extensions={"code": QUERY_TOO_DEEP},
                )
            )
        if shape.aliases > aliases:
            self.report_error(
                GraphQLError(
                    f"more than {aliases} aliases in one {kind}", node, extensions={"code": TOO_MANY_ALIASES}
                )
            )
        if fields is not None and shape.fields > fields:
            self.report_error(
                GraphQLError(
                    f"{kind} selects {shape.fields} fields (fragments expanded), over the limit of {fields}",
                    node,
                    extensions={"code": QUERY_TOO_LARGE},
                )
            )


# A bound on how many records one operation may ask for: each connection field costs its `first` (a
# variable counts as the page-size cap, an absent one as the default page), times the cost of the
# connections it is nested in. 60 aliases of dataCollections(first: 500) at a site once took 25 s and
# answered 16 MB; ten full pages are still allowed.
MAX_COST = 5000
DEFAULT_PAGE = 20
CONNECTIONS = frozenset({"dataCollections", "samples", "proteins", "sessions", "proposals"})
QUERY_TOO_COSTLY = ErrorCode.QUERY_TOO_COSTLY


def _page(field: FieldNode) -> int | None:
    for arg in field.arguments or ():
        if arg.name.value == "first":
            value = getattr(arg.value, "value", None)
            if isinstance(value, str) and value.lstrip("-").isdigit():
                return max(0, min(int(value), MAX_PAGE_SIZE))
            return MAX_PAGE_SIZE  # a variable (or anything else): the most it could ask
    return DEFAULT_PAGE if field.name.value in CONNECTIONS else None


class CostLimit(ASTValidationRule):
    """Refuses an operation whose connections could ask for more than MAX_COST records."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        fragments = {
            d.name.value: d for d in context.document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.measure = Measure(fragments)

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        cost = self.measure.selection_set(node.selection_set).cost
        if cost > MAX_COST:
            self.report_error(
                GraphQLError(
                    f"query may ask for {cost} records, over the limit of {MAX_COST} (lower `first` or split it)",
                    node,
                    extensions={"code": QUERY_TOO_COSTLY},
                )
            )


RULES = (OperationLimits, CostLimit)
HUB_RULES = RULES
