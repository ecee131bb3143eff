"""Binance order parameters to core commands, and core order reports to Binance's JSON shapes.

Quantities and prices are rendered with the asset's full scale as decimal strings, times in ms, as
Binance does. A report renders the same way in an ``order.place`` result, an ``order.status`` answer and
an ``executionReport`` event, so a client sees one order one way everywhere.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from types import MappingProxyType
from typing import Any, NamedTuple

from book.reports import ExecutionKind, OrderAmendment, OrderReport, PreventedMatchRecord, expire_reason
from book.types import (
    ExpireReason,
    MatchPrevented,
    OrderStatus,
    OrderType,
    RejectReason,
    SelfTradePrevention,
    Side,
    SubmitOrder,
    TimeInForce,
)
from config.money import format_minor
from config.settings import SymbolSettings
from session.binance.errors import (
    INVALID_ORDER_TYPE,
    INVALID_SIDE,
    INVALID_TIME_IN_FORCE,
    UNSUPPORTED_COMBINATION,
    ApiError,
    ApiFailure,
    bad_parameter,
    invalid_parameter,
    not_required,
    one_of_two_missing,
)
from session.binance.requests import Params

STP_INVALID = ApiError(400, -1130, "Data sent for parameter 'selfTradePreventionMode' is not valid.")
NO_TRADE_GROUP = -1  # Binance's tradeGroupId of an account in no trade group (we have none)
NO_STRATEGY = (None, None)
STRATEGY_TYPE_MIN = 1_000_000  # smaller strategyType values are reserved by Binance
INT_MAX = 2**31 - 1
# Binance's order types exchangeInfo does not list for our symbols, refused as Binance refuses them there.
UNLISTED_ORDER_TYPES = {
    "STOP_LOSS": "Stop loss orders are not supported for this symbol.",
    "STOP_LOSS_LIMIT": "Stop loss limit orders are not supported for this symbol.",
    "TAKE_PROFIT": "Take profit orders are not supported for this symbol.",
    "TAKE_PROFIT_LIMIT": "Take profit limit orders are not supported for this symbol.",
}
# Parameters of features exchangeInfo says are off (icebergAllowed, pegInstructionsAllowed false).
UNSUPPORTED_FEATURES = {
    "icebergQty": "Iceberg orders are not supported for this symbol.",
    "pegPriceType": "Pegged orders are not supported for this symbol.",
    "pegOffsetValue": "Pegged orders are not supported for this symbol.",
    "pegOffsetType": "Pegged orders are not supported for this symbol.",
}
# Parameters of stop and trailing orders, which none of the order types we take needs.
STOP_PARAMETERS = ("stopPrice", "trailingDelta")
REFUSED_PARAMETERS = frozenset(UNSUPPORTED_FEATURES).union(STOP_PARAMETERS)
STRATEGY_PARAMETERS = frozenset({"strategyId", "strategyType"})
INVALID_RESPONSE_TYPE = invalid_parameter("newOrderRespType")  # built once, not per order


class ResponseType(enum.Enum):
    ACK = "ACK"
    RESULT = "RESULT"
    FULL = "FULL"


class PlaceOrder(NamedTuple):
    """A validated ``order.place``: the command, the client's id for it, and the answer it wants (a
    NamedTuple, like ``ApiRequest``: immutable and cheaper to build than a frozen dataclass)."""

    command: SubmitOrder
    client_order_id: str
    response_type: ResponseType


EXECUTION_TYPES = {
    ExecutionKind.NEW: "NEW",
    ExecutionKind.TRADE: "TRADE",
    ExecutionKind.CANCELED: "CANCELED",
    ExecutionKind.REPLACED: "REPLACED",
    ExecutionKind.REJECTED: "REJECTED",
    ExecutionKind.EXPIRED: "EXPIRED",
    ExecutionKind.TRADE_PREVENTION: "TRADE_PREVENTION",
    ExecutionKind.STATUS: "NEW",
}


def place_order(
    params: Params,
    symbol: SymbolSettings,
    *,
    order_id: int,
    account_id: int,
    ts_ns: int,
    client_order_id: str,
) -> PlaceOrder:
    """Read ``order.place`` parameters (symbol already read) into a ``SubmitOrder``."""
    side = params.choice("side", Side, INVALID_SIDE, required=True)
    refuse_unsupported(params)
    order_type = params.choice("type", OrderType, INVALID_ORDER_TYPE, required=True)
    time_in_force = params.choice("timeInForce", TimeInForce, INVALID_TIME_IN_FORCE)
    price = params.decimal_minor("price", symbol.quote_scale)
    quantity = params.decimal_minor("quantity", symbol.base_scale)
    quote_quantity = params.decimal_minor("quoteOrderQty", symbol.quote_scale)
    stp = params.choice("selfTradePreventionMode", SelfTradePrevention, STP_INVALID)
    chosen_id = params.client_order_id("newClientOrderId")
    response = params.choice("newOrderRespType", ResponseType, INVALID_RESPONSE_TYPE)
    strategy_id, strategy_type = _strategy(params)
    if order_type is OrderType.LIMIT:
        if time_in_force is None or price is None or quantity is None:
            missing = "timeInForce" if time_in_force is None else "price" if price is None else "quantity"
            raise ApiFailure(bad_parameter(missing))
        if quote_quantity is not None:
            raise ApiFailure(not_required("quoteOrderQty"))
    elif order_type is OrderType.LIMIT_MAKER:
        if price is None or quantity is None:
            raise ApiFailure(bad_parameter("price" if price is None else "quantity"))
        if time_in_force is not None:
            raise ApiFailure(not_required("timeInForce"))
        if quote_quantity is not None:
            raise ApiFailure(not_required("quoteOrderQty"))
        time_in_force = TimeInForce.GTC
    else:
        if price is not None:
            raise ApiFailure(not_required("price"))
        if (quantity is None) == (quote_quantity is None):
            raise ApiFailure(
                one_of_two_missing("quantity", "quoteOrderQty")
                if quantity is None
                else UNSUPPORTED_COMBINATION
            )
        if time_in_force is not None:
            raise ApiFailure(not_required("timeInForce"))
        time_in_force = TimeInForce.IOC
    if response is None:
        response = ResponseType.FULL if order_type is not OrderType.LIMIT_MAKER else ResponseType.ACK
    command = SubmitOrder(
        order_id=order_id,
        account_id=account_id,
        side=side,
        order_type=order_type,
        time_in_force=time_in_force,
        price_minor=price,
        quantity_minor=quantity,
        quote_quantity_minor=quote_quantity,
        self_trade_prevention=stp,
        ts_ns=ts_ns,
        strategy_id=strategy_id,
        strategy_type=strategy_type,
    )
    return PlaceOrder(command, chosen_id or client_order_id, response)


def refuse_unsupported(params: Params) -> None:
    """Refuse an order type, feature or stop parameter our symbols do not have, with Binance's error."""
    order_type = params.raw("type")
    if isinstance(order_type, str) and order_type in UNLISTED_ORDER_TYPES:
        raise ApiFailure(ApiError(400, -1013, UNLISTED_ORDER_TYPES[order_type]))
    if not params.sent_any(REFUSED_PARAMETERS):
        return
    for name, message in UNSUPPORTED_FEATURES.items():
        if params.raw(name) is not None:
            raise ApiFailure(ApiError(400, -1013, message))
    for name in STOP_PARAMETERS:
        if params.raw(name) is not None:
            raise ApiFailure(not_required(name))


def _strategy(params: Params) -> tuple[int | None, int | None]:
    """``strategyId`` (a LONG) and ``strategyType`` (an INT from 1000000), None for one not sent."""
    if not params.sent_any(STRATEGY_PARAMETERS):
        return NO_STRATEGY
    strategy_id = params.integer("strategyId")
    strategy_type = params.integer("strategyType", minimum=-(2**31), maximum=INT_MAX)
    if strategy_type is not None and strategy_type < STRATEGY_TYPE_MIN:
        raise ApiFailure(ApiError(400, -1134, f"strategyType was less than {STRATEGY_TYPE_MIN}."))
    return strategy_id, strategy_type


def _ms(ts_ns: int) -> int:
    return ts_ns // 1_000_000


def _status(report: OrderReport) -> str:
    return report.status.value


def _time_in_force(report: OrderReport) -> str:
    """Binance reports GTC for every MARKET order (all its examples do); ours trade as IOC or FOK."""
    return "GTC" if report.order_type is OrderType.MARKET else report.time_in_force.value


# Binance's expiry reasons (enums.md) of the ways the book expires an order (STP has a status of its own).
EXPIRY_REASONS = MappingProxyType(
    {
        ExpireReason.IOC_UNFILLED: "UNFILLED_IOC_QUANTITY_EXPIRED",
        ExpireReason.FOK_UNFILLABLE: "UNFILLED_FOK_ORDER_EXPIRED",
        ExpireReason.MARKET_NO_LIQUIDITY: "INSUFFICIENT_LIQUIDITY",
    }
)


def expiry_reason(report: OrderReport) -> str | None:
    """Binance's ``expiryReason`` of an EXPIRED order, else None."""
    reason = expire_reason(report)
    return None if reason is None else EXPIRY_REASONS[reason]


def order_fields(report: OrderReport, symbol: SymbolSettings) -> dict[str, Any]:
    """The RESULT shape of an order (also ``order.status`` and ``openOrders.status`` entries); an order
    self-trade prevention expired also has its ``preventedMatchId`` and ``preventedQuantity``."""
    base, quote = symbol.base_scale, symbol.quote_scale
    fields: dict[str, Any] = {
        "symbol": report.symbol,
        "orderId": report.order_id,
        "orderListId": -1,
        "clientOrderId": report.client_order_id,
        "price": format_minor(report.price_minor, quote),
        "origQty": format_minor(report.quantity_minor, base),
        "executedQty": format_minor(report.filled_minor, base),
        "origQuoteOrderQty": format_minor(report.quote_quantity_minor, quote),
        "cummulativeQuoteQty": format_minor(report.cumulative_quote_minor, quote),
        "status": _status(report),
        "timeInForce": _time_in_force(report),
        "type": report.order_type.value,
        "side": report.side.value,
        "workingTime": _ms(report.created_ns) if report.status is not OrderStatus.REJECTED else -1,
    }
    if report.strategy_id is not None:
        fields["strategyId"] = report.strategy_id
    if report.strategy_type is not None:
        fields["strategyType"] = report.strategy_type
    fields["selfTradePreventionMode"] = report.self_trade_prevention.value
    if report.prevented_match is not None:
        fields["preventedMatchId"] = report.prevented_match.prevented_match_id
        fields["preventedQuantity"] = format_minor(report.prevented_minor, base)
    if report.status is OrderStatus.EXPIRED:
        fields["expiryReason"] = expiry_reason(report)
    return fields


def account_trade(symbol: SymbolSettings, trade: Any, *, is_buyer: bool) -> dict[str, Any]:
    """A ``myTrades`` entry: one trade as the buyer or the seller saw it (``trade`` has the stored trade's
    fields). A buyer's commission is in the base asset it received, a seller's in the quote asset."""
    base, quote = symbol.base_scale, symbol.quote_scale
    if is_buyer:
        commission, commission_scale, commission_asset = trade.buyer_fee_minor, base, symbol.base
    else:
        commission, commission_scale, commission_asset = trade.seller_fee_minor, quote, symbol.quote
    return {
        "symbol": symbol.name,
        "id": trade.trade_id,
        "orderId": trade.buyer_order_id if is_buyer else trade.seller_order_id,
        "orderListId": -1,
        "price": format_minor(trade.price_minor, quote),
        "qty": format_minor(trade.quantity_minor, base),
        "quoteQty": format_minor(trade.quote_quantity_minor, quote),
        "commission": format_minor(commission, commission_scale),
        "commissionAsset": commission_asset,
        "time": _ms(trade.ts_ns),
        "isBuyer": is_buyer,
        "isMaker": is_buyer == trade.buyer_is_maker,
        "isBestMatch": True,
    }


def place_result(
    reports: list[OrderReport],
    symbol: SymbolSettings,
    response_type: ResponseType,
    prevented_matches: Sequence[MatchPrevented] = (),
) -> dict[str, Any]:
    """The ``order.place`` result from the reports of the order's first turn (accepted and fills) and
    the matches self-trade prevention stopped in it.

    As in Binance's STP FAQ, the answer lists the order's prevented matches (``preventedMatches``, in
    RESULT and FULL: Binance's changelog names no response type) instead of a ``preventedMatchId``.
    """
    last = reports[-1]
    head = {
        "symbol": last.symbol,
        "orderId": last.order_id,
        "orderListId": -1,
        "clientOrderId": last.client_order_id,
        "transactTime": _ms(reports[0].ts_ns),
    }
    if response_type is ResponseType.ACK:
        return head
    result = {**head, **{key: value for key, value in order_fields(last, symbol).items() if key not in head}}
    result.pop("preventedMatchId", None)
    if response_type is ResponseType.FULL:
        result["fills"] = [
            {
                "price": format_minor(report.last_price_minor, symbol.quote_scale),
                "qty": format_minor(report.last_quantity_minor, symbol.base_scale),
                "commission": format_minor(
                    report.commission_minor,
                    symbol.base_scale if report.commission_asset == symbol.base else symbol.quote_scale,
                ),
                "commissionAsset": report.commission_asset or symbol.quote,
                "tradeId": report.trade_id,
            }
            for report in reports
            if report.execution is ExecutionKind.TRADE
        ]
    entries = [
        _prevented_match_entry(match, symbol)
        for match in prevented_matches
        if match.taker_order_id == last.order_id
    ]
    if entries:
        result["preventedMatches"] = entries
    return result


def _prevented_match_entry(
    match: MatchPrevented | PreventedMatchRecord, symbol: SymbolSettings
) -> dict[str, Any]:
    """One ``preventedMatches`` entry: a side's prevented quantity appears only if the match expired it."""
    entry: dict[str, Any] = {
        "preventedMatchId": match.prevented_match_id,
        "makerSymbol": symbol.name,
        "makerOrderId": match.maker_order_id,
        "price": format_minor(match.price_minor, symbol.quote_scale),
    }
    if match.taker_prevented_minor:
        entry["takerPreventedQuantity"] = format_minor(match.taker_prevented_minor, symbol.base_scale)
    if match.maker_prevented_minor:
        entry["makerPreventedQuantity"] = format_minor(match.maker_prevented_minor, symbol.base_scale)
    return entry


def cancel_result(
    report: OrderReport, symbol: SymbolSettings, canceling_client_order_id: str
) -> dict[str, Any]:
    """The ``order.cancel`` result: the order as canceled, ``clientOrderId`` naming the cancel request."""
    fields = order_fields(report, symbol)
    fields["origClientOrderId"] = report.original_client_order_id or report.client_order_id
    fields["clientOrderId"] = canceling_client_order_id
    fields["transactTime"] = _ms(report.ts_ns)
    fields.pop("workingTime")
    return fields


def amend_result(
    report: OrderReport, symbol: SymbolSettings, original_client_order_id: str, execution_id: int
) -> dict[str, Any]:
    """The ``order.amend.keepPriority`` result: the order as amended and its client order id before."""
    base, quote = symbol.base_scale, symbol.quote_scale
    return {
        "transactTime": _ms(report.ts_ns),
        "executionId": execution_id,
        "amendedOrder": {
            "symbol": report.symbol,
            "orderId": report.order_id,
            "orderListId": -1,
            "origClientOrderId": original_client_order_id,
            "clientOrderId": report.client_order_id,
            "price": format_minor(report.price_minor, quote),
            "qty": format_minor(report.quantity_minor, base),
            "executedQty": format_minor(report.filled_minor, base),
            "preventedQty": format_minor(report.prevented_minor, base),
            "quoteOrderQty": format_minor(report.quote_quantity_minor, quote),
            "cumulativeQuoteQty": format_minor(report.cumulative_quote_minor, quote),
            "status": _status(report),
            "timeInForce": _time_in_force(report),
            "type": report.order_type.value,
            "side": report.side.value,
            "workingTime": _ms(report.created_ns),
            "selfTradePreventionMode": report.self_trade_prevention.value,
        },
    }


def order_amendment(amendment: OrderAmendment, symbol: SymbolSettings) -> dict[str, Any]:
    """One entry of ``order.amendments``."""
    return {
        "symbol": amendment.symbol,
        "orderId": amendment.order_id,
        "executionId": amendment.execution_id,
        "origClientOrderId": amendment.original_client_order_id,
        "newClientOrderId": amendment.client_order_id,
        "origQty": format_minor(amendment.original_quantity_minor, symbol.base_scale),
        "newQty": format_minor(amendment.quantity_minor, symbol.base_scale),
        "time": _ms(amendment.ts_ns),
    }


def prevented_match(record: PreventedMatchRecord, symbol: SymbolSettings) -> dict[str, Any]:
    """One entry of ``myPreventedMatches``: an order's ``preventedMatches`` entry with the orders, the mode
    and the time; there are no trade groups here (-1)."""
    return {
        "symbol": record.symbol,
        "takerOrderId": record.taker_order_id,
        **_prevented_match_entry(record, symbol),
        "tradeGroupId": -1,
        "selfTradePreventionMode": record.self_trade_prevention,
        "transactTime": _ms(record.ts_ns),
    }


def execution_report(
    report: OrderReport, symbol: SymbolSettings, *, event_ns: int, execution_id: int
) -> dict:
    """The user data ``executionReport`` event of one report."""
    base, quote = symbol.base_scale, symbol.quote_scale
    commission_scale = base if report.commission_asset == symbol.base else quote
    is_trade = report.execution is ExecutionKind.TRADE
    event = {
        "e": "executionReport",
        "E": _ms(event_ns),
        "s": report.symbol,
        "c": report.client_order_id,
        "S": report.side.value,
        "o": report.order_type.value,
        "f": _time_in_force(report),
        "q": format_minor(report.quantity_minor, base),
        "p": format_minor(report.price_minor, quote),
        "P": format_minor(0, quote),
        "F": format_minor(0, base),
        "g": -1,
        "C": report.original_client_order_id if report.execution is ExecutionKind.CANCELED else "",
        "x": EXECUTION_TYPES[report.execution],
        "X": _status(report),
        "r": "NONE" if report.reject_reason is None else _reject_reason(report.reject_reason),
        "i": report.order_id,
        "l": format_minor(report.last_quantity_minor, base),
        "z": format_minor(report.filled_minor, base),
        "L": format_minor(report.last_price_minor, quote),
        "n": format_minor(report.commission_minor if is_trade else 0, commission_scale),
        "N": report.commission_asset if is_trade and report.commission_asset else None,
        "T": _ms(report.ts_ns),
        "t": report.trade_id if is_trade else -1,
        "I": execution_id,
        "w": report.status in (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)
        and report.order_type is not OrderType.MARKET,
        "m": report.is_maker if is_trade else False,
        "M": False,
        "O": _ms(report.created_ns),
        "Z": format_minor(report.cumulative_quote_minor, quote),
        "Y": format_minor(report.last_quote_minor, quote),
        "Q": format_minor(report.quote_quantity_minor, quote),
        "V": report.self_trade_prevention.value,
    }
    if report.status in (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED):
        event["W"] = _ms(report.created_ns)
    if report.execution is ExecutionKind.TRADE_PREVENTION:
        event.update(_prevention_fields(report, symbol))
    if report.status is OrderStatus.EXPIRED:
        event["eR"] = expiry_reason(report)
    if report.strategy_id is not None:
        event["j"] = report.strategy_id
    if report.strategy_type is not None:
        event["J"] = report.strategy_type
    return event


def _prevention_fields(report: OrderReport, symbol: SymbolSettings) -> dict[str, Any]:
    """What the executionReport of an order self-trade prevention expired adds: the prevented match (v),
    what the order lost (A over its life, B to this match), the other order (U, Cs), and what would have
    traded (pl, pL, pY; ``l``, ``L`` and ``Y`` stay 0)."""
    match = report.prevented_match
    assert match is not None, f"TRADE_PREVENTION report of order {report.order_id} names no prevented match"
    base, quote = symbol.base_scale, symbol.quote_scale
    is_taker = report.order_id == match.taker_order_id
    return {
        "v": match.prevented_match_id,
        "A": format_minor(report.prevented_minor, base),
        "B": format_minor(match.taker_prevented_minor if is_taker else match.maker_prevented_minor, base),
        "u": NO_TRADE_GROUP,
        "U": match.maker_order_id if is_taker else match.taker_order_id,
        "Cs": report.symbol,
        "pl": format_minor(match.quantity_minor, base),
        "pL": format_minor(match.price_minor, quote),
        "pY": format_minor(match.quote_quantity_minor, quote),
    }


# executionReport ``r``: Binance's names where user-data-stream.md documents one, else the core's own.
_REJECT_REASONS = {
    RejectReason.INSUFFICIENT_BALANCE: "INSUFFICIENT_BALANCES",
    RejectReason.POST_ONLY_WOULD_TAKE: "WOULD_MATCH_IMMEDIATELY",
}


def _reject_reason(reason: RejectReason) -> str:
    return _REJECT_REASONS.get(reason, reason.value)
