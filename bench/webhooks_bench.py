"""Webhooks on a large run: the run started from the API, run by a worker, every event delivered signed.

    .venv/bin/python bench/webhooks_bench.py [--size 100000] [--seed 1] [--in-process]

A fresh tenant registers an endpoint for every event type on a local receiver (loopback: the
development settings allow private networks) and loads the generated book of ``--size`` invoices
and about as many transactions through the import service (``import.completed``; the tenant's
automatic run is off, so the bench starts the run itself). Then, as the issue's "done when"
says: gunicorn serves the API and one queue worker runs (``manage.py jobs_worker``, concurrency
4); ``POST reconcile`` with ``Prefer: respond-async`` answers 202 at once, the job's progress is
followed through its ``Location`` until the run is done, and the bench waits until every
delivery is finished: it prints the time to deliver them, the bytes received, the events by type
and whether every request verified with the endpoint's secret (``standardwebhooks``).

``--in-process`` runs ``reconciliation.services.reconcile`` in this process instead (what the
worker calls) to print what recording the run's events costs, then delivers them the same way.
Figures only, no assertions.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._setup import ROOT, bench_tenant, python_speed_ms, setup_django  # noqa: E402

DELIVERY_LIMIT_SECONDS = 600


def _database_url() -> str:
    from django.db import connection

    settings = connection.settings_dict
    return (
        f"postgres://{settings['USER']}:{settings['PASSWORD']}@{settings['HOST']}:{settings['PORT']}/"
        f"{settings['NAME']}"
    )


def _start_worker(database_url: str, queues: str) -> subprocess.Popen:
    """One queue worker (the production entry point), quiet."""
    return subprocess.Popen(  # noqa: S603 - this interpreter, this project
        [sys.executable, "manage.py", "jobs_worker", "--name", "webhooks-bench", "--concurrency", "4",
         "--queues", queues],
        cwd=ROOT,
        env=dict(os.environ, DATABASE_URL=database_url, QUEUE_LOG_LEVEL="WARNING"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip


def _stop(process: subprocess.Popen) -> None:
    import signal

    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=90)


def _wait_for_deliveries(tenant_id) -> tuple[int, int, float]:  # noqa: ANN001
    """(deliveries, still pending, seconds) once none is pending (or after the limit)."""
    from events.models import DeliveryStatus, WebhookDelivery
    from tenants.context import tenant_context

    started = time.perf_counter()
    while True:
        with tenant_context(tenant_id):
            waiting = WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).count()
            total = WebhookDelivery.objects.count()
        if not waiting or time.perf_counter() - started > DELIVERY_LIMIT_SECONDS:
            return total, waiting, time.perf_counter() - started
        time.sleep(0.2)


def _run_in_process(tenant, owner) -> None:  # noqa: ANN001
    """The run in this process, with the time spent recording its events."""
    from events import services as event_services
    from reconciliation import services
    from reconciliation.services import runs
    from tenants.context import tenant_context

    spent = {"seconds": 0.0, "events": 0}
    record = event_services.events_record

    def timed_record(specs, **kwargs):  # noqa: ANN001, ANN202 - the wrapped function's signature
        started = time.perf_counter()
        try:
            return record(specs, **kwargs)
        finally:
            spent["seconds"] += time.perf_counter() - started
            spent["events"] += len(specs)

    runs.events_record = timed_record  # the run's events (the import's were recorded before)
    started = time.perf_counter()
    try:
        with tenant_context(tenant.id):
            result = services.reconcile(actor=owner, source="bench")
    finally:
        runs.events_record = record
    run_seconds = time.perf_counter() - started
    print(
        f"reconcile (in process): {run_seconds:.1f} s, {len(result.proposals):,} proposals, "
        f"{result.auto_confirmed:,} auto-confirmed; recording its {spent['events']} events: "
        f"{spent['seconds'] * 1000:.0f} ms ({spent['seconds'] / run_seconds:.2%} of the run)",
        flush=True,
    )


def _run_through_the_api(tenant, owner, database_url: str) -> subprocess.Popen:  # noqa: ANN001
    """POST reconcile (respond-async) to gunicorn, a worker runs it; its progress as a client sees it.

    Returns the worker, still running (it delivers the events next).
    """
    from bench.jobs_bench import follow_reconcile
    from bench.load import Server
    from tenants.services import api_token_create

    _token, raw = api_token_create(user=owner, name="webhooks bench")
    server = Server(database_url, 1)
    worker = _start_worker(database_url, "")
    try:
        follow_reconcile(server, {"token": raw, "reconcile_tenant": str(tenant.id)})
    except BaseException:
        _stop(worker)
        raise
    finally:
        server.stop()
    return worker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000, help="invoices in the book (default 100000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--in-process", action="store_true", help="run reconcile() here, timing the events' recording"
    )
    args = parser.parse_args()
    if args.size < 1:
        parser.error("--size must be at least 1")
    os.environ.setdefault("WEBHOOKS_ALLOW_PRIVATE_NETWORKS", "true")
    os.environ.setdefault("QUEUE_LOG_LEVEL", "WARNING")
    setup_django()
    print(f"machine speed: {python_speed_ms():.0f} ms (fixed Python loop; lower is faster)", flush=True)

    from standardwebhooks import Webhook

    from bench.reconcile_bench import load_dataset
    from events import services as event_services
    from events.models import EventType
    from tenants.context import tenant_context
    from tenants.models import TenantSettings
    from tests.support.webhook_receiver import webhook_receiver

    tenant, owner = bench_tenant("webhooks bench")
    with webhook_receiver() as receiver:
        with tenant_context(tenant.id):
            _, secret = event_services.endpoint_create(
                url=receiver.url, event_types=list(EventType.values), actor=owner
            )
            TenantSettings.objects.update(auto_reconcile=False)  # the bench starts the run itself
        started = time.perf_counter()
        invoices, transactions = load_dataset(tenant.id, args.size, args.seed)
        print(
            f"loaded {invoices:,} invoices and {transactions:,} transactions in "
            f"{time.perf_counter() - started:.1f} s",
            flush=True,
        )
        database_url = _database_url()
        if args.in_process:
            _run_in_process(tenant, owner)
            worker = _start_worker(database_url, "webhooks")
        else:
            worker = _run_through_the_api(tenant, owner, database_url)
        try:
            total, waiting, delivered_seconds = _wait_for_deliveries(tenant.id)
        finally:
            _stop(worker)
        received = list(receiver.requests)
    if waiting:
        print(f"gave up after {DELIVERY_LIMIT_SECONDS} s: {waiting} of {total} deliveries still pending")
    verified = 0
    for request in received:
        Webhook(secret).verify(request.body, request.headers)
        verified += 1
    types = Counter(request.json()["type"] for request in received)
    size = sum(len(request.body) for request in received)
    largest = max((len(request.body) for request in received), default=0)
    print(
        f"{total} deliveries finished {delivered_seconds:.1f} s after the run (one worker, concurrency 4); "
        f"{len(received)} requests received, {verified} verified with the secret; "
        f"{size / 1e6:.1f} MB in all, largest {largest / 1e3:.0f} kB"
    )
    print("events received by type: " + ", ".join(f"{name} {count}" for name, count in sorted(types.items())))


if __name__ == "__main__":
    main()
