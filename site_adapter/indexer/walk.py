"""Find the image files under the roots an operator names, safely: every directory and file once (by
device and inode), never out of the given trees, never into FIFOs, devices or sockets.

Reads directory entries and stats only, never file contents. Problems go to `errors` as
{path, reason} and the walk goes on; nothing here raises for one bad entry.
"""
# Why each rule (issue 15, a fault probe): a symlink graph of depth 16 turned one file into 65,536
# paths; `rootlink -> /` never ended; a FIFO named as a root hung the scan; links out of the tree were
# followed (as root the scan read /etc/shadow).

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Iterator, Sequence

IMAGE_NAME = re.compile(r"(\.cbf(\.gz|\.bz2)?|_master\.h5|\.nxs)$", re.IGNORECASE)
_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def display(path: str) -> str:
    """A path for people and JSON: undecodable bytes of a file name (kept by Python as surrogates)
    shown as U+FFFD, since JSON and PostgreSQL text cannot carry them."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return os.fsencode(path).decode("utf-8", "replace")


def storable(path: str) -> str:
    """A path the site store (PostgreSQL text) can hold, keeping every byte of an undecodable name:
    such bytes are written as `\\xNN` (Python's backslashreplace), everything else is unchanged."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return os.fsencode(path).decode("utf-8", "backslashreplace")


def _not_regular(mode: int) -> str | None:
    for test, what in _KINDS:
        if test(mode):
            return what
    return None


def _inside(path: str, roots: Sequence[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def walk(
    roots: Sequence[str], errors: list[dict[str, str]], follow_links_into: Sequence[str] = ()
) -> Iterator[tuple[str, os.stat_result]]:
    """Image files under the roots (files or directories), in a stable order.

    A symbolic link is followed only when its target lies inside one of the roots or of
    `follow_links_into` (trees the operator names: a beamline that links visit directories to a data
    store), and each directory and file is yielded or entered once, whatever number of links lead to it.
    A link elsewhere could otherwise index another proposal's images under this one's collection.
    """
    real_roots = [os.path.realpath(r) for r in list(roots) + list(follow_links_into)]
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[tuple[int, int]] = set()
    for root in roots:
        try:
            st = os.stat(root)
        except OSError as exc:
            errors.append({"path": display(root), "reason": os_reason(exc)})
            continue
        if stat.S_ISDIR(st.st_mode):
            yield from _walk_dir(root, st, errors, real_roots, seen_dirs, seen_files)
        elif (what := _not_regular(st.st_mode)) is not None:
            errors.append({"path": display(root), "reason": f"skipped: {what}, not a regular file"})
        elif IMAGE_NAME.search(root) and (st.st_dev, st.st_ino) not in seen_files:
            seen_files.add((st.st_dev, st.st_ino))
            yield root, st


def _walk_dir(
    directory: str,
    st: os.stat_result,
    errors: list[dict[str, str]],
    roots: list[str],
    seen_dirs: set[tuple[int, int]],
    seen_files: set[tuple[int, int]],
) -> Iterator[tuple[str, os.stat_result]]:
    # Iterative, so a deep tree cannot exhaust Python's recursion limit.
    stack = [(directory, st)]
    while stack:
        here, here_st = stack.pop()
        key = (here_st.st_dev, here_st.st_ino)
        if key in seen_dirs:
            continue
        seen_dirs.add(key)
        try:
            entries = sorted(os.scandir(here), key=lambda e: e.name)
        except OSError as exc:
            errors.append({"path": display(here), "reason": os_reason(exc)})
            continue
        subdirs: list[tuple[str, os.stat_result]] = []
        for entry in entries:
            found = _entry(entry, errors, roots, seen_dirs)
            if found is None:
                continue
            path, est = found
            if stat.S_ISDIR(est.st_mode):
                subdirs.append((path, est))
            elif (est.st_dev, est.st_ino) not in seen_files:
                seen_files.add((est.st_dev, est.st_ino))
                yield path, est
        stack.extend(reversed(subdirs))  # depth first, in name order


def _entry(
    entry: os.DirEntry[str], errors: list[dict[str, str]], roots: list[str], seen_dirs: set[tuple[int, int]]
) -> tuple[str, os.stat_result] | None:
    """A directory to enter or an image file to index; None (reported when worth it) otherwise."""
    path = entry.path
    try:
        link = entry.is_symlink()
        est = entry.stat(follow_symlinks=True)
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            errors.append({"path": display(path), "reason": "broken symlink"})
        elif IMAGE_NAME.search(entry.name) or exc.errno == errno.ELOOP:
            errors.append({"path": display(path), "reason": os_reason(exc)})
        return None
    is_dir = stat.S_ISDIR(est.st_mode)
    if not is_dir and not IMAGE_NAME.search(entry.name):
        return None
    if link:
        target = os.path.realpath(path)
        if not _inside(target, roots):
            errors.append(
                {
                    "path": display(path),
                    "reason": f"symlink leaves the indexed tree (to {display(target)}): not followed",
                }
            )
            return None
        if is_dir and (est.st_dev, est.st_ino) in seen_dirs:
            errors.append(
                {
                    "path": display(path),
                    "reason": f"symlink loop (or a second link to one "
                    f"directory): {display(target)} is walked once",
                }
            )
            return None
    if not is_dir and (what := _not_regular(est.st_mode)) is not None:
        errors.append({"path": display(path), "reason": f"skipped: {what}, not a regular file"})
        return None
    return path, est


def os_reason(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "symlink loop: too many levels of symbolic links"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, FileNotFoundError):
        return "not found"
    return f"{exc.strerror or exc}"
