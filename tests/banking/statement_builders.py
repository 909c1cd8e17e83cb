"""Small statement files written for tests: CAMT.053 and MT940 with the balances a test needs.

No Django here: the parser tests use these too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

IBAN_MAIN = "DE89370400440532013000"
IBAN_SAVINGS = "NL91ABNA0417164300"
IBAN_THIRD_PARTY = "FR1420041010050500013M02606"


@dataclass
class Entry:
    amount: str  # signed
    booked: str  # YYYY-MM-DD
    reference: str
    counterparty_account: str = ""
    description: str = "Transfer"


@dataclass
class Statement:
    opening: str | None  # signed; None: no opening balance in the file
    closing: str | None
    closing_date: str = "2024-03-31"
    opening_date: str = "2024-03-01"
    entries: list[Entry] = field(default_factory=list)
    account: str = IBAN_MAIN
    currency: str = "EUR"
    statement_id: str = "STMT-1"
    sequence: str = ""
    opening_type: str = "OPBD"


def _balance(kind: str, amount: str, currency: str, when: str) -> str:
    value = Decimal(amount)
    indicator = "DBIT" if value < 0 else "CRDT"
    return (
        f"<Bal><Tp><CdOrPrtry><Cd>{kind}</Cd></CdOrPrtry></Tp>"
        f'<Amt Ccy="{currency}">{abs(value)}</Amt><CdtDbtInd>{indicator}</CdtDbtInd>'
        f"<Dt><Dt>{when}</Dt></Dt></Bal>"
    )


def _entry(entry: Entry, currency: str) -> str:
    value = Decimal(entry.amount)
    indicator = "DBIT" if value < 0 else "CRDT"
    role = "Cdtr" if value < 0 else "Dbtr"
    party = (
        f"<RltdPties><{role}><Nm>Party</Nm></{role}><{role}Acct><Id><IBAN>{entry.counterparty_account}"
        f"</IBAN></Id></{role}Acct></RltdPties>"
        if entry.counterparty_account
        else ""
    )
    return (
        f'<Ntry><Amt Ccy="{currency}">{abs(value)}</Amt><CdtDbtInd>{indicator}</CdtDbtInd>'
        f"<Sts>BOOK</Sts><BookgDt><Dt>{entry.booked}</Dt></BookgDt><AcctSvcrRef>{entry.reference}</AcctSvcrRef>"
        f"<NtryDtls><TxDtls>{party}<RmtInf><Ustrd>{entry.description}</Ustrd></RmtInf></TxDtls></NtryDtls>"
        "</Ntry>"
    )


def camt(*statements: Statement) -> bytes:
    """A CAMT.053.001.02 document with these statements."""
    body = []
    for statement in statements:
        balances = ""
        if statement.opening is not None:
            balances += _balance(
                statement.opening_type, statement.opening, statement.currency, statement.opening_date
            )
        if statement.closing is not None:
            balances += _balance("CLBD", statement.closing, statement.currency, statement.closing_date)
        sequence = f"<ElctrncSeqNb>{statement.sequence}</ElctrncSeqNb>" if statement.sequence else ""
        body.append(
            f"<Stmt><Id>{statement.statement_id}</Id>{sequence}"
            f"<Acct><Id><IBAN>{statement.account}</IBAN></Id><Ccy>{statement.currency}</Ccy></Acct>"
            f"{balances}{''.join(_entry(entry, statement.currency) for entry in statement.entries)}</Stmt>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>'
        "<GrpHdr><MsgId>TEST</MsgId><CreDtTm>2024-04-01T08:00:00</CreDtTm></GrpHdr>"
        f"{''.join(body)}</BkToCstmrStmt></Document>"
    ).encode()


def mt940(
    *,
    account: str = IBAN_MAIN,
    opening: str = "C240301EUR1000,00",
    closing: str = "C240331EUR900,00",
    lines: tuple[str, ...] = (":61:2403050305D100,00NTRFREF-1//B-1", ":86:Rent"),
    number: str = "00001/001",
    reference: str = "STMT-1",
    opening_tag: str = "60F",
    closing_tag: str = "62F",
) -> str:
    """One MT940 message."""
    return "\n".join(
        [
            f":20:{reference}",
            f":25:{account}",
            f":28C:{number}",
            f":{opening_tag}:{opening}",
            *lines,
            f":{closing_tag}:{closing}",
            "-",
        ]
    )
