"""`processing(pipeline:)` and `bestProcessing(pipeline:)` (since 1.2.0): the results of one pipeline.

A pipeline is named as ProcessingResult.program serves it (fast_dp, xia2 3dii, xia2 dials, autoPROC),
compared ignoring case and runs of spaces. An unknown name matches nothing: an empty list, a null best
result, not an error (a pipeline one facility runs is unknown at another, and a hub asks them all).
"""

from __future__ import annotations

from site_adapter import model

PIPELINE = (
    "Only results of this pipeline: the program name as `program` serves it (e.g. `fast_dp`, `xia2 dials`, "
    "`autoPROC`), ignoring case; an unknown name matches no result (since 1.2.0)."
)


def pipeline_key(name: str | None) -> str:
    """A program name compared ignoring case and runs of white space."""
    return " ".join((name or "").split()).casefold()


def of_pipeline(results: list[model.ProcessingResult], pipeline: str | None) -> list[model.ProcessingResult]:
    """`results` of `pipeline` (all of them when None), in their order."""
    if pipeline is None:
        return results
    wanted = pipeline_key(pipeline)
    return [r for r in results if r.program is not None and pipeline_key(r.program) == wanted]
