"""End-to-end ``reconcile()`` speed: read from PostgreSQL, score, assign, persist proposals.

    .venv/bin/python bench/reconcile_bench.py [--sizes 1000 10000 100000] [--seed 1] [--workers 2] [--citus]

For each size N, a fresh tenant gets N open invoices (with their vendors) and about N bank
transactions from the labelled generator (bench/datagen.py), loaded through the same import
service as production. Then ``reconciliation.services.reconcile`` runs once (auto-confirm on,
as in production) and the script prints seconds, Python peak memory (tracemalloc) and the
process's peak resident size (and with --trace-memory Python's traced peak), plus the growth ratio per 10x.
With ``--workers N`` (the RECONCILE_WORKERS setting) large runs score in N forked processes;
"memory MiB" is then the larger of the process's peak and its resident size while the workers
ran plus their unshared memory. Targets: 100k x 100k in <= 30 s and <= 1 GiB on this machine;
growth close to linear. ``--citus`` runs the same sizes on plain PostgreSQL and on the embedded
Citus cluster (``CITUS_DATABASE_URL`` for another one), each in its own process, and prints both
and the ratio Citus / plain per size. Figures only, no assertions.

In the same run, before each reconciliation, the bench measures a **floor** (issue 17): what
any run over the same open items must at least do. It reads the open items with the selector
queries the run uses (``open_invoice_inputs``, ``open_transaction_inputs``, in the tenant's
context), pairs them by an exact ``(currency, amount)`` hash join in Python (one invoice per
transaction), and writes that many proposals with COPY. It prints the floor's seconds (and its
three parts) and the run's ratio to it: the ratio must not grow as the engine does more.
Decision, like ``bench/import_bench.py``'s fair floor: the proposals go by COPY, as the table
owner, into a scratch copy of ``reconciliation_match`` (``LIKE ... INCLUDING ALL`` plus the same
foreign keys, a regular WAL-logged table, distributed like it on Citus), not into the real table:
COPY cannot write a table under row-level security, and a scratch table leaves nothing behind.
Each floor proposal is a real row (ids, the tenant, a run of its own, a one-line reason, an empty
breakdown); the run's proposals carry full explanations and allocations, which the floor
does not write (they are the run's work, not the floor's). Read before the run, the floor sees
the open items the run sees; the run's peak memory is reset after it.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._setup import bench_tenant, python_speed_ms, run_on, setup_django  # noqa: E402


def load_dataset(tenant_id: uuid.UUID, size: int, seed: int, transactions: int = 0) -> tuple[int, int]:
    """Vendors, invoices and transactions of one generated dataset, inside the tenant."""
    from banking.models import ImportSource
    from banking.services import transactions_import
    from banking.statements import ParsedTransaction
    from bench.datagen import BENCH_SETTINGS, generate
    from invoices.models import Invoice, Vendor
    from tenants.context import tenant_context
    from tenants.models import TenantSettings
    from tenants.statistics import analyze_if_stale

    data = generate(n=size, seed=seed, min_transactions=transactions)
    with tenant_context(tenant_id):
        TenantSettings.objects.update(
            fee_tolerance_fixed=BENCH_SETTINGS.fee_tolerance_fixed,
            fee_tolerance_percent=BENCH_SETTINGS.fee_tolerance_percent,
        )
        vendors: dict[str, Vendor] = {}
        for invoice in data.invoices:
            key = invoice.counterparty_id or invoice.counterparty_name
            if key and key not in vendors:
                vendors[key] = Vendor(
                    name=f"{invoice.counterparty_name} [{key[:8]}]"[:200],
                    iban=invoice.counterparty_account,
                    aliases=list(invoice.counterparty_aliases),
                )
        Vendor.objects.bulk_create(list(vendors.values()), batch_size=5000)
        # Vendors' own numbering can repeat across vendors; numbers are unique per tenant here.
        seen: set[str] = set()
        numbers = []
        for i in data.invoices:
            number, repeat = i.number, 1
            while number and number in seen:
                repeat += 1
                number = f"{i.number}/{repeat}"
            seen.add(number)
            numbers.append(number)
        Invoice.objects.bulk_create(
            [
                Invoice(
                    number=number,
                    vendor=vendors.get(i.counterparty_id or i.counterparty_name),
                    amount=i.amount,
                    currency=i.currency,
                    issue_date=i.issue_date,
                    due_date=i.due_date,
                    structured_reference=i.structured_reference,
                    kind=i.direction if i.direction != "any" else "receivable",
                    description="generated",
                )
                for i, number in zip(data.invoices, numbers, strict=True)
            ],
            batch_size=5000,
        )
        # As import_invoices does: a new tenant's rows must be known to the planner.
        analyze_if_stale(Invoice, rows_added=len(data.invoices))
        rows = (
            ParsedTransaction(
                account="BENCH-ACCOUNT",
                amount=t.amount,
                currency=t.currency,
                booking_date=t.booking_date,
                value_date=t.value_date,
                description=t.description,
                counterparty_name=t.counterparty_name[:200],
                counterparty_account=t.counterparty_account,
                external_id=t.external_id or f"GEN-{t.id}",
                end_to_end_id=t.end_to_end_id,
                structured_reference=t.structured_reference,
            )
            for t in data.transactions
        )
        transactions_import(rows=rows, source=ImportSource.COMMAND, return_ids=False)
    return len(data.invoices), len(data.transactions)


def reset_peak_rss() -> None:
    """Start the process's peak resident size afresh (Linux), so the run's own peak is read,
    not the data generation's and loading's before it."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear_refs:
            clear_refs.write("5")
    except OSError:
        pass  # elsewhere the lifetime peak is reported (an upper bound)


def run_peak_rss_mib() -> float:
    """Peak resident size since :func:`reset_peak_rss` (VmHWM); the lifetime peak elsewhere."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


FLOOR_TABLE = "bench_floor_match"
_FLOOR_COLUMNS = (
    "id, tenant_id, run_id, shape, status, auto, confidence, reasons, breakdown, fee_amount, "
    "engine_version, created_at, updated_at"
)
_FLOOR_REASONS = '[{"code": "amount.exact", "message": "Same amount and currency"}]'


def _floor_table(cursor: Any) -> None:
    """The scratch copy of ``reconciliation_match``: columns, checks, indexes and foreign keys."""
    from django.db import connection

    from tenants.citus import citus_enabled

    cursor.execute(f"DROP TABLE IF EXISTS {FLOOR_TABLE}")
    cursor.execute(f"CREATE TABLE {FLOOR_TABLE} (LIKE reconciliation_match INCLUDING ALL)")
    if citus_enabled(connection):
        cursor.execute(
            f"SELECT create_distributed_table('{FLOOR_TABLE}', 'tenant_id', colocate_with => 'reconciliation_match')"
        )
    cursor.execute(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'reconciliation_match'::regclass "
        "AND contype = 'f' ORDER BY conname"
    )
    for (definition,) in cursor.fetchall():
        cursor.execute(f"ALTER TABLE {FLOOR_TABLE} ADD {definition}")


def measure_floor(tenant_id: uuid.UUID) -> dict[str, float]:  # "pairs" and "written" are counts
    """Seconds of the floor for the tenant's open items (see the module docstring), by part."""
    from datetime import UTC, datetime
    from decimal import Decimal

    from django.db import connection

    from common.ids import OrderedIds
    from common.memory import cyclic_gc_paused
    from reconciliation import selectors
    from reconciliation.engine import ENGINE_VERSION
    from reconciliation.models import ReconciliationRun
    from tenants.context import tenant_context

    with tenant_context(tenant_id):
        run = ReconciliationRun.objects.create(source="bench", engine_version="floor")
    with connection.cursor() as cursor:
        _floor_table(cursor)
    try:
        with cyclic_gc_paused():  # as the run does
            started = time.perf_counter()
            with tenant_context(tenant_id):
                invoices = selectors.open_invoice_inputs()
                transactions = selectors.open_transaction_inputs()
            read = time.perf_counter() - started
            started = time.perf_counter()
            by_amount: dict[tuple[str, Decimal], list[str]] = {}
            for invoice in invoices:
                by_amount.setdefault((invoice.currency, invoice.outstanding), []).append(invoice.id)
            pairs: list[tuple[str, str]] = []
            for tx in transactions:
                amount = tx.unallocated if tx.unallocated is not None else abs(tx.amount)
                candidates = by_amount.get((tx.currency, amount))
                if candidates:
                    pairs.append((tx.id, candidates.pop()))
            join = time.perf_counter() - started
            del invoices, transactions, by_amount
            started = time.perf_counter()
            new_id = OrderedIds.new()
            now = datetime.now(UTC)
            with connection.cursor() as cursor:
                with cursor.copy(f"COPY {FLOOR_TABLE} ({_FLOOR_COLUMNS}) FROM STDIN") as copy:
                    for seq in range(len(pairs)):
                        copy.write_row(
                            (new_id(seq), tenant_id, run.id, "one_to_one", "proposed", False, Decimal("0.45"),
                             _FLOOR_REASONS, "[]", Decimal(0), ENGINE_VERSION, now, now)
                        )  # fmt: skip
                written = cursor.rowcount
            write = time.perf_counter() - started
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE {FLOOR_TABLE}")
    return {
        "seconds": read + join + write,
        "read": read,
        "join": join,
        "write": write,
        "pairs": len(pairs),
        "written": written,
    }


@contextmanager
def phase_timer() -> Iterator[dict[str, float]]:
    """Seconds spent in each phase of ``reconciliation.services.reconcile`` while inside."""
    from reconciliation import engine, selectors
    from reconciliation.services import run_writer

    spent: dict[str, float] = {}
    wrapped = [
        (selectors, "open_invoice_inputs", "read invoices"),
        (selectors, "open_transaction_inputs", "read transactions"),
        (engine, "reconcile", "engine"),
        (run_writer, "stage_proposals", "stage"),
        (run_writer, "auto_confirm", "auto-confirm"),
        (run_writer, "write_run", "write"),
    ]
    originals = [(module, attribute, getattr(module, attribute)) for module, attribute, _ in wrapped]

    def timed(function: Callable[..., Any], name: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[name] = spent.get(name, 0.0) + time.perf_counter() - started

        return call

    for (module, attribute, name), (_, _, function) in zip(wrapped, originals, strict=True):
        setattr(module, attribute, timed(function, name))
    try:
        yield spent
    finally:
        for module, attribute, function in originals:
            setattr(module, attribute, function)


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Every size on one database (the one DATABASE_URL names, or the embedded one)."""
    trace_memory = args.trace_memory
    setup_django()
    from django.conf import settings

    if args.workers is not None:
        settings.RECONCILE_WORKERS = args.workers
    from reconciliation.services import reconcile
    from tenants.context import tenant_context

    speed_before = python_speed_ms()
    results = []
    for size in args.sizes:
        tenant, user = bench_tenant(f"Reconcile bench {size}")
        started = time.perf_counter()
        invoices, transactions = load_dataset(tenant.id, size, args.seed, 0 if args.natural else size)
        load_seconds = time.perf_counter() - started
        floor = measure_floor(tenant.id)
        reset_peak_rss()
        with phase_timer() as phases:
            started = time.perf_counter()
            with tenant_context(tenant.id):
                result = reconcile(actor=user, source="bench")
            seconds = time.perf_counter() - started
        rss_mib = run_peak_rss_mib()
        rss_mib = max(rss_mib, result.stats.get("scoring_memory_bytes", 0) / 2**20)
        # tracemalloc would slow the run 2-3x: Python's own peak comes from a second, traced
        # dry run (same reads and engine work, no writes), only when asked for.
        peak = 0.0
        if trace_memory:
            tracemalloc.start()
            with tenant_context(tenant.id):
                reconcile(dry_run=True, source="bench")
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        results.append(
            {
                "size": size,
                "invoices": invoices,
                "transactions": transactions,
                "seconds": seconds,
                "peak": peak / 2**20,
                "rss": rss_mib,
                "proposals": len(result.proposals),
                "auto": result.auto_confirmed,
                "load": load_seconds,
                "phases": dict(phases),
                "floor": floor,
            }
        )
        print(
            f"size {size:,}: loaded in {timedelta(seconds=int(load_seconds))}, reconciled in {seconds:.1f} s"
            f" ({', '.join(f'{name} {spent:.1f}' for name, spent in phases.items())},"
            f" rest {seconds - sum(phases.values()):.1f}); floor {floor['seconds']:.1f} s",
            file=sys.stderr,
            flush=True,
        )
    return {
        "results": results,
        "speed_before": speed_before,
        "speed_after": python_speed_ms(),
        "workers": settings.RECONCILE_WORKERS,
    }


def report(figures: dict[str, Any]) -> None:
    print(
        f"{'N':>9}{'invoices':>10}{'txns':>9}{'seconds':>9}{'py peak MiB':>13}{'memory MiB':>13}"
        f"{'proposals':>11}{'auto':>7}{'x per 10x':>11}"
    )
    previous = None
    for row in figures["results"]:
        size, seconds = row["size"], row["seconds"]
        growth = f"{seconds / previous[1]:.1f}" if previous and previous[0] * 10 == size else ""
        print(
            f"{size:>9,}{row['invoices']:>10,}{row['transactions']:>9,}{seconds:>9.1f}{row['peak']:>13.0f}"
            f"{row['rss']:>13.0f}{row['proposals']:>11,}{row['auto']:>7,}{growth:>11}"
        )
        previous = (size, seconds)
    for row in figures["results"]:
        phases = ", ".join(f"{name} {spent:.1f}" for name, spent in row["phases"].items())
        print(f"  {row['size']:,}: loaded in {row['load']:.1f} s; phases (s): {phases}")
    print(
        f"machine speed (bench/_setup.python_speed_ms, lower is faster): {figures['speed_before']:.0f} ms before, "
        f"{figures['speed_after']:.0f} ms after"
    )
    print(f"workers: {figures['workers']} (RECONCILE_WORKERS; runs under 5,000 transactions use 1)")
    print("targets: 100k x 100k <= 30 s and <= 1 GiB; growth close to 10x per 10x (linear)")
    print(
        "floor: read the open items (the run's selectors), exact (currency, amount) hash join, COPY that many "
        "proposals into a scratch reconciliation_match (its indexes and keys, no RLS)"
    )
    print(
        f"{'N':>9}{'floor s':>9}{'read':>7}{'join':>7}{'write':>7}{'pairs':>9}{'run s':>8}{'run / floor':>13}"
    )
    for row in figures["results"]:
        floor = row["floor"]
        print(
            f"{row['size']:>9,}{floor['seconds']:>9.2f}{floor['read']:>7.2f}{floor['join']:>7.2f}"
            f"{floor['write']:>7.2f}{floor['pairs']:>9,}{row['seconds']:>8.1f}"
            f"{row['seconds'] / floor['seconds']:>12.1f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--trace-memory", action="store_true", help="also measure Python's peak (slow)")
    parser.add_argument("--workers", type=int, default=None, help="RECONCILE_WORKERS for the runs")
    parser.add_argument(
        "--natural",
        action="store_true",
        help="keep the generator's ~0.86 transactions per invoice (default: top up to N transactions)",
    )
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
    print("\nCitus / plain PostgreSQL, reconcile() seconds (> 1 is slower on Citus)")
    for on_plain, on_citus in zip(plain["results"], citus["results"], strict=True):
        write = on_citus["phases"].get("write", 0) / max(on_plain["phases"].get("write", 0), 1e-9)
        print(
            f"  {on_plain['size']:>9,}: {on_citus['seconds'] / on_plain['seconds']:.2f}x "
            f"(writes {write:.2f}x, load {on_citus['load'] / on_plain['load']:.2f}x, "
            f"floor {on_citus['floor']['seconds'] / on_plain['floor']['seconds']:.2f}x)"
        )


if __name__ == "__main__":
    main()
