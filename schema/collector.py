"""A server process's garbage collector, tuned once when the hub, a site or a LIMS has started (issue 17).

Why: a page of 100 allocates tens of thousands of containers (records, the page's dicts, at the hub the
sites' decoded answers and the merged page), so CPython's default thresholds (700, 10, 10) ran several
collections per request, and every full one walked the whole heap (schema, code, registry, SDLs):
measured, 4-7 ms of collector time per hub request, and a site page's p95 of ~95 ms CPU beside a p50 of
~20 ms. Reference counting frees nearly all of a request's objects anyway; the collector is only for
cycles.

Changes process-wide settings, once per process; frees nothing itself and holds no state of a request.
"""

from __future__ import annotations

import gc

# Collections ~14x rarer than CPython's default in the youngest generation: a request's garbage is freed
# by reference counting long before, and what cycles there are wait at most ~10,000 allocations.
THRESHOLDS = (10_000, 10, 10)

_done = False


def tune() -> None:
    """Move everything alive now (the schema, the code, the registry) out of the collector's sight and
    raise its thresholds. Idempotent: a process that starts several servers (the demo, tests) tunes once."""
    global _done
    if _done:
        return
    _done = True
    gc.collect()  # garbage made while starting is freed, not frozen
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
