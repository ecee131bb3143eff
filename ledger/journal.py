"""Journal entries: every change to the ledger, in order, as the rows the store appends.

The ledger keeps balances in memory and appends one entry per operation (a deposit, a hold, a release,
a whole trade with its fee legs); replaying the entries in ``sequence`` order rebuilds the same
balances. A trade entry is also the trade's record (export, statements), so a fill costs one row.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class EntryKind(enum.Enum):
    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    HOLD = "hold"
    RELEASE = "release"
    TRADE = "trade"


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferEntry:
    """A deposit (operator -> user) or withdrawal (user -> operator), idempotent by ``transfer_id``."""

    sequence: int
    kind: EntryKind
    transfer_id: str
    account_id: int
    asset: str
    amount_minor: int
    ts_ns: int


@dataclass(frozen=True, slots=True, kw_only=True)
class HoldEntry:
    """Reserve (HOLD) or give back (RELEASE) part of what an order may spend; ``hold_id`` is the order id."""

    sequence: int
    kind: EntryKind
    hold_id: int
    account_id: int
    asset: str
    amount_minor: int


@dataclass(frozen=True, slots=True, kw_only=True)
class TradeEntry:
    """One fill settled: base seller -> buyer, quote buyer -> seller, both consuming holds, and both fees."""

    sequence: int
    symbol: str
    trade_id: int
    base: str
    quote: str
    price_minor: int
    quantity_minor: int
    quote_quantity_minor: int
    buyer_account_id: int
    seller_account_id: int
    buyer_order_id: int
    seller_order_id: int
    buyer_is_maker: bool
    buyer_fee_minor: int
    seller_fee_minor: int
    ts_ns: int


JournalEntry = TransferEntry | HoldEntry | TradeEntry
