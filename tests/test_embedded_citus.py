"""The embedded Citus cluster's helpers: a clear message without Citus, three stable ports, and
node credentials only the server can read. (The cluster itself runs the Citus pass.)"""

from __future__ import annotations

import stat

import pytest

from devtools import embedded_citus, embedded_postgres


def test_without_citus_the_message_says_how_to_get_it(monkeypatch, tmp_path):
    monkeypatch.setenv("EMBEDDED_CITUS_HOME", str(tmp_path))
    monkeypatch.setattr(embedded_citus, "citus_installed", lambda bindir: False)
    with pytest.raises(embedded_postgres.EmbeddedPostgresError) as error:
        embedded_citus.ensure_citus_cluster()
    assert "build.sh" in str(error.value) and "Citus" in str(error.value)


def test_three_distinct_ports_kept_for_the_checkout(tmp_path):
    first = embedded_citus._pick_ports(tmp_path)
    assert list(first) == ["coordinator", "worker1", "worker2"]
    assert len(set(first.values())) == 3
    assert embedded_citus._pick_ports(tmp_path) == first


def test_the_pgpass_file_is_private_and_names_each_login(tmp_path):
    path = tmp_path / "pgpass"
    embedded_citus._write_pgpass(path, None, {"postgres": "a", "recon_owner": "b", "recon_tenant": "c"})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # libpq ignores a file others can read
    assert path.read_text().splitlines() == [
        "127.0.0.1:*:*:postgres:a",
        "127.0.0.1:*:*:recon_owner:b",
        "127.0.0.1:*:*:recon_tenant:c",
    ]
