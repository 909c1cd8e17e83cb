"""Import throughput: API (10,000 rows per request), the bulk command on a large CSV, and the
floor — a raw psycopg COPY of the same rows into a plain table.

    .venv/bin/python bench/import_bench.py [--rows 1000000] [--api-requests 10]

Prints rows/s for each path and the ratio to the floor. Targets: the command within 2x of raw
COPY; the API at >= 20,000 rows/s for 10,000-row requests. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._setup import bench_tenant, setup_django  # noqa: E402


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
    """The floor: COPY the CSV straight into an unconstrained, unindexed plain table."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_raw_copy")
        cursor.execute(
            "CREATE UNLOGGED TABLE bench_raw_copy (booking_date date, description text, amount numeric(18,4), "
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


def time_command(path: Path, tenant_id: str) -> float:
    from django.core.management import call_command

    started = time.perf_counter()
    call_command(
        "import_bank_statement", str(path), "--tenant", tenant_id, "--currency", "EUR", stdout=io.StringIO()
    )
    return time.perf_counter() - started


def time_api(tenant_id: str, user, requests: int, per_request: int) -> float:
    from django.test import Client

    from tests.tenants.factories import bearer

    client = Client()
    headers = bearer(user, name="bench")
    payloads = []
    for r in range(requests):
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
    started = time.perf_counter()
    for r, payload in enumerate(payloads):
        response = client.post(
            f"/v1/tenants/{tenant_id}/bank-transactions/import",
            data=payload,
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=f"bench-{r}",
            **headers,
        )
        assert response.status_code == 201, response.content[:500]
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the CSV for command vs COPY")
    parser.add_argument("--api-requests", type=int, default=10)
    parser.add_argument("--api-rows", type=int, default=10_000, help="rows per API request")
    args = parser.parse_args()

    setup_django()
    tenant, user = bench_tenant("Import bench")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "statement.csv"
        started = time.perf_counter()
        write_csv(path, args.rows)
        print(
            f"generated {args.rows:,} rows ({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - started:.1f} s"
        )
        copy_seconds = time_raw_copy(path)
        command_seconds = time_command(path, str(tenant.id))
    api_seconds = time_api(str(tenant.id), user, args.api_requests, args.api_rows)
    api_rows = args.api_requests * args.api_rows

    floor = args.rows / copy_seconds
    print()
    print(f"{'path':<44}{'rows':>12}{'seconds':>10}{'rows/s':>12}{'vs COPY':>10}")
    print(
        f"{'raw psycopg COPY into a plain table (floor)':<44}{args.rows:>12,}{copy_seconds:>10.2f}{floor:>12,.0f}{1:>10.2f}"
    )
    command_rate = args.rows / command_seconds
    print(
        f"{'import_bank_statement command (CSV)':<44}{args.rows:>12,}{command_seconds:>10.2f}"
        f"{command_rate:>12,.0f}{command_seconds / copy_seconds:>10.2f}"
    )
    api_rate = api_rows / api_seconds
    print(
        f"{f'API import ({args.api_rows:,} rows/request)':<44}{api_rows:>12,}{api_seconds:>10.2f}"
        f"{api_rate:>12,.0f}{(api_seconds / api_rows) / (copy_seconds / args.rows):>10.2f}"
    )
    print()
    print(
        f"target: command <= 2.00x COPY -> {command_seconds / copy_seconds:.2f}x; "
        f"API >= 20,000 rows/s -> {api_rate:,.0f} rows/s"
    )


if __name__ == "__main__":
    main()
