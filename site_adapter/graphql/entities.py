"""Federation `_entities` representations checked before strawberry resolves them: a malformed one is a
BAD_USER_INPUT naming its index, never an INTERNAL_SERVER_ERROR (issue 15).

Shared by the site and LIMS schemas; reads nothing, resolves nothing itself.
"""

import inspect
from typing import Any

from strawberry.federation.schema import FederationAny
from strawberry.types.info import Info

from mx_schema.errors import BAD_USER_INPUT, ContractError

MAX_REPRESENTATIONS = 1000  # one hub request batches at most a page's worth


def _problem(rep: Any, type_map: dict[str, Any]) -> "str | None":
    if not isinstance(rep, dict):
        return "not an object"
    name = rep.get("__typename")
    if not isinstance(name, str):
        return "no __typename"
    type_ = type_map.get(name)
    origin = getattr(getattr(type_, "definition", None), "origin", None)
    resolve = getattr(origin, "resolve_reference", None)
    if resolve is None:
        return f"{name!r} is not an entity of this subgraph"
    for param in inspect.signature(resolve).parameters.values():
        if param.name in ("info", "cls") or param.kind in (param.VAR_KEYWORD, param.VAR_POSITIONAL):
            continue
        if param.default is inspect.Parameter.empty and param.name not in rep:
            return f"{name} needs `{param.name}`"
        if param.name in rep and param.name == "id" and not isinstance(rep["id"], str):
            return f"{name}.id must be a string"
    return None


class CheckedEntities:
    """Mixed into a strawberry federation Schema before it: validates, then lets strawberry resolve."""

    # Annotated exactly as strawberry's own (it builds the `_entities` field from them), and without
    # `from __future__ import annotations` in this module, for the same reason.
    def entities_resolver(self, info: Info, representations: list[FederationAny]) -> list[FederationAny]:
        if len(representations) > MAX_REPRESENTATIONS:
            raise ContractError(
                f"more than {MAX_REPRESENTATIONS} representations in one _entities call", code=BAD_USER_INPUT
            )
        type_map = self.schema_converter.type_map  # type: ignore[attr-defined]  # federation.Schema's, after us in the MRO
        copies: list[Any] = []
        for k, rep in enumerate(representations):
            problem = _problem(rep, type_map)
            if problem is not None or not isinstance(rep, dict):
                raise ContractError(f"representation {k}: {problem}", code=BAD_USER_INPUT)
            # strawberry pops __typename from each representation: give it copies, not the caller's variables
            copies.append(dict(rep))
        resolved: list[FederationAny] = super().entities_resolver(info, copies)  # type: ignore[misc]  # federation.Schema's, after us in the MRO
        return resolved
