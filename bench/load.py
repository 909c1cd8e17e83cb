"""Load benchmark: the app under gunicorn (several workers) on loopback, driven by wrk.

    .venv/bin/python bench/load.py [--tenants 20] [--rows 50000] [--duration 20] [--connections 50]
                                   [--paced-rates 50,100] [--reuse-db] [--list-only]

Builds a bench-only database (``recon_bench``) with N tenants x ROWS invoices and ROWS bank
transactions (plus one 1,000-item tenant for reconciliation), serves it with gunicorn, and
prints requests/s and p50/p95/p99 latency for: list invoices, create invoice, import 1,000
transactions, reconcile a 1,000-item tenant.

wrk is closed loop: each connection waits for an answer before sending again, so at 50
connections p95 is roughly 50 / throughput whatever the load. The paced list scenario is open
loop: 50 clients send on a fixed schedule at a stated total rate (``--paced-rates``) and
latency runs from each request's *scheduled* send time (no coordinated omission), which tells
latency at a given load. It prints offered and achieved rate, p50/p95/p99 and errors.

It then clones the database without RLS (``recon_bench_norls``: policies disabled, same data,
same app) and prints the read overhead of RLS from ``--rounds`` alternating list rounds on the
two databases (one round of each, back to back, measured the order more than RLS). Targets: RLS overhead <= 10 % on reads; list p95 <= 50 ms at 50 clients; zero errors.
Everything runs on 127.0.0.1 and stops by itself (bounded duration and request counts).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
import requests  # noqa: E402

from bench._setup import durability_note  # noqa: E402
from devtools.embedded_postgres import ensure_cluster  # noqa: E402
from tests.support.server import free_port  # noqa: E402

BENCH_DB = "recon_bench"
NO_RLS_DB = "recon_bench_norls"

WRK_SCRIPT = r"""
local counter = 0
local paths = {}
local token = os.getenv("BENCH_TOKEN")
local method = os.getenv("BENCH_METHOD") or "GET"
for tenant in string.gmatch(os.getenv("BENCH_TENANTS"), "[^,]+") do
  table.insert(paths, "/v1/tenants/" .. tenant .. os.getenv("BENCH_SUFFIX"))
end
request = function()
  counter = counter + 1
  local path = paths[(counter % #paths) + 1]
  local headers = {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}
  local body = nil
  if method == "POST" then
    body = '{"amount": "' .. (counter % 900 + 100) .. '.25", "description": "load test"}'
  end
  return wrk.format(method, path, headers, body)
end
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.status + summary.errors.timeout
  io.write(string.format("RESULT %d %.3f %d %d %d %d\n", summary.requests, summary.duration / 1e6, errors,
      latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


def admin_url(cluster, database: str) -> str:
    return cluster.superuser_url.rsplit("/", 1)[0] + f"/{database}"


def owner_url(cluster, database: str) -> str:
    return cluster.owner_url.rsplit("/", 1)[0] + f"/{database}"


def manage(database_url: str, *args: str) -> str:
    env = dict(os.environ, DATABASE_URL=database_url, DJANGO_SETTINGS_MODULE="config.settings.local")
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return result.stdout


def build_database(cluster, tenants: int, rows: int) -> dict:
    """Fresh bench database with generated data; returns token and tenant ids."""
    with psycopg.connect(admin_url(cluster, "postgres"), autocommit=True) as admin:
        for name in (NO_RLS_DB, BENCH_DB):
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {BENCH_DB} OWNER recon_owner")
    url = owner_url(cluster, BENCH_DB)
    started = time.perf_counter()
    manage(url, "migrate", "--noinput", "-v0")
    token = manage(url, "create_api_token", "bench", "--create-user").strip().splitlines()[-1]
    tenant_ids: list[str] = []
    with psycopg.connect(url, autocommit=True) as conn:
        user_id = conn.execute("SELECT id FROM auth_user WHERE username = 'bench'").fetchone()[0]
        for n in range(tenants + 1):
            tenant_id = str(uuid.uuid4())
            name = f"Bench {n:02d}" if n < tenants else "Bench reconcile"
            conn.execute(
                "INSERT INTO tenants_tenant (id, name, created_at, updated_at) VALUES (%s, %s, now(), now())",
                [tenant_id, name],
            )
            conn.execute(
                "INSERT INTO tenants_membership (id, tenant_id, user_id, role, created_at, updated_at) "
                "VALUES (gen_random_uuid(), %s, %s, 'owner', now(), now())",
                [tenant_id, user_id],
            )
            count = rows if n < tenants else 1000
            with conn.transaction():
                conn.execute("SET LOCAL ROLE recon_tenant")
                conn.execute("SELECT set_config('app.tenant_id', %s, true)", [tenant_id])
                conn.execute(
                    "INSERT INTO tenants_tenantsettings (id, tenant_id, default_currency, auto_confirm_threshold,"
                    " fee_tolerance_fixed, fee_tolerance_percent, date_window_days, created_at, updated_at)"
                    " VALUES (gen_random_uuid(), %s, 'USD', 0.95, 0, 0, 120, now(), now())",
                    [tenant_id],
                )
                conn.execute(_INVOICES_SQL, {"tenant": tenant_id, "rows": count})
                conn.execute(_TRANSACTIONS_SQL, {"tenant": tenant_id, "rows": count})
            tenant_ids.append(tenant_id)
            print(f"  tenant {n + 1}/{tenants + 1}: {count:,} invoices + {count:,} transactions", flush=True)
        # A freshly loaded table's first readers set its rows' hint bits (writes, on every page):
        # vacuum now, as a live database would have been, so the first scenario is not charged.
        conn.execute("VACUUM (ANALYZE)")
    with psycopg.connect(admin_url(cluster, BENCH_DB), autocommit=True) as admin:
        admin.execute("CHECKPOINT")  # the vacuum's dirty pages written now, not during a scenario
    print(f"built {BENCH_DB} in {time.perf_counter() - started:.0f} s")
    return {"token": token, "tenants": tenant_ids[:-1], "reconcile_tenant": tenant_ids[-1]}


_INVOICES_SQL = """
INSERT INTO invoices_invoice (id, tenant_id, number, kind, amount, currency, description, issue_date, due_date,
                              status, amount_paid, structured_reference, created_at, updated_at)
SELECT gen_random_uuid(), %(tenant)s, 'INV-' || lpad(n::text, 7, '0'), 'receivable', (n %% 5000) + 10.50, 'USD',
       'Services ' || n, date '2024-01-01' + (n %% 300), date '2024-01-31' + (n %% 300), 'open', 0, '',
       now() - (n || ' seconds')::interval, now()
FROM generate_series(1, %(rows)s) AS n
"""

_TRANSACTIONS_SQL = """
WITH account AS (
    INSERT INTO banking_bankaccount (id, tenant_id, identifier, name, currency, created_at, updated_at)
    VALUES (gen_random_uuid(), %(tenant)s, 'default', 'Default account', 'USD', now(), now()) RETURNING id
), batch AS (
    INSERT INTO banking_importbatch (id, tenant_id, source, file_name, file_format, file_sha256, received_count,
                                     imported_count, duplicate_count, created_at, updated_at)
    VALUES (gen_random_uuid(), %(tenant)s, 'api', '', '', '', %(rows)s, %(rows)s, 0, now(), now()) RETURNING id
)
INSERT INTO banking_banktransaction (id, tenant_id, account_id, import_batch_id, amount, currency, booking_date,
    value_date, description, counterparty_name, counterparty_account, external_id, end_to_end_id,
    structured_reference, return_reason, dedup_key, status, allocated_amount, created_at, updated_at)
SELECT gen_random_uuid(), %(tenant)s, account.id, batch.id, (n %% 5000) + 10.50, 'USD', date '2024-01-15' + (n %% 300),
       NULL, 'Payment INV-' || lpad(n::text, 7, '0'), 'Customer ' || (n %% 500), '', 'BANK-' || n, '', '', '',
       'ref:BANK-' || n, 'unmatched', 0, now() - (n || ' seconds')::interval, now()
FROM generate_series(1, %(rows)s) AS n, account, batch
"""


def clone_without_rls(cluster) -> None:
    with psycopg.connect(admin_url(cluster, "postgres"), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {NO_RLS_DB} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {NO_RLS_DB} TEMPLATE {BENCH_DB} OWNER recon_owner")
    with psycopg.connect(admin_url(cluster, NO_RLS_DB), autocommit=True) as conn:
        tables = [row[0] for row in conn.execute("SELECT relname FROM pg_class WHERE relrowsecurity")]
        for table in tables:
            conn.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
            conn.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
        conn.execute("ANALYZE")


class Server:
    """gunicorn with production-like settings (DEBUG off, JSON logs quiet) on a free port."""

    def __init__(self, database_url: str, workers: int) -> None:
        self.port = free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="bench-gunicorn-", suffix=".log", delete=False)  # noqa: SIM115
        env = dict(
            os.environ,
            DATABASE_URL=database_url,
            DJANGO_SETTINGS_MODULE="config.settings.local",
            DEBUG="false",
            WRITE_RATE_LIMIT_PER_MINUTE="0",
            ACCESS_LOG_LEVEL="WARNING",
            SECRET_KEY="bench-" + uuid.uuid4().hex,
        )
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(workers),
                "--timeout",
                "300",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 90
        while True:
            try:
                if requests.get(f"{self.base}/readyz", timeout=10).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(Path(self.log.name).read_text()[-3000:])
            time.sleep(0.3)

    def stop(self) -> None:
        os.killpg(self.process.pid, 15)
        self.process.wait(timeout=60)
        os.unlink(self.log.name)


def run_wrk(server: Server, info: dict, *, suffix: str, method: str, duration: int, connections: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    env = dict(
        os.environ,
        BENCH_TOKEN=info["token"],
        BENCH_TENANTS=",".join(info["tenants"]),
        BENCH_SUFFIX=suffix,
        BENCH_METHOD=method,
    )
    threads = min(4, connections)
    output = subprocess.run(
        [
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{duration}s",
            "--timeout",
            "30s",
            "-s",
            script.name,
            server.base,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(script.name)
    line = next(line for line in output.splitlines() if line.startswith("RESULT"))
    count, seconds, errors, p50, p95, p99 = line.split()[1:]
    return {
        "requests": int(count),
        "rps": int(count) / float(seconds),
        "errors": int(errors),
        "p50": int(p50) / 1000,
        "p95": int(p95) / 1000,
        "p99": int(p99) / 1000,
    }


def timed_requests(count: int, concurrency: int, send) -> dict:
    """Run ``send(i)`` count times over ``concurrency`` threads; latency figures in ms."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    next_index = iter(range(count))

    def worker() -> None:
        nonlocal errors
        while True:
            with lock:
                index = next(next_index, None)
            if index is None:
                return
            started = time.perf_counter()
            ok = send(index)
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
                errors += 0 if ok else 1

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    return {
        "requests": count,
        "rps": count / seconds,
        "errors": errors,
        "p50": cuts[49],
        "p95": cuts[94],
        "p99": cuts[98],
    }


async def _paced_client(
    index: int,
    *,
    clients: int,
    interval: float,
    start: float,
    deadline: float,
    address: tuple[str, int],
    requests_bytes: list[bytes],
    results: list[tuple[float, float, bool]],
) -> None:
    """One client: request k is due at start + (index / clients + k) * interval.

    Each client has one request in flight at a time, like a wrk connection. Latency is taken
    from the *scheduled* send time, not the actual one: a request that leaves late because
    the previous answer was slow is charged the wait (no coordinated omission).
    """
    loop = asyncio.get_running_loop()
    scheduled = start + index / clients * interval
    free_at = start  # when the previous answer arrived
    sent = 0
    while scheduled < deadline:
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        # How late this generator sent, beyond waiting for the previous answer: a sanity check
        # that the load generator itself keeps up (it shares the cores with the server).
        lag = loop.time() - max(scheduled, free_at)
        ok = False
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(*address), timeout=30)
            try:
                writer.write(requests_bytes[(index + sent * clients) % len(requests_bytes)])
                await writer.drain()
                response = await asyncio.wait_for(reader.read(), timeout=30)  # Connection: close
                ok = response.startswith((b"HTTP/1.1 200 ", b"HTTP/1.0 200 "))
            finally:
                writer.close()
        except (OSError, TimeoutError):
            ok = False
        free_at = loop.time()
        results.append((free_at - scheduled, lag, ok))
        sent += 1
        scheduled += interval


def run_paced(server: Server, info: dict, *, suffix: str, rate: float, duration: int, clients: int) -> dict:
    """Open-loop list requests: ``clients`` connections sending on a fixed schedule, ``rate``
    requests/s in total, for ``duration`` s. Latency (ms) runs from each request's scheduled
    send time to the end of its response, so queueing anywhere (client, server, database)
    shows up in the percentiles instead of lowering the offered rate."""
    host, port = server.base.removeprefix("http://").split(":")
    requests_bytes = [
        (
            f"GET /v1/tenants/{tenant}{suffix} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Authorization: Bearer {info['token']}\r\nConnection: close\r\n\r\n"
        ).encode()
        for tenant in info["tenants"]
    ]
    results: list[tuple[float, float, bool]] = []

    async def main() -> float:
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.5  # every client is waiting before the first request is due
        interval = clients / rate
        await asyncio.gather(
            *(
                _paced_client(
                    index,
                    clients=clients,
                    interval=interval,
                    start=start,
                    deadline=start + duration,
                    address=(host, int(port)),
                    requests_bytes=requests_bytes,
                    results=results,
                )
                for index in range(clients)
            )
        )
        return loop.time() - start

    elapsed = asyncio.run(main())
    latencies = sorted(latency * 1000 for latency, _lag, _ok in results)
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    lags = sorted(lag * 1000 for _latency, lag, _ok in results)
    return {
        "offered": rate,
        "requests": len(results),
        "rps": sum(1 for _latency, _lag, ok in results if ok) / elapsed,
        "errors": sum(1 for _latency, _lag, ok in results if not ok),
        "p50": cuts[49],
        "p95": cuts[94],
        "p99": cuts[98],
        "max": latencies[-1] if latencies else 0.0,
        # The generator's own delay in sending (not waiting for a previous answer, which the
        # latency already includes): more than a few ms means the generator fell behind.
        "lag_p99": lags[int(len(lags) * 0.99)] if lags else 0.0,
    }


def bench_import(server: Server, info: dict, requests_count: int) -> dict:
    headers = {"Authorization": f"Bearer {info['token']}", "Content-Type": "application/json"}
    bodies = []
    for index in range(requests_count):
        items = [
            {
                "amount": f"{(n % 900) + 1}.{n % 100:02d}",
                "date": "2024-06-01T10:00:00Z",
                "currency": "USD",
                "description": f"Load import {index}-{n}",
                "external_id": f"LOAD-{uuid.uuid4().hex}",
            }
            for n in range(1000)
        ]
        bodies.append(json.dumps({"transactions": items}))

    def send(index: int) -> bool:
        tenant = info["tenants"][index % len(info["tenants"])]
        response = requests.post(
            f"{server.base}/v1/tenants/{tenant}/bank-transactions/import",
            data=bodies[index],
            headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
            timeout=300,
        )
        return response.status_code == 201

    return timed_requests(requests_count, 2, send)


def bench_reconcile(server: Server, info: dict, runs: int) -> dict:
    headers = {"Authorization": f"Bearer {info['token']}", "Content-Type": "application/json"}

    def send(_index: int) -> bool:
        response = requests.post(
            f"{server.base}/v1/tenants/{info['reconcile_tenant']}/reconcile",
            data='{"dry_run": true}',
            headers=headers,
            timeout=300,
        )
        return response.status_code == 200

    return timed_requests(runs, 1, send)


def existing_info(cluster) -> dict:
    """Token and tenants of an already built bench database (a fresh token each time)."""
    url = owner_url(cluster, BENCH_DB)
    token = manage(url, "create_api_token", "bench", "--name", "rls-compare").strip().splitlines()[-1]
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT id::text, name FROM tenants_tenant ORDER BY name").fetchall()
    return {
        "token": token,
        "tenants": [pk for pk, name in rows if name != "Bench reconcile"],
        "reconcile_tenant": next((pk for pk, name in rows if name == "Bench reconcile"), None),
    }


def compare_rls(cluster, args: argparse.Namespace, info: dict | None = None) -> tuple[float, float]:
    """Alternate list-invoice rounds on the RLS database and its RLS-off clone; prints each
    round and returns the mean throughputs (with RLS, without).

    One round of each, run one after the other, says more about the order than about RLS
    (caches, autovacuum): alternating rounds average that out.
    """
    info = info or existing_info(cluster)
    clone_without_rls(cluster)  # again: the clone must contain the token just created
    rates: dict[str, list[float]] = {"rls": [], "no_rls": []}
    p95s: dict[str, list[float]] = {"rls": [], "no_rls": []}
    for _round in range(args.rounds):
        for key, database in (("rls", BENCH_DB), ("no_rls", NO_RLS_DB)):
            server = Server(owner_url(cluster, database), args.workers)
            try:
                figures = run_wrk(
                    server,
                    info,
                    suffix="/invoices?page_size=50",
                    method="GET",
                    duration=args.duration,
                    connections=args.connections,
                )
            finally:
                server.stop()
            rates[key].append(figures["rps"])
            p95s[key].append(figures["p95"])
            print(
                f"  {key:<7} {figures['rps']:8.1f} req/s  p95 {figures['p95']:8.1f} ms  errors {figures['errors']}"
            )
    with_rls, without = statistics.mean(rates["rls"]), statistics.mean(rates["no_rls"])
    print(
        f"list invoices, mean of {args.rounds} alternating rounds: RLS {with_rls:.1f} req/s, "
        f"RLS off {without:.1f} req/s -> overhead {(without / with_rls - 1) * 100:+.1f} % "
        f"(p95 {statistics.mean(p95s['rls']):.0f} vs {statistics.mean(p95s['no_rls']):.0f} ms)"
    )
    return with_rls, without


def row(name: str, figures: dict) -> str:
    return (
        f"{name:<38}{figures['requests']:>9,}{figures['rps']:>10.1f}{figures['p50']:>9.1f}"
        f"{figures['p95']:>9.1f}{figures['p99']:>9.1f}{figures['errors']:>8}"
    )


def warm_up(server: Server, info: dict, suffix: str, workers: int) -> None:
    """A few list requests over several threads, so no worker serves its very first request
    (URL conf, DRF and schema imports) inside a measured scenario."""
    headers = {"Authorization": f"Bearer {info['token']}"}

    def send(index: int) -> bool:
        tenant = info["tenants"][index % len(info["tenants"])]
        return requests.get(f"{server.base}/v1/tenants/{tenant}{suffix}", headers=headers, timeout=60).ok

    timed_requests(workers * 4, workers, send)


def paced_row(figures: dict) -> str:
    return (
        f"{figures['offered']:>13.1f}{figures['rps']:>15.1f}{figures['requests']:>10,}{figures['p50']:>9.1f}"
        f"{figures['p95']:>9.1f}{figures['p99']:>9.1f}{figures['max']:>9.1f}{figures['errors']:>8}"
        f"{figures['lag_p99']:>19.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--rows", type=int, default=50_000, help="invoices and transactions per tenant")
    parser.add_argument("--duration", type=int, default=20, help="seconds per wrk or paced scenario")
    parser.add_argument("--connections", type=int, default=50, help="wrk connections and paced clients")
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 2) * 2 + 1)
    parser.add_argument("--imports", type=int, default=10, help="1,000-row import requests")
    parser.add_argument("--reconcile-runs", type=int, default=5)
    parser.add_argument(
        "--paced-rates",
        default="50,100,200",
        help="comma-separated total request rates (req/s) for the paced list scenario; '' skips it",
    )
    parser.add_argument(
        "--reuse-db",
        action="store_true",
        help="use the bench database of an earlier run instead of building it again",
    )
    parser.add_argument(
        "--build-only", action="store_true", help="build the bench database and stop (for list_profile.py)"
    )
    parser.add_argument(
        "--list-only",
        action="store_true",
        help="only the list scenarios (closed-loop wrk and paced): no create, import, reconcile, RLS-off",
    )
    parser.add_argument(
        "--rls-only",
        action="store_true",
        help="reuse the existing bench databases and only compare list throughput with and without "
        "RLS, alternating rounds (less noise for the overhead ratio)",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternating rounds with and without RLS (overhead ratio)"
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")
    paced_rates = [float(rate) for rate in args.paced_rates.split(",") if rate.strip()]

    cluster = ensure_cluster()
    with psycopg.connect(admin_url(cluster, "postgres")) as conn:
        print(durability_note(conn.cursor()), flush=True)
    if args.rls_only:
        compare_rls(cluster, args)
        return
    info = existing_info(cluster) if args.reuse_db else build_database(cluster, args.tenants, args.rows)
    if args.build_only:
        return
    results: dict[str, dict] = {}
    paced: list[dict] = []
    list_suffix = "/invoices?page_size=50"
    server = Server(owner_url(cluster, BENCH_DB), args.workers)
    try:
        common = {"duration": args.duration, "connections": args.connections}
        warm_up(server, info, list_suffix, args.workers)
        if not args.reuse_db:
            # A database built a moment ago is cold (PostgreSQL's and the OS's caches hold the
            # load, not the tenants' index pages): the first scenario ran at half the throughput
            # of the same scenario minutes later. One unmeasured round of the list first.
            run_wrk(server, info, suffix=list_suffix, method="GET", **common)
        results["list invoices"] = run_wrk(server, info, suffix=list_suffix, method="GET", **common)
        for rate in paced_rates:
            paced.append(
                run_paced(
                    server,
                    info,
                    suffix=list_suffix,
                    rate=rate,
                    clients=args.connections,
                    duration=args.duration,
                )
            )
        if not args.list_only:
            results["create invoice"] = run_wrk(server, info, suffix="/invoices", method="POST", **common)
            results["import 1,000 transactions"] = bench_import(server, info, args.imports)
            results["reconcile a 1,000-item tenant (dry run)"] = bench_reconcile(
                server, info, args.reconcile_runs
            )
    finally:
        server.stop()
    rls_rates = None
    if not args.list_only:
        print(f"RLS read overhead: {args.rounds} alternating rounds of list invoices, with and without RLS")
        rls_rates = compare_rls(cluster, args, info)

    print()
    data = (
        "the existing bench database"
        if args.reuse_db
        else (f"{args.tenants} tenants x {args.rows:,} invoices + {args.rows:,} transactions")
    )
    print(
        f"{data}, {args.workers} gunicorn workers, {args.connections} connections, "
        f"{args.duration} s per scenario"
    )
    print()
    print("Closed loop (wrk: each connection sends its next request when the previous answer arrives)")
    print(f"{'scenario':<38}{'requests':>9}{'req/s':>10}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for name, figures in results.items():
        print(row(name, figures))
    if paced:
        print()
        print(
            f"Paced list invoices (open loop: {args.connections} clients, each on a fixed schedule; latency "
            "from the scheduled send time, so queueing is counted)"
        )
        print(
            f"{'offered req/s':>13}{'achieved req/s':>15}{'requests':>10}{'p50 ms':>9}{'p95 ms':>9}"
            f"{'p99 ms':>9}{'max ms':>9}{'errors':>8}{'generator lag p99':>19}"
        )
        for figures in paced:
            print(paced_row(figures))
    with_rls = results["list invoices"]
    errors = sum(r["errors"] for r in results.values()) + sum(p["errors"] for p in paced)
    print()
    if rls_rates is not None:
        rls_rps, no_rls_rps = rls_rates
        print(
            f"RLS read overhead: throughput {(no_rls_rps / rls_rps - 1) * 100:+.1f} % (target <= 10 %; "
            f"mean of {args.rounds} alternating rounds, {rls_rps:.1f} vs {no_rls_rps:.1f} req/s)"
        )
    print(
        f"list p95 {with_rls['p95']:.1f} ms closed loop (target <= 50 ms at {args.connections} clients); "
        f"errors {errors} (target 0)"
    )
    for figures in paced:
        print(f"list p95 {figures['p95']:.1f} ms at {figures['offered']:.0f} req/s offered (paced)")


if __name__ == "__main__":
    main()
