"""FIX 4.4 order entry <-> the core: NewOrderSingle and friends to commands, reports to ExecutionReports.

Pure translation with no session state: the gateway's FIX adapter calls these with a message's fields
and the symbol's settings, and sends what they return through the session.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from book.reports import ExecutionKind, OrderReport
from book.types import (
    OrderStatus,
    OrderType,
    RejectReason,
    ReplaceOrder,
    SelfTradePrevention,
    Side,
    SubmitOrder,
    TimeInForce,
)
from config.money import (
    CONVERSIONS_CACHED_MAX,
    DecimalFormatError,
    DecimalPrecisionError,
    DecimalRangeError,
    format_minor,
    parse_decimal_minor,
)
from config.settings import SymbolSettings
from session.binance.orders import expiry_reason
from session.fix.dialect import FixDialect
from session.fix.session import utc_second


class Fields(Protocol):
    """Read access to a parsed message's body fields as text."""

    def get(self, tag: int) -> str | None: ...


SIDES = {"1": Side.BUY, "2": Side.SELL}
SIDE_CODES = {Side.BUY: "1", Side.SELL: "2"}
ADDED_LIQUIDITY, REMOVED_LIQUIDITY = "1", "2"  # LastLiquidityInd (851)
ORDER_TYPES = {"1": OrderType.MARKET, "2": OrderType.LIMIT}
TIME_IN_FORCES = {"1": TimeInForce.GTC, "3": TimeInForce.IOC, "4": TimeInForce.FOK}
TIME_IN_FORCE_CODES = {value: key for key, value in TIME_IN_FORCES.items()}
# Binance's FIX dialect: ExpiryReason (25056) on the report of an order that expired, in its API's words.
EXPIRY_REASON_TAG = 25056
# Binance's FIX dialect tag 25001 SelfTradePreventionMode.
STP_MODES = {
    "1": SelfTradePrevention.NONE,
    "2": SelfTradePrevention.EXPIRE_TAKER,
    "3": SelfTradePrevention.EXPIRE_MAKER,
    "4": SelfTradePrevention.EXPIRE_BOTH,
}
EXEC_TYPES = {
    ExecutionKind.NEW: "0",
    ExecutionKind.CANCELED: "4",
    ExecutionKind.REPLACED: "5",
    ExecutionKind.REJECTED: "8",
    ExecutionKind.EXPIRED: "C",
    # FIX 4.4 has no ExecType for a prevented self-trade: the order expired.
    ExecutionKind.TRADE_PREVENTION: "C",
    ExecutionKind.TRADE: "F",
    ExecutionKind.STATUS: "I",
}
ORD_STATUS = {
    OrderStatus.NEW: "0",
    OrderStatus.PARTIALLY_FILLED: "1",
    OrderStatus.FILLED: "2",
    OrderStatus.CANCELED: "4",
    OrderStatus.REJECTED: "8",
    OrderStatus.EXPIRED: "C",
    OrderStatus.EXPIRED_IN_MATCH: "C",
}
POST_ONLY_EXEC_INST = "6"  # ExecInst 18: Participate don't initiate

# OrdRejReason (103) and CxlRejReason (102) with the Text (58) a person reads.
REJECT_CODES: dict[RejectReason, tuple[str, str]] = {
    RejectReason.SYMBOL_HALTED: ("2", "Trading is halted for this symbol"),
    RejectReason.UNKNOWN_SYMBOL: ("1", "Unknown symbol"),
    RejectReason.INVALID_ORDER: ("11", "Unsupported order characteristic"),
    RejectReason.PRICE_NOT_ON_TICK: ("99", "Price is not a multiple of the tick size"),
    RejectReason.PRICE_BELOW_MIN: ("99", "Price is below the symbol's minimum price"),
    RejectReason.PRICE_ABOVE_MAX: ("99", "Price is above the symbol's maximum price"),
    RejectReason.QUANTITY_NOT_ON_STEP: ("13", "Quantity is not a multiple of the step size"),
    RejectReason.QUANTITY_BELOW_MIN: ("13", "Quantity is below the symbol's minimum quantity"),
    RejectReason.QUANTITY_ABOVE_MAX: ("13", "Quantity is above the symbol's maximum quantity"),
    RejectReason.NOTIONAL_BELOW_MIN: ("99", "Order value is below the symbol's minimum notional"),
    RejectReason.POST_ONLY_WOULD_TAKE: ("99", "Post-only order would immediately match and take"),
    RejectReason.NO_LIQUIDITY: ("99", "No orders on the other side of the book to trade with"),
    RejectReason.DUPLICATE_ORDER_ID: ("6", "Duplicate ClOrdID"),
    RejectReason.UNKNOWN_ORDER: ("5", "Unknown order"),
    RejectReason.CANCEL_RESTRICTED: ("99", "Order was not canceled due to cancel restrictions"),
    RejectReason.REPLACE_QUANTITY_NOT_ABOVE_FILLED: ("13", "New quantity is not above the filled quantity"),
    RejectReason.NOT_A_REDUCTION: ("99", "Only a smaller quantity at the same price is allowed"),
    RejectReason.INSUFFICIENT_BALANCE: ("3", "Insufficient balance"),
    RejectReason.TOO_MANY_OPEN_ORDERS: ("3", "Too many open orders"),
    RejectReason.QUEUE_FULL: ("99", "Exchange busy, try again"),
    RejectReason.RATE_LIMITED: ("99", "Too many new orders for this session; try again in a second"),
}


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """A message the session accepted but the application cannot take: reject with this text."""

    reason: RejectReason
    text: str


_OFF_GRID = {38: RejectReason.QUANTITY_NOT_ON_STEP, 44: RejectReason.PRICE_NOT_ON_TICK}


@functools.lru_cache(maxsize=CONVERSIONS_CACHED_MAX)
def _decimal(raw: str | None, tag: int, scale: int, name: str) -> int | FieldProblem | None:
    """A positive decimal field in minor units; finer than the scale is off the tick or step grid.

    Cached, as the conversions are: orders repeat the same few prices and quantities, and a hit costs
    a fifth of parsing one (the answer, a number or a problem, depends on the arguments alone).
    """
    if raw is None:
        return None
    try:
        value = parse_decimal_minor(raw, scale)
    except DecimalPrecisionError:
        reason = _OFF_GRID.get(tag, RejectReason.INVALID_ORDER)
        return FieldProblem(reason, f"{name} ({tag}) {raw} is finer than {scale} decimal places")
    except DecimalRangeError:
        return FieldProblem(RejectReason.INVALID_ORDER, f"{name} ({tag}) {raw} is too large")
    except DecimalFormatError:
        return FieldProblem(RejectReason.INVALID_ORDER, f"{name} ({tag}) {raw!r} is not a decimal number")
    if value <= 0:
        return FieldProblem(RejectReason.INVALID_ORDER, f"{name} ({tag}) must be positive")
    return value


def _post_only(raw: str | None) -> bool | FieldProblem:
    """Whether ExecInst (18) ``raw`` asks for post-only; any other instruction is refused, never ignored
    (an all-or-none order taken as a plain one could fill in part)."""
    if raw is None:
        return False
    if raw.split() != [POST_ONLY_EXEC_INST]:
        return FieldProblem(
            RejectReason.INVALID_ORDER, f"ExecInst (18) {raw} is not supported: only 6 (post-only)"
        )
    return True


def new_order_command(
    fields: Fields, symbol: SymbolSettings, *, order_id: int, account_id: int, ts_ns: int
) -> SubmitOrder | FieldProblem:
    """Translate a NewOrderSingle (35=D) into ``SubmitOrder``, or say why it cannot be."""
    side = SIDES.get(fields.get(54) or "")
    order_type = ORDER_TYPES.get(fields.get(40) or "")
    if side is None:
        return FieldProblem(RejectReason.INVALID_ORDER, "Side (54) must be 1 (buy) or 2 (sell)")
    if order_type is None:
        return FieldProblem(RejectReason.INVALID_ORDER, "OrdType (40) must be 1 (market) or 2 (limit)")
    time_in_force_raw = fields.get(59)
    time_in_force = TIME_IN_FORCES.get(time_in_force_raw or "1")
    if time_in_force is None:
        return FieldProblem(
            RejectReason.INVALID_ORDER, "TimeInForce (59) must be 1 (GTC), 3 (IOC) or 4 (FOK)"
        )
    post_only = _post_only(fields.get(18))
    if isinstance(post_only, FieldProblem):
        return post_only
    if post_only:
        if order_type is not OrderType.LIMIT:
            return FieldProblem(RejectReason.INVALID_ORDER, "ExecInst 6 (post-only) needs OrdType 2 (limit)")
        order_type = OrderType.LIMIT_MAKER
    unsupported = _unsupported_field(fields)
    if unsupported is not None:
        return unsupported
    stp_raw = fields.get(25001)
    stp = STP_MODES.get(stp_raw) if stp_raw is not None else None
    if stp_raw is not None and stp is None:
        return FieldProblem(RejectReason.INVALID_ORDER, "SelfTradePreventionMode (25001) must be 1 to 4")
    quantity = _decimal(fields.get(38), 38, symbol.base_scale, "OrderQty")
    cash_quantity = _decimal(fields.get(152), 152, symbol.quote_scale, "CashOrderQty")
    price = _decimal(fields.get(44), 44, symbol.quote_scale, "Price")
    for value in (quantity, cash_quantity, price):
        if isinstance(value, FieldProblem):
            return value
    if (quantity is None) == (cash_quantity is None) or (
        cash_quantity is not None and order_type is not OrderType.MARKET
    ):
        return FieldProblem(
            RejectReason.INVALID_ORDER,
            "exactly one of OrderQty (38) or, for market orders, CashOrderQty (152) is required",
        )
    if order_type is OrderType.MARKET:
        if price is not None:
            return FieldProblem(RejectReason.INVALID_ORDER, "a market order takes no Price (44)")
        if time_in_force is TimeInForce.GTC and time_in_force_raw is not None:
            return FieldProblem(RejectReason.INVALID_ORDER, "a market order is IOC or FOK, not GTC")
        time_in_force = time_in_force if time_in_force_raw is not None else TimeInForce.IOC
    elif price is None:
        return FieldProblem(RejectReason.INVALID_ORDER, "a limit order needs Price (44)")
    return SubmitOrder(
        order_id=order_id,
        account_id=account_id,
        side=side,
        order_type=order_type,
        time_in_force=time_in_force,
        price_minor=price,
        quantity_minor=quantity,
        quote_quantity_minor=cash_quantity,
        self_trade_prevention=stp,
        ts_ns=ts_ns,
    )


# What an order asks for with each field the venue does not offer (dictionary.UNSUPPORTED_ORDER_TAGS).
_UNSUPPORTED_FIELDS = {
    99: "StopPx (99): stop orders are not supported",
    110: "MinQty (110): a minimum fill quantity is not supported",
    126: "ExpireTime (126): good-till-date orders are not supported",
    432: "ExpireDate (432): good-till-date orders are not supported",
    111: "MaxFloor (111): iceberg orders are not supported",
}


def _unsupported_field(fields: Fields) -> FieldProblem | None:
    if not any(map(fields.get, _UNSUPPORTED_FIELDS)):  # the usual order: one pass in C
        return None
    for tag, text in _UNSUPPORTED_FIELDS.items():
        if fields.get(tag) is not None:
            return FieldProblem(RejectReason.INVALID_ORDER, text)
    return None


def replace_command(
    fields: Fields,
    symbol: SymbolSettings,
    *,
    order_id: int,
    account_id: int,
    order_type: OrderType,
    time_in_force: TimeInForce,
    ts_ns: int,
) -> ReplaceOrder | FieldProblem:
    """Translate an OrderCancelReplaceRequest (35=G) for a resting limit order of ``order_type`` and
    ``time_in_force``. Only price and quantity change: an OrdType, TimeInForce or ExecInst that is not
    the order's is refused (answered Replaced, the client would believe it changed); one left out keeps
    the order's."""
    post_only = _post_only(fields.get(18))
    if isinstance(post_only, FieldProblem):
        return post_only
    unsupported = _unsupported_field(fields)
    if unsupported is not None:
        return unsupported
    if ORDER_TYPES.get(fields.get(40) or "") is not OrderType.LIMIT:
        return FieldProblem(RejectReason.INVALID_ORDER, "OrdType (40) of a replace must be 2 (limit)")
    if fields.get(59) is not None and TIME_IN_FORCES.get(fields.get(59)) is not time_in_force:
        code = TIME_IN_FORCE_CODES[time_in_force]
        return FieldProblem(
            RejectReason.INVALID_ORDER, f"TimeInForce (59) cannot change: the order's is {code}"
        )
    if post_only and order_type is not OrderType.LIMIT_MAKER:
        return FieldProblem(RejectReason.INVALID_ORDER, "ExecInst (18) 6 (post-only) cannot be added")
    quantity = _decimal(fields.get(38), 38, symbol.base_scale, "OrderQty")
    price = _decimal(fields.get(44), 44, symbol.quote_scale, "Price")
    for value in (quantity, price):
        if isinstance(value, FieldProblem):
            return value
    if quantity is None or price is None:
        return FieldProblem(RejectReason.INVALID_ORDER, "a replace needs OrderQty (38) and Price (44)")
    return ReplaceOrder(
        order_id=order_id, account_id=account_id, price_minor=price, quantity_minor=quantity, ts_ns=ts_ns
    )


def execution_report_fields(
    report: OrderReport,
    symbol: SymbolSettings,
    exec_id: str,
    *,
    text: str = "",
    dialect: FixDialect = FixDialect.FIX44,
) -> list[tuple[int, str]]:
    """The body of the ExecutionReport (35=8) that renders ``report``, in the dictionary's order.

    A fill names its trade and whether the order added or took liquidity: in FIX 4.4 as SecondaryExecID
    (527) and LastLiquidityInd (851), in Binance's dialect as TradeID (1003) and AggressorIndicator (1057).
    """
    # Runs for every report: fields are read once and added in tuples, not temporary lists (with the
    # millisecond table below, 24,250 -> 20,940 instructions a call).
    base, quote = symbol.base_scale, symbol.quote_scale
    execution, order_type, filled = report.execution, report.order_type, report.filled_minor
    fields: list[tuple[int, str]] = [(37, str(report.order_id)), (11, report.client_order_id or "NONE")]
    if report.original_client_order_id and (
        execution is ExecutionKind.CANCELED or execution is ExecutionKind.REPLACED
    ):
        fields.append((41, report.original_client_order_id))
    fields += (
        (17, exec_id),
        (150, EXEC_TYPES[execution]),
        (39, ORD_STATUS[report.status]),
        (55, report.symbol),
        (54, SIDE_CODES[report.side]),
    )
    if report.quantity_minor:
        fields.append((38, format_minor(report.quantity_minor, base)))
    if report.quote_quantity_minor:
        fields.append((152, format_minor(report.quote_quantity_minor, quote)))
    if order_type is OrderType.MARKET:
        fields.append((40, "1"))
    else:
        fields += ((40, "2"), (44, format_minor(report.price_minor, quote)))
    fields.append((59, TIME_IN_FORCE_CODES[report.time_in_force]))
    if order_type is OrderType.LIMIT_MAKER:
        fields.append((18, POST_ONLY_EXEC_INST))
    if execution is ExecutionKind.TRADE:
        fields += (
            (31, format_minor(report.last_price_minor, quote)),
            (32, format_minor(report.last_quantity_minor, base)),
        )
        if dialect is FixDialect.BINANCE:
            fields += ((1003, str(report.trade_id)), (1057, "N" if report.is_maker else "Y"))
        else:
            fields += (
                (527, str(report.trade_id)),
                (851, ADDED_LIQUIDITY if report.is_maker else REMOVED_LIQUIDITY),
            )
        if report.commission_minor:
            asset_scale = base if report.commission_asset == symbol.base else quote
            fields += (
                (12, format_minor(report.commission_minor, asset_scale)),
                (13, "3"),
                (479, report.commission_asset),
            )
    average_price = report.cumulative_quote_minor * 10**base // filled if filled else 0
    fields += (
        (151, format_minor(report.leaves_minor, base)),
        (14, format_minor(filled, base)),
        (6, format_minor(average_price, quote)),
        (60, utc_timestamp(report.ts_ns)),
    )
    if report.reject_reason is not None:
        code, reason_text = REJECT_CODES[report.reject_reason]
        fields += [(103, code)]
        text = text or reason_text
    if text:
        fields.append((58, text))
    if dialect is FixDialect.BINANCE and report.status is OrderStatus.EXPIRED:
        fields.append((EXPIRY_REASON_TAG, expiry_reason(report)))
    return fields


# ".000" to ".999": indexing these costs a third of formatting the milliseconds with ``:03d``.
_MILLISECOND_SUFFIXES = tuple(f".{millisecond:03d}" for millisecond in range(1000))


def utc_timestamp(ts_ns: int, clock: Callable[[], int] = time.time_ns) -> str:
    """UTCTimestamp with milliseconds (``YYYYMMDD-HH:MM:SS.sss``); a zero time means now."""
    seconds, millisecond = divmod((ts_ns or clock()) // 1_000_000, 1000)
    return utc_second(seconds) + _MILLISECOND_SUFFIXES[millisecond]
