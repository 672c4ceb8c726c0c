"""`mxhub site serve --schema-version` (issue 21): only a kept version is accepted, refused at start
otherwise, from the option or its variable; --help names both."""

from __future__ import annotations

from click.testing import CliRunner

from mxhub.cli import main


def test_serve_refuses_a_version_not_kept():
    out = CliRunner().invoke(main, ["site", "serve", "--name", "x", "--schema-version", "0.9"])
    assert out.exit_code == 2 and "0.9" in out.output and "1.0.0, 1.1.0, 1.2.0" in out.output
    out = CliRunner().invoke(main, ["site", "serve", "--name", "x"], env={"MXHUB_SITE_SCHEMA_VERSION": "2.0"})
    assert out.exit_code == 2 and "--schema-version" in out.output and "2.0" in out.output


def test_serve_help_names_the_option_and_its_variable():
    out = CliRunner().invoke(main, ["site", "serve", "--help"])
    assert (
        out.exit_code == 0 and "--schema-version" in out.output and "MXHUB_SITE_SCHEMA_VERSION" in out.output
    )
