"""What pairing internal transfers costs an import: a tenant with two own accounts, a year of
history on the first, then imports on the second whose rows include transfers from the first.

    .venv/bin/python bench/transfer_bench.py [--history 100000] [--rows 10000] [--transfers 200]

Two imports on the second account: one day's statement (300 rows, 5 transfers), and a year's
(``--rows``, ``--transfers``). Amounts are skewed the way bank data is (a third of them from 40
round amounts: rents, subscriptions, salaries), which is what makes pairing on the amount
ambiguous. Counterparties as statements carry them: 70 % of the debits name a third party's
IBAN (SEPA transfers; the rest are cards and fees, which name none), and 95 % of the credits
(a customer's transfer names the payer's IBAN). Prints each import's time, the part spent pairing, and the pairs made
against the transfers really in the rows (the others pair rows that only look like transfers:
same amount, no counterparty to tell). Figures, not assertions.
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

ACCOUNT_1 = "DE89370400440532013000"
ACCOUNT_2 = "NL91ABNA0417164300"
THIRD_PARTY = "FR1420041010050500013M02606"
ROUND_AMOUNTS = [Decimal(f"{n * 25}.00") for n in range(1, 41)]
START = dt.date(2024, 1, 1)


def amount(rng: random.Random) -> Decimal:
    if rng.random() < 1 / 3:
        return rng.choice(ROUND_AMOUNTS)
    return Decimal(rng.randint(1, 5_000_00)) / 100


def rows(rng: random.Random, count: int, *, prefix: str, sign: int, days: int = 365):  # noqa: ANN201
    from banking.statements import ParsedTransaction

    for n in range(count):
        yield ParsedTransaction(
            amount=sign * amount(rng),
            currency="EUR",
            booking_date=START + dt.timedelta(days=n % days),
            description=f"{prefix} {n}",
            external_id=f"{prefix}-{n}",
            counterparty_account=THIRD_PARTY if rng.random() < (0.7 if sign < 0 else 0.95) else "",
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", type=int, default=100_000)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--transfers", type=int, default=200)
    options = parser.parse_args()
    setup_django()

    from banking import services, transfer_services
    from banking.models import BankTransaction, ImportSource
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
    print(f"python speed: {python_speed_ms():.0f} ms (lower is faster)")

    def load(name: str, items, account: str, transfers: int) -> None:  # noqa: ANN001
        spent.update(pairing=0.0, pairs=0)
        with tenant_context(tenant.id):
            began = time.perf_counter()
            result = services.transactions_import(
                rows=items, source=ImportSource.API, default_account=account, return_ids=False
            )
            total = time.perf_counter() - began
        print(
            f"{name}: {result.imported:,} rows in {total:.2f} s, of which pairing {spent['pairing']:.3f} s "
            f"({spent['pairing'] / total:.0%}); {spent['pairs']} pairs made, {transfers} transfers in the rows"
        )

    load("history, account 1", rows(rng, options.history, prefix="H", sign=-1), ACCOUNT_1, 0)

    def transfers_from(day: dt.date | None, count: int) -> list[ParsedTransaction]:
        """The other legs of ``count`` outgoing history rows (of ``day``), booked a day later."""
        with tenant_context(tenant.id):
            history = BankTransaction.objects.filter(account__identifier=ACCOUNT_1, status="unmatched")
            if day is not None:
                history = history.filter(booking_date=day)
            picked = list(history.order_by("?").values_list("amount", "booking_date")[:count])
        return [
            ParsedTransaction(
                amount=-value,
                currency="EUR",
                booking_date=booked + dt.timedelta(days=1),
                external_id=f"T-{day}-{n}",
                counterparty_account=ACCOUNT_1 if n % 2 else "",
            )
            for n, (value, booked) in enumerate(picked)
        ]

    day = START + dt.timedelta(days=200)
    daily = transfers_from(day, 5)
    others = [
        ParsedTransaction(
            amount=abs(row.amount),
            currency="EUR",
            booking_date=day + dt.timedelta(days=1),
            external_id=f"D-{n}",
            counterparty_account=row.counterparty_account,
        )
        for n, row in enumerate(rows(rng, 300 - len(daily), prefix="D", sign=1))
    ]
    load("one day's statement, account 2", daily + others, ACCOUNT_2, len(daily))
    yearly = transfers_from(None, options.transfers)
    load(
        "a year's statement, account 2",
        yearly + list(rows(rng, options.rows - len(yearly), prefix="B", sign=1)),
        ACCOUNT_2,
        len(yearly),
    )


if __name__ == "__main__":
    main()
