"""The statement package must stay importable and usable without Django."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import banking.statements

PACKAGE = Path(banking.statements.__file__).resolve().parent
PROJECT_ROOT = PACKAGE.parents[1]


def test_no_django_import_in_source() -> None:
    for path in PACKAGE.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "import django" not in text and "from django" not in text, path.name


def test_import_does_not_load_django() -> None:
    code = (
        "import sys, banking.statements\n"
        "loaded = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run(  # noqa: S603 - fixed interpreter and code
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, check=True, timeout=60
    )
