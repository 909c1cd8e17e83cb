"""What pairing internal transfers costs an import: a tenant with two own accounts, a large
history on the first, then imports on the second whose rows include transfers from the first.

    .venv/bin/python bench/transfer_bench.py [--history 100000] [--rows 10000] [--transfers 200]

The history's amounts are skewed the way bank data is (a third of them from 40 round amounts:
rents, subscriptions, salaries), which is what makes a join on the amount expensive. Prints the
import time, the part spent pairing, and how many pairs were made. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._setup import bench_tenant, python_speed_ms, setup_django  # noqa: E402

ROUND_AMOUNTS = [Decimal(f"{n * 25}.00") for n in range(1, 41)]


def amount(rng: random.Random) -> Decimal:
    if rng.random() < 1 / 3:
        return rng.choice(ROUND_AMOUNTS)
    return Decimal(rng.randint(1, 5_000_00)) / 100


def rows(rng: random.Random, count: int, *, prefix: str, sign: int, start: dt.date):  # noqa: ANN201
    from banking.statements import ParsedTransaction

    for n in range(count):
        yield ParsedTransaction(
            amount=sign * amount(rng),
            currency="EUR",
            booking_date=start + dt.timedelta(days=n % 365),
            description=f"{prefix} {n}",
            external_id=f"{prefix}-{n}",
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", type=int, default=100_000)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--transfers", type=int, default=200)
    options = parser.parse_args()
    setup_django()

    from banking import services, transfer_services
    from banking.models import ImportSource
    from banking.statements import ParsedTransaction
    from tenants.context import tenant_context

    spent = {"pairing": 0.0, "pairs": 0}
    pair = transfer_services.internal_transfers_pair

    def timed_pair(**kwargs):  # noqa: ANN003, ANN202
        started = time.perf_counter()
        made = pair(**kwargs)
        spent["pairing"] += time.perf_counter() - started
        spent["pairs"] += len(made)
        return made

    services.internal_transfers_pair = timed_pair  # type: ignore[assignment]
    rng = random.Random(7)
    tenant, _user = bench_tenant("transfer bench")
    start = dt.date(2024, 1, 1)
    print(f"python speed: {python_speed_ms():.0f} ms (lower is faster)")
    with tenant_context(tenant.id):
        began = time.perf_counter()
        services.transactions_import(
            rows=rows(rng, options.history, prefix="H", sign=-1, start=start),
            source=ImportSource.API,
            default_account="DE89370400440532013000",
            return_ids=False,
        )
        print(f"history: {options.history:,} rows on account 1 in {time.perf_counter() - began:.2f} s")
    # Transfers: the negatives of some history rows, booked a day later on account 2.
    with tenant_context(tenant.id):
        from banking.models import BankTransaction

        picked = list(
            BankTransaction.objects.order_by("?").values_list("amount", "booking_date")[: options.transfers]
        )
    incoming = [
        ParsedTransaction(
            amount=-value, currency="EUR", booking_date=booked + dt.timedelta(days=1), external_id=f"T-{n}"
        )
        for n, (value, booked) in enumerate(picked)
    ]
    other = list(rows(rng, options.rows - len(incoming), prefix="B", sign=1, start=start))
    spent.update(pairing=0.0, pairs=0)
    with tenant_context(tenant.id):
        began = time.perf_counter()
        result = services.transactions_import(
            rows=incoming + other,
            source=ImportSource.API,
            default_account="NL91ABNA0417164300",
            return_ids=False,
        )
        total = time.perf_counter() - began
    print(
        f"import: {result.imported:,} rows on account 2 in {total:.2f} s, of which pairing "
        f"{spent['pairing']:.2f} s ({spent['pairing'] / total:.0%}); {spent['pairs']} pairs made "
        f"({len(incoming)} transfers in the rows)"
    )


if __name__ == "__main__":
    main()
