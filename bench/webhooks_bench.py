"""Webhooks on a large run: what recording the events costs, and their delivery by a real worker.

    .venv/bin/python bench/webhooks_bench.py [--size 100000] [--seed 1]

A fresh tenant registers an endpoint for every event type on a local receiver (loopback: the
development settings allow private networks), loads the generated book of ``--size`` invoices
and about as many transactions through the import service (``import.completed``), and runs
``reconciliation.services.reconcile`` (what ``POST reconcile`` calls; auto-confirm on). It prints
the run's seconds, the seconds spent recording its events and how many, then starts one queue
worker (``manage.py procrastinate worker``), waits until every delivery is finished and prints
the time to deliver them, the bytes received, and whether every request verified with the
endpoint's secret (``standardwebhooks``). Figures only, no assertions.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000, help="invoices in the book (default 100000)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.size < 1:
        parser.error("--size must be at least 1")
    os.environ.setdefault("WEBHOOKS_ALLOW_PRIVATE_NETWORKS", "true")
    setup_django()
    print(f"machine speed: {python_speed_ms():.0f} ms (fixed Python loop; lower is faster)", flush=True)

    from django.db import connection
    from standardwebhooks import Webhook

    from bench.reconcile_bench import load_dataset
    from events import services as event_services
    from events.models import DeliveryStatus, EventType, WebhookDelivery
    from reconciliation import services
    from tenants.context import tenant_context
    from tests.support.webhook_receiver import webhook_receiver

    tenant, owner = bench_tenant("webhooks bench")
    spent = {"seconds": 0.0, "events": 0}
    record = event_services.events_record

    def timed_record(specs, **kwargs):  # noqa: ANN001, ANN202 - the wrapped function's signature
        started = time.perf_counter()
        try:
            return record(specs, **kwargs)
        finally:
            spent["seconds"] += time.perf_counter() - started
            spent["events"] += len(specs)

    with webhook_receiver() as receiver:
        with tenant_context(tenant.id):
            _, secret = event_services.endpoint_create(
                url=receiver.url, event_types=list(EventType.values), actor=owner
            )
        started = time.perf_counter()
        invoices, transactions = load_dataset(tenant.id, args.size, args.seed)
        print(
            f"loaded {invoices:,} invoices and {transactions:,} transactions in {time.perf_counter() - started:.1f} s"
        )
        services.events_record = timed_record  # the run's events (the import's were recorded above)
        started = time.perf_counter()
        result = services.reconcile(tenant.id, actor=owner, source="bench")
        run_seconds = time.perf_counter() - started
        services.events_record = record
        print(
            f"reconcile: {run_seconds:.1f} s, {len(result.candidates):,} proposals, {result.auto_confirmed:,} "
            f"auto-confirmed; recording its {spent['events']} events: {spent['seconds'] * 1000:.0f} ms "
            f"({spent['seconds'] / run_seconds:.2%} of the run)",
            flush=True,
        )
        settings = connection.settings_dict
        database_url = f"postgres://{settings['USER']}:{settings['PASSWORD']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"
        worker = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "procrastinate",
                "worker",
                "--queues",
                "webhooks",
                "--concurrency",
                "4",
            ],
            cwd=ROOT,
            env=dict(os.environ, DATABASE_URL=database_url),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started = time.perf_counter()
        try:
            while True:
                with tenant_context(tenant.id):
                    waiting = WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).count()
                    total = WebhookDelivery.objects.count()
                if not waiting:
                    break
                if time.perf_counter() - started > 600:
                    print(f"gave up after 600 s: {waiting} of {total} deliveries still pending")
                    break
                time.sleep(0.2)
        finally:
            worker.terminate()
            worker.wait(timeout=30)
        delivered_seconds = time.perf_counter() - started
        received = list(receiver.requests)
    verified = 0
    for request in received:
        Webhook(secret).verify(request.body, request.headers)
        verified += 1
    types = Counter(request.json()["type"] for request in received)
    size = sum(len(request.body) for request in received)
    largest = max((len(request.body) for request in received), default=0)
    print(
        f"delivered {total} deliveries in {delivered_seconds:.1f} s with one worker (concurrency 4); "
        f"{len(received)} requests received, {verified} verified with the secret; "
        f"{size / 1e6:.1f} MB in all, largest {largest / 1e3:.0f} kB"
    )
    print("events received by type: " + ", ".join(f"{name} {count}" for name, count in sorted(types.items())))


if __name__ == "__main__":
    main()
