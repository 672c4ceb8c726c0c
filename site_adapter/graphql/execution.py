"""A page completed level by level (issue 17): graphql-core's executor, through strawberry's execution
context, with the fields it can plan (page_plan.py) completed for all objects of a level at once.

graphql-core completes a page of 100 collections field by field and object by object: ~6,000 leaves
(each a ResolveInfo, a Path and a completion) and ~1,400 relations (each a strawberry Info, a coroutine
and a DataLoader future). Here a level's leaves are a loop over its objects, and each relation is one
batch call for the level (site_adapter/graphql/batches.py). Fields it cannot plan go to graphql-core
object by object, as before. Errors follow the spec as graphql-core does (handle_field_error: located,
null propagated to the nearest nullable parent), so no answer changes: the contract suite runs through it.

Hooks: graphql-core's `execute_fields`, an overridable method of ExecutionContext (the class strawberry lets
a schema choose: `execution_context_class`). tests/site_adapter/test_execution.py pins the signatures of
the graphql-core methods used here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from graphql import GraphQLError, GraphQLNonNull, GraphQLObjectType, Undefined
from graphql.execution.executor import invalid_return_type_error
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from site_adapter.graphql.page_plan import Plan, Source, Step, compile_plan
from site_adapter.graphql.plan_cache import PlansOf, plans_for

PathOf = Callable[[int], Path | None]


class PageExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context, completing each planned level of a selection in one pass."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # By the grouped field set's identity: graphql-core memoises collect_subfields per request, so the
        # objects of a level share one set and one plan. The set is kept to pin its id.
        self._plans: dict[tuple[str, int], tuple[Any, Plan]] = {}
        self._kept: PlansOf | None = None  # plans of this document kept between requests (plan_cache.py)

    # -- planning ------------------------------------------------------------------------------------

    def _plan(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> Plan:
        key = (parent_type.name, id(grouped_field_set))
        found = self._plans.get(key)
        if found is not None:
            return found[1]
        if self._kept is None:
            self._kept = plans_for(self.schema, self.operation, self.fragments, self.variable_values)
        # the field nodes, from the one parsed document of this text, name the selection across requests
        shape = (
            parent_type.name,
            tuple(id(d.node) for details in grouped_field_set.values() for d in details),
        )
        plan = self._kept.get(shape)
        if plan is None:
            plan = compile_plan(
                parent_type, grouped_field_set, self._sub_plan, self.variable_values, _arguments
            )
            self._kept[shape] = plan
        self._plans[key] = (grouped_field_set, plan)
        return plan

    def _sub_plan(self, return_type: GraphQLObjectType, field_details_list: Any) -> Plan | None:
        collected = self.collect_subfields(return_type, field_details_list)
        if collected.new_defer_usages or collected.forbidden_directive_instances:
            return None  # incremental delivery: graphql-core's own way
        return self._plan(return_type, collected.grouped_field_set)

    # -- the hook ------------------------------------------------------------------------------------

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any = None,
    ) -> Any:
        if self.middleware_manager is not None and self.middleware_manager.middlewares:
            # A resolve-hook extension must see every field: no planning.
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        plan = self._plan(parent_type, grouped_field_set)
        if not plan.compiled:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        run = self._level(plan, [source_value], lambda _: path, position_context)
        if plan.sync:
            return _one(_drive(run))

        async def completed() -> dict[str, Any]:
            return _one(await run)

        return completed()

    def complete_iterable_value(
        self,
        item_type: Any,
        field_details_list: Any,
        info: Any,
        path: Path,
        items: Any,
        position_context: Any,
    ) -> Any:
        """A list of objects (a root field's, or one graphql-core completes) as one level."""
        named = item_type.of_type if isinstance(item_type, GraphQLNonNull) else item_type
        plan = None
        if (
            isinstance(named, GraphQLObjectType)
            and not (self.middleware_manager is not None and self.middleware_manager.middlewares)
            and not any(d.node.directives for d in field_details_list)  # @stream: graphql-core's
            and isinstance(items, list | tuple)
            and not any(self.is_awaitable(x) for x in items)
        ):
            plan = self._sub_plan(named, field_details_list)
        if plan is None or not plan.compiled:
            return super().complete_iterable_value(
                item_type, field_details_list, info, path, items, position_context
            )
        present = [x for x in items if x is not None]
        where = [j for j, x in enumerate(items) if x is not None]
        run = self._level(
            plan, present, lambda m: Path(path, where[m], None), position_context, field_details_list
        )

        def assemble(done: list[Any]) -> list[Any]:
            out: list[Any] = [None] * len(items)
            for j, result in zip(where, done, strict=True):
                out[j] = result
            for j, result in enumerate(out):
                if result is None and isinstance(item_type, GraphQLNonNull):
                    result = TypeError(
                        f"Cannot return null for non-nullable field {info.parent_type}.{info.field_name}."
                    )
                if isinstance(result, Exception):
                    # raises when the items are non-null: the list fails, as graphql-core's does
                    self.handle_field_error(result, item_type, field_details_list, Path(path, j, None))
                    out[j] = None
            return out

        if plan.sync:
            return assemble(_drive(run))

        async def completed() -> list[Any]:
            return assemble(await run)

        return completed()

    # -- a level: every object of one type under one selection ----------------------------------------

    async def _level(
        self, plan: Plan, items: list[Any], path_of: PathOf, position_context: Any, details: Any = None
    ) -> list[Any]:
        """One result per item: its dict, or the GraphQLError that nulled it (for the parent to handle).
        `details`, the field's nodes, asks for graphql-core's runtime type check (is_type_of) first."""
        n = len(items)
        if not n:
            return []
        is_type_of = plan.parent_type.is_type_of
        if details is not None and is_type_of is not None:
            # strawberry's is_type_of reads the object alone; graphql-core's info is not built per object
            wrong = [i for i, item in enumerate(items) if not is_type_of(item, None)]  # type: ignore[arg-type]
            if wrong:
                return await self._level_of_some(plan, items, wrong, path_of, position_context, details)
        return await self._columns(plan, items, path_of, position_context)

    async def _columns(
        self, plan: Plan, items: list[Any], path_of: PathOf, position_context: Any
    ) -> list[Any]:
        """The level's values, a column per step, then a row per item."""
        n = len(items)
        failed: dict[int, GraphQLError] = {}
        columns: list[list[Any] | None] = []
        pending: list[Coroutine[Any, Any, None]] = []
        for step in plan.steps:
            if step.source is Source.GRAPHQL:
                columns.append(None)
            elif step.source is Source.TYPENAME:
                columns.append([plan.parent_type.name] * n)
            else:
                column: list[Any] = [None] * n
                columns.append(column)
                waiting = self._column(plan, step, items, path_of, position_context, column, failed)
                if waiting is not None:
                    pending.append(waiting)
        slow = plan.slow_fields()
        slow_results: list[Any] = []
        if slow:
            pending.append(self._graphql(plan, slow, items, path_of, position_context, slow_results, failed))
        if len(pending) == 1:
            await pending[0]
        elif pending:
            await asyncio.gather(*pending)
        return _rows(plan, columns, slow_results, failed, n)

    async def _level_of_some(
        self,
        plan: Plan,
        items: list[Any],
        wrong: list[int],
        path_of: PathOf,
        position_context: Any,
        details: Any,
    ) -> list[Any]:
        """The level without the items of another type, which fail as graphql-core's complete_object_value
        fails them."""
        bad = set(wrong)
        keep = [i for i in range(len(items)) if i not in bad]
        done = await self._level(plan, [items[i] for i in keep], lambda m: path_of(keep[m]), position_context)
        out: list[Any] = [None] * len(items)
        for i, result in zip(keep, done, strict=True):
            out[i] = result
        for i in wrong:
            out[i] = invalid_return_type_error(plan.parent_type, items[i], details)
        return out

    def _column(
        self,
        plan: Plan,
        step: Step,
        items: list[Any],
        path_of: PathOf,
        position_context: Any,
        column: list[Any],
        failed: dict[int, GraphQLError],
    ) -> Coroutine[Any, Any, None] | None:
        """Fill `column` with the step's completed value per item, now if it can, else in what it returns."""
        if step.source is Source.BATCH:
            return self._batch(plan, step, items, path_of, position_context, column, failed)
        values = _read(step, items)
        if step.sub is None:
            self._leaves(plan, step, values, path_of, column, failed)
            return None
        objects = self._objects(plan, step, values, path_of, position_context, column, failed)
        if step.sub.sync:
            _drive(objects)  # never suspends: done now, so a sync plan stays sync
            return None
        return objects

    async def _batch(
        self,
        plan: Plan,
        step: Step,
        items: list[Any],
        path_of: PathOf,
        position_context: Any,
        column: list[Any],
        failed: dict[int, GraphQLError],
    ) -> None:
        assert step.call is not None  # a BATCH step always has one (page_plan.py)
        try:
            values = await step.call(self.context_value, items, **step.args)
            if len(values) != len(items):
                raise RuntimeError(
                    f"{plan.parent_type.name}.{step.field_name}: one value per parent expected"
                )
        except Exception as raw:  # each object's field fails alone, as its own resolver call would
            for i in range(len(items)):
                self._field_error(raw, plan, step, path_of, i, failed)
            return
        if step.sub is None:
            self._leaves(plan, step, values, path_of, column, failed)
        else:
            await self._objects(plan, step, values, path_of, position_context, column, failed)

    def _leaves(
        self,
        plan: Plan,
        step: Step,
        values: list[Any],
        path_of: PathOf,
        column: list[Any],
        failed: dict[int, GraphQLError],
    ) -> None:
        coerce = step.coerce
        assert coerce is not None
        if _leaves_at_once(step, values, column):
            return
        for i, value in enumerate(values):
            if value is None:
                if step.non_null:
                    self._null_error(plan, step, path_of, i, failed)
                continue
            if isinstance(value, _Raised):
                self._field_error(value.error, plan, step, path_of, i, failed)
                continue
            if not step.is_list:
                try:
                    column[i] = _coerce(coerce, step, value)
                except Exception as raw:
                    self._field_error(raw, plan, step, path_of, i, failed)
                continue
            try:
                column[i] = self._leaf_list(plan, step, value, path_of, i)
            except Exception as raw:
                self._field_error(raw, plan, step, path_of, i, failed)

    def _leaf_list(self, plan: Plan, step: Step, value: Any, path_of: PathOf, i: int) -> list[Any]:
        """A list of leaves; an item that fails is null, or fails the list when items are non-null."""
        coerce = step.coerce
        assert coerce is not None
        out: list[Any] = []
        for j, item in enumerate(value):
            try:
                if item is None:
                    if step.item_non_null:
                        raise TypeError(_null_message(plan, step))
                    out.append(None)
                    continue
                out.append(_coerce(coerce, step, item))
            except Exception as raw:
                self._item_error(raw, plan, step, path_of, i, j)
                out.append(None)
        return out

    async def _objects(
        self,
        plan: Plan,
        step: Step,
        values: list[Any],
        path_of: PathOf,
        position_context: Any,
        column: list[Any],
        failed: dict[int, GraphQLError],
    ) -> None:
        """Objects (or lists of objects) of every item, completed as one level of the sub-plan."""
        assert step.sub is not None
        flat, origins = _flatten(plan, step, values)

        def child_path(m: int) -> Path:
            i, j = origins[m]
            field_path = _field_path(plan, step, path_of, i)
            return field_path if j is None else Path(field_path, j, None)

        done = await self._level(step.sub, flat, child_path, position_context, step.details)
        completed = dict(zip(origins, done, strict=True))
        for i, value in enumerate(values):
            if value is None:
                if step.non_null:
                    self._null_error(plan, step, path_of, i, failed)
            elif isinstance(value, _Raised):
                self._field_error(value.error, plan, step, path_of, i, failed)
            elif step.is_list:
                try:
                    column[i] = self._object_list(plan, step, value, i, completed, path_of)
                except GraphQLError as error:  # a non-null item failed: the list fails
                    self._field_error(error, plan, step, path_of, i, failed)
            else:
                result = completed[(i, None)]
                if isinstance(result, GraphQLError):
                    self._field_error(result, plan, step, path_of, i, failed)
                else:
                    column[i] = result

    def _object_list(
        self,
        plan: Plan,
        step: Step,
        value: Any,
        i: int,
        completed: dict[tuple[int, int | None], Any],
        path_of: PathOf,
    ) -> list[Any]:
        """Item i's list, each object completed; an item that fails is null, or raises when items are
        non-null (graphql-core's complete_list_item_value)."""
        out: list[Any] = []
        for j, item in enumerate(value):
            result = None if item is None else completed[(i, j)]
            try:
                if item is None and step.item_non_null:
                    raise TypeError(_null_message(plan, step))
                if isinstance(result, GraphQLError):
                    raise result
                out.append(result)
            except Exception as raw:
                self._item_error(raw, plan, step, path_of, i, j)
                out.append(None)
        return out

    async def _graphql(
        self,
        plan: Plan,
        fields: dict[str, Any],
        items: list[Any],
        path_of: PathOf,
        position_context: Any,
        results: list[Any],
        failed: dict[int, GraphQLError],
    ) -> None:
        """The fields no plan covers, object by object, by graphql-core itself."""
        results.extend([None] * len(items))
        waiting: list[Any] = []
        where: list[int] = []
        execute = StrawberryGraphQLCoreExecutionContext.execute_fields
        for i, item in enumerate(items):
            try:
                answer = execute(self, plan.parent_type, item, path_of(i), fields, position_context)
            except GraphQLError as error:  # a non-null field failed: the object is null
                failed.setdefault(i, error)
                continue
            if self.is_awaitable(answer):
                waiting.append(answer)
                where.append(i)
            else:
                results[i] = answer
        if not waiting:
            return
        done = await asyncio.gather(*waiting, return_exceptions=True)
        for i, outcome in zip(where, done, strict=True):
            if isinstance(outcome, GraphQLError):
                failed.setdefault(i, outcome)
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                results[i] = outcome

    # -- errors, as graphql-core's execute_field handles them --------------------------------------------

    def _field_error(
        self,
        raw: Exception,
        plan: Plan,
        step: Step,
        path_of: PathOf,
        i: int,
        failed: dict[int, GraphQLError],
    ) -> None:
        """Record a field's error; when the field is non-null, the object is null instead (failed[i])."""
        try:
            self.handle_field_error(raw, step.field_type, step.details, _field_path(plan, step, path_of, i))  # type: ignore[arg-type]
        except GraphQLError as propagated:
            failed.setdefault(i, propagated)

    def _item_error(self, raw: Exception, plan: Plan, step: Step, path_of: PathOf, i: int, j: int) -> None:
        """Item j of item i's list failed: recorded, the item null; raises (the list fails) when the
        list's items are non-null, as graphql-core's complete_list_item_value does."""
        item_path = Path(_field_path(plan, step, path_of, i), j, None)
        self.handle_field_error(raw, step.item_type, step.details, item_path)  # type: ignore[arg-type]

    def _null_error(
        self, plan: Plan, step: Step, path_of: PathOf, i: int, failed: dict[int, GraphQLError]
    ) -> None:
        self._field_error(TypeError(_null_message(plan, step)), plan, step, path_of, i, failed)


class _Raised:
    """A value that could not be read: its field fails with this error."""

    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        self.error = error


def _leaves_at_once(step: Step, values: list[Any], column: list[Any]) -> bool:
    """The common case in one pass: builtin scalars, whose coercion never answers null; False when an
    item needs the loop that reports its error."""
    coerce = step.coerce
    if not step.exact or step.is_list or coerce is None or any(type(v) is _Raised for v in values):
        return False
    try:
        column[:] = [None if v is None else coerce(v) for v in values]
    except Exception:  # noqa: BLE001 - the caller's loop finds and reports each failure
        return False
    return not (step.non_null and None in column)


def _flatten(plan: Plan, step: Step, values: list[Any]) -> tuple[list[Any], list[tuple[int, int | None]]]:
    """The objects under every item, one level, with where each came from (item, list index)."""
    flat: list[Any] = []
    origins: list[tuple[int, int | None]] = []
    for i, value in enumerate(values):
        if value is None or isinstance(value, _Raised):
            continue
        if not step.is_list:
            flat.append(value)
            origins.append((i, None))
            continue
        mark = len(flat)
        try:
            for j, item in enumerate(value):
                if item is not None:
                    flat.append(item)
                    origins.append((i, j))
        except TypeError:  # not iterable: the field fails
            del flat[mark:], origins[mark:]
            values[i] = _Raised(TypeError(_iterable_message(plan, step)))
    return flat, origins


def _read(step: Step, items: list[Any]) -> list[Any]:
    """The step's value on every item (attribute or plain method); an item that raises keeps its error."""
    if step.source is Source.ATTRIBUTE:
        attribute = step.attribute
        assert attribute is not None
        try:
            return [getattr(item, attribute) for item in items]
        except Exception:  # noqa: BLE001 - per item below, so each failure is its own field error
            return [_call(lambda item: getattr(item, attribute), item) for item in items]
    call = step.call
    assert call is not None
    return [_call(call, item) for item in items]


def _call(read: Callable[[Any], Any], item: Any) -> Any:
    try:
        return read(item)
    except Exception as error:  # the field's error, raised where graphql-core would raise it
        return _Raised(error)


def _coerce(coerce: Callable[[Any], Any], step: Step, value: Any) -> Any:
    coerced = coerce(value)
    if coerced is Undefined or coerced is None:  # graphql-core's complete_leaf_value, word for word
        raise TypeError(
            f"Expected `{step.leaf_type}.coerce_output_value({value!r})` to return non-nullable value, "
            f"returned: {coerced!r}"
        )
    return coerced


def _field_path(plan: Plan, step: Step, path_of: PathOf, i: int) -> Path:
    return Path(path_of(i), step.name, plan.parent_type.name)


def _null_message(plan: Plan, step: Step) -> str:
    return f"Cannot return null for non-nullable field {plan.parent_type.name}.{step.field_name}."


def _iterable_message(plan: Plan, step: Step) -> str:
    return f"Expected Iterable, but did not find one for field '{plan.parent_type.name}.{step.field_name}'."


def _rows(
    plan: Plan,
    columns: list[list[Any] | None],
    slow_results: list[Any],
    failed: dict[int, GraphQLError],
    n: int,
) -> list[Any]:
    names = [s.name for s in plan.steps]
    if not failed and all(column is not None for column in columns):
        return (
            [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]
            if names
            else [{} for _ in range(n)]
        )
    rows: list[Any] = []
    for i in range(n):
        if i in failed:
            rows.append(failed[i])
            continue
        row: dict[str, Any] = {}
        slow = slow_results[i] if slow_results else None
        for name, column in zip(names, columns, strict=True):
            if column is not None:
                row[name] = column[i]
            elif slow is not None and name in slow:  # graphql-core leaves an unknown field out
                row[name] = slow[name]
        rows.append(row)
    return rows


def _one(results: list[Any]) -> dict[str, Any]:
    """The single object's dict; its error propagates, as graphql-core's execute_fields raises it."""
    result = results[0]
    if isinstance(result, GraphQLError):
        raise result
    return result


def _drive(run: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine that never suspends (a plan with no batch or graphql-core step) to its end."""
    try:
        run.send(None)
    except StopIteration as finished:
        return finished.value
    run.close()
    raise RuntimeError("a synchronous plan awaited something")


def _arguments(field_def: Any, node: Any, variables: Any) -> dict[str, Any]:
    return get_argument_values(field_def, node, variables)
