"""Run the app under gunicorn in a subprocess (for fault tests that kill or starve it)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url(settings: dict, *, application_name: str = "") -> str:
    url = (
        f"postgres://{settings['USER']}:{settings['PASSWORD']}@{settings['HOST']}:{settings['PORT']}"
        f"/{settings['NAME']}"
    )
    return f"{url}?application_name={application_name}" if application_name else url


@contextmanager
def gunicorn_server(
    db_url: str,
    *,
    workers: int = 1,
    settings_module: str = "config.settings.test",
    extra_env: dict[str, str] | None = None,
) -> Iterator[tuple[str, subprocess.Popen]]:
    """Yield (base url, process) of a gunicorn serving the app on a free loopback port."""
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="gunicorn-", suffix=".log", delete=False)  # noqa: SIM115
    env = dict(os.environ, DATABASE_URL=db_url, DJANGO_SETTINGS_MODULE=settings_module, DEBUG="false")
    env.update(extra_env or {})
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--timeout",
            "120",
            "--graceful-timeout",
            "1",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=10).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start: {Path(log.name).read_text()[-2000:]}")
            time.sleep(0.2)
        yield base, process
    finally:
        kill_tree(process)
        log.close()
        if os.environ.get("TEST_SERVER_LOG"):
            Path(os.environ["TEST_SERVER_LOG"]).write_text(Path(log.name).read_text())
        os.unlink(log.name)


def kill_tree(process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """Signal gunicorn's whole process group (master and workers)."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
        process.wait(timeout=30)
