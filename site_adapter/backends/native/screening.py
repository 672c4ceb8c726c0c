"""SQL of the native store for characterisation, energy scans, XRF spectra and plans (since 1.2.0).

One statement per relation per batch; rows become records by name (model.from_row), the screening
tree from its jsonb column. The access rule is the parent's: a screening follows its data collection,
a scan or spectrum its session (queries.visibility), so a hidden session's scans never leak via a sample.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from site_adapter import model
from site_adapter.backends.native import queries as q

Fetch = Callable[..., Awaitable[list[Any]]]


def _visible(kind: str, column: str, p: q.Params) -> list[str]:
    """`column` IN the ids of `kind` the caller may see (empty: no restriction)."""
    rule = q.visibility(kind, "v", p)
    return [f"{column} IN (SELECT v.id FROM {kind} v WHERE {' AND '.join(rule)})"] if rule else []


def _cell(r: Mapping[str, Any] | None) -> model.UnitCell | None:
    if not r:
        return None
    return model.UnitCell(r["a"], r["b"], r["c"], r["alpha"], r["beta"], r["gamma"])


def _sub_wedge(r: Mapping[str, Any]) -> model.ScreeningSubWedge:
    return model.from_row(model.ScreeningSubWedge, r)


def _wedge(r: Mapping[str, Any]) -> model.ScreeningWedge:
    subs = tuple(_sub_wedge(x) for x in r.get("sub_wedges") or ())
    return model.from_row(model.ScreeningWedge, r, sub_wedges=subs)


def _strategy(r: Mapping[str, Any]) -> model.ScreeningStrategy:
    wedges = tuple(_wedge(x) for x in r.get("wedges") or ())
    return model.from_row(model.ScreeningStrategy, r, wedges=wedges)


def _output(r: Mapping[str, Any]) -> model.ScreeningOutput:
    lattices = tuple(
        model.from_row(model.ScreeningLattice, x, cell=_cell(x.get("cell"))) for x in r.get("lattices") or ()
    )
    strategies = tuple(_strategy(x) for x in r.get("strategies") or ())
    return model.from_row(model.ScreeningOutput, r, lattices=lattices, strategies=strategies)


def screening(r: Any) -> model.Screening:
    outputs = r["outputs"]
    if isinstance(outputs, str):
        outputs = json.loads(outputs)
    return model.from_row(model.Screening, r, outputs=tuple(_output(o) for o in outputs or ()))


def energy_scan(r: Any) -> model.EnergyScan:
    return model.from_row(model.EnergyScan, r)


def xrf_spectrum(r: Any) -> model.XrfSpectrum:
    return model.from_row(model.XrfSpectrum, r, elements=tuple(r["elements"] or ()))


def diffraction_plan(r: Any) -> model.DiffractionPlan:
    return model.from_row(model.DiffractionPlan, r)


async def grouped(
    fetch: Fetch,
    table: str,
    key: str,
    keys: list[int],
    visible_kind: str,
    visible_column: str,
    convert: Callable[[Any], Any],
    ids: Sequence[str],
) -> dict[str, list[Any]]:
    """Rows of `table` whose `key` is in `keys`, grouped by it in id order; one statement."""
    out: dict[str, list[Any]] = {str(i): [] for i in ids}
    if not keys:
        return out
    p = q.Params()
    where = [f"t.{key} = ANY({p.add(keys)})"] + _visible(visible_kind, f"t.{visible_column}", p)
    rows = await fetch(f"SELECT t.* FROM {table} t{q.where_sql(where)} ORDER BY t.{key}, t.id", *p.values)
    for r in rows:
        out.setdefault(str(r[key]), []).append(convert(r))
    return out


async def plans_by_collection(fetch: Fetch, keys: list[int]) -> dict[str, model.DiffractionPlan]:
    if not keys:
        return {}
    p = q.Params()
    where = [f"dc.id = ANY({p.add(keys)})"] + q.visibility("data_collection", "dc", p)
    rows = await fetch(
        "SELECT dc.id AS collection, dp.* FROM data_collection dc"
        f" JOIN diffraction_plan dp ON dp.id = dc.diffraction_plan_id{q.where_sql(where)}",
        *p.values,
    )
    return {str(r["collection"]): diffraction_plan(r) for r in rows}


async def plans_by_sample(fetch: Fetch, keys: list[int]) -> dict[str, model.DiffractionPlan]:
    if not keys:
        return {}
    p = q.Params()
    where = [f"s.id = ANY({p.add(keys)})"] + q.visibility("sample", "s", p)
    rows = await fetch(
        "SELECT s.id AS sample, dp.* FROM sample s JOIN diffraction_plan dp ON dp.id = s.diffraction_plan_id"
        f"{q.where_sql(where)}",
        *p.values,
    )
    return {str(r["sample"]): diffraction_plan(r) for r in rows}
