"""`mxhub site serve` and `mxhub lims serve` take the facility's issuer (issue 20): options checked before
anything starts, and a LIMS with an issuer but no hub key is a valid setup."""

from __future__ import annotations

import socket

import pytest
from click.testing import CliRunner

from mxhub.cli import main


def _closed_dsn() -> str:
    with socket.socket() as s:  # a port nobody listens on: the command stops at its store
        s.bind(("127.0.0.1", 0))
        return f"postgresql://nobody@127.0.0.1:{s.getsockname()[1]}/none"


@pytest.mark.parametrize("command", [["site", "serve", "--name", "x"], ["lims", "serve"]])
def test_oidc_options_need_an_issuer(command):
    result = CliRunner().invoke(main, [*command, "--oidc-audience", "mx", "--dsn", _closed_dsn()])
    assert result.exit_code == 2 and "need --oidc-issuer" in result.output


@pytest.mark.parametrize("command", [["site", "serve", "--name", "x"], ["lims", "serve"]])
def test_open_access_takes_no_issuer(command):
    result = CliRunner().invoke(
        main,
        [*command, "--open-access", "--oidc-issuer", "https://login.example.org", "--dsn", _closed_dsn()],
    )
    assert result.exit_code == 2 and "--open-access" in result.output


def test_an_issuer_is_a_url():
    result = CliRunner().invoke(main, ["site", "serve", "--name", "x", "--oidc-issuer", "login.example.org"])
    assert result.exit_code == 2 and "--oidc-issuer" in result.output


def test_a_lims_with_only_an_issuer_starts(monkeypatch):
    """Without --trust-hub-key a LIMS refuses to start unless given an issuer (or --open-access)."""
    monkeypatch.delenv("MXHUB_TRUSTED_HUB_KEYS", raising=False)
    refused = CliRunner().invoke(main, ["lims", "serve", "--dsn", _closed_dsn()])
    assert refused.exit_code == 2 and "--oidc-issuer" in refused.output
    started = CliRunner().invoke(
        main,
        ["lims", "serve", "--oidc-issuer", "https://login.example.org/realms/mx", "--dsn", _closed_dsn()],
    )
    # Past the access check: it says whose tokens it accepts, then stops at the unreachable store.
    assert started.exit_code == 1, started.output
    assert "accepting OIDC access tokens of https://login.example.org/realms/mx" in started.output
    assert "cannot connect" in started.output
