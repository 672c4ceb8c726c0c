"""CBF header reader: miniCBF `# Key value` lines, a few imgCIF items, each binary section's MIME block.

Reads a file only up to the start of its binary data, never the pixels; .gz and .bz2 are read through.
"""
# Sources: the PILATUS CBF header specification (DECTRIS; "SLS/DECTRIS_1.1" and "PILATUS_1.2"
# conventions) and the CBF/imgCIF specification (binary sections, MIME header, 0x0C1A04D5 marker).
# About 550 lines because dialects, the MIME block and imgCIF items are one job: what a CBF header
# says. The line loop is tuned (no per-line regex): it sets the indexer's header rate.

from __future__ import annotations

import bz2
import gzip
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import IO, Any, TypeAlias

from site_adapter.axes import AxisError, AxisSet
from site_adapter.axes import to_dict as axes_to_dict
from site_adapter.indexer.cif_axes import axes_from_cif

# CBF spec: the MIME header of a binary section ends with this 4-byte marker; data follows at once.
BINARY_MARKER = b"\x0c\x1a\x04\xd5"
SECTION_START = b"--CIF-BINARY-FORMAT-SECTION--"
CHUNK = 8192
MAX_HEADER = 4 * 1024 * 1024  # imgCIF headers of multi-panel detectors run to ~100 KB; 4 MB is "not a CBF"


class HeaderError(ValueError):
    """A file's header cannot be read; the message says why, for the indexer's failure report."""


class NotAnImage(HeaderError):
    pass


class TruncatedHeader(HeaderError):
    pass


@dataclass(frozen=True, slots=True)
class BinarySection:
    """One binary section's MIME header (CBF spec, "MIME header" of `_array_data.data`)."""

    conversions: str | None  # e.g. "x-CBF_BYTE_OFFSET", "x-CBF_PACKED"
    encoding: str | None  # Content-Transfer-Encoding, normally BINARY
    binary_id: int | None
    binary_size: int | None  # bytes of compressed data
    content_md5: str | None  # base64 MD5 of the compressed bytes
    element_type: str | None  # e.g. "signed 32-bit integer"
    byte_order: str | None
    number_of_elements: int | None
    fastest_dimension: int | None
    second_dimension: int | None
    third_dimension: int | None
    padding: int | None
    data_offset: int | None  # offset of the first data byte in the (decompressed) file


@dataclass(frozen=True, slots=True)
class CbfHeader:
    """One image's header in canonical units (mm, s, Å, eV, degrees, %, photons/s); None when absent."""

    format: str  # "miniCBF" | "imgCIF" | "NXmx"
    detector: str | None = None
    serial_number: str | None = None
    pixel_size_x: float | None = None  # mm
    pixel_size_y: float | None = None  # mm
    sensor_material: str | None = None
    sensor_thickness: float | None = None  # mm
    exposure_time: float | None = None  # s
    exposure_period: float | None = None  # s
    tau: float | None = None  # s
    count_cutoff: int | None = None
    threshold_setting: float | None = None  # eV
    gain_setting: str | None = None
    n_excluded_pixels: int | None = None
    wavelength: float | None = None  # Å
    detector_distance: float | None = None  # mm
    detector_voffset: float | None = None  # mm
    beam_x: float | None = None  # pixels
    beam_y: float | None = None  # pixels
    flux: float | None = None  # photons/s
    transmission: float | None = None  # %
    start_angle: float | None = None  # degrees
    angle_increment: float | None = None
    detector_2theta: float | None = None
    polarization: float | None = None  # fraction
    alpha: float | None = None
    kappa: float | None = None
    kappa_increment: float | None = None
    phi: float | None = None
    phi_increment: float | None = None
    chi: float | None = None
    chi_increment: float | None = None
    omega: float | None = None
    omega_increment: float | None = None
    oscillation_axis: str | None = None
    oscillation_axis_tokens: tuple[str, ...] = ()
    n_oscillations: int | None = None
    timestamp: datetime | None = None
    dimension_x: int | None = None  # fastest dimension, pixels
    dimension_y: int | None = None  # second dimension, pixels
    header_convention: str | None = None  # e.g. "PILATUS_1.2", "SLS/DECTRIS_1.1"
    binary_sections: tuple[BinarySection, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)
    # The geometry as the file states it (imgCIF `_axis` loops, NXmx depends_on chains); None when the
    # file has only miniCBF lines, whose conventional axes the reprocessing geometry supplies.
    axes: AxisSet | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (timestamp as ISO 8601, tuples as lists)."""
        # Field by field, not dataclasses.asdict: asdict deep-copies the axes only for them to be
        # replaced below, and cost more than the whole header parse (issue 17).
        out = {name: getattr(self, name) for name in _HEADER_FIELDS}
        out["binary_sections"] = tuple(
            {name: getattr(s, name) for name in _SECTION_FIELDS} for s in self.binary_sections
        )
        out["extra"] = dict(self.extra)
        out["timestamp"] = self.timestamp.isoformat() if self.timestamp else None
        out["oscillation_axis_tokens"] = list(self.oscillation_axis_tokens)
        out["axes"] = axes_to_dict(self.axes) if self.axes is not None else None
        return out


_HEADER_FIELDS = tuple(f.name for f in fields(CbfHeader))
_SECTION_FIELDS = tuple(f.name for f in fields(BinarySection))


def open_image(path: str | Path) -> IO[bytes]:
    """Open a possibly compressed image for binary reading, chosen by the file's magic bytes."""
    f = open(path, "rb")
    magic = f.peek(3)[:3]  # from the read buffer: no extra system call, no seek
    if magic[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=f, mode="rb")  # type: ignore[return-value]  # typeshed: a BufferedIOBase, reads as IO[bytes]
    if magic == b"BZh":
        return bz2.BZ2File(f, mode="rb")
    return f


_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_MIME_FIELDS = {
    "content-transfer-encoding": "encoding",
    "x-binary-id": "binary_id",
    "x-binary-size": "binary_size",
    "content-md5": "content_md5",
    "x-binary-element-type": "element_type",
    "x-binary-element-byte-order": "byte_order",
    "x-binary-number-of-elements": "number_of_elements",
    "x-binary-size-fastest-dimension": "fastest_dimension",
    "x-binary-size-second-dimension": "second_dimension",
    "x-binary-size-third-dimension": "third_dimension",
    "x-binary-size-padding": "padding",
}
_MIME_INTS = {
    "binary_id",
    "binary_size",
    "number_of_elements",
    "fastest_dimension",
    "second_dimension",
    "third_dimension",
    "padding",
}


_MIME_LINE = re.compile(r"^[ \t]*([A-Za-z][A-Za-z0-9-]*)[ \t]*:([^\r\n]*)", re.M)
_CONVERSIONS = re.compile(r'conversions\s*=\s*"?([^";\s]+)"?')


_EMPTY_SECTION = {k: None for k in BinarySection.__slots__}


def parse_mime(block: str, data_offset: int | None = None) -> BinarySection:
    """Parse the lines between `--CIF-BINARY-FORMAT-SECTION--` and the binary marker."""
    values: dict[str, Any] = dict(_EMPTY_SECTION)
    at = block.find('conversions="')
    if at >= 0:  # the usual form; the regex handles spacing and unquoted variants
        values["conversions"] = block[at + 13 : block.find('"', at + 13)]
    else:
        m = _CONVERSIONS.search(block)
        values["conversions"] = m.group(1) if m else None
    for key, value in _MIME_LINE.findall(block):
        name = _MIME_FIELDS.get(key.lower())
        if name is None:
            continue
        if name in _MIME_INTS:
            try:
                values[name] = int(value)  # int() ignores the surrounding blanks
            except ValueError:
                raise HeaderError(f"bad MIME field {key}: {value.strip()!r}") from None
        else:
            values[name] = value.strip().strip('"')
    values["data_offset"] = data_offset
    return BinarySection(**values)


def _num(text: str) -> float | None:
    m = _NUMBER.search(text)
    return float(m.group(0)) if m else None


def _scaled(text: str, factors: dict[str, float]) -> float | None:
    """First number in `text`, scaled by the unit that follows it (e.g. {"m": 1000} for m -> mm)."""
    m = _NUMBER.search(text)
    if not m:
        return None
    rest = text[m.end() :].strip()
    unit = rest.split(" ")[0].rstrip(".").lower() if rest else ""
    factor = factors.get(unit, 1.0)
    return float(m.group(0)) if factor == 1.0 else _clean(float(m.group(0)) * factor)


def _clean(value: float) -> float:
    """Drop binary noise from unit scaling (172e-6 m -> 0.172 mm, not 0.17200000000000001)."""
    return float(f"{value:.15g}")


_LENGTH_MM = {"m": 1000.0, "mm": 1.0, "um": 1e-3, "µm": 1e-3}
_TIMESTAMP_FORMATS = (
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%b-%dT%H:%M:%S.%f",
    "%Y-%b-%dT%H:%M:%S",
    "%Y/%b/%d %H:%M:%S",
    "%Y/%m/%d %H:%M:%S.%f",
    "%Y/%m/%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
)
_DATE_LINE = re.compile(r"^\d{4}[-/]\w{2,3}[-/]\d{1,2}[T ]\d")


def parse_timestamp(text: str) -> datetime | None:
    text = text.strip()
    try:
        return datetime.fromisoformat(text)  # the common PILATUS_1.2 form, in C
    except ValueError:
        pass
    for fmt in _TIMESTAMP_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


# PILATUS header keys whose value is one number in a unit: key -> (field, unit factors).
_ANGLES = {"deg": 1.0, "deg.": 1.0}  # keys as written in headers too, so the hot loop needs no .lower()
_SCALAR_KEYS: dict[str, tuple[str, dict[str, float]]] = {
    "exposure_time": ("exposure_time", {"s": 1.0, "ms": 1e-3}),
    "exposure_period": ("exposure_period", {"s": 1.0, "ms": 1e-3}),
    "tau": ("tau", {"s": 1.0, "ns": 1e-9}),
    "threshold_setting": ("threshold_setting", {"ev": 1.0, "eV": 1.0, "kev": 1e3, "keV": 1e3}),
    "wavelength": ("wavelength", {"a": 1.0, "A": 1.0, "nm": 10.0}),
    "detector_distance": ("detector_distance", _LENGTH_MM),
    "detector_voffset": ("detector_voffset", _LENGTH_MM),
    "flux": ("flux", {}),
    "start_angle": ("start_angle", _ANGLES),
    "angle_increment": ("angle_increment", _ANGLES),
    "detector_2theta": ("detector_2theta", _ANGLES),
    "polarization": ("polarization", {}),
    "alpha": ("alpha", _ANGLES),
    "kappa": ("kappa", _ANGLES),
    "kappa_increment": ("kappa_increment", _ANGLES),
    "phi": ("phi", _ANGLES),
    "phi_increment": ("phi_increment", _ANGLES),
    "chi": ("chi", _ANGLES),
    "chi_increment": ("chi_increment", _ANGLES),
    "omega": ("omega", _ANGLES),
    "omega_increment": ("omega_increment", _ANGLES),
}


_SERIAL = re.compile(r"(.*?),?\s*S/N\s+([^\s,]+)")
_SENSOR = re.compile(r"(\S+)\s+sensor,\s*thickness\s+(.*)")
_PIXEL_X = re.compile(r"\s+x\s+")
_AXIS_TOKENS = re.compile(r"[\s,.]+")


def _fast_scaled(value: str, units: dict[str, float]) -> float | None:
    """`_scaled` for the common "<number> <unit>" shape without a regex; falls back to it."""
    parts = value.split(None, 2)
    try:
        number = float(parts[0])
    except (ValueError, IndexError):
        return _scaled(value, units)
    factor = units.get(parts[1].rstrip(".").lower(), 1.0) if len(parts) > 1 else 1.0
    return number if factor == 1.0 else _clean(number * factor)


def _parse_pilatus_line(line: str, out: dict[str, Any], extra: dict[str, str]) -> None:
    """One `# Key value` line of `_array_data.header_contents` (PILATUS header spec). Runs ~40 times
    per image, so the common shapes take no regex (the indexer's header rate depends on it)."""
    body = line[1:].strip()
    if not body:
        return
    if body[0].isdigit() and _DATE_LINE.match(body):
        out["timestamp"] = parse_timestamp(body)
        if out["timestamp"] is None:
            extra["timestamp"] = body
        return
    parts = body.split(None, 1)
    key = parts[0].rstrip(":=")
    value = parts[1].lstrip(" :=\t") if len(parts) > 1 else ""
    lk = key.lower()
    scalar = _SCALAR_KEYS.get(lk)
    if scalar is not None:
        out[scalar[0]] = _fast_scaled(value, scalar[1])
        return
    # Detector and pixel size come before the sensor line's test, every other key after it.
    handler = _LINE_BEFORE_SENSOR.get(lk)
    if handler is None and "sensor, thickness" in body:
        _sensor_line(body, out)
        return
    handler = handler or _LINE_AFTER_SENSOR.get(lk)
    if handler is None:
        extra[key] = value
    else:
        handler(lk, value, out)


def _detector_line(lk: str, value: str, out: dict[str, Any]) -> None:
    d = _SERIAL.match(value)
    out["detector"], out["serial_number"] = (d.group(1).strip(), d.group(2)) if d else (value, None)


def _pixel_size_line(lk: str, value: str, out: dict[str, Any]) -> None:
    xy = _PIXEL_X.split(value)
    out["pixel_size_x"] = _fast_scaled(xy[0], _LENGTH_MM)
    out["pixel_size_y"] = _fast_scaled(xy[1], _LENGTH_MM) if len(xy) > 1 else out["pixel_size_x"]


def _sensor_line(body: str, out: dict[str, Any]) -> None:
    m = _SENSOR.match(body)
    if m:
        out["sensor_material"] = m.group(1)
        out["sensor_thickness"] = _fast_scaled(m.group(2), _LENGTH_MM)


def _beam_xy_line(lk: str, value: str, out: dict[str, Any]) -> None:
    nums = _NUMBER.findall(value)
    if len(nums) >= 2:
        out["beam_x"], out["beam_y"] = float(nums[0]), float(nums[1])


def _count_line(lk: str, value: str, out: dict[str, Any]) -> None:
    n = _num(value)
    out[lk] = int(n) if n is not None else None


def _text_line(lk: str, value: str, out: dict[str, Any]) -> None:
    out[lk] = value
    if lk == "oscillation_axis":
        # "X.CW +SLOW", "X, CW", "omega": split on blanks, commas and the dot between axis and sense.
        out["oscillation_axis_tokens"] = tuple(t for t in _AXIS_TOKENS.split(value) if t)


def _filter_transmission_line(lk: str, value: str, out: dict[str, Any]) -> None:
    # PILATUS spec: a fraction 0-1. DLS I03/I19/I23 write percent (30.0376, 100.0000), so a value
    # above 1 is taken as already in percent; 1.0 is read as the fraction (100 %).
    t = _num(value)
    out["transmission"] = None if t is None else (_clean(t * 100.0) if t <= 1.0 else t)
    out["_filter_transmission"] = t


def _transmission_line(lk: str, value: str, out: dict[str, Any]) -> None:
    # ESRF (MXCuBE) dialect: `Transmission 6.63615401085` is in percent (ID29 seed header).
    out["transmission"] = _num(value)


_LineHandler: TypeAlias = Callable[[str, str, dict[str, Any]], None]
_LINE_BEFORE_SENSOR: dict[str, _LineHandler] = {"detector": _detector_line, "pixel_size": _pixel_size_line}
_LINE_AFTER_SENSOR: dict[str, _LineHandler] = {
    "beam_xy": _beam_xy_line,
    "count_cutoff": _count_line,
    "n_excluded_pixels": _count_line,
    "n_oscillations": _count_line,
    "gain_setting": _text_line,
    "filter_transmission": _filter_transmission_line,
    "transmission": _transmission_line,
    "oscillation_axis": _text_line,
}


# A point where `_cif_segment_items` is at the top level whatever came before: a line that is `loop_` or
# starts with ';' (both end any loop). Splitting there gives the same items as one pass over the text.
_CIF_SEGMENT = re.compile(r"\n(?=[ \t]*(?:;|loop_[ \t\r]*$))", re.M)
_SEGMENT_MEMO: dict[str, dict[str, list[str]]] = {}


def _cif_items(text: str) -> dict[str, list[str]]:
    """Values of imgCIF data items, single or looped (first token per row); enough for a few tags.

    Parsed loop by loop, each distinct loop once per process: a DLS header repeats all but three of its
    ~20 loops in every image of a sweep (issue 17). Callers read the lists and never change them."""
    items: dict[str, list[str]] = {}
    memo = _SEGMENT_MEMO
    for segment in _CIF_SEGMENT.split(text):
        found = memo.get(segment)
        if found is None:
            found = _cif_segment_items(segment)
            if len(memo) >= _MEMO_MAX:
                memo.clear()
            memo[segment] = found
        if items.keys().isdisjoint(found):  # the usual case, one C call: each loop has its own tags
            items.update(found)
            continue
        for tag, values in found.items():
            if tag in items:
                items[tag] = items[tag] + values
            else:
                items[tag] = values
    return items


def _cif_segment_items(text: str) -> dict[str, list[str]]:
    """`_cif_items` of one piece of header text, in one pass."""
    items: dict[str, list[str]] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if line == "loop_":
            tags: list[str] = []
            i += 1
            while i < len(lines) and lines[i].strip().startswith("_"):
                tags.extend(lines[i].split())
                i += 1
            tokens: list[str] = []
            while (
                i < len(lines)
                and lines[i].strip()
                and not lines[i].strip().startswith(("_", "loop_", ";", "#"))
            ):
                tokens.extend(_cif_tokens(lines[i]))
                i += 1
            for k, tag in enumerate(tags):
                items.setdefault(tag.lower(), []).extend(tokens[k :: len(tags)])
            continue
        if line.startswith("_"):
            parts = _cif_tokens(line)
            if len(parts) >= 2:
                items.setdefault(parts[0].lower(), []).append(parts[1])
        i += 1
    return items


def _cif_tokens(line: str) -> list[str]:
    return [a or b or c for a, b, c in re.findall(r"'([^']*)'|\"([^\"]*)\"|(\S+)", line)]


def _float_item(items: dict[str, list[str]], tag: str) -> float | None:
    for v in items.get(tag, []):
        try:
            return float(v)
        except ValueError:
            continue
    return None


# What one header_contents line sets, by its exact text: the images of a sweep repeat ~40 of their ~45
# lines word for word, so each distinct line is parsed once per process (issue 17: the parse, not the
# read, bounded the indexer). Bounded, and cleared whole when full; a line's effect depends on its text only.
_LineEffect: TypeAlias = tuple[tuple[tuple[str, Any], ...], tuple[tuple[str, str], ...]]
_LINE_MEMO: dict[str, _LineEffect] = {}
_MEMO_MAX = 50_000


def _parse_contents(contents: str, out: dict[str, Any], extra: dict[str, str]) -> None:
    """All `# ...` lines of header_contents, each line's effect looked up (or parsed once and kept)."""
    memo = _LINE_MEMO
    for line in contents.split("\n"):
        effect = memo.get(line)
        if effect is None:
            line_out: dict[str, Any] = {}
            line_extra: dict[str, str] = {}
            _parse_contents_lines((line,), line_out, line_extra)
            effect = (tuple(line_out.items()), tuple(line_extra.items()))
            if "timestamp" not in line_out:  # unique to each image: not worth keeping
                if len(memo) >= _MEMO_MAX:
                    memo.clear()
                memo[line] = effect
        for key, value in effect[0]:
            out[key] = value
        for key, text in effect[1]:
            extra[key] = text


def _parse_contents_lines(lines: Iterable[str], out: dict[str, Any], extra: dict[str, str]) -> None:
    """`# ...` lines of header_contents. The usual shapes are handled inline with str.split; anything
    unusual goes through `_parse_pilatus_line`."""
    for line in lines:
        parts = line.split(None, 3)
        if len(parts) < 3 or parts[0] != "#":
            if line.lstrip().startswith("#"):
                _parse_pilatus_line(line.strip(), out, extra)
            continue
        key = parts[1]
        if parts[2] in ("=", ":", ":="):  # "Tau = 0 s", "N_excluded_pixels = 262"
            parts = ["#", key] + line.split(None, 4)[3:]
            if len(parts) < 3:
                continue
        try:
            _parse_usual_line(line, parts, key, out, extra)
        except (ValueError, KeyError, IndexError):
            _parse_pilatus_line(line.strip(), out, extra)


def _parse_usual_line(
    line: str, parts: list[str], key: str, out: dict[str, Any], extra: dict[str, str]
) -> None:
    """One `# Key value [unit]` line split on blanks; raises ValueError, KeyError or IndexError when the
    line is not in a usual shape (the caller then takes the slow path)."""
    lk = _KEYS.get(key)
    if lk is None:
        lk = _KEYS.setdefault(key, key.rstrip(":=").lower())
    scalar = _SCALAR_KEYS.get(lk)
    usual = _USUAL_LINE.get(lk)
    if scalar is not None:
        out[scalar[0]] = _scaled_parts(parts, scalar[1])
    elif lk in _COUNTS:
        out[lk] = int(parts[2])
    elif parts[2] == "sensor," and len(parts) > 3 and lk != "pixel_size":
        # "Silicon sensor, thickness 0.000320 m"
        _word, value, unit = (parts[3].split() + ["", ""])[:3]
        out["sensor_material"] = key
        out["sensor_thickness"] = _clean(float(value) * _LENGTH_MM[unit])
    elif usual is not None:
        usual(line, parts, key, lk, out)
    elif lk in _STRUCTURED or key[0].isdigit():
        _parse_pilatus_line(line.strip(), out, extra)
    else:
        rest = line[line.index(key) + len(key) :]
        extra[key.rstrip(":=")] = rest.strip().lstrip(":= \t")


def _scaled_parts(parts: list[str], units: dict[str, float]) -> float:
    """The number in parts[2] in canonical units, by the unit word in parts[3] (if any)."""
    number = float(parts[2])
    if len(parts) > 3:
        unit = parts[3].split(None, 1)[0]
        factor = units.get(unit)
        if factor is None:
            factor = units.get(unit.rstrip(".").lower(), 1.0)
    else:
        factor = 1.0
    return number if factor == 1.0 else _clean(number * factor)


def _usual_pixel_size(line: str, parts: list[str], key: str, lk: str, out: dict[str, Any]) -> None:
    # "172e-6 m x 172e-6 m"
    unit, _, y, y_unit = (parts[3].split() + ["", "", ""])[:4]
    out["pixel_size_x"] = _clean(float(parts[2]) * _LENGTH_MM[unit])
    out["pixel_size_y"] = _clean(float(y) * _LENGTH_MM[y_unit])


def _usual_beam_xy(line: str, parts: list[str], key: str, lk: str, out: dict[str, Any]) -> None:
    # "(730.00, 865.00) pixels"; "( 244, 308)" takes the slow path
    out["beam_x"] = float(parts[2].strip("(,"))
    out["beam_y"] = float(parts[3].split(")", 1)[0])


def _usual_filter_transmission(line: str, parts: list[str], key: str, lk: str, out: dict[str, Any]) -> None:
    # a fraction per the spec, percent at DLS (see _filter_transmission_line)
    t = float(parts[2])
    out["transmission"] = _clean(t * 100.0) if t <= 1.0 else t
    out["_filter_transmission"] = t


def _usual_text(line: str, parts: list[str], key: str, lk: str, out: dict[str, Any]) -> None:
    _text_line(lk, line[line.index(key) + len(key) :].strip().lstrip(":= \t"), out)


_USUAL_LINE: dict[str, Callable[[str, list[str], str, str, dict[str, Any]], None]] = {
    "pixel_size": _usual_pixel_size,
    "beam_xy": _usual_beam_xy,
    "filter_transmission": _usual_filter_transmission,
    "gain_setting": _usual_text,
    "oscillation_axis": _usual_text,
}


_KEYS: dict[str, str] = {}  # header key as written -> its lower-case name (a handful of spellings)
_COUNTS = frozenset({"count_cutoff", "n_excluded_pixels", "n_oscillations"})
_STRUCTURED = frozenset(
    {
        "detector",
        "pixel_size",
        "beam_xy",
        "gain_setting",
        "filter_transmission",
        "transmission",
        "oscillation_axis",
        "count_cutoff",
        "n_excluded_pixels",
        "n_oscillations",
    }
    | set(_SCALAR_KEYS)
)


_CONVENTION = re.compile(r'_array_data\.header_convention\s+["\']?([^"\'\r\n]+)')


def _header_contents(text: str) -> str | None:
    """The text field (between lines starting with ';') after `_array_data.header_contents`."""
    at = text.find("_array_data.header_contents")
    if at < 0:
        return None
    start = text.find("\n;", at)
    end = text.find("\n;", start + 2) if start >= 0 else -1
    return text[start + 2 : end] if end >= 0 else None


def parse_header_text(text: str, data_offsets: list[int] | None = None) -> CbfHeader:
    """Parse header text (everything before the binary data); data_offsets give each section's start."""
    out: dict[str, Any] = {}
    extra: dict[str, str] = {}
    conv = _CONVENTION.search(text, 0, 4096)
    contents = _header_contents(text)
    if contents is not None:
        _parse_contents(contents, out, extra)
    fmt = "miniCBF" if contents else "imgCIF"
    if not contents:
        _fill_from_cif(text, out)  # full imgCIF; miniCBF lines already give what the CIF repeats
    if "_axis.id" in text:  # DLS writes miniCBF lines and the full imgCIF geometry in one header
        try:
            out["axes"] = axes_from_cif(_cif_items(text))
        except AxisError as exc:
            raise HeaderError(f"imgCIF geometry: {exc}") from None
    raw = out.pop("_filter_transmission", None)
    if raw is not None and raw <= 1.0 and _diamond(out, extra, text):
        out["transmission"] = raw  # DLS writes percent even below 1 %: 0.5 is 0.5 %, not 50 %
    sections: list[BinarySection] = []
    blocks = text.split(SECTION_START.decode())[1:]
    for block in blocks:
        if block.startswith("--"):  # the closing `--CIF-BINARY-FORMAT-SECTION----`
            continue
        offset = data_offsets[len(sections)] if data_offsets and len(sections) < len(data_offsets) else None
        sections.append(parse_mime(block.split("\x0c")[0], offset))
    first = sections[0] if sections else None
    return CbfHeader(
        format=fmt,
        header_convention=conv.group(1).strip() if conv else None,
        dimension_x=first.fastest_dimension if first else None,
        dimension_y=first.second_dimension if first else None,
        binary_sections=tuple(sections),
        extra=extra,
        **out,
    )


_DLS_VISIT = re.compile(r"/(?:cm|mx|nt|nr|in|lb|sw|bi|ee)\d{4,6}-\d+/")


def _diamond(out: dict[str, Any], extra: dict[str, str], text: str) -> bool:
    """Headers written by Diamond's acquisition software (GDA), whose Filter_transmission is in percent
    (the I03, I19 and I23 headers in ../shared/fixtures: 30.0376, 100.0000, 9.9956) against the PILATUS
    spec's fraction: the image path is a DLS visit or the imgCIF template a /dls_sw/ file. Files converted
    from NeXus (dlsnxs2cbf: no Image_path) carry NXattenuator's fraction and keep the spec's reading."""
    where = " ".join((extra.get("Image_path", ""), extra.get("CBF_template_file", "")))
    return "/dls" in where or _DLS_VISIT.search(where) is not None


def _fill_from_cif(text: str, out: dict[str, Any]) -> None:
    """imgCIF items (CBF dictionary) for what the miniCBF lines did not give."""
    items = _cif_items(text)

    def put(name: str, value: Any) -> None:
        if out.get(name) is None and value is not None:
            out[name] = value

    put("wavelength", _float_item(items, "_diffrn_radiation_wavelength.wavelength"))
    detector = items.get("_diffrn_detector.type")
    put("detector", detector[0] if detector else None)
    size = _float_item(items, "_array_element_size.size")  # metres
    put(
        "pixel_size_x",
        _clean(size * 1000.0)
        if size is not None
        else _float_item(items, "_array_structure_list_axis.displacement_increment"),
    )
    put("pixel_size_y", out.get("pixel_size_x"))
    put("detector_distance", _float_item(items, "_diffrn_measurement.sample_detector_distance"))
    dates = items.get("_diffrn_scan_frame.date")
    if dates:
        put("timestamp", parse_timestamp(dates[0]))
    put("exposure_time", _float_item(items, "_diffrn_scan_frame.integration_time"))
    put(
        "count_cutoff",
        int(c) if (c := _float_item(items, "_array_intensities.overload")) is not None else None,
    )


def read_header_bytes(f: IO[bytes], limit: int = MAX_HEADER) -> tuple[bytes, int]:
    """Bytes up to the first binary marker and the data offset after it; raises if there is none."""
    buf = bytearray()
    while True:
        chunk = f.read(CHUNK)
        if not chunk:
            if not buf:
                raise NotAnImage("empty file")
            if not _looks_like_cbf(bytes(buf[:4096])):
                raise NotAnImage("not a CBF image (no ###CBF line, no binary section)")
            raise TruncatedHeader("file ends before the binary data starts")
        start = max(0, len(buf) - 3)
        buf += chunk
        pos = buf.find(BINARY_MARKER, start)
        if pos >= 0:
            if not _looks_like_cbf(bytes(buf[:4096])):
                raise NotAnImage("not a CBF image (no ###CBF line, no binary section)")
            return bytes(buf[:pos]), pos + 4
        if len(buf) > limit or (len(buf) >= 4096 and not _looks_like_cbf(bytes(buf[:4096]))):
            raise NotAnImage("not a CBF image (no binary section in the first bytes)")


def _looks_like_cbf(head: bytes) -> bool:
    return (
        head.startswith(b"###CBF")
        or SECTION_START in head
        or b"_array_data" in head
        or b"data_" in head[:512]
    )


def read_header(path: str | Path) -> CbfHeader:
    """Parse a .cbf/.cbf.gz/.cbf.bz2 header, reading the file only up to each binary section.

    miniCBF files hold one binary section, so reading stops at its marker. imgCIF files may hold
    several (a CSPAD frame has four): the reader skips over each section's X-Binary-Size bytes.
    """
    quick = _read_plain_header(path)
    if quick is not None:
        return _checked_header(parse_header_text(quick[0].decode("latin-1"), [quick[1]]))
    with open_image(path) as f:
        try:
            head, offset = read_header_bytes(f)
            text = head.decode("latin-1")
            offsets = [offset]
            if "_array_data.header_contents" not in text:
                # what the file can hold: its size, or 1000x it when compressed (indexer/budget.py)
                size = os.path.getsize(path)
                limit = 1000 * size if isinstance(f, gzip.GzipFile | bz2.BZ2File) else size
                text, offsets = _more_sections(f, text, offsets, limit)
        except (OSError, EOFError) as exc:  # corrupt gzip/bz2 streams
            raise HeaderError(f"unreadable compressed stream: {exc}") from None
    return _checked_header(parse_header_text(text, offsets))


def _checked_header(header: CbfHeader) -> CbfHeader:
    if not header.binary_sections:
        raise HeaderError("missing MIME header of the binary section")
    return header


def _read_plain_header(path: str | Path) -> tuple[bytes, int] | None:
    """The common case in one system call: an uncompressed miniCBF whose header fits the first
    16 KB. None sends the file down the general path (compressed, imgCIF, long or odd headers)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        first = os.read(fd, 16384)
    finally:
        os.close(fd)
    if not first.startswith(b"###CBF") or b"_array_data.header_contents" not in first:
        return None
    pos = first.find(BINARY_MARKER)
    return (first[:pos], pos + 4) if pos >= 0 else None


def _more_sections(f: IO[bytes], text: str, offsets: list[int], limit: int) -> tuple[str, list[int]]:
    """Follow imgCIF files past each binary section to the next MIME header, if any; a section that
    would end past `limit` bytes is refused before any skipping (a compressed file would be inflated)."""
    while True:
        last = parse_mime(text.rsplit(SECTION_START.decode(), 1)[-1])
        if last.binary_size is None:
            return text, offsets
        if last.binary_size < 0 or offsets[-1] + last.binary_size > limit:
            raise HeaderError(
                f"binary section {last.binary_id} declares {last.binary_size} bytes, more than "
                f"the file can hold"
            )
        f.seek(offsets[-1] + last.binary_size)
        tail = bytearray()
        pos = -1
        while pos < 0:
            chunk = f.read(CHUNK)
            if not chunk:
                return text, offsets
            tail += chunk
            pos = tail.find(BINARY_MARKER)
            if pos < 0 and len(tail) > MAX_HEADER:
                return text, offsets
            # no further section: the closing boundary then the end of the data block
            if (
                pos < 0
                and tail.count(SECTION_START) == tail.count(SECTION_START + b"--")
                and len(tail) > 65536
            ):
                return text, offsets
        nxt = offsets[-1] + last.binary_size + pos + 4
        text += "\n" + tail[:pos].decode("latin-1")
        offsets.append(nxt)
