"""Order state snapshots: ``OrderState.report`` builds its ``OrderReport`` by position."""

from __future__ import annotations

from dataclasses import fields

from book.reports import ExecutionKind, OrderReport
from book.types import (
    MatchPrevented,
    OrderStatus,
    OrderType,
    RejectReason,
    SelfTradePrevention,
    Side,
    TimeInForce,
)
from gateway.orders import OrderState


def test_every_report_field_comes_from_its_own_source() -> None:
    """Distinct values everywhere, so two fields swapped in the positional build cannot pass."""
    prevented = MatchPrevented(1, 2, SelfTradePrevention.EXPIRE_BOTH, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)
    state = OrderState(
        order_id=101,
        symbol="BTCUSDT",
        account_id=102,
        client_order_id="new-name",
        original_client_order_id="old-name",
        side=Side.SELL,
        order_type=OrderType.LIMIT_MAKER,
        time_in_force=TimeInForce.GTC,
        self_trade_prevention=SelfTradePrevention.EXPIRE_MAKER,
        price_minor=103,
        quantity_minor=1_000,
        quote_quantity_minor=105,
        status=OrderStatus.PARTIALLY_FILLED,
        filled_minor=106,
        cumulative_quote_minor=107,
        commission_minor=108,
        commission_asset="USDT",
        created_ns=109,
        updated_ns=110,
        prevented_match=prevented,
        prevented_minor=111,
    )
    report = state.report(
        ExecutionKind.TRADE,
        112,
        last_price_minor=113,
        last_quantity_minor=114,
        last_quote_minor=115,
        trade_id=116,
        is_maker=True,
        commission_minor=117,
        reject_reason=RejectReason.RATE_LIMITED,
    )
    expected = {
        "execution": ExecutionKind.TRADE,
        "order_id": 101,
        "symbol": "BTCUSDT",
        "account_id": 102,
        "client_order_id": "new-name",
        "original_client_order_id": "old-name",
        "side": Side.SELL,
        "order_type": OrderType.LIMIT_MAKER,
        "time_in_force": TimeInForce.GTC,
        "self_trade_prevention": SelfTradePrevention.EXPIRE_MAKER,
        "price_minor": 103,
        "quantity_minor": 1_000,
        "quote_quantity_minor": 105,
        "status": OrderStatus.PARTIALLY_FILLED,
        "filled_minor": 106,
        "cumulative_quote_minor": 107,
        "leaves_minor": 1_000 - 106,
        "created_ns": 109,
        "ts_ns": 112,
        "last_price_minor": 113,
        "last_quantity_minor": 114,
        "last_quote_minor": 115,
        "trade_id": 116,
        "is_maker": True,
        "commission_minor": 117,
        "commission_asset": "USDT",
        "reject_reason": RejectReason.RATE_LIMITED,
        "prevented_match": prevented,
        "prevented_minor": 111,
    }
    assert [field.name for field in fields(OrderReport)] == list(expected)
    assert {name: getattr(report, name) for name in expected} == expected
