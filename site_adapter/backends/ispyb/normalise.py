"""Pure functions that correct what real ISPyB rows get wrong, each saying where its value came from.

No SQL and no I/O here: every rule is unit-tested without a database. Notes returned alongside a
value end up in the record's provenance_notes.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import re

from mx_schema.vocabulary import space_group_key as shared_space_group_key

# Sentinel dates below this are "zero dates" ('0000-00-00 00:00:00', which the driver returns as a
# string) or placeholders; ISPyB's BLSession.lastUpdate rows in data.sql hold such values.
_FIRST_REAL_DATE = dt.datetime(1000, 1, 1)


def date(value: object) -> dt.datetime | None:
    """A datetime, or None for NULL and zero dates (served as null, never as year 0)."""
    if isinstance(value, dt.datetime):
        return value if value >= _FIRST_REAL_DATE else None
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    return None  # '0000-00-00 00:00:00' arrives as a str: the driver cannot build a datetime


def number(value: object) -> float | None:
    if value is None:
        return None
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def integer(value: object) -> int | None:
    if value is None:
        return None
    if not isinstance(value, str | bytes | int | float | decimal.Decimal):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def local_id(value: object) -> str | None:
    """A foreign key as a local id; ISPyB uses 0 as well as NULL for "none" (Crystal.proteinId DEFAULT 0)."""
    n = integer(value)
    return str(n) if n else None


def text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    s = str(value)  # not stripped: sort keys must equal the stored value SQL orders by
    return s if s.strip() else None


def mm_to_um(value: object) -> float | None:
    """DataCollection.beamSizeAtSampleX/Y are in mm (data.sql: 0.05, 0.02); the model wants µm."""
    v = number(value)
    return None if v is None else round(v * 1000.0, 6)


def pixel_size_mm(value: object) -> tuple[float | None, str | None]:
    """Detector pixel sizes: mm (0.172) at most sites, µm (172) at some; no pixel is 1 mm wide."""
    v = number(value)
    if v is None:
        return None, None
    if v > 1.0:
        return v / 1000.0, "detector pixel size: stored in µm, divided by 1000"
    return v, None


def session_id(group_session: object, collection_session: object) -> tuple[str | None, str | None]:
    """The session of a collection is its group's: DataCollection.SESSIONID may be 0 or stale."""
    g, c = integer(group_session), integer(collection_session)
    if g:
        if not c:
            return str(
                g
            ), "session: DataCollection.SESSIONID is 0/null; taken from DataCollectionGroup.sessionId"
        if c != g:
            return str(
                g
            ), f"session: DataCollection.SESSIONID {c} disagrees; DataCollectionGroup.sessionId used"
        return str(g), None
    if c:
        return str(c), "session: from DataCollection.SESSIONID (group has none)"
    return None, None


def sample_id(group_sample: object, collection_sample: object) -> tuple[str | None, str | None]:
    """The sample of a collection: DataCollectionGroup.blSampleId, else the legacy DataCollection.BLSAMPLEID."""
    g, c = integer(group_sample), integer(collection_sample)
    if g:
        return str(g), None
    if c:
        return str(c), "sample: from DataCollection.BLSAMPLEID (group has none)"
    return None, None


def beam_centre(
    x: object, y: object, refined_x: object, refined_y: object, tolerance_mm: float = 1.0
) -> tuple[float | None, float | None, str | None]:
    """Serve DataCollection.xBeam/yBeam as stored: mm along the image's fast and slow axes.

    Diamond's acquisition writes xBeam/yBeam as (fast, slow); xia2 writes
    AutoProcIntegration.refinedXBeam/refinedYBeam in the Mosflm convention, (slow, fast). So
    data.sql's collection 993677 stores xBeam 215.62, yBeam 208.978 while its integrations refined
    x 209.1, y 215.7: the refined pair is the swapped one, not the stored one. The stored values
    are served unchanged; when the refined centre agrees only after swapping, a note says so.
    """
    bx, by, rx, ry = number(x), number(y), number(refined_x), number(refined_y)
    if bx is None or by is None or rx is None or ry is None:
        return bx, by, None
    straight = abs(bx - rx) + abs(by - ry)
    swapped = abs(bx - ry) + abs(by - rx)
    if swapped <= tolerance_mm < straight:
        return (
            bx,
            by,
            (
                "beam centre: served xBeam/yBeam as stored (fast, slow); the processing's refined "
                "centre agrees in (slow, fast) order, the Mosflm convention xia2 writes"
            ),
        )
    return bx, by, None


def program_name(programs: object) -> str | None:
    """AutoProcProgram.processingPrograms, without version and URL: 'autoPROC 1.0.4 (see: http://…)' -> 'autoPROC'."""
    s = text(programs)
    if s is None:
        return None
    s = re.sub(r"\s*\(.*\)\s*$", "", s)
    words = [w for w in s.split() if not re.fullmatch(r"v?\d+(\.\d+)+", w)]
    return " ".join(words) or None


def status(processing_status: object, start: object, end: object) -> str:
    """AutoProcProgram.processingStatus: 1 success, 0 failure, NULL still running (or never reported)."""
    s = integer(processing_status)
    if s == 1:
        return "SUCCESS"
    if s == 0:
        return "FAILED"
    if date(start) is not None and date(end) is None:
        return "RUNNING"
    return "UNKNOWN"


def cc_half_is_percent(program: str | None, values: list[float | None]) -> tuple[bool, str | None]:
    """fast_dp writes CC½ (and CC anomalous) in percent, xia2/autoPROC as a fraction.

    data.sql: fast_dp's scaling 596133 has ccHalf 99.9 overall and 91.7 outer; xia2 dials'
    596145 has 0.999 and 0.497. A result is read as percent when its program is fast_dp or any
    of its shells holds a CC½ above 1 (a fraction never does); all its shells then divide by 100.
    """
    if program is not None and program.split()[0].lower() == "fast_dp":
        return True, "ccHalf, ccAnomalous: fast_dp stores percent; divided by 100"
    if any(v is not None and v > 1.0 for v in values):
        return True, "ccHalf, ccAnomalous: a value above 1 shows percent; divided by 100"
    return False, None


def fraction(value: object, is_percent: bool) -> float | None:
    v = number(value)
    if v is None:
        return None
    return round(v / 100.0, 6) if is_percent else v


def first_of(*values: object) -> float | None:
    """The first non-null number: rMeas/rPim 'all I+ & I-' when present, else 'within I+/I-'."""
    for v in values:
        n = number(v)
        if n is not None:
            return n
    return None


def sequence_hash(sequence: object) -> str | None:
    """Hex SHA-256 of the one-letter sequence, upper case, whitespace removed (model.Protein)."""
    s = text(sequence)
    if s is None:
        return None
    s = re.sub(r"\s+", "", s).upper()
    return hashlib.sha256(s.encode("ascii", "ignore")).hexdigest() if s else None


def split_proposal(code: str) -> tuple[str, str] | None:
    """'cm14451' -> ('cm', '14451'): Proposal.proposalCode + proposalNumber, for an index lookup."""
    m = re.fullmatch(r"([A-Za-z]+)(\d+)", code.strip())
    return (m.group(1), m.group(2)) if m else None


def split_visit(visit: str) -> tuple[str, int] | None:
    """'cm14451-1' -> ('cm14451', 1): the proposal code and BLSession.visit_number."""
    head, dash, tail = visit.strip().rpartition("-")
    if not dash or not head or not tail.isdigit():
        return None
    return head, int(tail)


def space_group_key(value: str | None) -> str | None:
    """The contract's comparison key: AutoProc 'P 61 2 2' and Crystal 'P6122' are one group."""
    return None if value is None else shared_space_group_key(value)
