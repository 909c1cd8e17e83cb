"""Jobs benchmark: many tenants importing large statements at once, the web staying responsive.

    .venv/bin/python bench/jobs_bench.py [--tenants 20] [--rows 50000] [--workers 2] [--web-workers 3]
                                         [--list-clients 4] [--invoices 500] [--reconcile 0]

Builds a bench-only database (``recon_jobs_bench``) with N tenants (each with ``--invoices`` open
invoices), serves it with gunicorn and runs ``--workers`` queue workers (``manage.py jobs_worker``).
Then every tenant uploads a ``--rows``-row CSV statement at the same moment (above
IMPORT_ASYNC_MIN_BYTES, so each answers 202 and a worker imports it; each import then queues the
tenant's automatic reconciliation run) while ``--list-clients`` threads keep listing invoices.
It prints the upload answers' latency, the time until every import is done and until every job
(automatic runs included) is done, and list latency (p50/p95/p99) before and during the work.

``--reconcile N`` also builds a tenant with N invoices and N transactions and starts its run
through the API with ``Prefer: respond-async``: it prints the time to the 202 and the job's
progress as a client following ``Location`` sees it, until the run is done.

Everything runs on 127.0.0.1 and stops by itself (bounded request counts and time).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
import requests  # noqa: E402

from bench._setup import durability_note, python_speed_ms  # noqa: E402
from bench.load import _INVOICES_SQL, _TRANSACTIONS_SQL, Server, admin_url, manage, owner_url  # noqa: E402
from devtools.embedded_postgres import ensure_cluster  # noqa: E402

BENCH_DB = "recon_jobs_bench"
TIME_LIMIT_SECONDS = 1800  # the whole measured phase stops by itself after this


def statement_csv(rows: int, seed: int) -> bytes:
    """A bank export: ISO dates, description quoting an invoice number, signed amount, reference."""
    rng = random.Random(seed)
    start = dt.date(2024, 1, 1)
    lines = ["Date,Description,Amount,Reference"]
    for n in range(rows):
        day = start + dt.timedelta(days=n % 365)
        cents = rng.randint(10_00, 5_000_00)
        lines.append(f"{day.isoformat()},Payment INV-{n % 100_000:07d} Customer {n % 977},{cents / 100:.2f},R{seed}-{n:08d}")
    return ("\n".join(lines) + "\n").encode()


def build(cluster, tenants: int, invoices: int, reconcile_size: int) -> dict:
    with psycopg.connect(admin_url(cluster, "postgres"), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {BENCH_DB} OWNER recon_owner")
    url = owner_url(cluster, BENCH_DB)
    manage(url, "migrate", "--noinput", "-v0")
    token = manage(url, "create_api_token", "bench", "--create-user").strip().splitlines()[-1]
    tenant_ids = []
    with psycopg.connect(url, autocommit=True) as conn:
        user_id = conn.execute("SELECT id FROM auth_user WHERE username = 'bench'").fetchone()[0]
        sizes = [invoices] * tenants + ([reconcile_size] if reconcile_size else [])
        for n, size in enumerate(sizes):
            tenant_id = str(uuid.uuid4())
            conn.execute(
                "INSERT INTO tenants_tenant (id, name, created_at, updated_at) VALUES (%s, %s, now(), now())",
                [tenant_id, f"Jobs bench {n:02d}"],
            )
            conn.execute(
                "INSERT INTO tenants_membership (id, tenant_id, user_id, role, created_at, updated_at) "
                "VALUES (gen_random_uuid(), %s, %s, 'owner', now(), now())",
                [tenant_id, user_id],
            )
            with conn.transaction():
                conn.execute("SET LOCAL ROLE recon_tenant")
                conn.execute("SELECT set_config('app.tenant_id', %s, true)", [tenant_id])
                conn.execute(
                    "INSERT INTO tenants_tenantsettings (id, tenant_id, default_currency, auto_confirm_threshold,"
                    " fee_tolerance_fixed, fee_tolerance_percent, date_window_days, auto_reconcile,"
                    " created_at, updated_at)"
                    " VALUES (gen_random_uuid(), %s, 'USD', 0.95, 0, 0, 120, true, now(), now())",
                    [tenant_id],
                )
                conn.execute(_INVOICES_SQL, {"tenant": tenant_id, "rows": size})
                if n >= tenants:  # the reconciliation tenant: its payments too
                    conn.execute(_TRANSACTIONS_SQL, {"tenant": tenant_id, "rows": size})
            tenant_ids.append(tenant_id)
        conn.execute("VACUUM (ANALYZE)")
    return {
        "url": url,
        "token": token,
        "tenants": tenant_ids[:tenants],
        "reconcile_tenant": tenant_ids[tenants] if reconcile_size else None,
    }


def start_workers(url: str, count: int) -> list:
    import os
    import subprocess

    env = dict(
        os.environ,
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DEBUG="false",
        QUEUE_LOG_LEVEL="WARNING",
        SECRET_KEY="bench-" + uuid.uuid4().hex,
    )
    return [
        subprocess.Popen(  # noqa: S603
            [sys.executable, "manage.py", "jobs_worker", "--name", f"bench-worker-{n}"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for n in range(count)
    ]


def stop(processes: list) -> None:
    import os
    import signal

    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        process.wait(timeout=90)


def percentiles(latencies: list[float]) -> dict:
    if len(latencies) < 2:
        return {"n": len(latencies), "p50": float("nan"), "p95": float("nan"), "p99": float("nan")}
    cuts = statistics.quantiles(latencies, n=100)
    return {"n": len(latencies), "p50": cuts[49], "p95": cuts[94], "p99": cuts[98]}


class ListLoad:
    """Threads listing invoices of the tenants round robin, one request in flight each."""

    def __init__(self, base: str, token: str, tenants: list[str], clients: int) -> None:
        self.base, self.headers, self.tenants = base, {"Authorization": f"Bearer {token}"}, tenants
        self.latencies: list[float] = []
        self.errors = 0
        self.phase = "warm-up"
        self.by_phase: dict[str, list[float]] = {}
        self.running = True
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.client, args=(n,), daemon=True) for n in range(clients)]

    def client(self, index: int) -> None:
        session = requests.Session()
        n = index
        deadline = time.monotonic() + TIME_LIMIT_SECONDS
        while self.running and time.monotonic() < deadline:
            tenant = self.tenants[n % len(self.tenants)]
            n += 1
            started = time.perf_counter()
            try:
                ok = session.get(
                    f"{self.base}/v1/tenants/{tenant}/invoices?page_size=50", headers=self.headers, timeout=60
                ).status_code == 200
            except requests.RequestException:
                ok = False
            elapsed = (time.perf_counter() - started) * 1000
            with self.lock:
                self.by_phase.setdefault(self.phase, []).append(elapsed)
                self.errors += 0 if ok else 1
            time.sleep(0.05)  # ~20 req/s per client at most: a steady background of readers

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.running = False
        for thread in self.threads:
            thread.join(timeout=70)


def job_counts(cluster) -> dict[tuple[str, str], int]:
    """(kind, status) -> jobs, read as the superuser (every tenant's rows)."""
    with psycopg.connect(admin_url(cluster, BENCH_DB), autocommit=True) as conn:
        rows = conn.execute("SELECT kind, status, count(*) FROM jobs_job GROUP BY kind, status").fetchall()
    return {(kind, status): count for kind, status, count in rows}


def run_imports(cluster, server: Server, info: dict, rows: int) -> dict:
    files = {tenant: statement_csv(rows, seed=n) for n, tenant in enumerate(info["tenants"])}
    headers = {"Authorization": f"Bearer {info['token']}"}
    answers: list[tuple[int, float]] = []
    lock = threading.Lock()

    def upload(tenant: str) -> None:
        started = time.perf_counter()
        response = requests.post(
            f"{server.base}/v1/tenants/{tenant}/bank-transactions/import-file",
            files={"file": ("statement.csv", files[tenant], "text/csv")},
            headers={**headers, "Idempotency-Key": f"bench-{tenant}"},
            timeout=120,
        )
        with lock:
            answers.append((response.status_code, (time.perf_counter() - started) * 1000))

    started = time.perf_counter()
    threads = [threading.Thread(target=upload, args=(tenant,)) for tenant in info["tenants"]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    accepted = time.perf_counter() - started
    # A statement below IMPORT_ASYNC_MIN_BYTES (small --rows) is imported by its request (201):
    # it is done when answered, and only the jobs it queued (its automatic run) are waited for.
    tenants = len(info["tenants"]) - sum(1 for status, _ in answers if status == 201)
    imports_done = runs_done = None
    deadline = time.monotonic() + TIME_LIMIT_SECONDS
    while time.monotonic() < deadline:
        counts = job_counts(cluster)
        finished_imports = sum(v for (kind, status), v in counts.items() if kind == "statement_import" and status in ("succeeded", "failed"))
        active = sum(v for (_kind, status), v in counts.items() if status in ("queued", "running"))
        if imports_done is None and finished_imports >= tenants:
            imports_done = time.perf_counter() - started
        if imports_done is not None and active == 0:
            runs_done = time.perf_counter() - started
            break
        time.sleep(0.5)
    return {
        "answers": answers,
        "accepted_s": accepted,
        "imports_done_s": imports_done,
        "all_done_s": runs_done,
        "counts": job_counts(cluster),
        "mb": sum(len(content) for content in files.values()) / 1e6,
    }


def follow_reconcile(server: Server, info: dict) -> None:
    headers = {"Authorization": f"Bearer {info['token']}", "Content-Type": "application/json"}
    url = f"{server.base}/v1/tenants/{info['reconcile_tenant']}/reconcile"
    started = time.perf_counter()
    response = requests.post(url, data="{}", headers={**headers, "Prefer": "respond-async"}, timeout=60)
    answered = (time.perf_counter() - started) * 1000
    print(f"reconcile: {response.status_code} in {answered:.0f} ms, Location {response.headers.get('Location')}")
    location = response.headers["Location"]
    last = None
    deadline = time.monotonic() + TIME_LIMIT_SECONDS
    while time.monotonic() < deadline:
        job = requests.get(location, headers=headers, timeout=30).json()
        progress = job["progress"]
        line = f"{progress['phase']} {progress['done']}/{progress['total']} ({progress['percent']}%)"
        if line != last:
            print(f"  {time.perf_counter() - started:6.1f} s  {job['status']:<9} {line}", flush=True)
            last = line
        if job["status"] not in ("queued", "running"):
            output = job.get("output") or {}
            print(
                f"reconcile done in {time.perf_counter() - started:.1f} s: {job['status']}, "
                f"{output.get('candidates_total')} proposals, {output.get('auto_confirmed')} auto-confirmed"
            )
            return
        time.sleep(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--rows", type=int, default=50_000, help="rows of each tenant's statement")
    parser.add_argument("--workers", type=int, default=2, help="queue workers")
    parser.add_argument("--web-workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--list-clients", type=int, default=4)
    parser.add_argument("--invoices", type=int, default=500, help="open invoices per importing tenant")
    parser.add_argument("--reconcile", type=int, default=0, help="also follow a run of N x N through the API")
    parser.add_argument("--idle-seconds", type=int, default=10, help="list latency measured before the imports")
    args = parser.parse_args()
    if min(args.tenants, args.rows, args.workers, args.web_workers, args.list_clients) < 1 or args.reconcile < 0:
        parser.error("counts must be positive")

    cluster = ensure_cluster()
    print(f"machine speed: {python_speed_ms():.0f} ms (pure-Python loop; lower is faster)")
    built = time.perf_counter()
    info = build(cluster, args.tenants, args.invoices, args.reconcile)
    with psycopg.connect(info["url"]) as conn, conn.cursor() as cursor:
        print(durability_note(cursor))
    print(f"built {BENCH_DB}: {args.tenants} tenants x {args.invoices} invoices in {time.perf_counter() - built:.0f} s")
    server = Server(info["url"], args.web_workers)
    workers = start_workers(info["url"], args.workers)
    load = ListLoad(server.base, info["token"], info["tenants"], args.list_clients)
    try:
        load.phase = "warm-up"  # first requests of fresh gunicorn workers: not counted
        load.start()
        time.sleep(3)
        load.phase = "idle"
        time.sleep(args.idle_seconds)
        load.phase = "imports"
        result = run_imports(cluster, server, info, args.rows)
        load.phase = "after"
        time.sleep(1)
        load.stop()
        statuses = sorted({status for status, _ in result["answers"]})
        upload = percentiles([ms for _, ms in result["answers"]])
        idle = percentiles(load.by_phase.get("idle", []))
        busy = percentiles(load.by_phase.get("imports", []))
        rows_total = args.tenants * args.rows
        print()
        print(f"{args.tenants} tenants x {args.rows:,}-row statements ({result['mb']:.1f} MB) at once, "
              f"{args.workers} queue workers, {args.web_workers} gunicorn workers, {args.list_clients} list clients")
        print(f"  uploads answered {statuses}: p50 {upload['p50']:.0f} ms, p95 {upload['p95']:.0f} ms "
              f"(all {args.tenants} accepted in {result['accepted_s']:.1f} s)")
        if result["imports_done_s"]:
            print(f"  all imports done after {result['imports_done_s']:.1f} s "
                  f"({rows_total / result['imports_done_s']:,.0f} rows/s)")
        if result["all_done_s"]:
            print(f"  all jobs done (with each tenant's automatic run) after {result['all_done_s']:.1f} s")
        print(f"  jobs: {dict(sorted(result['counts'].items()))}")
        print(f"  list invoices, idle:        n={idle['n']:>5}  p50 {idle['p50']:6.1f} ms  p95 {idle['p95']:6.1f} ms  "
              f"p99 {idle['p99']:6.1f} ms")
        print(f"  list invoices, during work: n={busy['n']:>5}  p50 {busy['p50']:6.1f} ms  p95 {busy['p95']:6.1f} ms  "
              f"p99 {busy['p99']:6.1f} ms  errors {load.errors}")
        if args.reconcile:
            print()
            follow_reconcile(server, info)
    finally:
        load.stop()
        stop(workers)
        server.stop()


if __name__ == "__main__":
    main()
