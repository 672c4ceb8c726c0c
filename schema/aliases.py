"""One module per file, whichever name imports it: `schema.errors` is `mx_schema.errors`.

The folders are named for their role (`schema/`, `hub/`) but install as `mx_schema` and `mx_hub`, because
PyPI's `schema` and `hub` distributions would otherwise shadow or be shadowed by them. From the checkout's
root the folder names are importable too, and without this a second copy of each module would load
(`schema.errors.ContractError is not mx_schema.errors.ContractError`, so an `except` misses). Must not
import anything of the package it aliases until it is asked for.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from types import ModuleType


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds `folder.x` as the already-importable `package.x` and hands back that very module."""

    def __init__(self, folder: str, package: str) -> None:
        self.folder = folder
        self.package = package

    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith(self.folder + "."):
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module(self.package + spec.name[len(self.folder) :])

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: the module ran once, under its installed name."""


def alias(folder: str, package: str) -> None:
    """Make `folder` and every `folder.x` the modules `package` and `package.x` (idempotent)."""
    if not any(isinstance(f, _Alias) and f.folder == folder for f in sys.meta_path):
        sys.meta_path.insert(0, _Alias(folder, package))
    sys.modules[folder] = importlib.import_module(package)
