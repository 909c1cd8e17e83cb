"""Statements you can trust on realistic books: a book's statement files (bench/realistic.py)
imported through the real service, then how its internal transfers were paired and whether its
statements continue each other (issue 17).

    .venv/bin/python bench/realistic_transfers.py [n] [--seeds 1,2,3]

Per seed: a fresh tenant imports the book's five files one after another, as a tenant would
(``banking.services.statement_import``: statements stored and checked, transfers paired at
import). The import's new ids, in file order, say which generated line each stored row is (a
file whose rows were not all stored is reported and left out of the count). Printed: the
book's internal transfers (two legs each, between its three EUR accounts), the pairs the
imports made, how many of them are a true transfer's two legs, how many pair the legs of two
transfers of one amount between the same two accounts the other way round (swapped: the same
bookkeeping), how many pair rows of other kinds (wrong), and the statements stored with their continuity breaks (the generator chains
its balances: a break here is a parser's or the check's error). Figures, not assertions.
"""

from __future__ import annotations

import argparse
import io
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._setup import bench_tenant, setup_django  # noqa: E402

# The family of a generated line says which own account's file it is in (bench/realistic.py).
ACCOUNT_OF_FAMILY = {
    "dk_mt940": "DE", "abn_mt940": "NL", "camt053": "BE", "us_ach": "US", "us_fedwire": "US",
    "uk_fps": "GB", "uk_bacs": "GB",
}  # fmt: skip


def measure(n: int, seed: int) -> dict[str, int]:
    from banking import services
    from banking.models import BankStatement, BankTransaction, InternalTransfer, InternalTransferStatus
    from bench.realistic import _PARSE_AS, generate
    from tenants.context import tenant_context

    book = generate(n, seed)
    tenant, user = bench_tenant(f"realistic transfers {seed}")
    line_of_row: dict[str, str] = {}  # stored row id -> generated line id
    unmapped_files = 0
    with tenant_context(tenant.id):
        for account in book.own_accounts:
            name = next((file for file in book.statements if file.startswith(f"{account.key}-")), None)
            if name is None:
                continue
            statement_format, csv_options = _PARSE_AS[account.statement_format]
            result = services.statement_import(
                stream=io.BytesIO(book.statements[name]),
                file_name=name,
                file_format=statement_format,
                csv_options=csv_options,
                created_by=user,
                default_account=account.identifier,
            )
            lines = sorted(
                (
                    tx
                    for tx in book.transactions
                    if ACCOUNT_OF_FAMILY[book.labels[tx.id].family] == account.key
                ),
                key=lambda tx: (tx.booking_date, tx.id),
            )
            if result.imported != len(lines):
                unmapped_files += 1
                continue
            line_of_row.update(zip(result.transaction_id_texts, (tx.id for tx in lines), strict=True))
        pairs = list(
            InternalTransfer.objects.filter(status=InternalTransferStatus.PAIRED).values_list(
                "outgoing_id", "incoming_id"
            )
        )
        statements = BankStatement.objects.count()
        breaks = BankStatement.objects.filter(has_break=True).count()
        internal_rows = BankTransaction.objects.filter(status="internal").count()
    legs = [label for label in book.labels.values() if label.kind == "internal_transfer"]
    kinds: Counter[str] = Counter()

    def account_of(line_id: str) -> str:
        return ACCOUNT_OF_FAMILY[book.labels[line_id].family] if line_id in book.labels else ""

    wrong: Counter[str] = Counter()
    for outgoing, incoming in pairs:
        out_line, in_line = line_of_row.get(str(outgoing)), line_of_row.get(str(incoming))
        if out_line is None or in_line is None:
            kinds["unknown"] += 1
        elif book.labels[out_line].facts.get("other_leg") == in_line:
            kinds["true"] += 1
        elif account_of(book.labels[out_line].facts.get("other_leg", "")) == account_of(in_line) and (
            book.labels[in_line].kind == "internal_transfer"
        ):
            kinds["swapped"] += 1  # two transfers of one amount between the same two accounts
        else:
            kinds["wrong"] += 1
            wrong[f"{book.labels[out_line].kind} -> {book.labels[in_line].kind}"] += 1
    return {
        "transfers": len(legs) // 2,
        "pairs": len(pairs),
        "true": kinds["true"],
        "swapped": kinds["swapped"],
        "wrong": kinds["wrong"],
        "unknown": kinds["unknown"],
        "internal_rows": internal_rows,
        "statements": statements,
        "breaks": breaks,
        "unmapped_files": unmapped_files,
        "wrong_kinds": ", ".join(f"{count} {pair}" for pair, count in wrong.most_common()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=2000, help="open invoices per book")
    parser.add_argument("--seeds", default="1,2,3")
    options = parser.parse_args()
    setup_django()
    print(f"{'seed':>4} {'transfers':>9} {'pairs':>5} {'true':>5} {'swapped':>7} {'wrong':>5} {'legs internal':>13} "
          f"{'statements':>10} {'breaks':>6}")  # fmt: skip
    for seed in (int(s) for s in options.seeds.split(",")):
        r = measure(options.n, seed)
        note = f"  ({r['unmapped_files']} file(s) not mapped, {r['unknown']} pair(s) unknown)" if (
            r["unmapped_files"] or r["unknown"]
        ) else ""  # fmt: skip
        print(f"{seed:>4} {r['transfers']:>9} {r['pairs']:>5} {r['true']:>5} {r['swapped']:>7} {r['wrong']:>5} "
              f"{r['internal_rows']:>13} {r['statements']:>10} {r['breaks']:>6}{note}", flush=True)  # fmt: skip
        if r["wrong_kinds"]:
            print(f"     wrong pairs (outgoing kind -> incoming kind): {r['wrong_kinds']}")


if __name__ == "__main__":
    main()
