"""Order state: ``OrderState.from_command`` and ``OrderState.report`` build by position."""

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
    SubmitOrder,
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
        strategy_id=118,
        strategy_type=1_000_119,
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
        "strategy_id": 118,
        "strategy_type": 1_000_119,
    }
    assert [field.name for field in fields(OrderReport)] == list(expected)
    assert {name: getattr(report, name) for name in expected} == expected


def test_a_new_order_state_takes_each_field_from_its_own_source() -> None:
    command = SubmitOrder(
        order_id=201,
        account_id=202,
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        time_in_force=TimeInForce.IOC,
        price_minor=203,
        quantity_minor=204,
        self_trade_prevention=None,
        ts_ns=205,
        strategy_id=206,
        strategy_type=1_000_207,
    )
    state = OrderState.from_command(
        command,
        symbol="ETHUSDT",
        client_order_id="c-1",
        origin="fix:S",
        default_stp=SelfTradePrevention.EXPIRE_TAKER,
    )
    assert state == OrderState(
        order_id=201,
        symbol="ETHUSDT",
        account_id=202,
        client_order_id="c-1",
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        time_in_force=TimeInForce.IOC,
        self_trade_prevention=SelfTradePrevention.EXPIRE_TAKER,
        price_minor=203,
        quantity_minor=204,
        quote_quantity_minor=0,
        created_ns=205,
        updated_ns=205,
        origin="fix:S",
        strategy_id=206,
        strategy_type=1_000_207,
    )
    assert (state.status, state.filled_minor, state.original_client_order_id) == (OrderStatus.NEW, 0, "")
