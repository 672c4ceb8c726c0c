"""Limits on what one hub query may ask: depth, aliases, tokens and page size, as validation rules."""

from __future__ import annotations

from typing import Any

from graphql import (
    ASTValidationRule,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    ValidationContext,
)

MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_TOKENS = 5000
MAX_PAGE_SIZE = 500


def _depth(selection_set: Any, fragments: dict, seen: frozenset[str]) -> int:
    if selection_set is None:
        return 0
    deepest = 0
    for sel in selection_set.selections:
        if isinstance(sel, FieldNode):
            deepest = max(deepest, 1 + _depth(sel.selection_set, fragments, seen))
        elif isinstance(sel, InlineFragmentNode):
            deepest = max(deepest, _depth(sel.selection_set, fragments, seen))
        elif isinstance(sel, FragmentSpreadNode) and sel.name.value not in seen:
            frag = fragments.get(sel.name.value)
            if frag is not None:
                deepest = max(deepest, _depth(frag.selection_set, fragments, seen | {sel.name.value}))
    return deepest


class DepthLimit(ASTValidationRule):
    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        fragments = {f.name.value: f for f in self.context.document.definitions if hasattr(f, "type_condition")}
        depth = _depth(node.selection_set, fragments, frozenset())
        if depth > MAX_DEPTH:
            self.report_error(GraphQLError(f"query depth {depth} exceeds the limit of {MAX_DEPTH}", node,
                                           extensions={"code": "QUERY_TOO_DEEP"}))


class AliasLimit(ASTValidationRule):
    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self.aliases = 0
        self.reported = False

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        if node.alias is not None:
            self.aliases += 1
            if self.aliases > MAX_ALIASES and not self.reported:
                self.reported = True
                self.report_error(GraphQLError(f"more than {MAX_ALIASES} aliases in one query", node,
                                               extensions={"code": "TOO_MANY_ALIASES"}))


HUB_RULES = (DepthLimit, AliasLimit)
