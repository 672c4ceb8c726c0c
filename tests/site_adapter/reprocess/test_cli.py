"""`mxhub reprocess`: help, ID mode against a small real GraphQL app, errors as one line, --image mode."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mx_schema.ids import encode_id
from mxhub.commands.reprocess import QUERY, reprocess
from tests.fixtures.sites import serve_in_thread

GOOD = encode_id("esrf", "DataCollection", "42")
MISSING = encode_id("esrf", "DataCollection", "43")
TEXTS = {
    "xdsInp": "JOB= ALL\n",
    "dialsImport": "dials.import template=x_####.cbf\n",
    "mosflm": "scanner PILATUS\n",
}


def fake_site() -> Starlette:
    """Answers the reprocessing query like a site would: text for 42, a coded error for 43, null else."""
    seen: list[dict[str, Any]] = []

    async def graphql(request: Request) -> JSONResponse:
        body = await request.json()
        seen.append(body)
        gid = body["variables"]["id"]
        if body["query"] != QUERY:
            return JSONResponse({"errors": [{"message": "unexpected query"}]}, status_code=400)
        if gid == GOOD:
            return JSONResponse({"data": {"node": {"reprocessing": TEXTS}}})
        if gid == MISSING:
            return JSONResponse(
                {
                    "data": {"node": None},
                    "errors": [
                        {
                            "message": "cannot write reprocessing input for data collection 43: missing wavelength",
                            "path": ["node", "reprocessing"],
                            "extensions": {"site": "esrf", "code": "MISSING_GEOMETRY"},
                        }
                    ],
                }
            )
        return JSONResponse({"data": {"node": None}})

    app = Starlette(routes=[Route("/graphql", graphql, methods=["POST"])])
    app.state.seen = seen
    return app


@pytest.fixture(scope="module")
def site_url() -> Iterator[str]:
    with serve_in_thread(fake_site()) as url:
        yield url + "/graphql"


def run(*args: str, env: dict[str, str] | None = None):
    base = {"MXHUB_URL": "", "MXHUB_HUB_URL": "", "MXHUB_SITE_NAME": ""}
    return CliRunner().invoke(reprocess, list(args), env={**base, **(env or {})})


def test_help_lists_every_option() -> None:
    result = run("--help")
    assert result.exit_code == 0
    for option in ("--format", "--image", "--template", "--images", "--url", "--site", "--timeout"):
        assert option in result.output
    for env in ("MXHUB_URL", "MXHUB_HUB_URL", "MXHUB_SITE_NAME"):
        assert env in result.output


@pytest.mark.parametrize("fmt, field", [("xds", "xdsInp"), ("dials", "dialsImport"), ("mosflm", "mosflm")])
def test_global_id(site_url: str, fmt: str, field: str) -> None:
    result = run(GOOD, "--format", fmt, "--url", site_url)
    assert result.exit_code == 0, result.output
    assert result.output == TEXTS[field]


def test_local_id_with_site_from_env(site_url: str) -> None:
    result = run("42", "--format", "xds", env={"MXHUB_HUB_URL": site_url, "MXHUB_SITE_NAME": "esrf"})
    assert result.exit_code == 0, result.output
    assert result.output == TEXTS["xdsInp"]


def test_graphql_error_is_one_line_and_status_1(site_url: str) -> None:
    result = run(MISSING, "--format", "xds", "--url", site_url)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: cannot write reprocessing input for data collection 43: missing wavelength "
        "[site esrf, code MISSING_GEOMETRY]"
    ]


def test_unknown_collection(site_url: str) -> None:
    result = run(encode_id("esrf", "DataCollection", "99"), "--format", "xds", "--url", site_url)
    assert result.exit_code == 1 and "no data collection with id" in result.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["42", "--format", "xds", "--url", "http://127.0.0.1:9/graphql"], "not a global id; give --site"),
        (
            [encode_id("esrf", "Sample", "1"), "--format", "xds", "--url", "http://127.0.0.1:9/graphql"],
            "is a Sample id",
        ),
        ([GOOD, "--format", "xds"], "no GraphQL endpoint"),
        (["--format", "xds"], "either a data collection ID or --image"),
        ([GOOD, "--format", "cif"], "Invalid value for '--format'"),
    ],
)
def test_usage_errors(args: list[str], message: str) -> None:
    result = run(*args)
    assert result.exit_code in (1, 2)
    assert message in result.output


def test_unreachable_endpoint_is_one_line() -> None:
    result = run(GOOD, "--format", "xds", "--url", "http://127.0.0.1:9/graphql")
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1 and "cannot reach" in result.output


def test_image_mode_on_real_images(fixtures: Path) -> None:
    pytest.importorskip(
        "site_adapter.indexer.cbf_header", reason="site_adapter.indexer.cbf_header not written yet"
    )
    image = fixtures / "images" / "image_examples" / "DLS_I23_P12M_thau_00001.cbf.gz"
    result = run("--image", str(image), "--images", "3600", "--format", "xds")
    assert result.exit_code == 0, result.output
    assert "NX= 2463 NY= 5071" in result.output
    assert "DATA_RANGE= 1 3600" in result.output
    assert f"NAME_TEMPLATE_OF_DATA_FRAMES= {image.parent}/DLS_I23_P12M_thau_?????.cbf" in result.output
    result = run("--image", str(image), "--template", "/data/x_#####.cbf", "--format", "mosflm")
    assert "directory  /data" in result.output and "template   x_#####.cbf" in result.output


def test_image_mode_on_the_seed_text_header(seed: Path) -> None:
    pytest.importorskip(
        "site_adapter.indexer.cbf_header", reason="site_adapter.indexer.cbf_header not written yet"
    )
    result = run(
        "--image",
        str(seed / "id29_pilatus3_6m_header.cbf.txt"),
        "--template",
        "/data/id29/inhouse/opid291/20150722/RAW_DATA/rory/rory_w1_1_####.cbf",
        "--format",
        "xds",
    )
    assert result.exit_code == 0, result.output
    assert "ORGX= 1234.63 ORGY= 1254.24" in result.output and "DATA_RANGE= 1 1220" in result.output


def test_still_image_is_one_clear_line_for_xds_and_imports_in_dials(fixtures: Path) -> None:
    # The Rayonix XFEL frame is a full imgCIF still: its _axis loop gives distance and beam centre
    # (124 mm, cbflib agrees), nothing turns, so XDS is refused with what to use instead.
    rayonix = fixtures / "images" / "kapton_test_data" / "rayonix340" / "hit-20181213155134902.cbf"
    result = run("--image", str(rayonix), "--format", "xds")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"error: cannot write xds input for {rayonix}: XDS processes rotation data; this is still images "
        "(oscillation 0 deg): use dials.import then dials.find_spots / dials.stills_process instead"
    ]
    dials = run("--image", str(rayonix), "--format", "dials")
    assert dials.exit_code == 0, dials.output
    assert (
        "geometry.detector.distance=124.000" in dials.output
        and "geometry.scan.oscillation" not in dials.output
    )
