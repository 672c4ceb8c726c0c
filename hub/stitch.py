"""Stitching crystallisation records from LIMS sources into site records, and LIMS-driven search
(the union over every LIMS that knows the terms; see `search_keys`).

Sites do not know `Sample.crystallisation`: the hub removes it from what it forwards, asks the site
for the sample's keys instead (id, crystal UUID, pin barcode, plate/well/drop), and fills the field
from one batched `_entities` call per LIMS source per root field, whatever the number of samples.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSchema,
    InlineFragmentNode,
    NameNode,
    SelectionSetNode,
    get_named_type,
    print_ast,
)

from mx_hub import plan
from mx_hub.client import SiteClient, SiteFailure
from mx_hub.fanout import failure_entry, gather_with_deadline
from mx_hub.registry import SiteRecord
from mx_schema.errors import (
    BAD_USER_INPUT,
    LIMS_SEARCH_INCOMPLETE,
    SITE_ERROR,
    SITE_TIMEOUT,
    SITE_UNAVAILABLE,
    UNKNOWN_TERM,
    ContractError,
)

FIELD = "crystallisation"
SID, UUID, PIN, EXT = "mxhub_sid", "mxhub_uuid", "mxhub_pin", "mxhub_ext"
MAX_SEARCH_KEYS = 20000


def _field(name: str, alias: str | None = None, selections: tuple = ()) -> FieldNode:
    return FieldNode(
        alias=NameNode(value=alias) if alias else None,
        name=NameNode(value=name),
        selection_set=SelectionSetNode(selections=selections) if selections else None,
    )


KEY_SELECTIONS = (
    _field("id", SID),
    _field("crystal", UUID, (_field("uuid"),)),
    _field("barcode", PIN),
    _field("externalIds", EXT, (_field("kind"), _field("value"))),
)


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


class _Rewriter:
    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.schema = schema
        self.source = fragments
        self.fragments: dict[str, FragmentDefinitionNode] = {}
        self.wanted: list[FieldNode] = []

    def selection_set(self, sel: SelectionSetNode | None, parent: Any) -> SelectionSetNode | None:
        if sel is None:
            return None
        out: list = []
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
                        selection_set=self.selection_set(s.selection_set, cond),
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
            selection_set=self.selection_set(frag.selection_set, cond),
        )


def rewrite(
    schema: GraphQLSchema,
    field_nodes: list[FieldNode],
    fragments: dict[str, FragmentDefinitionNode],
    field_type: Any,
) -> Rewrite:
    """Rewrite the selections under `field_nodes` (of type `field_type`), recording crystallisation fields."""
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


def _samples(value: Any, found: list[dict]) -> None:
    if isinstance(value, dict):
        if SID in value:
            found.append(value)
        for v in value.values():
            _samples(v, found)
    elif isinstance(value, list):
        for v in value:
            _samples(v, found)


def representation(sample: dict) -> dict[str, Any]:
    crystal = sample.get(UUID) or {}
    plate = None
    for ext in sample.get(EXT) or []:
        if isinstance(ext, dict) and ext.get("kind") in ("plate-well-drop", "plate_well_drop"):
            plate = ext.get("value")
    uuid = crystal.get("uuid") if isinstance(crystal, dict) else None
    return {
        "__typename": "Sample",
        "id": sample.get(SID),
        "crystalUuid": uuid.lower() if uuid else None,
        "pinBarcode": sample.get(PIN),
        "plateWellDrop": plate,
    }


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
) -> tuple[list[dict], dict[str, str]]:
    """Fill every crystallisation field of the samples inside `nodes`; strip the key fields.

    Returns GraphQL errors naming LIMS sources that failed, and a status per source.
    """
    samples: list[dict] = []
    _samples(nodes, samples)
    keys = {f.alias.value if f.alias else f.name.value for f in rw.wanted}
    errors: list[dict] = []
    status: dict[str, str] = {}
    reps: list[dict] = []
    index: dict[tuple, int] = {}
    slots: list[int] = []
    for s in samples:
        rep = representation(s)
        k = (rep["crystalUuid"], rep["pinBarcode"], rep["plateWellDrop"])
        if k not in index:
            index[k] = len(reps)
            reps.append(rep)
        slots.append(index[k])
    found: list[dict | None] = [None] * len(reps)
    if reps and sources:
        query = _entities_query(rw.wanted, rw.fragments)
        calls = {
            src.name: client.query(src.name, src.url, query, {"mxhub_r": reps}, timeout=timeout)
            for src in sources
        }
        result = await gather_with_deadline(calls, timeout=timeout, soft_deadline=soft_deadline)
        for name, failure in result.failures.items():
            errors.append(failure_entry(failure, path))
            status[name] = "error"
        for src in sources:  # registry order: the first LIMS that knows a sample answers for it
            answer = result.answers.get(src.name)
            if answer is None:
                continue
            entities = (answer.data or {}).get("_entities")
            if answer.errors:
                errors.extend(
                    {
                        "message": f"LIMS {src.name}: {e.get('message', 'error')}",
                        "path": path,
                        "extensions": {
                            "code": (e.get("extensions") or {}).get("code", "SITE_ERROR"),
                            "site": src.name,
                        },
                    }
                    for e in answer.errors
                    if isinstance(e, dict)
                )
            if not isinstance(entities, list) or len(entities) != len(reps):
                errors.append(
                    failure_entry(
                        SiteFailure(src.name, "SITE_ERROR", f"LIMS {src.name} answered a malformed batch"),
                        path,
                    )
                )
                status[src.name] = "error"
                continue
            status[src.name] = "ok"
            for i, entity in enumerate(entities):
                if (
                    found[i] is None
                    and isinstance(entity, dict)
                    and any(entity.get(k) is not None for k in keys)
                ):
                    found[i] = entity
    for s, slot in zip(samples, slots):
        entity = found[slot] or {}
        for k in keys:
            s[k] = entity.get(k)
        for k in (SID, UUID, PIN, EXT):
            s.pop(k, None)
    return errors, status


SEARCH_QUERY = (
    "query HubSearch($f: CrystallisationSearchFilter!, $n: Int) { crystallisationSearch(filter: $f, "
    "first: $n) { crystalUuids pinBarcodes count truncated unknown { field value suggestions } } }"
)
# LIMS schema 1.0 has no `unknown`: there a chemical nobody uses is a BAD_USER_INPUT error carrying
# `extensions.suggestions` (and an unused ligand just matches nothing). Asked only when 1.1's query is refused.
LEGACY_SEARCH_QUERY = (
    "query HubSearch($f: CrystallisationSearchFilter!, $n: Int) { crystallisationSearch("
    "filter: $f, first: $n) { crystalUuids pinBarcodes count truncated } }"
)
MAX_SUGGESTIONS = 8


@dataclass
class SearchOutcome:
    """What the LIMS sources said about one `lims` filter: the union of their keys, and what to tell the caller."""

    keys: dict[str, list[str]] | None  # None when no LIMS answered: nothing can be said
    errors: list[dict[str, Any]] = field(default_factory=list)  # LIMS that failed, named (extensions.site)
    warnings: list[dict[str, Any]] = field(default_factory=list)  # UNKNOWN_TERM, LIMS_SEARCH_INCOMPLETE
    status: dict[str, str] = field(
        default_factory=dict
    )  # per LIMS: ok | error | timeout | unavailable | down

    @property
    def complete(self) -> bool:
        return all(st == "ok" for st in self.status.values())


def _is_legacy_refusal(answer: Any) -> bool:
    return answer.data is None and any(
        isinstance(e, dict)
        and "unknown" in str(e.get("message", ""))
        and "Cannot query field" in str(e.get("message", ""))
        for e in answer.errors
    )


async def _ask(client: SiteClient, source: SiteRecord, variables: dict[str, Any], timeout: float) -> Any:
    answer = await client.query(source.name, source.url, SEARCH_QUERY, variables, timeout=timeout)
    if _is_legacy_refusal(answer):
        answer = await client.query(source.name, source.url, LEGACY_SEARCH_QUERY, variables, timeout=timeout)
    return answer


def _merge_suggestions(into: list[str], more: Any) -> None:
    for s in more or []:
        if isinstance(s, str) and s not in into and len(into) < MAX_SUGGESTIONS:
            into.append(s)


async def search_keys(
    client: SiteClient,
    sources: list[SiteRecord],
    lims_filter: dict[str, Any],
    path: list[Any],
    timeout: float,
) -> SearchOutcome:
    """Sample keys matching a LIMS filter: the union over every LIMS source that answered.

    A LIMS that does not know a term (a chemical or ligand none of its records uses) contributes no keys
    and is not an error; a term no answering LIMS knows is an UNKNOWN_TERM warning with their
    suggestions. A LIMS that is down or fails is named (as sites are) and the others' keys are used,
    with a LIMS_SEARCH_INCOMPLETE warning. The keys become the sites' `sampleKeys` filter, ANDed with
    the other filters, so each site still pages exactly by its own keyset order (docs/lims.md).
    """
    if not sources:
        raise ContractError(
            "no crystallisation LIMS is registered with this hub; the `lims` filter cannot be used"
        )
    out = SearchOutcome(keys=None)
    live = []
    for s in sources:
        if s.status == "down":
            out.errors.append(
                {
                    "message": f"LIMS {s.name} is down (last health check failed); its crystals are "
                    "missing from this search",
                    "path": path,
                    "extensions": {"code": SITE_UNAVAILABLE, "site": s.name},
                }
            )
            out.status[s.name] = "down"
        else:
            live.append(s)
    variables = {"f": lims_filter, "n": MAX_SEARCH_KEYS}
    result = await gather_with_deadline(
        {s.name: _ask(client, s, variables, timeout) for s in live}, timeout=timeout, soft_deadline=timeout
    )
    for name, failure in result.failures.items():
        out.errors.append(failure_entry(failure, path))
        out.status[name] = {SITE_TIMEOUT: "timeout", SITE_UNAVAILABLE: "unavailable"}.get(
            failure.code, "error"
        )
    uuids: set[str] = set()
    barcodes: set[str] = set()
    answered: list[str] = []
    unknown_at: dict[tuple[str, str], set[str]] = {}  # (field, value) -> LIMS that do not know it
    suggestions: dict[tuple[str, str], list[str]] = {}
    for src in live:  # registry order, so suggestions come in a stable order
        name = src.name
        answer = result.answers.get(name)
        if answer is None:
            continue
        data = (answer.data or {}).get("crystallisationSearch")
        legacy_unknown = False
        failed = False
        for e in answer.errors:
            ext = (e.get("extensions") or {}) if isinstance(e, dict) else {}
            message = e.get("message", "error") if isinstance(e, dict) else "error"
            if ext.get("code") == BAD_USER_INPUT and "suggestions" in ext and lims_filter.get("chemical"):
                term = ("chemical", str(lims_filter["chemical"]))
                unknown_at.setdefault(term, set()).add(name)
                _merge_suggestions(suggestions.setdefault(term, []), ext.get("suggestions"))
                legacy_unknown = True
            elif ext.get("code") == BAD_USER_INPUT:  # malformed input: every LIMS would say the same
                raise ContractError(f"LIMS {name}: {message}")
            else:
                failed = True
                out.errors.append(
                    {
                        "message": f"LIMS {name}: {message}",
                        "path": path,
                        "extensions": {"code": ext.get("code", SITE_ERROR), "site": name},
                    }
                )
        if legacy_unknown:
            answered.append(name)
            out.status[name] = "ok"
            continue
        if not isinstance(data, dict):
            if not failed:
                out.errors.append(
                    failure_entry(
                        SiteFailure(name, SITE_ERROR, f"LIMS {name} answered no search result"), path
                    )
                )
            out.status[name] = "error"
            continue
        if data.get("truncated"):
            raise ContractError(
                f"the LIMS search matches over {MAX_SEARCH_KEYS} crystals at {name}; narrow it",
                code="SEARCH_TOO_BROAD",
            )
        answered.append(name)
        out.status[name] = "ok"
        uuids |= {u.lower() for u in data.get("crystalUuids") or []}
        barcodes |= set(data.get("pinBarcodes") or [])
        for u in data.get("unknown") or []:
            if isinstance(u, dict) and u.get("field") and u.get("value") is not None:
                term = (str(u["field"]), str(u["value"]))
                unknown_at.setdefault(term, set()).add(name)
                _merge_suggestions(suggestions.setdefault(term, []), u.get("suggestions"))
    for (what, value), names in unknown_at.items():
        if answered and names >= set(answered):
            hint = (
                f"; did you mean: {', '.join(suggestions[(what, value)])}"
                if suggestions[(what, value)]
                else ""
            )
            out.warnings.append(
                {
                    "code": UNKNOWN_TERM,
                    "field": what,
                    "value": value,
                    "suggestions": suggestions[(what, value)],
                    "lims": sorted(names),
                    "message": f"no registered LIMS records the {what} {value!r}, so nothing matches it{hint}",
                }
            )
    missing = sorted(n for n, st in out.status.items() if st != "ok")
    if missing:
        out.warnings.append(
            {
                "code": LIMS_SEARCH_INCOMPLETE,
                "lims": missing,
                "message": f"LIMS {', '.join(missing)} did not answer: collections only {'it knows' if len(missing) == 1 else 'they know'} "
                "are missing, so this search may be incomplete",
            }
        )
    if answered:
        out.keys = {"crystalUuids": sorted(uuids), "barcodes": sorted(barcodes)}
    return out
