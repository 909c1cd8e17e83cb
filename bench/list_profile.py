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
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from psycopg import pq  # noqa: E402

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
            self.statements.setdefault(str(sql) if isinstance(sql, str) else repr(sql), []).append(
                time.perf_counter() - started
            )


# (module, attribute path, label): CPU spent inside each, inclusive, summed over the loop.
PHASES = [
    ("django.test.client", "ClientHandler.__call__", "whole request (Django handler + all middleware)"),
    ("tenants.middleware", "TenantContextMiddleware.__call__", "  tenant middleware and everything inside"),
    ("tenants.middleware", "authenticate_bearer", "    bearer token (+ membership) lookup"),
    ("tenants.middleware", "bearer_membership", "    membership lookup"),
    (
        "tenants.admin_middleware",
        "AdminTenantMiddleware.__call__",
        "    inside tenant_context (URL resolve + view)",
    ),
    ("rest_framework.views", "APIView.dispatch", "      DRF view dispatch"),
    ("rest_framework.serializers", "Serializer.is_valid", "        query-string filter validation"),
    (
        "rest_framework.pagination",
        "CursorPagination.paginate_queryset",
        "        page query: build, compile, run, fetch",
    ),
    (
        "rest_framework.serializers",
        "ListSerializer.to_representation",
        "        serialisation (DRF serializers)",
    ),
    ("api.serializers", "RowRenderer.render", "        serialisation (RowRenderer)"),
    ("rest_framework.pagination", "CursorPagination.get_paginated_response", "        next/previous links"),
    ("rest_framework.renderers", "JSONRenderer.render", "      JSON encoding"),
]


def install_phase_timers() -> dict[str, float]:
    """Wrap each PHASES callable that exists in this version of the code with a CPU timer."""
    import importlib

    totals: dict[str, float] = {}
    for module_name, path, label in PHASES:
        owner = importlib.import_module(module_name)
        *parents, name = path.split(".")
        for parent in parents:
            owner = getattr(owner, parent, None)
        original = getattr(owner, name, None)
        if original is None:
            continue
        totals[label] = 0.0

        def timed(*args, __original=original, __label=label, **kwargs):  # noqa: ANN002, ANN003, ANN202
            started = time.process_time()
            try:
                return __original(*args, **kwargs)
            finally:
                totals[__label] += time.process_time() - started

        setattr(owner, name, timed)
    return totals


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def backend_cpu_seconds(pid: int) -> float:
    """User + system CPU of one process (Linux /proc; same machine)."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds(parent: int) -> float:
    """User + system CPU of the live children of ``parent`` (gunicorn workers, PG backends)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int(_stat(int(entry.name))[1]) == parent:
                    total += backend_cpu_seconds(int(entry.name))
            except (FileNotFoundError, ProcessLookupError):
                continue
    return total


def run_against_gunicorn(cluster, info: dict, args: argparse.Namespace) -> None:  # noqa: ANN001
    """N sequential requests to one gunicorn worker: wall ms, server and PostgreSQL CPU ms."""
    import http.client

    import psycopg

    from bench._setup import durability_note
    from bench.load import Server

    with psycopg.connect(owner_url(cluster, BENCH_DB)) as conn:
        print(durability_note(conn.cursor()))
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        postmaster = int(_stat(backend)[1])
    server = Server(owner_url(cluster, BENCH_DB), workers=1)
    host, port = server.base.removeprefix("http://").split(":")
    headers = {"Authorization": f"Bearer {info['token']}"}
    paths = [f"/v1/tenants/{tenant}/{args.path}?{args.query}" for tenant in info["tenants"]]

    def send(index: int) -> None:
        connection = http.client.HTTPConnection(host, int(port), timeout=60)
        connection.request("GET", paths[index % len(paths)], headers=headers)
        response = connection.getresponse()
        response.read()
        connection.close()
        if response.status != 200:
            raise SystemExit(f"{response.status}")

    try:
        for index in range(20):
            send(index)
        worker_before = children_cpu_seconds(server.process.pid)
        postgres_before = children_cpu_seconds(postmaster)
        wall = []
        for index in range(args.requests):
            started = time.perf_counter()
            send(index)
            wall.append((time.perf_counter() - started) * 1000)
        worker_cpu = (children_cpu_seconds(server.process.pid) - worker_before) * 1000 / args.requests
        postgres_cpu = (children_cpu_seconds(postmaster) - postgres_before) * 1000 / args.requests
    finally:
        server.stop()
    print(f"gunicorn (1 sync worker, DEBUG off), {args.requests} sequential GET .../{args.path}?{args.query}")
    print(
        f"  wall ms/request: mean {statistics.mean(wall):.2f}  median {statistics.median(wall):.2f}  "
        f"p95 {statistics.quantiles(wall, n=20)[18]:.2f}"
    )
    print(f"  gunicorn worker cpu ms/request: {worker_cpu:.2f}")
    print(f"  PostgreSQL cpu ms/request (all backends of the cluster): {postgres_cpu:.2f}")


def count_round_trips(connection, send, requests: int) -> tuple[float, list[str]]:  # noqa: ANN001
    """Statements sent per request by libpq's protocol trace, which also sees BEGIN and COMMIT.

    Returns the mean per request and the statements of the last one (abridged). A statement
    is one ``Query`` message (simple protocol) or one ``Sync`` (extended protocol).
    """
    per_request: list[list[str]] = []
    for index in range(requests):
        with tempfile.TemporaryFile("w+") as trace:
            connection.connection.pgconn.trace(trace.fileno())
            connection.connection.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
            send(index)
            connection.connection.pgconn.untrace()
            trace.seek(0)
            text = trace.read()
        messages = re.findall(r"^F\t\d+\t(Query|Parse|Sync)\t?(.*?)(?=^[FB]\t)", text, re.M | re.S)
        statements = []
        for kind, body in messages:
            if kind in ("Query", "Parse"):
                statements.append(" ".join(body.replace('"', "").split())[:60])
            elif not statements:
                statements.append("(extended protocol)")
        per_request.append(statements)
    return sum(map(len, per_request)) / requests, per_request[-1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument(
        "--path", default="invoices", help="list under /v1/tenants/{id}/ (invoices, vendors, ...)"
    )
    parser.add_argument("--query", default="page_size=50")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the loop")
    parser.add_argument(
        "--phases", action="store_true", help="print CPU per phase (timers around a few calls)"
    )
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument(
        "--server", action="store_true", help="measure against gunicorn (1 worker) instead of in process"
    )
    args = parser.parse_args()

    cluster = ensure_cluster()
    info = existing_info(cluster)  # a fresh token of the bench user
    if args.server:
        run_against_gunicorn(cluster, info, args)
        return
    os.environ["DATABASE_URL"] = owner_url(cluster, BENCH_DB)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    os.environ["DEBUG"] = "false"
    os.environ["WRITE_RATE_LIMIT_PER_MINUTE"] = "0"
    os.environ["ACCESS_LOG_LEVEL"] = "WARNING"
    import django

    django.setup()
    from django.db import connection
    from django.test import Client

    from bench._setup import durability_note

    with connection.cursor() as cursor:
        print(durability_note(cursor))

    client = Client(HTTP_AUTHORIZATION=f"Bearer {info['token']}")
    tenants = info["tenants"]
    urls = [f"/v1/tenants/{tenant}/{args.path}?{args.query}" for tenant in tenants]

    def send(index: int) -> None:
        response = client.get(urls[index % len(urls)])
        if response.status_code != 200:
            raise SystemExit(f"{response.status_code}: {response.content[:500]!r}")

    for index in range(20):  # warm up: imports, connection, caches, last_used_at write
        send(index)

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend_pid = cursor.fetchone()[0]
    backend_cpu_started = backend_cpu_seconds(backend_pid)
    counter = QueryCounter()
    cpu: list[float] = []
    wall: list[float] = []
    with connection.execute_wrapper(counter):
        for index in range(args.requests):
            cpu_started, wall_started = time.process_time(), time.perf_counter()
            send(index)
            cpu.append((time.process_time() - cpu_started) * 1000)
            wall.append((time.perf_counter() - wall_started) * 1000)

    backend_cpu = (backend_cpu_seconds(backend_pid) - backend_cpu_started) * 1000 / args.requests
    total_statements = sum(len(times) for times in counter.statements.values())
    print(f"GET /v1/tenants/{{id}}/{args.path}?{args.query}: {args.requests} sequential requests")
    print(
        f"  wall ms/request: mean {statistics.mean(wall):.2f}  median {statistics.median(wall):.2f}  "
        f"p95 {statistics.quantiles(wall, n=20)[18]:.2f}"
    )
    print(f"  cpu  ms/request: mean {statistics.mean(cpu):.2f}  median {statistics.median(cpu):.2f}")
    print(f"  PostgreSQL backend cpu ms/request: {backend_cpu:.2f} (same cores under load)")
    print(f"  SQL statements/request (Django's view): {total_statements / args.requests:.2f}")
    for sql, times in sorted(counter.statements.items(), key=lambda item: -sum(item[1])):
        print(
            f"    {len(times) / args.requests:5.2f}x  {sum(times) / len(times) * 1000:6.2f} ms  "
            f"{' '.join(sql.split())[:150]}"
        )

    round_trips, statements = count_round_trips(connection, send, 20)
    print(f"  statements sent/request (libpq trace, incl. BEGIN/COMMIT): {round_trips:.2f}")
    for statement in statements:
        print(f"    {statement}")
    print("  (under gunicorn add 1: the per-request connection health check, SELECT 1)")

    if args.phases:
        totals = install_phase_timers()
        for index in range(args.requests):
            send(index)
        print("  CPU ms/request by phase (inclusive; timers add a little):")
        for label, seconds in totals.items():
            print(f"    {label:<62}{seconds * 1000 / args.requests:7.2f}")

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
