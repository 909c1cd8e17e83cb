"""The embedded PostgreSQL helper: a clear message when no binaries exist."""

from __future__ import annotations

import pytest

from devtools import embedded_postgres


def test_missing_binaries_give_an_actionable_message(monkeypatch, tmp_path):
    monkeypatch.setenv("PG_BINDIR", str(tmp_path))
    monkeypatch.setattr(embedded_postgres.shutil, "which", lambda name: None)
    monkeypatch.setattr(embedded_postgres.glob, "glob", lambda pattern: [])
    with pytest.raises(embedded_postgres.EmbeddedPostgresError) as error:
        embedded_postgres.find_bindir()
    message = str(error.value)
    assert "postgresql" in message.lower()
    assert "DATABASE_URL" in message


def test_binaries_are_found_on_this_machine():
    bindir = embedded_postgres.find_bindir()
    assert (bindir / "initdb").exists() and (bindir / "pg_ctl").exists()
