"""An embedded Citus cluster for development and tests: a coordinator and two workers.

Each node is its own PostgreSQL 15 with ``shared_preload_libraries = 'citus'``, on its own
loopback port, under ``.pgdata/citus/{coordinator,worker1,worker2}/`` (the plain embedded cluster
in ``.pgdata/`` is untouched: both may run at once). The same logins as the plain cluster exist
on every node (``postgres``, ``recon_owner``) plus the tenant runtime role, which on Citus must
log in: the coordinator opens its connections to the workers as the *current* user, and inside
``tenant_context`` that is the runtime role. It stays NOSUPERUSER NOBYPASSRLS.

Credentials between the nodes: every server is started with ``PGPASSFILE`` pointing at a
``pgpass`` file (mode 0600, owned by the server's OS user) that holds the three logins'
passwords for ``127.0.0.1``. The coordinator's libpq reads it when it connects to a worker;
clients never see it. (Production does the same with a ``.pgpass`` in the postgres OS user's
home on every node, or Citus's ``pg_dist_authinfo``, or certificates: see the README.)

A database is made a Citus database on every node: created with the owner login, ``CREATE
EXTENSION citus`` as superuser, then the coordinator registers itself and the workers
(``citus_set_coordinator_host``, ``citus_add_node``). ``migrate`` then distributes the tables
(``tenants.citus``). Tests recreate their database the same way before Django migrates it.

Needs the Citus extension installed into PostgreSQL 15 (``../shared/citus/build.sh`` here; on
other machines Citus's own packages). Standard library only, like ``embedded_postgres``.

Usage: ``python -m devtools.embedded_postgres --citus {start|stop|status|url|superuser-url|psql}``
"""

from __future__ import annotations

import hashlib
import os
import pwd
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from devtools import embedded_postgres as pg

NODES = ("coordinator", "worker1", "worker2")
RUNTIME_ROLE = os.environ.get("TENANT_DB_ROLE", "recon_tenant")
# Shards per distributed table in this cluster: two per worker. Citus's default (32) suits
# production; a test run empties every shard of 13 tables after each test, so fewer is faster.
SHARD_COUNT = 4


@dataclass(frozen=True)
class CitusClusterInfo:
    ports: dict[str, int]
    owner_url: str
    superuser_url: str
    home: Path

    @property
    def coordinator_port(self) -> int:
        return self.ports["coordinator"]


def citus_home() -> Path:
    return Path(os.environ.get("EMBEDDED_CITUS_HOME", pg.DEFAULT_HOME / "citus"))


def citus_installed(bindir: Path) -> bool:
    """Whether the Citus extension is installed into these PostgreSQL binaries."""
    pg_config = bindir / "pg_config"
    libdir = Path("/usr/lib/postgresql") / bindir.parent.name / "lib"
    if pg_config.exists():
        result = subprocess.run([str(pg_config), "--pkglibdir"], capture_output=True, text=True, check=False)
        if result.returncode == 0:
            libdir = Path(result.stdout.strip())
    return (libdir / "citus.so").exists()


def _pick_ports(home: Path) -> dict[str, int]:
    """Three free loopback ports, stable per checkout (kept in ``ports`` once chosen)."""
    ports_file = home / "ports"
    if ports_file.exists():
        values = [int(value) for value in ports_file.read_text().split()]
        return dict(zip(NODES, values, strict=True))
    start = 55100 + int(hashlib.sha256(str(pg.PROJECT_ROOT).encode()).hexdigest(), 16) % 600
    chosen: list[int] = []
    for port in range(start, start + 300):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            if sock.connect_ex(("127.0.0.1", port)) != 0:
                chosen.append(port)
        if len(chosen) == len(NODES):
            ports_file.write_text(" ".join(map(str, chosen)) + "\n")
            return dict(zip(NODES, chosen, strict=True))
    raise pg.EmbeddedPostgresError("No three free loopback ports found for the embedded Citus cluster.")


def _write_pgpass(path: Path, user: pwd.struct_passwd | None, passwords: dict[str, str]) -> None:
    lines = [f"127.0.0.1:*:*:{role}:{password}" for role, password in passwords.items()]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    if user is not None:
        os.chown(path, user.pw_uid, user.pw_gid)


def _init_node(bindir: Path, data: Path, user: pwd.struct_passwd | None, port: int, password: str) -> None:
    data.mkdir(parents=True, exist_ok=True)
    pwfile = data.parent / ".initdb-pw"
    pwfile.write_text(password + "\n")
    if user is not None:
        for path in (data, pwfile):
            os.chown(path, user.pw_uid, user.pw_gid)
    data.chmod(0o700)
    result = pg._run(
        [
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            pg.SUPERUSER,
            "-E",
            "UTF8",
            "--no-locale",
            "--auth-local=scram-sha-256",
            "--auth-host=scram-sha-256",
            f"--pwfile={pwfile}",
        ],
        user,
        capture_output=True,
        text=True,
    )
    pwfile.unlink(missing_ok=True)
    if result.returncode != 0:
        raise pg.EmbeddedPostgresError(f"initdb failed:\n{result.stdout}\n{result.stderr}")
    with open(data / "postgresql.conf", "a", encoding="utf-8") as conf:
        conf.write(
            "\n# embedded Citus cluster node (devtools/embedded_citus.py)\n"
            f"port = {port}\n"
            "listen_addresses = '127.0.0.1'\n"
            "unix_socket_directories = ''\n"
            "shared_preload_libraries = 'citus'\n"
            # The coordinator opens connections to the workers per shard group in parallel.
            "max_connections = 300\n"
            "shared_buffers = 128MB\n"
            "temp_buffers = 256MB\n"
            f"citus.shard_count = {SHARD_COUNT}\n"
            # How a node reaches itself when Citus needs a connection to it (the pgpass file
            # knows the loopback address, not "localhost").
            "citus.local_hostname = '127.0.0.1'\n"
            # Counts single- and multi-shard executions (tests/test_citus.py reads them).
            "citus.enable_stat_counters = on\n"
            # Development and test data only, recreated at will (the Citus pass recreates its
            # database every run): trade crash durability for speed. With fsync on, emptying
            # the tables after each test (TRUNCATE of every shard) took many times longer.
            "fsync = off\n"
            "synchronous_commit = off\n"
            "full_page_writes = off\n"
        )


def _start_node(bindir: Path, data: Path, user: pwd.struct_passwd | None, pgpass: Path) -> None:
    log_file = data.parent / "postgresql.log"
    if user is not None and not log_file.exists():
        log_file.touch()
        os.chown(log_file, user.pw_uid, user.pw_gid)
    env = dict(os.environ, PGPASSFILE=str(pgpass))
    result = pg._run(
        [str(bindir / "pg_ctl"), "start", "-D", str(data), "-l", str(log_file), "-w", "-t", "60"],
        user,
        capture_output=True,
        text=True,
        env=env,
    )
    if result.returncode != 0:
        tail = log_file.read_text()[-2000:] if log_file.exists() else ""
        raise pg.EmbeddedPostgresError(f"pg_ctl start failed:\n{result.stderr}\n{tail}")


def _bootstrap_roles(bindir: Path, port: int, super_password: str, passwords: dict[str, str]) -> None:
    """The owner and the runtime role on one node (idempotent; roles are per node)."""
    owner, runtime = passwords[pg.OWNER_ROLE], passwords[RUNTIME_ROLE]
    statements = {
        pg.OWNER_ROLE: f"CREATE ROLE {pg.OWNER_ROLE} LOGIN CREATEDB CREATEROLE NOSUPERUSER NOBYPASSRLS "
        f"PASSWORD '{owner}'",
        RUNTIME_ROLE: f"CREATE ROLE {RUNTIME_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE "
        f"NOINHERIT PASSWORD '{runtime}'",
    }
    for role, create in statements.items():
        if not pg._psql(bindir, port, super_password, f"SELECT 1 FROM pg_roles WHERE rolname = '{role}'"):
            pg._psql(bindir, port, super_password, create)
    pg._psql(bindir, port, super_password, f"GRANT {RUNTIME_ROLE} TO {pg.OWNER_ROLE}")


def create_citus_database(info: CitusClusterInfo, name: str, *, fresh: bool = False) -> None:
    """Make ``name`` a Citus database on every node, owned by the owner login.

    ``fresh`` drops it first (tests start from an empty database every run).
    """
    bindir = pg.find_bindir()
    password = pg._secret(info.home, "superuser.password")
    exists = pg._psql(
        bindir, info.coordinator_port, password, f"SELECT 1 FROM pg_database WHERE datname = '{name}'"
    )
    if exists and not fresh:
        return
    for node in NODES:
        port = info.ports[node]
        pg._psql(bindir, port, password, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        pg._psql(bindir, port, password, f"CREATE DATABASE {name} OWNER {pg.OWNER_ROLE}")
        pg._psql(bindir, port, password, "CREATE EXTENSION citus", database=name)
    coordinator = info.coordinator_port
    pg._psql(
        bindir, coordinator, password, f"SELECT citus_set_coordinator_host('127.0.0.1', {coordinator})", name
    )
    for node in NODES[1:]:
        pg._psql(
            bindir, coordinator, password, f"SELECT citus_add_node('127.0.0.1', {info.ports[node]})", name
        )


def ensure_citus_cluster(verbose: bool = False) -> CitusClusterInfo:
    """Create (first time) and start (if stopped) the three nodes; return the coordinator's URLs."""
    home = citus_home()
    home.mkdir(parents=True, exist_ok=True)
    bindir = pg.find_bindir()
    if not citus_installed(bindir):
        raise pg.EmbeddedPostgresError(
            f"The Citus extension is not installed into the PostgreSQL of {bindir} (no citus.so).\n"
            "Here: ../shared/citus/build.sh (builds it from source, about 5 minutes); elsewhere "
            "install Citus from its own packages."
        )
    user = pg._server_user()
    if user is not None:
        os.chown(home, user.pw_uid, user.pw_gid)
    ports = _pick_ports(home)
    super_password = pg._secret(home, "superuser.password")
    passwords = {
        pg.SUPERUSER: super_password,
        pg.OWNER_ROLE: pg._secret(home, "owner.password"),
        RUNTIME_ROLE: pg._secret(home, "runtime.password"),
    }

    def say(message: str) -> None:
        if verbose:
            print(f"[embedded-citus] {message}", file=sys.stderr)

    for node in NODES:
        node_home = home / node
        node_home.mkdir(exist_ok=True)
        data = pg._data_dir(node_home, user)
        pgpass = data.parent / "pgpass"
        _write_pgpass(pgpass, user, passwords)
        if not (data / "PG_VERSION").exists():
            say(f"initialising the {node} in {data}")
            _init_node(bindir, data, user, ports[node], super_password)
        if not pg._is_running(bindir, data, user):
            say(f"starting the {node} on 127.0.0.1:{ports[node]}")
            _start_node(bindir, data, user, pgpass)
        pg._wait_ready(bindir, ports[node], super_password)
        _bootstrap_roles(bindir, ports[node], super_password, passwords)
    coordinator = ports["coordinator"]
    info = CitusClusterInfo(
        ports=ports,
        owner_url=f"postgres://{pg.OWNER_ROLE}:{passwords[pg.OWNER_ROLE]}@127.0.0.1:{coordinator}/{pg.DATABASE_NAME}",
        superuser_url=f"postgres://{pg.SUPERUSER}:{super_password}@127.0.0.1:{coordinator}/{pg.DATABASE_NAME}",
        home=home,
    )
    create_citus_database(info, pg.DATABASE_NAME)
    return info


def stop_citus_cluster() -> None:
    """Stop the three nodes if they run."""
    home = citus_home()
    bindir = pg.find_bindir()
    user = pg._server_user()
    for node in reversed(NODES):
        pointer = home / node / "data-location"
        if not pointer.exists():
            continue
        data = Path(pointer.read_text().strip())
        if pg._is_running(bindir, data, user):
            pg._run([str(bindir / "pg_ctl"), "stop", "-D", str(data), "-m", "fast", "-w"], user)


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "start"
    try:
        if command == "stop":
            stop_citus_cluster()
            return 0
        info = ensure_citus_cluster(verbose=command in ("start", "status"))
        if command in ("start", "status"):
            nodes = ", ".join(f"{node} 127.0.0.1:{port}" for node, port in info.ports.items())
            print(f"embedded Citus cluster running: {nodes} (data: {info.home})")
        elif command == "url":
            print(info.owner_url)
        elif command == "superuser-url":
            print(info.superuser_url)
        elif command == "test-database" and len(argv) > 2:
            create_citus_database(info, argv[2], fresh=True)
        elif command == "psql":
            os.execv(str(pg.find_bindir() / "psql"), ["psql", info.owner_url, *argv[2:]])  # noqa: S606
        else:
            print(__doc__)
            return 2
    except pg.EmbeddedPostgresError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0
