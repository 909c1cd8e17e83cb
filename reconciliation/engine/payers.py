"""Who paid: the keys a payer is known by, and the customers people refused for a payer.

A bank line names its payer by account (IBAN or other account id) and by name. Both are
compared the way the counterparty signal compares them (``normalize_account``,
``normalize_name``), so a key learned or rejected here means exactly what the signal sees.

Rejection memory: when people rejected a customer for a payer again and again (the tenant's
``rejection_memory``, counted by the service from rejected matches), the engine stops
proposing that customer's invoices for that payer's transactions. The rejected pairs stay
refused one by one as before; this refuses the (customer, payer) combination, for transactions
still to come. The service leaves out a payer the customer is known by (a registered or learned
alias or account): rejecting its invoices then said "wrong invoice", not "wrong customer".
"""

from __future__ import annotations

from collections.abc import Iterable

from .normalize import normalize_account, normalize_name

ACCOUNT_KEY = "account:"
NAME_KEY = "name:"
MIN_NAME_CHARS = 3  # the counterparty signal ignores shorter names (signals._party_names)


def payer_keys(name: str, account: str) -> tuple[str, ...]:
    """The keys of a payer given by ``name`` and ``account`` (either may be empty): its
    normalised account and its normalised name, each prefixed by what it is."""
    keys = []
    acct = normalize_account(account) if account else ""
    if acct:
        keys.append(ACCOUNT_KEY + acct)
    norm = normalize_name(name) if name else ""
    if len(norm) >= MIN_NAME_CHARS:
        keys.append(NAME_KEY + norm)
    return tuple(keys)


def party_keys(name: str, aliases: Iterable[str], accounts: Iterable[str]) -> frozenset[str]:
    """Every key a customer is known by: its name, aliases and accounts."""
    keys: set[str] = set()
    for alias in (name, *aliases):
        keys.update(payer_keys(alias, ""))
    for account in accounts:
        keys.update(payer_keys("", account))
    return frozenset(keys)


class Rejections:
    """Pairs people rejected, and customers rejected for a payer: ``(invoice_id, transaction_id)
    in rejections`` says whether a run may propose the pair (the same question the plain set of
    rejected pairs answers, so blocking and scoring ask it unchanged).

    ``payers`` holds ``(counterparty_id, payer key)``; ``counterparty_of`` maps an invoice id to
    its customer, ``keys_of`` a transaction id to its payer's keys (only the customers that
    appear in ``payers`` are looked at, so the usual run pays one dict look-up per pair).
    """

    __slots__ = ("counterparty_of", "keys_of", "pairs", "payers")

    def __init__(
        self,
        pairs: frozenset[tuple[str, str]],
        payers: frozenset[tuple[str, str]],
        counterparty_of: dict[str, str],
        keys_of: dict[str, tuple[str, ...]],
    ) -> None:
        self.pairs = pairs
        self.payers = payers
        blocked = {counterparty for counterparty, _ in payers}
        self.counterparty_of = {inv: cp for inv, cp in counterparty_of.items() if cp in blocked}
        self.keys_of = keys_of

    def __bool__(self) -> bool:
        return bool(self.pairs or self.payers)

    def __contains__(self, pair: object) -> bool:
        if pair in self.pairs:
            return True
        if not isinstance(pair, tuple) or len(pair) != 2:
            return False
        return self.payer_rejected(pair[0], pair[1])

    def payer_rejected(self, invoice_id: str, transaction_id: str) -> bool:
        """Whether the invoice's customer was rejected repeatedly for the transaction's payer."""
        counterparty = self.counterparty_of.get(invoice_id)
        if counterparty is None:
            return False
        return any((counterparty, key) in self.payers for key in self.keys_of.get(transaction_id, ()))
