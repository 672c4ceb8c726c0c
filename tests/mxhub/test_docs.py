"""Every shell example in README.md and docs/*.md runs as written (issue 13), servers included: the
convention is in tests/mxhub/docrun.py; docs/facility.md has its own test (test_docs_facility.py)."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

import pytest

from tests.fixtures.postgres import create_database, drop_database
from tests.mxhub.docrun import REPO, SHELL, Block, Session, blocks, documents

KNOWN_OPTIONS = {"server", "wait", "needs", "cwd", "skip"}
NOT_RUN = {"text", "sql", "python", "graphql", "json", "xml", "yaml", "toml", "csv"}
OWN_TEST = {"docs/facility.md"}


def all_blocks() -> list[Block]:
    return [b for doc in documents() for b in blocks(doc)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_every_block_names_its_language():
    """An unlabelled block could be a command nobody runs: each says `sh` (run) or what it is instead."""
    bad = [f"{b}" for b in all_blocks() if b.lang != SHELL and b.lang not in NOT_RUN]
    assert not bad, f"label these blocks ```sh (a shell example, run by this test) or ```text: {bad}"


def test_directives_are_known_and_only_on_shell_blocks():
    for b in all_blocks():
        if b.options:
            assert b.lang == SHELL, f"{b}: doc-test options on a {b.lang or 'unlabelled'} block"
            assert set(b.options) <= KNOWN_OPTIONS, (
                f"{b}: unknown doc-test option {set(b.options) - KNOWN_OPTIONS}"
            )
            assert (
                b.options.get("needs", "mariadb") == "mariadb" and b.options.get("cwd", "repo") == "repo"
            ), b
            assert not b.server or b.options.get("wait"), f"{b}: a server needs wait=URL (when it is up)"


def test_the_only_skipped_block_is_the_suite_that_ci_runs():
    skipped = [b for b in all_blocks() if "skip" in b.options]
    assert [b.text for b in skipped] == ["python3 -m pip install -e '.[test]' && python3 -m pytest"]
    assert skipped[0].options["skip"], "a skipped block says why"
    assert skipped[0].text in (REPO / ".ci" / "run").read_text()  # run as written, by CI


def needs_mariadb(doc_blocks: list[Block]) -> bool:
    return any(b.options.get("needs") == "mariadb" for b in doc_blocks)


def runnable_docs(mariadb: bool | None = None) -> list[str]:
    found = []
    for d in documents():
        name, doc_blocks = str(d.relative_to(REPO)), blocks(d)
        if name in OWN_TEST or not any(b.lang == SHELL for b in doc_blocks):
            continue
        if mariadb is None or needs_mariadb(doc_blocks) == mariadb:
            found.append(name)
    return found


async def doc_environment(fixtures: Path, pg: str, site_dsn: str | None = None) -> tuple[dict, list[str]]:
    """What a facility would configure: fresh databases and free ports (see docrun's docstring)."""
    names = {role: f"mxhub_doc_{role}_{uuid.uuid4().hex[:8]}" for role in ("hub", "site", "lims", "images")}
    dsns = {role: await create_database(pg, name) for role, name in names.items()}
    env = {
        "MXHUB_HUB_DSN": dsns["hub"],
        "MXHUB_SITE_DSN": site_dsn or dsns["site"],
        "MXHUB_LIMS_DSN": dsns["lims"],
        "MXHUB_IMAGE_STORE_DSN": dsns["images"],
        "MXHUB_DEMO_COLLECTIONS": "200",
        "MXHUB_FIXTURES": str(fixtures),
        **{f"MXHUB_{role}_PORT": str(free_port()) for role in ("HUB", "SITE", "LIMS", "DEMO")},
    }
    return env, list(names.values())


def run_document(env: dict[str, str], doc_blocks: list[Block]) -> Session:
    session = Session(env)
    try:
        for block in doc_blocks:
            if block.lang == SHELL:
                session.run(block)
    except BaseException:
        session.close()
        raise
    return session


async def check_document(doc: str, fixtures: Path, pg: str, site_dsn: str | None = None) -> None:
    import asyncio

    env, databases = await doc_environment(fixtures, pg, site_dsn)
    try:
        session = await asyncio.to_thread(run_document, env, blocks(REPO / doc))
        problems = await asyncio.to_thread(session.close)
        assert not problems, problems
    finally:
        for name in databases:
            await drop_database(pg, name)


@pytest.mark.parametrize("doc", runnable_docs(mariadb=False))
async def test_shell_examples_run_as_written(fixtures, pg_server_dsn, doc):
    await check_document(doc, fixtures, pg_server_dsn)


@pytest.mark.parametrize("doc", runnable_docs(mariadb=True))
async def test_shell_examples_on_ispyb_run_as_written(fixtures, pg_server_dsn, ispyb_readonly_dsn, doc):
    await check_document(doc, fixtures, pg_server_dsn, ispyb_readonly_dsn)


def test_readme_and_docs_exist():
    assert (REPO / "docs" / "facility.md").exists()
    assert set(runnable_docs()) >= {"README.md", "docs/lims.md", "docs/ispyb.md"}


def test_lims_register_example_says_kind_lims():
    text = (REPO / "docs" / "lims.md").read_text()
    for line in text.splitlines():
        if "register-site" in line and line.lstrip().startswith("mxhub"):
            assert "--kind lims" in line, line
    assert Path(REPO / "docs" / "lims.md").exists()
