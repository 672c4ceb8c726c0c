"""One home per fact (issue 14): error codes in one enum with a generated JS copy, and each module loaded
once whether it is imported by its folder name (`schema`, `hub`) or its installed name."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

from mx_schema import errors

ROOT = Path(__file__).resolve().parents[2]


def test_the_search_page_reads_the_codes_generated_from_the_enum():
    checked_in = (ROOT / "hub" / "static" / "error_codes.js").read_text(encoding="utf-8")
    assert checked_in == errors.javascript(), (
        "run: python -m mx_schema.errors --js > hub/static/error_codes.js"
    )


def test_no_page_script_spells_a_code_as_a_string():
    for script in (ROOT / "hub" / "static").glob("*.js"):
        if script.name == "error_codes.js":
            continue
        text = script.read_text(encoding="utf-8")
        spelled = [code.value for code in errors.ErrorCode if f'"{code.value}"' in text]
        assert spelled == [], f"{script.name} spells {spelled}: import ErrorCode from ./error_codes.js"


def test_codes_are_their_wire_strings():
    assert errors.SITE_ERROR == "SITE_ERROR" and isinstance(errors.SITE_ERROR, errors.ErrorCode)
    assert errors.INTERNAL.value == "INTERNAL_SERVER_ERROR"
    assert errors.ContractError("x", code=errors.NOT_FOUND).code == "NOT_FOUND"


def test_a_module_loads_once_by_either_name():
    # Run in a fresh interpreter from the checkout's root, where the folder names are importable.
    code = (
        "import schema.errors, mx_schema.errors, hub.merge, mx_hub.merge, schema.ids\n"
        "from schema import errors as e\n"
        "assert schema.errors is mx_schema.errors is e\n"
        "assert schema.errors.ContractError is mx_schema.errors.ContractError\n"
        "assert hub.merge is mx_hub.merge\n"
        "import sys; assert schema.ids is sys.modules['mx_schema.ids']\n"
        "print('once')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "once"


def test_installed_names_still_import_in_process():
    assert importlib.import_module("mx_schema.errors") is errors
