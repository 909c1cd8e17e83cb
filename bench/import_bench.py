"""Import throughput: API (10,000 rows per request), the bulk command on a large CSV, and two
floors for the same rows:

* raw COPY: psycopg COPY of the CSV into a plain, unconstrained, unindexed table;
* fair COPY (the floor that counts): psycopg COPY, as the table owner, of the finished rows
  (ids, tenant, account, batch, dedup keys: everything the import computes) into a bench-only
  copy of ``banking_banktransaction`` made with ``LIKE ... INCLUDING ALL`` plus the same
  foreign keys (the tenant, the account and the batch, composite ones included) — the same
  columns, check constraints, indexes and keys, a regular WAL-logged table — but without RLS,
  no parsing, no dedup and no ``ON CONFLICT``. On Citus it is distributed like the real table.
  Its ids are time-ordered (UUIDv7-like), the cheapest kind for the primary key index.

    .venv/bin/python bench/import_bench.py [--rows 1000000] [--api-requests 10] [--citus]

Prints rows/s for each path and the ratio to both floors. Targets: the command within 1.5x of
the fair floor on plain PostgreSQL; the API at >= 20,000 rows/s for 10,000-row requests.
``--citus`` runs the same measurements on plain PostgreSQL and on the embedded Citus cluster
(``CITUS_DATABASE_URL`` for another one), each in its own process, and prints both and the
ratio Citus / plain. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._setup import bench_tenant, python_speed_ms, run_on, setup_django  # noqa: E402


def write_csv(path: Path, rows: int, seed: int = 7) -> None:
    """A bank-export-like CSV: ISO dates, description, signed decimal amount, reference."""
    rng = random.Random(seed)
    start = dt.date(2024, 1, 1)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("Date,Description,Amount,Reference\n")
        for n in range(rows):
            day = start + dt.timedelta(days=n % 365)
            cents = rng.randint(-500_00, 5_000_00) or 1
            handle.write(
                f"{day.isoformat()},Payment INV-{n:07d} Customer {n % 977},{cents / 100:.2f},REF{n:09d}\n"
            )


def time_raw_copy(path: Path) -> float:
    """The floor: COPY the CSV straight into an unconstrained, unindexed plain table.

    A plain table is a regular, WAL-logged one, as every table of the app is; an UNLOGGED one
    (used before) skips the write-ahead log and so set the floor at what no durable import
    can reach.
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_raw_copy")
        cursor.execute(
            "CREATE TABLE bench_raw_copy (booking_date date, description text, amount numeric(18,4), "
            "reference text)"
        )
        started = time.perf_counter()
        with (
            open(path, "rb") as handle,
            cursor.copy("COPY bench_raw_copy FROM STDIN (FORMAT csv, HEADER true)") as copy,
        ):
            while block := handle.read(1 << 20):
                copy.write(block)
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_raw_copy")
    return elapsed


def write_table_rows(path: Path, rows: int, parents: tuple[str, str, str], seed: int = 7) -> None:
    """The rows of ``write_csv`` as finished ``banking_banktransaction`` rows (COPY text format).

    The dedup key is the import's fingerprint formula; ids are time-ordered like a UUIDv7 with a
    counter. Tenant, account and batch are real rows (the fair table has the foreign keys).
    """
    rng = random.Random(seed)
    start = dt.date(2024, 1, 1)
    tenant, account, batch = parents
    id_prefix = (int(time.time() * 1000) << 80) | (0x7 << 76) | (0b10 << 62)
    created = dt.datetime.now(dt.UTC)
    with open(path, "w", encoding="utf-8") as handle:
        for n in range(rows):
            day = start + dt.timedelta(days=n % 365)
            cents = rng.randint(-500_00, 5_000_00) or 1
            amount = f"{cents / 100:.2f}00"  # numeric(18, 4) text, as the fingerprint sees it
            description = f"Payment INV-{n:07d} Customer {n % 977}"
            fingerprint = "|".join((day.isoformat(), amount, "EUR", description.lower(), "1"))
            dedup_key = "fp:" + hashlib.md5(fingerprint.encode()).hexdigest()  # noqa: S324 - not security
            stamp = (created + dt.timedelta(microseconds=n)).isoformat()
            handle.write(
                f"{stamp}\t{stamp}\t{uuid.UUID(int=id_prefix | n)}\t{amount}\tEUR\t{day.isoformat()}\t\\N\t"
                f"{description}\t\t\t\t\t\t\t{dedup_key}\tunmatched\t0\t{account}\t{tenant}\t{batch}\n"
            )


_FAIR_COLUMNS = (
    "created_at, updated_at, id, amount, currency, booking_date, value_date, description, "
    "counterparty_name, counterparty_account, external_id, end_to_end_id, structured_reference, "
    "return_reason, dedup_key, status, allocated_amount, account_id, tenant_id, import_batch_id"
)


def fair_parents(tenant_id: str) -> tuple[str, str, str]:
    """A real account and batch of the bench tenant, for the fair rows' foreign keys."""
    from banking.models import BankAccount, ImportBatch, ImportSource
    from tenants.context import tenant_context

    with tenant_context(tenant_id):
        account = BankAccount.objects.create(identifier="FAIR-FLOOR")
        batch = ImportBatch.objects.create(source=ImportSource.COMMAND)
    return tenant_id, str(account.id), str(batch.id)


_FAIR_KEYS = (
    "FOREIGN KEY (tenant_id) REFERENCES tenants_tenant (id)",
    "FOREIGN KEY (tenant_id, account_id) REFERENCES banking_bankaccount (tenant_id, id)",
    "FOREIGN KEY (tenant_id, import_batch_id) REFERENCES banking_importbatch (tenant_id, id)",
)


def time_fair_copy(path: Path) -> float:
    """The fair floor: COPY finished rows, as the owner, into an RLS-less copy of the real table
    with its indexes and keys (placed like it on Citus)."""
    from django.db import connection

    from tenants.citus import citus_enabled

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_fair_copy")
        cursor.execute("CREATE TABLE bench_fair_copy (LIKE banking_banktransaction INCLUDING ALL)")
        if citus_enabled(connection):
            cursor.execute(
                "SELECT create_distributed_table('bench_fair_copy', 'tenant_id', "
                "colocate_with => 'banking_banktransaction')"
            )
        for key in _FAIR_KEYS:
            cursor.execute(f"ALTER TABLE bench_fair_copy ADD {key}")
        try:
            started = time.perf_counter()
            with (
                open(path, "rb") as handle,
                cursor.copy(f"COPY bench_fair_copy ({_FAIR_COLUMNS}) FROM STDIN") as copy,
            ):
                while block := handle.read(1 << 20):
                    copy.write(block)
            elapsed = time.perf_counter() - started
        finally:
            cursor.execute("DROP TABLE bench_fair_copy")
    return elapsed


def time_command(path: Path, tenant_id: str) -> float:
    from django.core.management import call_command

    started = time.perf_counter()
    call_command(
        "import_bank_statement", str(path), "--tenant", tenant_id, "--currency", "EUR", stdout=io.StringIO()
    )
    return time.perf_counter() - started


def time_api(tenant_id: str, user, requests: int, per_request: int) -> tuple[float, list[float]]:
    """Seconds of the first request after start-up (cold), then of each of ``requests`` more.

    The first request of a process pays one-time costs (lazy imports, the backend's catalog
    caches, compiling the triggers' PL/pgSQL): up to ~1 s, reported apart from the steady state.
    """
    from django.test import Client

    from tests.tenants.factories import bearer

    client = Client()
    headers = bearer(user, name="bench")
    payloads = []
    for r in range(requests + 1):
        items = [
            {
                "amount": f"{(n % 9000) + 1}.{n % 100:02d}",
                "date": f"2024-{(n % 12) + 1:02d}-{(n % 28) + 1:02d}T10:00:00Z",
                "description": f"Transfer {r}-{n} from customer {n % 311}",
                "currency": "USD",
                "external_id": f"API-{r}-{n}",
            }
            for n in range(per_request)
        ]
        payloads.append(json.dumps({"transactions": items}))
    seconds = []
    for r, payload in enumerate(payloads):
        started = time.perf_counter()
        response = client.post(
            f"/v1/tenants/{tenant_id}/bank-transactions/import",
            data=payload,
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=f"bench-{r}",
            **headers,
        )
        seconds.append(time.perf_counter() - started)
        assert response.status_code == 201, response.content[:500]
    return seconds[0], seconds[1:]


def measure(args: argparse.Namespace) -> dict[str, float]:
    """Every figure of one database (the one DATABASE_URL names, or the embedded one)."""
    speed_before = python_speed_ms()
    setup_django()
    from django.db import connection

    from tenants.citus import citus_enabled

    tenant, user = bench_tenant("Import bench")
    # The API first: a large command import leaves autovacuum and the checkpointer busy on
    # the two cores for a while, which would be charged to whatever is measured next.
    api_cold_seconds, api_request_seconds = time_api(str(tenant.id), user, args.api_requests, args.api_rows)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "statement.csv"
        started = time.perf_counter()
        write_csv(path, args.rows)
        print(
            f"generated {args.rows:,} rows ({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
        copy_seconds = time_raw_copy(path)
        table_rows = Path(folder) / "rows.tsv"
        write_table_rows(table_rows, args.rows, fair_parents(str(tenant.id)))
        fair_seconds = time_fair_copy(table_rows)
        table_rows.unlink()
        command_seconds = time_command(path, str(tenant.id))
    return {
        "citus": float(citus_enabled(connection)),
        "rows": args.rows,
        "raw": copy_seconds,
        "fair": fair_seconds,
        "command": command_seconds,
        "api_rows": args.api_rows,
        "api_cold": api_cold_seconds,
        "api_requests": args.api_requests,
        "api": sum(api_request_seconds),
        "api_median": statistics.median(api_request_seconds),
        "speed_before": speed_before,
        "speed_after": python_speed_ms(),
    }


def report(figures: dict[str, float]) -> None:
    rows, api_rows = int(figures["rows"]), int(figures["api_rows"] * figures["api_requests"])
    per_row_raw = figures["raw"] / rows
    per_row_fair = figures["fair"] / rows
    print(f"{'path':<50}{'rows':>11}{'seconds':>9}{'rows/s':>10}{'vs raw COPY':>13}{'vs fair COPY':>14}")

    def line(label: str, count: int, seconds: float) -> None:
        per_row = seconds / count
        print(
            f"{label:<50}{count:>11,}{seconds:>9.2f}{count / seconds:>10,.0f}"
            f"{per_row / per_row_raw:>13.2f}{per_row / per_row_fair:>14.2f}"
        )

    line("raw COPY into a plain, unindexed table (floor)", rows, figures["raw"])
    line("fair COPY: same table, indexes and keys, no RLS", rows, figures["fair"])
    line("import_bank_statement command (CSV)", rows, figures["command"])
    line("API import, first request after start (cold)", int(figures["api_rows"]), figures["api_cold"])
    line(
        f"API import ({int(figures['api_rows']):,} rows/request, next {int(figures['api_requests'])})",
        api_rows,
        figures["api"],
    )
    print(
        f"API median request {figures['api_median']:.2f} s; machine speed (bench/_setup.python_speed_ms, "
        f"lower is faster): {figures['speed_before']:.0f} ms before, {figures['speed_after']:.0f} ms after"
    )
    print(
        f"target: command <= 1.50x the fair floor -> {figures['command'] / figures['fair']:.2f}x fair "
        f"({figures['command'] / figures['raw']:.1f}x raw); "
        f"API >= 20,000 rows/s -> {api_rows / figures['api']:,.0f} rows/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the CSV for command vs COPY")
    parser.add_argument("--api-requests", type=int, default=10)
    parser.add_argument("--api-rows", type=int, default=10_000, help="rows per API request")
    parser.add_argument(
        "--citus", action="store_true", help="also on Citus, with the ratio to plain PostgreSQL"
    )
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # one database, for --citus
    args = parser.parse_args()
    if args.json:
        print(json.dumps(measure(args)))
        return
    if not args.citus:
        report(measure(args))
        return
    plain, citus = (run_on(database, sys.argv[1:]) for database in ("plain", "citus"))
    for label, figures in (("plain PostgreSQL", plain), ("Citus (coordinator + 2 workers)", citus)):
        print(f"\n{label}")
        report(figures)
    print("\nCitus / plain PostgreSQL (seconds; > 1 is slower on Citus)")
    for key, label in (
        ("fair", "fair COPY"),
        ("command", "import_bank_statement command"),
        ("api", "API import (steady)"),
    ):
        print(f"  {label:<32}{citus[key] / plain[key]:>6.2f}x")


if __name__ == "__main__":
    main()
