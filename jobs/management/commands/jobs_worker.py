"""``manage.py jobs_worker [worker options]``: a queue worker that comes back after a database outage.

Procrastinate stops a worker whose database connection is lost (by design: it expects a
supervisor to start it again, procrastinate#1116). This command is that supervisor, so a worker
recovers without manual action wherever it runs (``./dev run``, docker-compose, a VM): it runs
``manage.py procrastinate worker`` with the options given, and when that process ends without
being told to (after a lost connection it exits by itself, status 0 or not) it starts it again
after a pause (1 s, doubling up to 30 s; back to 1 s after a run of a minute or more). SIGTERM
or SIGINT is passed on to the worker (which finishes or aborts its jobs as Procrastinate does)
and ends the loop. Any options after the command name go to the worker,
e.g. ``manage.py jobs_worker --concurrency 2 --queues tenant``.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

MIN_PAUSE, MAX_PAUSE, HEALTHY_RUN = 1.0, 30.0, 60.0
MANAGE_PY = Path(__file__).resolve().parents[3] / "manage.py"


class Command(BaseCommand):
    help = "Run a queue worker and start it again when it stops on an error (database outage)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("worker_args", nargs="*", help="options for `procrastinate worker`")

    def run_from_argv(self, argv: list[str]) -> None:
        # Everything after the command name belongs to the worker, options included.
        self.execute(worker_args=argv[2:], verbosity=1, no_color=False, force_color=False, skip_checks=True)

    def handle(self, *args: Any, worker_args: list[str], **options: Any) -> None:
        stopping = False
        child: subprocess.Popen[bytes] | None = None

        def forward(signum: int, frame: FrameType | None) -> None:
            nonlocal stopping
            stopping = True
            if child is not None and child.poll() is None:
                child.send_signal(signum)

        signal.signal(signal.SIGTERM, forward)
        signal.signal(signal.SIGINT, forward)
        pause = MIN_PAUSE
        while not stopping:
            started = time.monotonic()
            command = [sys.executable, str(MANAGE_PY), "procrastinate", "worker", *worker_args]
            child = subprocess.Popen(command)  # noqa: S603
            code = child.wait()
            if stopping:
                break
            # A worker runs until told to stop: ending by itself (Procrastinate exits 0 after a
            # lost connection too) means it must be started again.
            pause = MIN_PAUSE if time.monotonic() - started >= HEALTHY_RUN else min(pause * 2, MAX_PAUSE)
            self.stderr.write(f"queue worker stopped (exit {code}); starting it again in {pause:.0f} s")
            deadline = time.monotonic() + pause
            while not stopping and time.monotonic() < deadline:
                time.sleep(0.1)
