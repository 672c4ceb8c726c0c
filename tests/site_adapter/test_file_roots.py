"""FileRoots.locate and the Range check, without a network: what a site may serve (docs/files.md)."""

from __future__ import annotations

import pytest

from site_adapter.files import FileRoots, media_type, range_answer


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "data"
    (root / "proc").mkdir(parents=True)
    (root / "proc" / "fast_dp.log").write_text("log\n")
    (root / "proc" / "inside-link.log").symlink_to(root / "proc" / "fast_dp.log")
    sibling = tmp_path / "data-other"  # shares the root's name as a prefix: not inside it
    sibling.mkdir()
    (sibling / "x.log").write_text("x\n")
    (root / "proc" / "out-link.log").symlink_to(sibling / "x.log")
    return root, sibling


def test_a_file_under_a_root_is_served_with_its_size(tree):
    root, _ = tree
    found = FileRoots([str(root)]).locate(str(root / "proc"), "fast_dp.log")
    assert found.exists and found.size == 4 and found.path == str(root / "proc" / "fast_dp.log")
    assert FileRoots([str(root)]).locate(str(root / "proc"), "inside-link.log").exists  # a link within


@pytest.mark.parametrize(
    "directory,name,state",
    [
        ("{root}/proc", "out-link.log", "outside"),  # a symlink out of the root
        ("{root}/proc", "../../data-other/x.log", "outside"),  # `..` in the stored name
        ("{sibling}", "x.log", "outside"),  # /…/data-other is not under /…/data
        ("{root}/proc", "absent.log", "missing"),
        ("{root}", "proc", "missing"),  # a directory is not a file
        ("proc", "fast_dp.log", "outside"),  # a relative stored path
        (None, "fast_dp.log", "outside"),
    ],
)
def test_what_is_not_served(tree, directory, name, state):
    root, sibling = tree
    d = None if directory is None else directory.format(root=root, sibling=sibling)
    found = FileRoots([str(root)]).locate(d, name)
    assert found.state == state and not found.exists and found.size is None


def test_no_roots_serve_nothing(tree):
    root, _ = tree
    assert FileRoots().locate(str(root / "proc"), "fast_dp.log").state == "outside"


@pytest.mark.parametrize(
    "header,answer",
    [
        (None, "serve"),
        ("bytes=0-9", "serve"),
        ("bytes=9-", "serve"),
        ("bytes=-5", "serve"),  # the last five bytes
        ("bytes=-50", "serve"),  # a suffix longer than the file: all of it
        ("bytes=0-1,4-5", "serve"),
        ("bytes=10-", "refuse"),  # first byte past the end (RFC 9110 14.1.1)
        ("bytes=10-20", "refuse"),
        ("bytes=-0", "refuse"),  # an empty suffix
        ("bytes=0-1,12-13", "ignore"),  # a mix: the whole file rather than Starlette's refusal
        ("bytes=5-2", "ignore"),  # last before first: invalid, so ignored
        ("items=0-1", "ignore"),  # another unit
        ("bytes=abc", "ignore"),
        ("bytes=", "ignore"),
    ],
)
def test_range_answers(header, answer):
    assert range_answer(header, 10) == answer


def test_media_types():
    assert media_type("fast_dp.log") == "text/plain"
    assert media_type("xia2.html") == "text/html"
    assert media_type("snapshot_90.0.png") == "image/png"
    assert media_type("something.jpg") == "image/jpeg"
    assert media_type("free.mtz") == "application/octet-stream"
