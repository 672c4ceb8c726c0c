"""The detector library: sizes from module layouts, gap rectangles, name identification, overrides."""

from __future__ import annotations

import json

import pytest

from site_adapter.reprocess.detectors import MODELS, Overrides, identify
from site_adapter.reprocess.spacegroups import space_group_number

# Published image sizes (DECTRIS data sheets; the 6M, 12M, 2M and Eiger2 16M also from real headers
# in ../shared/fixtures).
SIZES = {
    "PILATUS 300K": (487, 619),
    "PILATUS 1M": (981, 1043),
    "PILATUS 2M": (1475, 1679),
    "PILATUS 6M": (2463, 2527),
    "PILATUS 12M": (2463, 5071),
    "PILATUS3 300K": (487, 619),
    "PILATUS3 1M": (981, 1043),
    "PILATUS3 2M": (1475, 1679),
    "PILATUS3 6M": (2463, 2527),
    "PILATUS3 12M": (2463, 5071),
    "EIGER 4M": (2070, 2167),
    "EIGER 9M": (3110, 3269),
    "EIGER 16M": (4150, 4371),
    "EIGER2 4M": (2068, 2162),
    "EIGER2 9M": (3108, 3262),
    "EIGER2 16M": (4148, 4362),
}


@pytest.mark.parametrize("name", sorted(SIZES))
def test_model_sizes(name: str) -> None:
    m = MODELS[name]
    assert (m.nx, m.ny) == SIZES[name]
    assert m.pixel_size == (0.172 if name.startswith("PILATUS") else 0.075)


def test_library_is_complete() -> None:
    assert set(MODELS) == set(SIZES)


@pytest.mark.parametrize("name", sorted(SIZES))
def test_gap_rectangles_cover_gaps_only(name: str) -> None:
    m = MODELS[name]
    rects = m.gap_rectangles()
    assert len(rects) == (m.modules_fast - 1) + (m.modules_slow - 1)
    for x1, x2, y1, y2 in rects:
        # exclusive bounds in 1-based pixels: x2 - x1 - 1 excluded columns
        assert (x2 - x1 - 1, y2 - y1 - 1) in ((m.gap_fast, m.ny), (m.nx, m.gap_slow))
    # the last module (1-based pixels x2 .. NX) ends exactly at the image edge
    vertical = [r for r in rects if r[3] == m.ny + 1]
    if vertical:
        assert m.nx - max(r[1] for r in vertical) + 1 == m.module_fast
    horizontal = [r for r in rects if r[1] == m.nx + 1]
    assert m.ny - max(r[3] for r in horizontal) + 1 == m.module_slow


@pytest.mark.parametrize(
    "spelled, nx, ny, expected",
    [
        ("PILATUS3 6M", None, None, "PILATUS3 6M"),
        ("Pilatus 6M-F", None, None, "PILATUS 6M"),
        ("PILATUS 12M", 2463, 5071, "PILATUS 12M"),
        ("PILATUS 300K", None, None, "PILATUS 300K"),
        ("EIGER2 XE 16M", None, None, "EIGER2 16M"),
        ("EIGER X 16M", 4150, 4371, "EIGER 16M"),
        ("EIGER2 X 9M", None, None, "EIGER2 9M"),
        # dlsnxs2cbf_therm_0001.cbf: converted Eiger2 frame whose header says "EIGER 16M XR4i"
        ("EIGER 16M XR4i", 4148, 4362, "EIGER2 16M"),
    ],
)
def test_identify(spelled: str, nx: int | None, ny: int | None, expected: str) -> None:
    m = identify(spelled, nx, ny)
    assert m is not None and m.name == expected


@pytest.mark.parametrize(
    "spelled, nx, ny",
    [
        ("Rayonix MX340", None, None),
        ("ADSC Q315", None, None),
        (None, None, None),
        ("PILATUS 7M", None, None),
        ("PILATUS3 6M", 1000, 1000),  # name and image disagree (e.g. a region of interest): not vouched for
    ],
)
def test_identify_unknown(spelled: str | None, nx: int | None, ny: int | None) -> None:
    assert identify(spelled, nx, ny) is None


def test_overrides_by_serial_then_model(tmp_path) -> None:
    path = tmp_path / "overrides.json"
    path.write_text(
        json.dumps(
            {
                "detectors": [
                    {"serial_number": "60-0128", "sensor_thickness": 1.0, "note": "1 mm sensor per ESRF"},
                    {"model": "PILATUS3 6M", "overload": 1000000, "mosflm_beam_order": "slow-fast"},
                ]
            }
        )
    )
    ov = Overrides.from_file(str(path))
    assert ov.find("60-0128", "PILATUS3 6M").sensor_thickness == 1.0
    assert ov.find("60-0999", "pilatus3 6m").overload == 1000000
    assert ov.find(None, "EIGER2 16M") is None


@pytest.mark.parametrize(
    "bad",
    [
        {"detectors": [{"sensor_thickness": 1.0}]},
        {"detectors": [{"model": "PILATUS3 6M", "mosflm_beam_order": "sideways"}]},
        {"detectors": "PILATUS3 6M"},
    ],
)
def test_overrides_reject_bad_input(bad: dict) -> None:
    with pytest.raises(ValueError):
        Overrides.from_mapping(bad)


@pytest.mark.parametrize(
    "symbol, number",
    [
        ("P 21 21 21", 19),
        ("P212121", 19),
        ("P 1 21 1", 4),
        ("C 1 2 1", 5),
        ("I 2", 5),
        ("P 43 21 2", 96),
        ("H 3", 146),
        ("R 3 2 :H", 155),
        ("P 61 2 2", 178),
        ("I 21 3", 199),
        ("P 1", 1),
        ("96", 96),
    ],
)
def test_space_group_numbers(symbol: str, number: int) -> None:
    assert space_group_number(symbol) == number


@pytest.mark.parametrize("symbol", [None, "", "P -1", "P 21/c", "Fm-3m", "2"])
def test_space_group_unknown_or_centrosymmetric(symbol: str | None) -> None:
    assert space_group_number(symbol) is None
