"""How graphql-core executes a hub document: objects the hub built resolve by field name, records a site
sent by response key, checked once against the schema (answers.py) instead of walked field by field.

No network and no policy here; the one graphql-core internal used is pinned by tests/hub/test_answers.py.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLBoolean,
    GraphQLError,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLSchema,
    GraphQLString,
    is_non_null_type,
    is_object_type,
)
from graphql.execution import Executor
from graphql.pyutils import Path

from mx_hub import plan
from mx_hub.answers import AnswerChecker, Lie
from mx_hub.masking import mask_site_error
from mx_schema.errors import SITE_ERROR


class Local(dict[str, Any]):
    """An object the hub built itself: its fields resolve by field name, not by response key."""


class SiteNode(dict[str, Any]):
    """A record exactly as a site answered it (already shaped by the forwarded selection); `site` names
    the site, so that a lie found in it names the liar."""

    def __init__(self, record: dict[str, Any], site: str) -> None:
        super().__init__(record)
        self.site = site


def field_resolver(source: Any, info: GraphQLResolveInfo[Any], **args: Any) -> Any:
    """Site answers are keyed by the caller's response keys (aliases); hub objects by field name."""
    if isinstance(source, Local):
        return source.get(info.field_name)
    if isinstance(source, dict):
        return source.get(info.path.key)
    return getattr(source, info.field_name, None)


def type_resolver(value: Any, info: GraphQLResolveInfo[Any], abstract_type: Any) -> str | None:
    return value.get(plan.TYPENAME_KEY) if isinstance(value, dict) else None


def lie_entry(site: str, base: list[str | int], lie: Lie) -> dict[str, Any]:
    """A site's wrong value as the caller sees it: named, at its path, never passed through."""
    return {
        "message": f"site {site} answered a value the schema does not allow: {lie.message}",
        "path": [*base, *lie.path],
        "extensions": {"code": SITE_ERROR, "site": site},
    }


class HubExecutor(Executor[Any]):
    """Site records are complete for the caller's selection: walking a page of them field by field in
    graphql-core cost tens of milliseconds per request, so each is checked once (answers.py) instead.

    `complete_value` is a graphql-core 3.3 internal: its parameters are matched by name here, and a test
    pins its signature, so that an upgrade that changes it fails loudly rather than skipping the check."""

    def complete_value(
        self,
        return_type: GraphQLOutputType,
        field_details_list: Any,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        if isinstance(result, SiteNode):
            return self._complete_site_record(return_type, field_details_list, info, path, result)
        return super().complete_value(return_type, field_details_list, info, path, result, position_context)

    def complete_object_value(
        self,
        return_type: GraphQLObjectType,
        field_details_list: Any,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        if type(result) is Local and return_type.is_type_of is None:
            done = self._complete_local(return_type, field_details_list, info, path, result)
            if done is not None:
                return done
        return super().complete_object_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def _complete_local(
        self,
        return_type: GraphQLObjectType,
        field_details_list: Any,
        info: GraphQLResolveInfo[Any],
        path: Path,
        local: Local,
    ) -> dict[str, Any] | None:
        """An object the hub built (a connection's edge: cursor and node), completed without a resolver
        call and a resolve info per field: a page of 100 edges spent more in that than in its records.

        Only for what completes to itself -- strings, booleans, nulls where allowed, site records (checked
        as ever); anything else (None) goes graphql-core's way. Decided before anything is completed,
        so nothing is done twice."""
        grouped, defer_usages, _ = self.collect_subfields(return_type, field_details_list)
        if defer_usages:
            return None
        out: dict[str, Any] = {}
        records: list[tuple[str, GraphQLOutputType, Any, SiteNode]] = []
        for response_key, group in grouped.items():
            name = group[0].node.name.value
            if name == "__typename":
                out[response_key] = return_type.name
                continue
            field_def = return_type.fields.get(name)
            if field_def is None or field_def.resolve is not None:
                return None
            value = local.get(name)
            field_type = field_def.type
            inner = field_type.of_type if is_non_null_type(field_type) else field_type
            if isinstance(value, SiteNode) and is_object_type(inner):
                out[response_key] = None  # filled below, in the selection's order
                records.append((response_key, field_type, group, value))
            elif (type(value) is str and inner is GraphQLString) or (
                type(value) is bool and inner is GraphQLBoolean
            ):
                out[response_key] = value  # what String's and Boolean's serialize give back
            elif value is None and inner is field_type:
                out[response_key] = None
            else:
                return None
        for response_key, field_type, group, record in records:
            field_path = path.add_key(response_key, return_type.name)
            try:
                out[response_key] = self._complete_site_record(field_type, group, info, field_path, record)
            except Exception as raw:  # noqa: BLE001 - handled as graphql-core's execute_field does
                self.handle_field_error(raw, field_type, group, field_path)
        return out

    def _complete_site_record(
        self,
        return_type: GraphQLOutputType,
        field_details_list: Any,
        info: GraphQLResolveInfo[Any],
        path: Path,
        record: SiteNode,
    ) -> Any:
        checker = self._checker(info)
        nodes = checker.field_nodes.get(id(field_details_list))
        if nodes is None:  # once per field of the document: the list is the same for every record
            nodes = checker.field_nodes[id(field_details_list)] = [d.node for d in field_details_list]
        checked = checker.check(record, return_type, nodes, key=field_details_list)
        if not checked.lies:
            return checked.value
        base = path.as_list()
        site_errors: list[dict[str, Any]] = info.context.site_errors
        lies = checked.lies
        if checked.nulled and is_non_null_type(return_type):
            # Null cannot stop here: graphql-core propagates it to the nearest nullable parent and
            # records this error (which already has its path, so it is not located again).
            last = lies.pop()
            site_errors.extend(lie_entry(record.site, base, lie) for lie in lies)
            entry = mask_site_error(lie_entry(record.site, base, last))  # not masked later: mask it here
            raise GraphQLError(entry["message"], path=entry["path"], extensions=entry["extensions"])
        site_errors.extend(lie_entry(record.site, base, lie) for lie in lies)
        return checked.value

    def _checker(self, info: GraphQLResolveInfo[Any]) -> AnswerChecker:
        checker: AnswerChecker | None = getattr(self, "_mxhub_checker", None)
        if checker is None:
            checker = AnswerChecker(info.schema, info.fragments, _variables(info))
            self._mxhub_checker = checker
        return checker


def _variables(info: GraphQLResolveInfo[Any]) -> dict[str, Any]:
    coerced: dict[str, Any] = info.variable_values.coerced  # graphql-core 3.3: VariableValues
    return coerced


def bind_types(schema: GraphQLSchema) -> None:
    """Abstract types resolve from the hub's own __typename in a site's record."""
    for type_ in schema.type_map.values():
        if hasattr(type_, "resolve_type") and not type_.name.startswith("__"):
            type_.resolve_type = type_resolver
