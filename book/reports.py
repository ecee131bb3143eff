"""What clients are told about an order: a snapshot after each change, the input of every edge's encoder.

The gateway builds these from the book's events and the ledger's fees; FIX ExecutionReports and Binance
executionReports are both renderings of an ``OrderReport``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from book.types import (
    ExpireReason,
    MatchPrevented,
    OrderStatus,
    OrderType,
    RejectReason,
    SelfTradePrevention,
    Side,
    TimeInForce,
    Vocabulary,
)


class ExecutionKind(Vocabulary):
    """Why this report exists (FIX ExecType, Binance executionType)."""

    NEW = "NEW"
    TRADE = "TRADE"
    CANCELED = "CANCELED"
    REPLACED = "REPLACED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    # Self-trade prevention expired the order (Binance's TRADE_PREVENTION; FIX knows it as EXPIRED).
    TRADE_PREVENTION = "TRADE_PREVENTION"
    STATUS = "STATUS"


@dataclass(slots=True)
class OrderReport:
    """An order's state after one change; ``last_*`` describe the fill when ``execution`` is TRADE.

    ``prevented_match`` is the prevented match that expired the order (it is what a TRADE_PREVENTION
    report reports, and stays on later reports); ``prevented_minor`` is the base quantity self-trade
    prevention expired over the order's life.

    Not keyword-only: the gateway builds one or more per order, by position, which costs 10,000
    instructions a report against 24,500 with 29 keywords (a test checks each field's place).
    """

    execution: ExecutionKind
    order_id: int
    symbol: str
    account_id: int
    client_order_id: str
    original_client_order_id: str
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce
    self_trade_prevention: SelfTradePrevention
    price_minor: int
    quantity_minor: int
    quote_quantity_minor: int
    status: OrderStatus
    filled_minor: int
    cumulative_quote_minor: int
    leaves_minor: int
    created_ns: int
    ts_ns: int
    last_price_minor: int = 0
    last_quantity_minor: int = 0
    last_quote_minor: int = 0
    trade_id: int = 0
    is_maker: bool = False
    commission_minor: int = 0
    commission_asset: str = ""
    reject_reason: RejectReason | None = None
    prevented_match: MatchPrevented | None = None
    prevented_minor: int = 0
    strategy_id: int | None = None
    strategy_type: int | None = None


def expire_reason(report: OrderReport) -> ExpireReason | None:
    """Why an EXPIRED order expired, by the book's rules (``OrderBook._submit``), so that a stored order
    says it as the live one did: a FOK order (limit or market) it could not fill at once, the rest of a
    market order once the book ran out, the rest of a limit IOC order. None for any other status."""
    if report.status is not OrderStatus.EXPIRED:
        return None
    if report.time_in_force is TimeInForce.FOK:
        return ExpireReason.FOK_UNFILLABLE
    if report.order_type is OrderType.MARKET:
        return ExpireReason.MARKET_NO_LIQUIDITY
    return ExpireReason.IOC_UNFILLED


class OrderAmendment(NamedTuple):
    """An open order's quantity reduced in place, keeping its time priority (Binance's order amendments).

    ``execution_id`` is the book's sequence number of the change: unique per symbol, increasing.
    """

    execution_id: int
    symbol: str
    order_id: int
    account_id: int
    original_client_order_id: str
    client_order_id: str
    original_quantity_minor: int
    quantity_minor: int
    ts_ns: int


class PreventedMatchRecord(NamedTuple):
    """A match self-trade prevention stopped, as stored (``MatchPrevented`` with its symbol)."""

    symbol: str
    prevented_match_id: int
    self_trade_prevention: str
    price_minor: int
    maker_order_id: int
    maker_account_id: int
    maker_prevented_minor: int
    taker_order_id: int
    taker_account_id: int
    taker_prevented_minor: int
    ts_ns: int
