"""Floors (DESIGN.md): the matching engine and the statement parsers import the financial kernel
and nothing else of the project, and no Django; ``common`` (the kernel among it) imports nothing
of the project; the HTTP plumbing (``api``) and the tenancy core point at each other one way only."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PROJECT_PACKAGES = (
    "api",
    "banking",
    "common",
    "config",
    "devtools",
    "invoices",
    "jobs",
    "reconciliation",
    "remittances",
    "tenants",
)


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
        ("common.errors", ("common",)),
        ("common.ids", ("common",)),
        ("common.limits", ("common",)),
        ("common.memory", ("common",)),
        ("common.progress", ("common",)),
        # "reconciliation" and "banking" alone are the packages' (empty) __init__ modules.
        ("reconciliation.engine", ("common", "reconciliation.engine")),
        ("banking.statements", ("common", "banking.statements")),
        ("remittances.parsing", ("common", "remittances.parsing")),
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


def imported_modules(path: Path) -> set[str]:
    """The absolute module names ``path`` imports (relative imports resolved), read from its source."""
    package = ".".join(path.relative_to(PROJECT_ROOT).with_suffix("").parts[:-1])
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _imports_from(path: Path, packages: tuple[str, ...]) -> list[str]:
    return sorted(
        name
        for name in imported_modules(path)
        if any(name == package or name.startswith(f"{package}.") for package in packages)
    )


def test_api_plumbing_imports_no_app_above_tenancy() -> None:
    """``api`` serves every app the same way: it may use the tenancy core, never a ledger or a run."""
    offenders = {
        str(path.relative_to(PROJECT_ROOT)): found
        for path in sorted((PROJECT_ROOT / "api").rglob("*.py"))
        if (found := _imports_from(path, ("banking", "config", "invoices", "jobs", "reconciliation")))
    }
    assert not offenders, offenders


@pytest.mark.parametrize(
    "module", ["authentication", "context", "models", "rls", "selectors", "services", "statistics"]
)
def test_tenancy_core_does_not_import_the_http_plumbing(module: str) -> None:
    """Only tenants' HTTP faces (apis, middleware) use ``api``; the core below them does not."""
    assert not _imports_from(PROJECT_ROOT / "tenants" / f"{module}.py", ("api",))


LEDGER_AND_GROUND_APPS = ("banking", "events", "invoices", "jobs", "remittances", "tenants")


@pytest.mark.parametrize("app", LEDGER_AND_GROUND_APPS)
def test_apps_below_reconciliation_do_not_import_it(app: str) -> None:
    """Arrows point down: reconciliation composes the apps (its GraphQL schema among them), never
    the reverse. Only its pure engine, a floor of its own, may be used below (the remittance
    selectors hand open advices to it as ``AdviceInput``)."""
    offenders = {
        str(path.relative_to(PROJECT_ROOT)): found
        for path in sorted((PROJECT_ROOT / app).rglob("*.py"))
        if (
            found := [
                name
                for name in _imports_from(path, ("reconciliation",))
                if not (name == "reconciliation.engine" or name.startswith("reconciliation.engine."))
            ]
        )
    }
    assert not offenders, offenders


@pytest.mark.parametrize("app", LEDGER_AND_GROUND_APPS)
def test_each_apps_graphql_schema_is_importable_alone(app: str) -> None:
    """An app's ``schema.py`` stands on ``api.graphql`` and its own app: importing it loads no
    reconciliation module (the one schema is composed above it)."""
    if not (PROJECT_ROOT / app / "schema.py").exists():
        pytest.skip(f"{app} has no GraphQL schema")
    code = (
        "import django, json, os, sys\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings.test')\n"
        "django.setup()\n"
        "before = set(sys.modules)\n"
        f"import {app}.schema\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
    )
    result = subprocess.run(  # noqa: S603 - fixed interpreter and code
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, check=True, timeout=60, capture_output=True, text=True
    )
    loaded = json.loads(result.stdout)
    assert [name for name in loaded if name.split(".")[0] == "reconciliation"] == [], loaded


def test_the_workbench_reads_through_selectors() -> None:
    """Thin views: the workbench formats and links; its lists and figures are selectors' reads
    (it built its own querysets, a second home for what the ledgers' selectors answer)."""
    path = PROJECT_ROOT / "reconciliation" / "workbench.py"
    source = path.read_text(encoding="utf-8")
    assert not _imports_from(path, ("django.db",)), "the workbench builds queries"
    assert ".objects" not in source, "the workbench reads a manager itself"


@pytest.mark.parametrize(
    "path",
    [
        "reconciliation/workbench.py",
        "reconciliation/management/commands/reconcile.py",
        "reconciliation/static/reconciliation/workbench.js",
        "reconciliation/static/reconciliation/backoffice.css",
        "templates/reconciliation/workbench.html",
    ],
)
def test_an_undecided_engine_output_is_called_a_proposal(path: str) -> None:
    """One name across engine, services, GraphQL and workbench: a *proposal* (the engine's
    *candidates* are the pairs that pass its blockers). "candidates" remains only in the REST
    and GraphQL fields clients read and in stored job results (``services.presenters``)."""
    assert "candidate" not in (PROJECT_ROOT / path).read_text(encoding="utf-8").lower()
