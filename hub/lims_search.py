"""LIMS-driven search: the sample keys (crystal UUIDs, pin barcodes) that match a `lims` filter, the union
over every registered LIMS that answered, with the terms none of them knows and the LIMS that failed named.

Asks LIMS sources only; turning keys into the sites' `sampleKeys` filter is connections.py's job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mx_hub.client import SiteAnswer, SiteClient, SiteFailure
from mx_hub.fanout import FAILURE_STATUS, failure_entry, gather_with_deadline
from mx_hub.registry import SiteRecord
from mx_schema.errors import (
    BAD_USER_INPUT,
    LIMS_SEARCH_INCOMPLETE,
    SITE_ERROR,
    SITE_UNAVAILABLE,
    UNKNOWN_TERM,
    ContractError,
)

MAX_SEARCH_KEYS = 20000
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
Term = tuple[str, str]  # (field, value)


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


@dataclass
class _Search:
    """The answers of one search being read, LIMS by LIMS."""

    lims_filter: dict[str, Any]
    path: list[Any]
    out: SearchOutcome = field(default_factory=lambda: SearchOutcome(keys=None))
    uuids: set[str] = field(default_factory=set)
    barcodes: set[str] = field(default_factory=set)
    answered: list[str] = field(default_factory=list)
    unknown_at: dict[Term, set[str]] = field(default_factory=dict)  # term -> LIMS that do not know it
    suggestions: dict[Term, list[str]] = field(default_factory=dict)

    def unknown(self, term: Term, name: str, suggestions: Any) -> None:
        self.unknown_at.setdefault(term, set()).add(name)
        into = self.suggestions.setdefault(term, [])
        for s in suggestions or []:
            if isinstance(s, str) and s not in into and len(into) < MAX_SUGGESTIONS:
                into.append(s)

    def ok(self, name: str) -> None:
        self.answered.append(name)
        self.out.status[name] = "ok"

    def read(self, name: str, answer: SiteAnswer) -> None:
        legacy_unknown, failed = self._read_errors(name, answer)
        if legacy_unknown:
            self.ok(name)
            return
        data = (answer.data or {}).get("crystallisationSearch")
        if not isinstance(data, dict):
            if not failed:
                failure = SiteFailure(name, SITE_ERROR, f"LIMS {name} answered no search result")
                self.out.errors.append(failure_entry(failure, self.path))
            self.out.status[name] = "error"
            return
        self._read_result(name, data)

    def _read_errors(self, name: str, answer: SiteAnswer) -> tuple[bool, bool]:
        """(a 1.0 LIMS said it does not know the chemical, the LIMS failed)."""
        legacy_unknown = failed = False
        for e in answer.errors:
            ext = (e.get("extensions") or {}) if isinstance(e, dict) else {}
            message = e.get("message", "error") if isinstance(e, dict) else "error"
            if (
                ext.get("code") == BAD_USER_INPUT
                and "suggestions" in ext
                and self.lims_filter.get("chemical")
            ):
                self.unknown(("chemical", str(self.lims_filter["chemical"])), name, ext.get("suggestions"))
                legacy_unknown = True
            elif ext.get("code") == BAD_USER_INPUT:  # malformed input: every LIMS would say the same
                raise ContractError(f"LIMS {name}: {message}")
            else:
                failed = True
                self.out.errors.append(
                    {
                        "message": f"LIMS {name}: {message}",
                        "path": self.path,
                        "extensions": {"code": ext.get("code", SITE_ERROR), "site": name},
                    }
                )
        return legacy_unknown, failed

    def _read_result(self, name: str, data: dict[str, Any]) -> None:
        if data.get("truncated"):
            raise ContractError(
                f"the LIMS search matches over {MAX_SEARCH_KEYS} crystals at {name}; narrow it",
                code="SEARCH_TOO_BROAD",
            )
        self.ok(name)
        self.uuids |= {u.lower() for u in data.get("crystalUuids") or []}
        self.barcodes |= set(data.get("pinBarcodes") or [])
        for u in data.get("unknown") or []:
            if isinstance(u, dict) and u.get("field") and u.get("value") is not None:
                self.unknown((str(u["field"]), str(u["value"])), name, u.get("suggestions"))

    def finish(self) -> SearchOutcome:
        for (what, value), names in self.unknown_at.items():
            if self.answered and names >= set(self.answered):
                self.out.warnings.append(self._unknown_term(what, value, names))
        missing = sorted(n for n, st in self.out.status.items() if st != "ok")
        if missing:
            self.out.warnings.append(
                {
                    "code": LIMS_SEARCH_INCOMPLETE,
                    "lims": missing,
                    "message": f"LIMS {', '.join(missing)} did not answer: collections only {'it knows' if len(missing) == 1 else 'they know'} "
                    "are missing, so this search may be incomplete",
                }
            )
        if self.answered:
            self.out.keys = {"crystalUuids": sorted(self.uuids), "barcodes": sorted(self.barcodes)}
        return self.out

    def _unknown_term(self, what: str, value: str, names: set[str]) -> dict[str, Any]:
        suggested = self.suggestions[(what, value)]
        hint = f"; did you mean: {', '.join(suggested)}" if suggested else ""
        return {
            "code": UNKNOWN_TERM,
            "field": what,
            "value": value,
            "suggestions": suggested,
            "lims": sorted(names),
            "message": f"no registered LIMS records the {what} {value!r}, so nothing matches it{hint}",
        }


def _is_legacy_refusal(answer: SiteAnswer) -> bool:
    return answer.data is None and any(
        isinstance(e, dict)
        and "unknown" in str(e.get("message", ""))
        and "Cannot query field" in str(e.get("message", ""))
        for e in answer.errors
    )


async def _ask(
    client: SiteClient, source: SiteRecord, variables: dict[str, Any], timeout: float
) -> SiteAnswer:
    answer = await client.query(source.name, source.url, SEARCH_QUERY, variables, timeout=timeout)
    if _is_legacy_refusal(answer):
        answer = await client.query(source.name, source.url, LEGACY_SEARCH_QUERY, variables, timeout=timeout)
    return answer


def _down_entry(name: str, path: list[Any]) -> dict[str, Any]:
    return {
        "message": f"LIMS {name} is down (last health check failed); its crystals are missing from this search",
        "path": path,
        "extensions": {"code": SITE_UNAVAILABLE, "site": name},
    }


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
    search = _Search(lims_filter, path)
    live = []
    for s in sources:
        if s.status == "down":
            search.out.errors.append(_down_entry(s.name, path))
            search.out.status[s.name] = "down"
        else:
            live.append(s)
    variables = {"f": lims_filter, "n": MAX_SEARCH_KEYS}
    result = await gather_with_deadline(
        {s.name: _ask(client, s, variables, timeout) for s in live}, timeout=timeout, soft_deadline=timeout
    )
    for name, failure in result.failures.items():
        search.out.errors.append(failure_entry(failure, path))
        search.out.status[name] = FAILURE_STATUS.get(failure.code, "error")
    for src in live:  # registry order, so suggestions come in a stable order
        answer = result.answers.get(src.name)
        if answer is not None:
            search.read(src.name, answer)
    return search.finish()
