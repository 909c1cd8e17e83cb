"""The embedded PostgreSQL helper: a clear message when no binaries exist."""

from __future__ import annotations

from pathlib import Path

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


# --- a throwaway cluster of its own (never the one this checkout runs on) -------------------


@pytest.fixture(scope="module")
def throwaway_cluster(tmp_path_factory):
    """A second embedded cluster in a temporary home, stopped and removed afterwards."""
    import os
    import shutil

    from tests.support.server import free_port

    home = tmp_path_factory.mktemp("pg-home")
    saved = {name: os.environ.get(name) for name in ("EMBEDDED_PG_HOME", "EMBEDDED_PG_PORT")}
    os.environ["EMBEDDED_PG_HOME"] = str(home)
    os.environ["EMBEDDED_PG_PORT"] = str(free_port())
    data_location = home / "data-location"
    try:
        yield embedded_postgres.ensure_cluster()
    finally:
        embedded_postgres.stop_cluster()
        if data_location.exists():  # the cluster may live outside the home (see _data_dir)
            shutil.rmtree(Path(data_location.read_text().strip()).parent, ignore_errors=True)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def durability(cluster) -> dict[str, str]:
    import psycopg

    with psycopg.connect(cluster.superuser_url, connect_timeout=10) as conn:
        rows = conn.execute(
            "SELECT name, setting FROM pg_settings "
            "WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes')"
        ).fetchall()
    return dict(rows)


DURABLE = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}


def test_a_new_cluster_is_durable(throwaway_cluster):
    assert durability(throwaway_cluster) == DURABLE


def test_a_cluster_made_fast_and_unsafe_before_is_made_durable_on_start(throwaway_cluster):
    """Clusters created before kept fsync, synchronous_commit and full_page_writes off."""
    data = Path((throwaway_cluster.home / "data-location").read_text().strip())
    embedded_postgres.stop_cluster()
    with open(data / "postgresql.conf", "a", encoding="utf-8") as conf:
        conf.writelines(embedded_postgres._UNSAFE_LINES)
    assert "fsync = off" in (data / "postgresql.conf").read_text()
    cluster = embedded_postgres.ensure_cluster()
    assert durability(cluster) == DURABLE
    assert "fsync = off" not in (data / "postgresql.conf").read_text()


def test_status_reports_without_starting_anything(throwaway_cluster, capsys):
    assert embedded_postgres.main(["embedded_postgres", "status"]) == 0
    assert f"running on 127.0.0.1:{throwaway_cluster.port}" in capsys.readouterr().out
    embedded_postgres.stop_cluster()
    assert embedded_postgres.main(["embedded_postgres", "status"]) == 3
    assert "stopped" in capsys.readouterr().out
    assert embedded_postgres.cluster_state().running is False  # still stopped
    embedded_postgres.ensure_cluster()  # as the other tests found it


def test_the_test_database_alone_gives_up_synchronous_commits(db):
    """Only the throwaway test database trades durability for speed (tests/conftest.py)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "off"
        cursor.execute(
            "SELECT d.datname, s.setconfig FROM pg_db_role_setting s "
            "JOIN pg_database d ON d.oid = s.setdatabase WHERE s.setrole = 0"
        )
        overrides = dict(cursor.fetchall())
    test_database = connection.settings_dict["NAME"]
    assert overrides[test_database] == ["synchronous_commit=off"]
    for name, config in overrides.items():
        assert name == test_database or not any(c.startswith("synchronous_commit") for c in config), name
