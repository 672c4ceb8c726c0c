"""The geometry an imgCIF header states: its `_axis`, `_array_structure_list(_axis)`, `_diffrn_scan_axis` and
`_diffrn_scan_frame_axis` loops as an AxisSet (site_adapter/axes.py). Reads parsed CIF items, no file.
"""
# Source: the CBF/imgCIF dictionary (AXIS, ARRAY_STRUCTURE_LIST_AXIS, DIFFRN_SCAN_FRAME_AXIS categories);
# checked against cbflib's construct_detector/construct_goniometer in tests/site_adapter/test_axes_cbflib.py.

from __future__ import annotations

import math
from typing import Any, TypeAlias

from site_adapter.axes import Axis, AxisError, AxisSet


def _floats(items: dict[str, list[str]], tag: str, n: int) -> list[float]:
    """Column `tag` of a loop as floats; CIF's '.' and '?' (not applicable, unknown) read as 0."""
    values = items.get(tag, [])
    out = []
    for k in range(n):
        v = values[k] if k < len(values) else "."
        try:
            out.append(0.0 if v in (".", "?") else float(v))
        except ValueError:
            raise AxisError(f"{tag}: {v!r} is not a number") from None
    return out


# kinds, equipment, parents, vectors, offsets, and the Axis objects made from them so far (by axis index,
# setting and increment, with the sign of a zero: 0.0 and -0.0 are one dict key but print differently).
_AxisKey: TypeAlias = tuple[int, float, float, bool, bool]
_AxisLoop: TypeAlias = tuple[
    list[str], list[str], list[str], tuple[list[float], ...], tuple[list[float], ...], dict[_AxisKey, Axis]
]
_AXIS_LOOP_TAGS = ("_axis.id", "_axis.type", "_axis.equipment", "_axis.depends_on") + tuple(
    f"_axis.{what}[{i}]" for what in ("vector", "offset") for i in (1, 2, 3)
)
_AXIS_LOOPS: dict[tuple[tuple[str, ...], ...], _AxisLoop] = {}


def _axis_loop(items: dict[str, list[str]], n: int) -> _AxisLoop:
    """The `_axis` loop's columns as kinds, equipment, parents, vectors and offsets. Every frame of a
    sweep repeats the loop (only the scan axis's setting changes), so each distinct loop is read once
    per process (issue 17); the result is never changed by the caller."""
    key = tuple(tuple(items.get(tag, ())) for tag in _AXIS_LOOP_TAGS)
    found = _AXIS_LOOPS.get(key)
    if found is None:
        found = (
            [k.lower() for k in items.get("_axis.type", ["general"] * n)],
            [e.lower() for e in items.get("_axis.equipment", ["general"] * n)],
            items.get("_axis.depends_on", ["."] * n),
            tuple(_floats(items, f"_axis.vector[{i}]", n) for i in (1, 2, 3)),
            tuple(_floats(items, f"_axis.offset[{i}]", n) for i in (1, 2, 3)),
            {},
        )
        if len(_AXIS_LOOPS) >= 10_000:
            _AXIS_LOOPS.clear()
        _AXIS_LOOPS[key] = found  # an AxisError (not a number) is raised before, and again next time
    return found


_MADE_MAX = 4096  # Axis objects kept per distinct `_axis` loop; a sweep of 3,600 frames makes ~3,610


def _negative_zero(x: float) -> bool:
    return x == 0.0 and math.copysign(1.0, x) < 0.0


def axes_from_cif(items: dict[str, list[str]]) -> AxisSet | None:
    """The imgCIF geometry: `_axis` (vectors, offsets, depends_on), the first array's element axes
    (`_array_structure_list` precedence 1 and 2, `_array_structure_list_axis`), and each axis's setting
    at this frame (`_diffrn_scan_frame_axis`, else `_diffrn_scan_axis` starts) with its increment.

    None when the header lacks the element axes (a miniCBF's conventional axes apply instead) or
    describes sectioned multi-panel arrays. AxisError for values that are not numbers or element axes
    that are not defined.
    """
    names = items.get("_axis.id", [])
    n = len(names)
    if not n:
        return None
    kinds, equipment, parents, (vx, vy, vz), (ox, oy, oz), made = _axis_loop(items, n)
    settings: dict[str, tuple[float, float]] = {}  # axis -> (angle or displacement, increment)
    scan_ids = items.get("_diffrn_scan_axis.axis_id", [])
    m = len(scan_ids)
    a0, ainc = (
        _floats(items, "_diffrn_scan_axis.angle_start", m),
        _floats(items, "_diffrn_scan_axis.angle_increment", m),
    )
    d0, dinc = (
        _floats(items, "_diffrn_scan_axis.displacement_start", m),
        _floats(items, "_diffrn_scan_axis.displacement_increment", m),
    )
    # A hand-edited file may give fewer _axis.type values than axes: the rest are not rotations.
    kind_of = dict(zip(names, kinds, strict=False))
    for k, name in enumerate(scan_ids):
        rot = kind_of.get(name) == "rotation"
        settings[name] = (a0[k], ainc[k]) if rot else (d0[k], dinc[k])
    frame_ids = items.get("_diffrn_scan_frame_axis.axis_id", [])
    f = len(frame_ids)
    fa, fd = (
        _floats(items, "_diffrn_scan_frame_axis.angle", f),
        _floats(items, "_diffrn_scan_frame_axis.displacement", f),
    )
    for k, name in enumerate(frame_ids):  # this frame's own settings win over the scan's start
        rot = kind_of.get(name) == "rotation"
        settings[name] = (fa[k] if rot else fd[k], settings.get(name, (0.0, 0.0))[1])
    # A frame changes the setting of its scan axis only: the other axes are the previous frame's
    # objects (frozen), not made again (issue 17: making them cost more than parsing their loop).
    if len(made) >= _MADE_MAX:
        made.clear()
    axes_list: list[Axis] = []
    for k, name in enumerate(names):
        start, increment = settings.get(name, (0.0, 0.0))
        key = (k, start, increment, _negative_zero(start), _negative_zero(increment))
        axis = made.get(key)
        if axis is None:
            axis = made[key] = Axis(
                name=name,
                kind=kinds[k],
                equipment=equipment[k],
                vector=(vx[k], vy[k], vz[k]),
                offset=(ox[k], oy[k], oz[k]),
                depends_on=None if parents[k] in (".", "?") else parents[k],
                start=start,
                increment=increment,
            )
        axes_list.append(axis)
    axes = tuple(axes_list)
    element = _element_axes(items)
    if element is None:
        return None
    result = AxisSet(frame="imgCIF", axes=axes, **element.fields)
    if not element.checked:  # AxisError when the element axes are not defined (again on each frame)
        result.axis(result.fast), result.axis(result.slow)
        element.checked = True
    return result


class _Element:
    """The first array's element axes, as AxisSet fields; `checked` once they are found among the axes."""

    __slots__ = ("fields", "checked")

    def __init__(self, fields: dict[str, Any]) -> None:
        self.fields = fields
        self.checked = False


_ELEMENT_TAGS = (
    "_array_structure_list.array_id",
    "_array_structure_list.array_section_id",
    "_array_structure_list.precedence",
    "_array_structure_list.axis_set_id",
    "_array_structure_list_axis.axis_set_id",
    "_array_structure_list_axis.axis_id",
    "_array_structure_list_axis.displacement",
    "_array_structure_list_axis.displacement_increment",
    "_axis.id",  # the names `checked` was for
)
# By the identities of the item lists read; each entry keeps its lists alive, so no other list can take
# one of their ids while it is kept.
_ELEMENTS: dict[tuple[int, ...], tuple[tuple[object, ...], _Element | None]] = {}


def _element_axes(items: dict[str, list[str]]) -> _Element | None:
    """`_read_element_axes`, once per distinct set of item lists: every frame of a sweep has the same
    lists for these loops (memoised per CIF loop by cbf_header, never changed), so their identities
    are the key (issue 17: reading them again was a third of the header parse)."""
    sources = tuple(items.get(tag) for tag in _ELEMENT_TAGS)
    key = tuple(map(id, sources))
    found = _ELEMENTS.get(key)
    if found is not None:
        return found[1]
    fields = _read_element_axes(items)  # an AxisError is raised before anything is kept
    element = None if fields is None else _Element(fields)
    if len(_ELEMENTS) >= 10_000:
        _ELEMENTS.clear()
    _ELEMENTS[key] = (sources, element)
    return element


def _read_element_axes(items: dict[str, list[str]]) -> dict[str, Any] | None:
    """The first array's fast and slow element axes, their pitch and start, as AxisSet fields; None when
    the header describes no single flat panel."""
    # Element axes of the first array: precedence 1 is the fastest-varying index.
    arrays = items.get("_array_structure_list.array_id", [])
    sections = items.get("_array_structure_list.array_section_id", [])
    if any(sec not in (".", "?") for sec in sections):
        # Sectioned arrays (a CSPAD frame: 4 arrays of 16 ASIC sections each) are many panels; one flat
        # panel would misplace most of them, so no single-panel geometry is given (DIALS reads the file).
        return None
    precedence = items.get("_array_structure_list.precedence", [])
    axis_sets = items.get("_array_structure_list.axis_set_id", [])
    first_array = arrays[0] if arrays else None
    by_precedence = {
        precedence[k]: axis_sets[k]
        for k in range(min(len(arrays), len(precedence), len(axis_sets)))
        if arrays[k] == first_array
    }
    fast_set, slow_set = by_precedence.get("1"), by_precedence.get("2")
    if fast_set is None or slow_set is None:
        return None
    list_sets = items.get("_array_structure_list_axis.axis_set_id", [])
    list_axes = items.get("_array_structure_list_axis.axis_id", list_sets)
    q = len(list_sets)
    disp = _floats(items, "_array_structure_list_axis.displacement", q)
    step = _floats(items, "_array_structure_list_axis.displacement_increment", q)
    element = {list_sets[k]: (list_axes[k], disp[k], step[k]) for k in range(q)}
    if fast_set not in element or slow_set not in element:
        return None
    fast, slow = element[fast_set], element[slow_set]
    return {
        "fast": fast[0],
        "slow": slow[0],
        "fast_step": fast[2],
        "slow_step": slow[2],
        "fast_start": fast[1],
        "slow_start": slow[1],
    }
