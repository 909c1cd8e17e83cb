"""Embedded PostgreSQL for development and tests.

When ``DATABASE_URL`` is not set, the project runs its own PostgreSQL cluster in the git-ignored
``.pgdata/`` folder of the checkout, on its own loopback port, with the machine's PostgreSQL
binaries. It is started once and reused by later commands.

Two logins are created:

* ``postgres`` - the cluster superuser, only used here to bootstrap and by tests that prove
  isolation holds even for a superuser login;
* ``recon_owner`` - the application's *owner* role (LOGIN, CREATEDB, CREATEROLE, not superuser):
  it owns the tables, runs migrations and serves requests, switching to the NOLOGIN tenant
  runtime role inside every tenant transaction.

PostgreSQL refuses to run as root, so when this runs as root the server runs as an unprivileged
OS user (``postgres`` if it exists, else a system user ``pgembed`` created for the purpose).

Standard library only: this module runs before the virtualenv exists.

Durability is PostgreSQL's default (fsync and synchronous commits on): the cluster holds a
developer's data. The test suite turns synchronous commits off for its own throwaway databases
only (tests/conftest.py).

Usage: ``python -m devtools.embedded_postgres [--citus] {start|stop|status|url|superuser-url|psql}``
(``--citus``: the coordinator and two workers of ``devtools/embedded_citus.py``).
"""

from __future__ import annotations

import glob
import hashlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_HOME = PROJECT_ROOT / ".pgdata"
OWNER_ROLE = "recon_owner"
DATABASE_NAME = "recon"
SUPERUSER = "postgres"
REQUIRED_BINARIES = ("initdb", "pg_ctl", "postgres", "psql")


class EmbeddedPostgresError(RuntimeError):
    """Raised with a message a developer can act on."""


@dataclass(frozen=True)
class ClusterInfo:
    port: int
    owner_url: str
    superuser_url: str
    home: Path


def find_bindir() -> Path:
    """Locate the PostgreSQL server binaries: $PG_BINDIR, PATH, pg_config, /usr/lib/postgresql."""
    candidates: list[Path] = []
    if os.environ.get("PG_BINDIR"):
        candidates.append(Path(os.environ["PG_BINDIR"]))
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(os.path.realpath(on_path)).parent)
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True
            ).stdout.strip()
            candidates.append(Path(out))
        except (OSError, subprocess.CalledProcessError):
            pass

    def version_key(path: str) -> float:
        try:
            return float(Path(path).parent.name)
        except ValueError:
            return 0.0

    for found in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version_key, reverse=True):
        candidates.append(Path(found))
    for bindir in candidates:
        if all((bindir / name).exists() for name in REQUIRED_BINARIES):
            return bindir
    raise EmbeddedPostgresError(
        "No PostgreSQL server binaries found (looked for initdb, pg_ctl, postgres, psql on PATH, "
        "via pg_config --bindir and under /usr/lib/postgresql/*/bin).\n"
        "Install them, e.g. on Debian/Ubuntu: apt-get install postgresql-15 "
        "(or set PG_BINDIR to their folder),\n"
        "or point the project at an existing database: export "
        "DATABASE_URL=postgres://USER:PASSWORD@HOST:5432/DBNAME"
    )


def _server_user() -> pwd.struct_passwd | None:
    """The OS user that runs the server: None when we are not root (run as ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "pgembed"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "pgembed"],
        check=True,
    )
    return pwd.getpwnam("pgembed")


def _can_use(user: pwd.struct_passwd | None, path: Path) -> bool:
    if user is None:
        return True
    probe = subprocess.run(
        ["test", "-w", str(path), "-a", "-x", str(path)],
        user=user.pw_uid,
        group=user.pw_gid,
        check=False,
    )
    return probe.returncode == 0


def _home() -> Path:
    return Path(os.environ.get("EMBEDDED_PG_HOME", DEFAULT_HOME))


def _run(args: list[str], user: pwd.struct_passwd | None, **kwargs) -> subprocess.CompletedProcess:
    if user is not None:
        kwargs.update(user=user.pw_uid, group=user.pw_gid, extra_groups=[])
        env = dict(kwargs.pop("env", os.environ))
        env["HOME"] = user.pw_dir if os.path.isdir(user.pw_dir) else "/tmp"  # noqa: S108
        kwargs["env"] = env
    return subprocess.run(args, check=False, **kwargs)  # noqa: S603


def _pick_port(home: Path) -> int:
    """A stable per-checkout port (so two checkouts do not collide), first free one wins."""
    port_file = home / "port"
    if port_file.exists():
        return int(port_file.read_text().strip())
    if os.environ.get("EMBEDDED_PG_PORT"):
        port_file.write_text(os.environ["EMBEDDED_PG_PORT"] + "\n")
        return int(os.environ["EMBEDDED_PG_PORT"])
    start = 54320 + int(hashlib.sha256(str(PROJECT_ROOT).encode()).hexdigest(), 16) % 500
    for port in range(start, start + 200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            if sock.connect_ex(("127.0.0.1", port)) != 0:
                port_file.write_text(f"{port}\n")
                return port
    raise EmbeddedPostgresError("No free loopback port found for the embedded PostgreSQL.")


def _secret(home: Path, name: str) -> str:
    path = home / name
    if not path.exists():
        path.write_text(secrets.token_urlsafe(24))
        path.chmod(0o600)
    return path.read_text().strip()


def _data_dir(home: Path, user: pwd.struct_passwd | None) -> Path:
    """The cluster lives in the checkout unless the server user cannot reach it there."""
    data = home / "data"
    pointer = home / "data-location"
    if pointer.exists():
        return Path(pointer.read_text().strip())
    if user is not None:
        os.chown(home, user.pw_uid, user.pw_gid)
    if _can_use(user, home):
        pointer.write_text(str(data))
        return data
    # The unprivileged server user cannot traverse the checkout's parents (e.g. a 0700 home):
    # keep the cluster in a private folder under /tmp keyed by this home folder instead.
    key = hashlib.sha256(str(home.resolve()).encode()).hexdigest()[:12]
    fallback = Path("/tmp") / f"recon-pgembed-{key}"  # noqa: S108
    fallback.mkdir(mode=0o700, exist_ok=True)
    if user is not None:
        os.chown(fallback, user.pw_uid, user.pw_gid)
    pointer.write_text(str(fallback / "data"))
    return fallback / "data"


def _is_running(bindir: Path, data: Path, user: pwd.struct_passwd | None) -> bool:
    if not (data / "PG_VERSION").exists():
        return False
    result = _run([str(bindir / "pg_ctl"), "status", "-D", str(data)], user, capture_output=True)
    return result.returncode == 0


def _psql(bindir: Path, port: int, password: str, sql: str, database: str = "postgres") -> str:
    env = dict(os.environ, PGPASSWORD=password, PGCONNECT_TIMEOUT="10")
    result = subprocess.run(  # noqa: S603
        [
            str(bindir / "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            SUPERUSER,
            "-d",
            database,
            "-v",
            "ON_ERROR_STOP=1",
            "-qAtX",
            "-c",
            sql,
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if result.returncode != 0:
        raise EmbeddedPostgresError(f"psql failed: {result.stderr.strip()}")
    return result.stdout.strip()


def _wait_ready(bindir: Path, port: int, password: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            _psql(bindir, port, password, "SELECT 1")
            return
        except EmbeddedPostgresError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def ensure_cluster(verbose: bool = False) -> ClusterInfo:
    """Create (first time) and start (if stopped) the embedded cluster; return its URLs."""
    home = _home()
    home.mkdir(parents=True, exist_ok=True)
    bindir = find_bindir()
    user = _server_user()
    data = _data_dir(home, user)
    port = _pick_port(home)
    super_password = _secret(home, "superuser.password")
    owner_password = _secret(home, "owner.password")
    log_file = data.parent / "postgresql.log"

    def say(message: str) -> None:
        if verbose:
            print(f"[embedded-postgres] {message}", file=sys.stderr)

    if not (data / "PG_VERSION").exists():
        say(f"initialising a new cluster in {data} (binaries: {bindir})")
        data.mkdir(parents=True, exist_ok=True)
        pwfile = data.parent / ".initdb-pw"
        pwfile.write_text(super_password + "\n")
        if user is not None:
            for path in (data, pwfile):
                os.chown(path, user.pw_uid, user.pw_gid)
        data.chmod(0o700)
        result = _run(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                SUPERUSER,
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
            raise EmbeddedPostgresError(f"initdb failed:\n{result.stdout}\n{result.stderr}")
        with open(data / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(
                "\n# embedded development cluster (devtools/embedded_postgres.py)\n"
                f"port = {port}\n"
                "listen_addresses = '127.0.0.1'\n"
                "unix_socket_directories = ''\n"
                "max_connections = 200\n"
                "shared_buffers = 256MB\n"
                # Per-session ceiling for temporary tables' buffers (taken only when used): a
                # large reconciliation run stages far more than the default 8MB, which spills to files.
                "temp_buffers = 256MB\n"
                # Durability stays PostgreSQL's default (fsync, synchronous_commit and
                # full_page_writes on): this cluster holds a developer's data. Only the test
                # suite's throwaway databases turn synchronous_commit off (tests/conftest.py).
            )
    if not _is_running(bindir, data, user):
        say(f"starting PostgreSQL on 127.0.0.1:{port}")
        if user is not None and not log_file.exists():
            log_file.touch()
            os.chown(log_file, user.pw_uid, user.pw_gid)
        result = _run(
            [str(bindir / "pg_ctl"), "start", "-D", str(data), "-l", str(log_file), "-w", "-t", "60"],
            user,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            tail = log_file.read_text()[-2000:] if log_file.exists() else ""
            raise EmbeddedPostgresError(f"pg_ctl start failed:\n{result.stderr}\n{tail}")
    _wait_ready(bindir, port, super_password)
    _make_durable(bindir, data, port, super_password, user, say)
    _bootstrap_roles(bindir, port, super_password, owner_password)
    return ClusterInfo(
        port=port,
        owner_url=f"postgres://{OWNER_ROLE}:{owner_password}@127.0.0.1:{port}/{DATABASE_NAME}",
        superuser_url=f"postgres://{SUPERUSER}:{super_password}@127.0.0.1:{port}/{DATABASE_NAME}",
        home=home,
    )


# What clusters created before durability was kept appended to postgresql.conf.
_UNSAFE_LINES = (
    "# Development and test data only: trade crash durability for speed.\n",
    "fsync = off\n",
    "synchronous_commit = off\n",
    "full_page_writes = off\n",
)


def _make_durable(
    bindir: Path,
    data: Path,
    port: int,
    password: str,
    user: pwd.struct_passwd | None,
    say: Callable[[str], None],
) -> None:
    """Turn durability back on in a cluster created when it was switched off for speed.

    Only the lines this module once wrote are removed (a setting a developer chose elsewhere
    stays). After the reload, every file of the cluster is flushed to disk once (``initdb
    --sync-only``, as PostgreSQL's documentation asks after fsync was off), then the cluster is
    as safe as a fresh one.
    """
    conf = data / "postgresql.conf"
    text = conf.read_text(encoding="utf-8")
    if not any(line in text for line in _UNSAFE_LINES[1:]):
        return
    for line in _UNSAFE_LINES:
        text = text.replace(line, "")
    conf.write_text(text, encoding="utf-8")
    _psql(bindir, port, password, "SELECT pg_reload_conf()")
    deadline = time.monotonic() + 10
    while _psql(bindir, port, password, "SHOW fsync") != "on" and time.monotonic() < deadline:
        time.sleep(0.1)  # the reload is asynchronous
    _run([str(bindir / "initdb"), "--sync-only", "-D", str(data)], user, capture_output=True)
    say("durability switched back on (fsync, synchronous_commit, full_page_writes) and data flushed")


def _bootstrap_roles(bindir: Path, port: int, super_password: str, owner_password: str) -> None:
    """Create the owner login and its database once (idempotent)."""
    exists = _psql(bindir, port, super_password, f"SELECT 1 FROM pg_roles WHERE rolname = '{OWNER_ROLE}'")
    if not exists:
        _psql(
            bindir,
            port,
            super_password,
            f"CREATE ROLE {OWNER_ROLE} LOGIN CREATEDB CREATEROLE NOSUPERUSER NOBYPASSRLS "
            f"PASSWORD '{owner_password}'",
        )
    has_db = _psql(
        bindir, port, super_password, f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}'"
    )
    if not has_db:
        _psql(bindir, port, super_password, f"CREATE DATABASE {DATABASE_NAME} OWNER {OWNER_ROLE}")


@dataclass(frozen=True)
class ClusterState:
    created: bool
    running: bool
    port: int | None
    home: Path


def cluster_state() -> ClusterState:
    """Whether the embedded cluster exists and runs, found without creating or starting it."""
    home = _home()
    pointer = home / "data-location"
    port_file = home / "port"
    port = int(port_file.read_text().strip()) if port_file.exists() else None
    if not pointer.exists():
        return ClusterState(created=False, running=False, port=port, home=home)
    data = Path(pointer.read_text().strip())
    if not (data / "PG_VERSION").exists():
        return ClusterState(created=False, running=False, port=port, home=home)
    running = _is_running(find_bindir(), data, _server_user())
    return ClusterState(created=True, running=running, port=port, home=home)


def _report_status() -> int:
    """``status``: one line, exit 0 when running and 3 otherwise (as ``pg_ctl status``)."""
    state = cluster_state()
    if state.running:
        print(f"embedded PostgreSQL running on 127.0.0.1:{state.port} (data: {state.home})")
        return 0
    if state.created:
        print(f"embedded PostgreSQL is stopped (data: {state.home}); ./dev db start starts it")
    else:
        print(f"no embedded PostgreSQL in {state.home} yet; ./dev db start (or ./dev run) creates it")
    return 3


def stop_cluster() -> None:
    """Stop the embedded cluster if it runs."""
    home = _home()
    bindir = find_bindir()
    user = _server_user()
    pointer = home / "data-location"
    if not pointer.exists():
        return
    data = Path(pointer.read_text().strip())
    if _is_running(bindir, data, user):
        _run([str(bindir / "pg_ctl"), "stop", "-D", str(data), "-m", "fast", "-w"], user)


def main(argv: list[str]) -> int:
    if "--citus" in argv:  # the three-node Citus cluster instead (devtools/embedded_citus.py)
        from devtools import embedded_citus

        return embedded_citus.main([arg for arg in argv if arg != "--citus"])
    command = argv[1] if len(argv) > 1 else "start"
    try:
        if command == "stop":
            stop_cluster()
            return 0
        if command == "status":
            return _report_status()
        info = ensure_cluster(verbose=command == "start")
        if command == "start":
            print(f"embedded PostgreSQL running on 127.0.0.1:{info.port} (data: {info.home})")
        elif command == "url":
            print(info.owner_url)
        elif command == "superuser-url":
            print(info.superuser_url)
        elif command == "psql":
            bindir = find_bindir()
            os.execv(str(bindir / "psql"), ["psql", info.owner_url, *argv[2:]])  # noqa: S606
        else:
            print(__doc__)
            return 2
    except EmbeddedPostgresError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
