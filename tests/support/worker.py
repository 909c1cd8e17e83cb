"""Run real queue workers (``manage.py procrastinate worker``) in subprocesses against the test database.

For the tests that exercise the queue end to end: they must commit their data
(``transaction=True`` or a live server), since a worker is another process on another connection.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .server import ROOT


@dataclass
class WorkerProcess:
    process: subprocess.Popen
    log_path: str
    name: str

    def log(self) -> str:
        return Path(self.log_path).read_text(errors="replace")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the worker (SIGKILL: no cleanup at all, as a crash or the OOM killer)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            self.process.wait(timeout=30)

    @property
    def alive(self) -> bool:
        return self.process.poll() is None


@dataclass
class WorkerPool:
    db_url: str
    extra_env: dict[str, str] = field(default_factory=dict)
    workers: list[WorkerProcess] = field(default_factory=list)

    def start(self, *, concurrency: int = 1, queues: str = "", name: str | None = None) -> WorkerProcess:
        """Start one worker process and wait until it has registered with the queue."""
        name = name or f"test-worker-{len(self.workers) + 1}"
        log = tempfile.NamedTemporaryFile(prefix=f"{name}-", suffix=".log", delete=False)  # noqa: SIM115
        env = dict(
            os.environ,
            DATABASE_URL=self.db_url,
            DJANGO_SETTINGS_MODULE="config.settings.test",
            JOBS_RUN_IN_PROCESS="false",
            # Fast stall detection and polling in tests (production: 5 s heartbeats, 30 s stall).
            JOBS_HEARTBEAT_SECONDS="1",
            JOBS_STALLED_WORKER_SECONDS="4",
            JOBS_POLL_SECONDS="0.5",
            LOG_LEVEL="INFO",
            QUEUE_LOG_LEVEL="INFO",  # "Starting worker" tells the fixture it runs
        )
        env.update(self.extra_env)
        process = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "jobs_worker",  # the production entry point: the worker under its restart loop
                "--name",
                name,
                "--concurrency",
                str(concurrency),
                "--queues",
                queues,
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        worker = WorkerProcess(process=process, log_path=log.name, name=name)
        log.close()
        self.workers.append(worker)
        deadline = time.monotonic() + 60
        while "Starting worker" not in worker.log():
            if not worker.alive or time.monotonic() > deadline:
                raise RuntimeError(f"worker {name} did not start:\n{worker.log()[-3000:]}")
            time.sleep(0.1)
        return worker

    def stop_all(self) -> None:
        for worker in self.workers:
            worker.kill(signal.SIGKILL)
        if os.environ.get("TEST_WORKER_LOG"):
            Path(os.environ["TEST_WORKER_LOG"]).write_text("\n".join(w.log() for w in self.workers))
        for worker in self.workers:
            os.unlink(worker.log_path)
        self.workers.clear()


@contextmanager
def worker_pool(db_url: str, extra_env: dict[str, str] | None = None) -> Iterator[WorkerPool]:
    pool = WorkerPool(db_url=db_url, extra_env=extra_env or {})
    try:
        yield pool
    finally:
        pool.stop_all()


def wait_for(predicate, *, timeout: float = 60, interval: float = 0.1, message: str = "condition"):  # noqa: ANN001, ANN201
    """Poll ``predicate()`` until it returns a truthy value (returned); fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        time.sleep(interval)
