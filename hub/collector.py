"""The hub process's garbage collector, tuned once when the hub starts (issue 17).

Why: a page of 100 at 10 sites allocates tens of thousands of containers (the sites' decoded answers,
the merged page, the response), so CPython's default thresholds (700, 10, 10) ran several collections
per request, and every full one walked the hub's whole heap (schema, registry, SDLs): measured in the
hub process, 4-7 ms of collector time per request. Reference counting frees nearly all of a request's
objects anyway; the collector is only for cycles.

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
    raise its thresholds. Idempotent: a process that starts several hubs (tests) tunes once."""
    global _done
    if _done:
        return
    _done = True
    gc.collect()  # garbage made while starting is freed, not frozen
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
