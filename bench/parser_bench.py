"""Statement parsing speed per format and file size (issue 13.3): CSV, MT940, OFX and CAMT.053
files of 1, 5 and 10 MB, parsed in memory (format detection included, no database).

    .venv/bin/python bench/parser_bench.py [--sizes 1 5 10] [--formats csv mt940 ofx camt053] [--repeat 2]

Prints seconds (the best of ``--repeat`` runs: the machine's two cores are shared) and seconds
per MB for each format and size, wall clock and this process's CPU time, and the machine speed
figure (``bench/_setup.python_speed_ms``). Target: a 10 MB file of any format parses in under 5 s on
the project's machine. Figures, not assertions: no test checks a time.

The files have the shapes of the test fixtures, filled with the generator's kind of data
(companies, invoice references, IBANs): a German CSV export (decimal comma, grouped thousands,
debit/credit indicator), one MT940 statement holding every transaction (the worst case for a
parser that counts lines per transaction), an SGML OFX statement, and a CAMT.053 statement
with structured and unstructured remittance information.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import random
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from banking.statements import iter_statement  # noqa: E402
from bench._setup import python_speed_ms  # noqa: E402
from bench.datagen import make_iban, make_rf  # noqa: E402

MB = 1024 * 1024
_WORDS = "Rechnung Miete Beitrag Lieferung Wartung Abschlag Gutschrift Honorar Lizenz Service".split()
_COMPANIES = "Stadtwerke Müller Schmidt Acme Globex Initech Umbrella Hooli Vandelay Stark".split()
_FORMS = ("GmbH", "AG", "KG", "BV", "SARL", "Ltd")


def _rows(seed: int = 7) -> Iterator[dict[str, object]]:
    """Endless transactions: date, signed amount in cents, counterparty, IBAN, purpose, ids."""
    rng = random.Random(seed)
    start = dt.date(2024, 1, 1)
    for n in range(10**9):
        company = f"{rng.choice(_COMPANIES)} {rng.choice(_COMPANIES)} {rng.choice(_FORMS)}"
        cents = rng.randint(1, 2_500_000) * (1 if rng.random() < 0.4 else -1)
        purpose = f"{rng.choice(_WORDS)} INV-{n:07d} Kd-Nr {rng.randint(1000, 99999)}"
        if n % 5 == 0:
            purpose += f" {make_rf(f'{n:010d}')}"
        yield {
            "n": n,
            "date": start + dt.timedelta(days=n % 365),
            "cents": cents,
            "company": company,
            "iban": make_iban(rng),
            "purpose": purpose,
            "ref": f"BR{n:012d}",
        }


def _grouped(cents: int, decimal: str, group: str) -> str:
    whole, fraction = divmod(abs(cents), 100)
    return f"{whole:,}".replace(",", group) + f"{decimal}{fraction:02d}"


def _fill(head: str, row: Callable[[dict[str, object]], str], tail: str, size: int) -> bytes:
    parts, total = [head], len(head.encode())
    for item in _rows():
        text = row(item)
        parts.append(text)
        total += len(text.encode())
        if total + len(tail) >= size:
            break
    parts.append(tail)
    return "".join(parts).encode()


def make_csv(size: int) -> bytes:
    def row(t: dict[str, object]) -> str:
        date = t["date"].strftime("%d.%m.%Y")  # type: ignore[attr-defined]
        cents = int(t["cents"])  # type: ignore[call-overload]
        mark = "H" if cents > 0 else "S"
        return (
            f'{date};{date};"{t["company"]}";{t["iban"]};"{t["purpose"]}";'
            f"{_grouped(cents, ',', '.')};{mark};EUR;{t['ref']}\n"
        )

    head = "Buchungstag;Valuta;Auftraggeber/Empfänger;IBAN;Verwendungszweck;Betrag;S/H;Währung;Bankreferenz\n"
    return _fill(head, row, "", size)


def make_mt940(size: int) -> bytes:
    def row(t: dict[str, object]) -> str:
        date = t["date"].strftime("%y%m%d")  # type: ignore[attr-defined]
        cents = int(t["cents"])  # type: ignore[call-overload]
        mark = "C" if cents > 0 else "D"
        amount = f"{abs(cents) // 100},{abs(cents) % 100:02d}"
        return (
            f":61:{date}{date[2:]}{mark}{amount}NTRFNONREF//{t['ref']}\n"
            f":86:166?00SEPA-UEBERWEISUNG?20EREF+E2E{t['n']}?21SVWZ+{str(t['purpose'])[:27]}"
            f"?30COBADEFFXXX?31{t['iban']}?32{str(t['company'])[:27]}\n"
        )

    head = ":20:STMT-1\n:25:DE89370400440532013000\n:28C:1/1\n:60F:C240101EUR0,00\n"
    return _fill(head, row, ":62F:C241231EUR0,00\n-\n", size)


def make_ofx(size: int) -> bytes:
    def row(t: dict[str, object]) -> str:
        date = t["date"].strftime("%Y%m%d")  # type: ignore[attr-defined]
        cents = int(t["cents"])  # type: ignore[call-overload]
        sign = "-" if cents < 0 else ""
        return (
            f"<STMTTRN>\n<TRNTYPE>{'DEBIT' if cents < 0 else 'CREDIT'}\n<DTPOSTED>{date}120000\n"
            f"<TRNAMT>{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}\n<FITID>{t['ref']}\n"
            f"<NAME>{t['company']}\n<MEMO>{t['purpose']}\n</STMTTRN>\n"
        )

    head = (
        "OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nSECURITY:NONE\nENCODING:USASCII\nCHARSET:1252\n"
        "COMPRESSION:NONE\nOLDFILEUID:NONE\nNEWFILEUID:NONE\n\n<OFX>\n<BANKMSGSRSV1>\n<STMTTRNRS>\n"
        "<TRNUID>1\n<STMTRS>\n<CURDEF>EUR\n<BANKACCTFROM>\n<BANKID>37040044\n"
        "<ACCTID>DE89370400440532013000\n<ACCTTYPE>CHECKING\n</BANKACCTFROM>\n<BANKTRANLIST>\n"
        "<DTSTART>20240101\n<DTEND>20241231\n"
    )
    tail = "</BANKTRANLIST>\n</STMTRS>\n</STMTTRNRS>\n</BANKMSGSRSV1>\n</OFX>\n"
    return _fill(head, row, tail, size)


def make_camt053(size: int) -> bytes:
    def row(t: dict[str, object]) -> str:
        date = t["date"].isoformat()  # type: ignore[attr-defined]
        cents = int(t["cents"])  # type: ignore[call-overload]
        indicator, role = ("CRDT", "Dbtr") if cents > 0 else ("DBIT", "Cdtr")
        return (
            f'<Ntry><Amt Ccy="EUR">{abs(cents) // 100}.{abs(cents) % 100:02d}</Amt>'
            f"<CdtDbtInd>{indicator}</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>{date}</Dt></BookgDt>"
            f"<ValDt><Dt>{date}</Dt></ValDt><AcctSvcrRef>{t['ref']}</AcctSvcrRef><NtryDtls><TxDtls>"
            f"<Refs><EndToEndId>E2E{t['n']}</EndToEndId></Refs><RltdPties><{role}><Nm>{t['company']}</Nm>"
            f"</{role}><{role}Acct><Id><IBAN>{t['iban']}</IBAN></Id></{role}Acct></RltdPties>"
            f"<RmtInf><Ustrd>{t['purpose']}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>\n"
        )

    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>\n'
        "<GrpHdr><MsgId>MSG-1</MsgId><CreDtTm>2024-12-31T10:00:00</CreDtTm></GrpHdr>\n"
        "<Stmt><Id>STMT-1</Id><Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy></Acct>\n"
    )
    return _fill(head, row, "</Stmt></BkToCstmrStmt></Document>\n", size)


MAKERS = {"csv": make_csv, "mt940": make_mt940, "ofx": make_ofx, "camt053": make_camt053}
EXTENSIONS = {"csv": "csv", "mt940": "sta", "ofx": "ofx", "camt053": "xml"}


def time_parse(data: bytes, name: str, repeat: int) -> tuple[float, float, int]:
    """Best wall and CPU seconds of ``repeat`` full parses (detection included), and the count.

    CPU seconds (this process only) move less than wall seconds when other work shares the
    two cores; both are printed.
    """
    best_wall = best_cpu = float("inf")
    count = 0
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        count = sum(1 for _ in iter_statement(io.BytesIO(data), filename=name))
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return best_wall, best_cpu, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1, 5, 10], help="file sizes in MB")
    parser.add_argument("--formats", nargs="+", default=list(MAKERS), choices=list(MAKERS))
    parser.add_argument("--repeat", type=int, default=2, help="runs per file; the best is printed")
    args = parser.parse_args()
    print(f"machine speed (bench/_setup.python_speed_ms): {python_speed_ms():.0f} ms")
    print(f"{'format':<8} {'MB':>6} {'transactions':>12} {'seconds':>8} {'s/MB':>7} {'CPU s':>7} {'CPU s/MB':>8}")
    for fmt in args.formats:
        for size in args.sizes:
            data = MAKERS[fmt](int(size * MB))
            seconds, cpu, count = time_parse(data, f"statement.{EXTENSIONS[fmt]}", args.repeat)
            megabytes = len(data) / MB
            print(
                f"{fmt:<8} {megabytes:>6.2f} {count:>12,} {seconds:>8.2f} {seconds / megabytes:>7.3f} "
                f"{cpu:>7.2f} {cpu / megabytes:>8.3f}"
            )
    print(f"machine speed after: {python_speed_ms():.0f} ms")


if __name__ == "__main__":
    main()
