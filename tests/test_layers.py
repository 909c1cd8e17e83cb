"""Floors (DESIGN.md): the matching engine and the statement parsers import the financial kernel
and nothing else of the project, and no Django; the kernel imports nothing of the project."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PROJECT_PACKAGES = ("banking", "common", "config", "devtools", "invoices", "reconciliation", "tenants")


def loaded_by(module: str) -> list[str]:
    """The project's and Django's modules a fresh interpreter holds after importing ``module``."""
    code = (
        "import json, sys\n"
        f"import {module}\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(  # noqa: S603 - fixed interpreter and code
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, check=True, timeout=60, capture_output=True, text=True
    )
    names = json.loads(result.stdout)
    return [
        name
        for name in names
        if name == "django" or name.startswith("django.") or name.split(".")[0] in PROJECT_PACKAGES
    ]


@pytest.mark.parametrize(
    ("module", "allowed"),
    [
        ("common.finance", ("common",)),
        # "reconciliation" and "banking" alone are the packages' (empty) __init__ modules.
        ("reconciliation.engine", ("common", "reconciliation.engine")),
        ("banking.statements", ("common", "banking.statements")),
    ],
)
def test_pure_floors_import_only_the_kernel(module: str, allowed: tuple[str, ...]) -> None:
    packages = {module.split(".")[0]}
    outside = [
        name
        for name in loaded_by(module)
        if name not in packages and not any(name == p or name.startswith(f"{p}.") for p in allowed)
    ]
    assert not outside, outside
