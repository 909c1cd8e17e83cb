"""Per-request cost of the list endpoints, sequential, one client, in process (no network).

    .venv/bin/python bench/list_profile.py [--requests 300] [--path invoices] [--profile]

Uses the bench database built by ``bench/load.py`` (``recon_bench``; build a small one with
``bench/load.py --build-only --tenants 2 --rows 50000``). Sends N sequential requests through
``django.test.Client`` (the whole middleware stack, a bearer token, DEBUG off) and prints CPU
and wall milliseconds per request and the SQL statements per request. ``--profile`` adds a
cProfile of the same loop (top functions by cumulative and by own time).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import BENCH_DB, existing_info, owner_url  # noqa: E402
from devtools.embedded_postgres import ensure_cluster  # noqa: E402


class QueryCounter:
    """A ``connection.execute_wrapper`` that counts statements and their wall time."""

    def __init__(self) -> None:
        self.statements: dict[str, list[float]] = {}

    def __call__(self, execute, sql, params, many, context):  # noqa: ANN001, ANN204
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.statements.setdefault(str(sql) if isinstance(sql, str) else repr(sql), []).append(time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--path", default="invoices", help="list under /v1/tenants/{id}/ (invoices, vendors, ...)")
    parser.add_argument("--query", default="page_size=50")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the loop")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()

    cluster = ensure_cluster()
    info = existing_info(cluster)  # a fresh token of the bench user
    os.environ["DATABASE_URL"] = owner_url(cluster, BENCH_DB)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    os.environ["DEBUG"] = "false"
    os.environ["WRITE_RATE_LIMIT_PER_MINUTE"] = "0"
    os.environ["ACCESS_LOG_LEVEL"] = "WARNING"
    import django

    django.setup()
    from django.db import connection
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Bearer {info['token']}")
    tenants = info["tenants"]
    urls = [f"/v1/tenants/{tenant}/{args.path}?{args.query}" for tenant in tenants]

    def send(index: int) -> None:
        response = client.get(urls[index % len(urls)])
        if response.status_code != 200:
            raise SystemExit(f"{response.status_code}: {response.content[:500]!r}")

    for index in range(20):  # warm up: imports, connection, caches, last_used_at write
        send(index)

    counter = QueryCounter()
    cpu: list[float] = []
    wall: list[float] = []
    with connection.execute_wrapper(counter):
        for index in range(args.requests):
            cpu_started, wall_started = time.process_time(), time.perf_counter()
            send(index)
            cpu.append((time.process_time() - cpu_started) * 1000)
            wall.append((time.perf_counter() - wall_started) * 1000)

    total_statements = sum(len(times) for times in counter.statements.values())
    print(f"GET /v1/tenants/{{id}}/{args.path}?{args.query}: {args.requests} sequential requests")
    print(
        f"  wall ms/request: mean {statistics.mean(wall):.2f}  median {statistics.median(wall):.2f}  "
        f"p95 {statistics.quantiles(wall, n=20)[18]:.2f}"
    )
    print(f"  cpu  ms/request: mean {statistics.mean(cpu):.2f}  median {statistics.median(cpu):.2f}")
    print(f"  SQL statements/request: {total_statements / args.requests:.2f}")
    for sql, times in sorted(counter.statements.items(), key=lambda item: -sum(item[1])):
        print(
            f"    {len(times) / args.requests:5.2f}x  {sum(times) / len(times) * 1000:6.2f} ms  "
            f"{' '.join(sql.split())[:150]}"
        )

    if args.profile:
        profiler = cProfile.Profile(time.process_time)  # CPU only, not waits on the database
        profiler.enable()
        for index in range(args.requests):
            send(index)
        profiler.disable()
        stats = pstats.Stats(profiler).strip_dirs()
        stats.sort_stats("cumulative").print_stats(args.top)
        stats.sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
