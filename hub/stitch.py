"""Stitching crystallisation records from LIMS sources into site records (searching by LIMS terms is
lims_search.py's job).

Sites do not know `Sample.crystallisation`: the hub removes it from what it forwards, asks the site
for the fields the LIMS's SDL `@requires` (crystal UUID, pin barcode, external ids), and fills the field
from one batched `_entities` call per LIMS source per root field, whatever the number of samples. The
representation is the one any Federation v2 router would send: one contract (docs/router.md).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSchema,
    InlineFragmentNode,
    NameNode,
    SelectionNode,
    SelectionSetNode,
    get_named_type,
    print_ast,
)

from mx_hub import plan
from mx_hub.client import SiteAnswer, SiteClient, SiteFailure
from mx_hub.fanout import failure_entry, gather_with_deadline
from mx_hub.registry import SiteRecord
from mx_schema.errors import SITE_ERROR

FIELD = "crystallisation"
SID, UUID, PIN, EXT = "mxhub_sid", "mxhub_uuid", "mxhub_pin", "mxhub_ext"
# `Sample.crystallisation @requires(fields: ...)` in schema/lims.graphql (a test keeps them equal); the
# aliases keep them apart from the caller's own selections of the same fields.
REQUIRES = "crystal { uuid } barcode externalIds { system kind value }"
PLATE_WELL_DROP_KINDS = ("plate-well-drop", "plate_well_drop")


def _field(name: str, alias: str | None = None, selections: tuple[SelectionNode, ...] = ()) -> FieldNode:
    return FieldNode(
        alias=NameNode(value=alias) if alias else None,
        name=NameNode(value=name),
        selection_set=SelectionSetNode(selections=selections) if selections else None,
    )


KEY_SELECTIONS = (
    _field("id", SID),
    _field("crystal", UUID, (_field("uuid"),)),
    _field("barcode", PIN),
    _field("externalIds", EXT, (_field("system"), _field("kind"), _field("value"))),
)


def _present(sel: SelectionSetNode | None) -> SelectionSetNode:
    """A fragment's rewritten selection: never empty, as the fragment it comes from was not."""
    if sel is None:
        raise ValueError("a fragment without a selection set")
    return sel


@dataclass
class Rewrite:
    """A selection with `crystallisation` taken out, and what was taken out."""

    field_nodes: list[FieldNode]
    fragments: dict[str, FragmentDefinitionNode]
    wanted: list[FieldNode] = field(
        default_factory=list
    )  # the crystallisation fields, as the caller wrote them

    @property
    def needed(self) -> bool:
        return bool(self.wanted)

    @cached_property
    def entities_query(self) -> str:
        """The `_entities` query that fills the wanted fields: printed once per rewrite (rewrites are
        shared by the requests of one document)."""
        return _entities_query(self.wanted, self.fragments)


class _Rewriter:
    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.schema = schema
        self.source = fragments
        self.fragments: dict[str, FragmentDefinitionNode] = {}
        self.wanted: list[FieldNode] = []

    def selection_set(self, sel: SelectionSetNode | None, parent: Any) -> SelectionSetNode | None:
        if sel is None:
            return None
        out: list[SelectionNode] = []
        add_keys = False
        for s in sel.selections:
            if isinstance(s, FieldNode):
                if s.name.value == FIELD and getattr(parent, "name", None) == "Sample":
                    self.wanted.append(s)
                    add_keys = True
                    continue
                fields = getattr(parent, "fields", None) or {}
                target = fields.get(s.name.value)
                child = get_named_type(target.type) if target is not None else None
                out.append(
                    FieldNode(
                        alias=s.alias,
                        name=s.name,
                        arguments=s.arguments,
                        directives=s.directives,
                        selection_set=self.selection_set(s.selection_set, child),
                    )
                )
            elif isinstance(s, InlineFragmentNode):
                cond = self.schema.get_type(s.type_condition.name.value) if s.type_condition else parent
                out.append(
                    InlineFragmentNode(
                        type_condition=s.type_condition,
                        directives=s.directives,
                        selection_set=_present(self.selection_set(s.selection_set, cond)),
                    )
                )
            elif isinstance(s, FragmentSpreadNode):
                self.fragment(s.name.value)
                out.append(s)
        if add_keys:
            out.extend(KEY_SELECTIONS)
        return SelectionSetNode(selections=tuple(out))

    def fragment(self, name: str) -> None:
        if name in self.fragments or name not in self.source:
            return
        frag = self.source[name]
        self.fragments[name] = frag  # placeholder against recursion
        cond = self.schema.get_type(frag.type_condition.name.value)
        self.fragments[name] = FragmentDefinitionNode(
            name=frag.name,
            type_condition=frag.type_condition,
            directives=frag.directives,
            variable_definitions=frag.variable_definitions,
            selection_set=_present(self.selection_set(frag.selection_set, cond)),
        )


# Rewrites by the identity of what they were made from (issue 17): the hub's document cache hands every
# request with the same query text the same nodes, so a document is rewritten once, not once per request,
# and the rewritten nodes stay the same objects, which keeps plan.py's cache of forwarded texts warm.
# The sources are held in the entry, so their ids cannot be reused by other objects while it is cached.
_REWRITES: OrderedDict[tuple[Any, ...], tuple[tuple[Any, ...], Rewrite]] = OrderedDict()
_REWRITES_MAX = 256


def rewrite(
    schema: GraphQLSchema,
    field_nodes: list[FieldNode],
    fragments: dict[str, FragmentDefinitionNode],
    field_type: Any,
) -> Rewrite:
    """Rewrite the selections under `field_nodes` (of type `field_type`), recording crystallisation fields.

    The answer is shared by every request of the same document: callers must not change it."""
    key = (
        id(schema),
        tuple(id(f) for f in field_nodes),
        tuple((name, id(f)) for name, f in fragments.items()),
        id(field_type),
    )
    hit = _REWRITES.get(key)
    if hit is not None:
        _REWRITES.move_to_end(key)
        return hit[1]
    made = _rewrite(schema, field_nodes, fragments, field_type)
    _REWRITES[key] = ((schema, tuple(field_nodes), tuple(fragments.values()), field_type), made)
    if len(_REWRITES) > _REWRITES_MAX:
        _REWRITES.popitem(last=False)
    return made


def _rewrite(
    schema: GraphQLSchema,
    field_nodes: list[FieldNode],
    fragments: dict[str, FragmentDefinitionNode],
    field_type: Any,
) -> Rewrite:
    r = _Rewriter(schema, fragments)
    named = get_named_type(field_type)
    nodes = [
        FieldNode(
            alias=f.alias,
            name=f.name,
            arguments=f.arguments,
            directives=f.directives,
            selection_set=r.selection_set(f.selection_set, named),
        )
        for f in field_nodes
    ]
    merged = dict(fragments)
    merged.update(r.fragments)
    return Rewrite(field_nodes=nodes, fragments=merged, wanted=r.wanted)


def _samples(value: Any, found: list[dict[str, Any]]) -> None:
    if isinstance(value, dict):
        if SID in value:
            found.append(value)
        for v in value.values():
            _samples(v, found)
    elif isinstance(value, list):
        for v in value:
            _samples(v, found)


def representation(sample: dict[str, Any]) -> dict[str, Any]:
    """The `_entities` representation of one sample: its key and the LIMS's `@requires` fields."""
    crystal = sample.get(UUID)
    uuid = crystal.get("uuid") if isinstance(crystal, dict) else None
    ext = [
        {"system": e.get("system"), "kind": e.get("kind"), "value": e.get("value")}
        for e in sample.get(EXT) or []
        if isinstance(e, dict)
    ]
    return {
        "__typename": "Sample",
        "id": sample.get(SID),
        "crystal": None if crystal is None else {"uuid": uuid},
        "barcode": sample.get(PIN),
        "externalIds": ext,
    }


def states_requires(src: SiteRecord) -> bool:
    """Whether a LIMS's registered SDL states `@requires` (issue 20); one that does not (or whose SDL the
    hub has not seen) is sent the keys hubs sent before, which every LIMS of ours reads."""
    return src.sdl is not None and "@requires" in src.sdl


def legacy_representation(rep: dict[str, Any]) -> dict[str, Any]:
    """The representation hubs sent before issue 20: `crystalUuid`, `pinBarcode`, `plateWellDrop`."""
    crystal = rep["crystal"] or {}
    uuid = crystal.get("uuid")
    pwd = next((e["value"] for e in rep["externalIds"] if e["kind"] in PLATE_WELL_DROP_KINDS), None)
    return {
        "__typename": "Sample",
        "id": rep["id"],
        "crystalUuid": uuid.lower() if isinstance(uuid, str) else None,
        "pinBarcode": rep["barcode"],
        "plateWellDrop": pwd,
    }


def _dedup_key(rep: dict[str, Any]) -> tuple[Any, ...]:
    """Samples with the same LIMS keys share one representation (the sample id is not looked at)."""
    crystal = rep["crystal"] or {}
    uuid = crystal.get("uuid")
    return (
        uuid.lower() if isinstance(uuid, str) else uuid,
        rep["barcode"],
        tuple((e["system"], e["kind"], e["value"]) for e in rep["externalIds"]),
    )


def _entities_query(wanted: list[FieldNode], fragments: dict[str, FragmentDefinitionNode]) -> str:
    sel = SelectionSetNode(selections=tuple(wanted))
    frag_defs, _ = plan._closure(wanted, fragments)
    return (
        "query HubStitch($mxhub_r: [_Any!]!) { _entities(representations: $mxhub_r) { ... on Sample "
        + print_ast(sel)
        + " } }\n"
        + "".join("\n" + print_ast(f) for f in frag_defs)
    )


async def attach(
    client: SiteClient,
    sources: list[SiteRecord],
    nodes: list[Any],
    rw: Rewrite,
    path: list[Any],
    timeout: float,
    soft_deadline: float,
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Fill every crystallisation field of the samples inside `nodes`; strip the key fields.

    Returns GraphQL errors naming LIMS sources that failed, and a status per source.
    """
    samples: list[dict[str, Any]] = []
    _samples(nodes, samples)
    keys = {f.alias.value if f.alias else f.name.value for f in rw.wanted}
    reps, slots = _representations(samples)
    errors: list[dict[str, Any]] = []
    status: dict[str, str] = {}
    found: list[dict[str, Any] | None] = [None] * len(reps)
    if reps and sources:
        query = rw.entities_query
        legacy = [legacy_representation(r) for r in reps]
        calls = {
            src.name: client.query(
                src.name,
                src.url,
                query,
                {"mxhub_r": reps if states_requires(src) else legacy},
                timeout=timeout,
            )
            for src in sources
        }
        result = await gather_with_deadline(calls, timeout=timeout, soft_deadline=soft_deadline)
        for name, failure in result.failures.items():
            errors.append(failure_entry(failure, path))
            status[name] = "error"
        for src in sources:  # registry order: the first LIMS that knows a sample answers for it
            answer = result.answers.get(src.name)
            if answer is not None:
                status[src.name] = _take_entities(src.name, answer, found, keys, errors, path)
    for s, slot in zip(samples, slots, strict=True):
        entity = found[slot] or {}
        for key in keys:
            s[key] = entity.get(key)
        for key in (SID, UUID, PIN, EXT):
            s.pop(key, None)
    return errors, status


def _representations(samples: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[int]]:
    """One representation per distinct sample key, and for each sample the index of its own."""
    reps: list[dict[str, Any]] = []
    index: dict[tuple[Any, ...], int] = {}
    slots: list[int] = []
    for s in samples:
        rep = representation(s)
        k = _dedup_key(rep)
        if k not in index:
            index[k] = len(reps)
            reps.append(rep)
        slots.append(index[k])
    return reps, slots


def _take_entities(
    name: str,
    answer: SiteAnswer,
    found: list[dict[str, Any] | None],
    keys: set[str],
    errors: list[dict[str, Any]],
    path: list[Any],
) -> str:
    """Fill `found` with what one LIMS knows (where no earlier LIMS did); its status."""
    errors.extend(
        {
            "message": f"LIMS {name}: {e.get('message', 'error')}",
            "path": path,
            "extensions": {"code": (e.get("extensions") or {}).get("code", SITE_ERROR), "site": name},
        }
        for e in answer.errors
        if isinstance(e, dict)
    )
    entities = (answer.data or {}).get("_entities")
    if not isinstance(entities, list) or len(entities) != len(found):
        errors.append(
            failure_entry(SiteFailure(name, SITE_ERROR, f"LIMS {name} answered a malformed batch"), path)
        )
        return "error"
    for i, entity in enumerate(entities):
        if found[i] is None and isinstance(entity, dict) and any(entity.get(k) is not None for k in keys):
            found[i] = entity
    return "ok"
