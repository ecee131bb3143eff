"""order.place parameter rules and the JSON shapes of results and executionReport events."""

from __future__ import annotations

import dataclasses

import pytest

from book.reports import ExecutionKind, OrderReport
from book.types import OrderStatus, OrderType, SelfTradePrevention, Side, TimeInForce
from config import load_settings
from session.binance.errors import ApiFailure
from session.binance.orders import ResponseType, cancel_result, execution_report, place_order, place_result
from session.binance.requests import Params

BTCUSDT = load_settings("config/demo.toml").symbols["BTCUSDT"]
MS = 1_000_000


def place(**values):
    return place_order(
        Params(values),
        BTCUSDT,
        order_id=9,
        account_id=1,
        ts_ns=1_660_801_715_639 * MS,
        client_order_id="auto1",
    )


def refused(**values) -> tuple[int, str]:
    with pytest.raises(ApiFailure) as caught:
        place(**values)
    return caught.value.error.code, caught.value.error.msg


def test_limit_order_parameters() -> None:
    order = place(
        side="SELL",
        type="LIMIT",
        timeInForce="GTC",
        price="23416.10",
        quantity="0.00847",
        newClientOrderId="mine",
    )
    command = order.command
    assert (command.side, command.order_type, command.time_in_force) == (
        Side.SELL,
        OrderType.LIMIT,
        TimeInForce.GTC,
    )
    assert (command.price_minor, command.quantity_minor) == (2_341_610_000_000, 847_000)
    assert (order.client_order_id, order.response_type) == ("mine", ResponseType.FULL)


def test_market_and_maker_defaults() -> None:
    market = place(side="BUY", type="MARKET", quoteOrderQty=100)
    assert (market.command.quote_quantity_minor, market.command.time_in_force) == (
        100 * 10**8,
        TimeInForce.IOC,
    )
    assert market.client_order_id == "auto1"
    maker = place(side="BUY", type="LIMIT_MAKER", price="1", quantity="1")
    assert maker.response_type is ResponseType.ACK


@pytest.mark.parametrize(
    ("values", "code"),
    [
        ({"side": "BUY", "type": "LIMIT", "price": "1", "quantity": "1"}, -1102),
        ({"side": "UP", "type": "LIMIT"}, -1117),
        ({"side": "BUY", "type": "STOP"}, -1116),
        ({"side": "BUY", "type": "LIMIT", "timeInForce": "GTX", "price": "1", "quantity": "1"}, -1115),
        ({"side": "BUY", "type": "MARKET"}, -1102),
        ({"side": "BUY", "type": "MARKET", "quantity": "1", "quoteOrderQty": "1"}, -1014),
        ({"side": "BUY", "type": "MARKET", "quantity": "1", "price": "1"}, -1106),
        ({"side": "BUY", "type": "LIMIT_MAKER", "price": "1", "quantity": "1", "timeInForce": "GTC"}, -1106),
        (
            {"side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "price": "1.000000001", "quantity": "1"},
            -1111,
        ),
        (
            {
                "side": "BUY",
                "type": "LIMIT",
                "timeInForce": "GTC",
                "price": "1",
                "quantity": "1",
                "selfTradePreventionMode": "DECREMENT",
            },
            -1130,
        ),
    ],
)
def test_bad_order_parameters(values: dict, code: int) -> None:
    assert refused(**values)[0] == code


def report(**changes) -> OrderReport:
    base = OrderReport(
        execution=ExecutionKind.NEW,
        order_id=9,
        symbol="BTCUSDT",
        account_id=1,
        client_order_id="c1",
        original_client_order_id="",
        side=Side.SELL,
        order_type=OrderType.LIMIT,
        time_in_force=TimeInForce.GTC,
        self_trade_prevention=SelfTradePrevention.NONE,
        price_minor=2_341_610_000_000,
        quantity_minor=847_000,
        quote_quantity_minor=0,
        status=OrderStatus.NEW,
        filled_minor=0,
        cumulative_quote_minor=0,
        leaves_minor=847_000,
        created_ns=1_660_801_715_639 * MS,
        ts_ns=1_660_801_715_639 * MS,
    )
    return dataclasses.replace(base, **changes)


def test_place_results_in_each_response_type() -> None:
    accepted = report()
    fill = report(
        execution=ExecutionKind.TRADE,
        status=OrderStatus.FILLED,
        filled_minor=847_000,
        cumulative_quote_minor=19_833_521_500,
        leaves_minor=0,
        last_price_minor=2_341_610_000_000,
        last_quantity_minor=847_000,
        trade_id=1650422481,
        commission_minor=19_833_521,
        commission_asset="USDT",
        ts_ns=1_660_801_715_793 * MS,
    )
    ack = place_result([accepted], BTCUSDT, ResponseType.ACK)
    assert ack == {
        "symbol": "BTCUSDT",
        "orderId": 9,
        "orderListId": -1,
        "clientOrderId": "c1",
        "transactTime": 1660801715639,
    }
    full = place_result([accepted, fill], BTCUSDT, ResponseType.FULL)
    assert (full["status"], full["executedQty"], full["cummulativeQuoteQty"]) == (
        "FILLED",
        "0.00847000",
        "198.33521500",
    )
    assert full["fills"] == [
        {
            "price": "23416.10000000",
            "qty": "0.00847000",
            "commission": "0.19833521",
            "commissionAsset": "USDT",
            "tradeId": 1650422481,
        }
    ]
    assert "fills" not in place_result([accepted], BTCUSDT, ResponseType.RESULT)


def test_cancel_result_names_both_client_ids() -> None:
    canceled = report(execution=ExecutionKind.CANCELED, status=OrderStatus.CANCELED, leaves_minor=0)
    result = cancel_result(canceled, BTCUSDT, "cancel1")
    assert (result["origClientOrderId"], result["clientOrderId"], result["status"]) == (
        "c1",
        "cancel1",
        "CANCELED",
    )


def test_execution_report_event() -> None:
    event = execution_report(report(), BTCUSDT, event_ns=1_499_405_658_658 * MS, execution_id=8641984)
    assert (event["e"], event["x"], event["X"], event["w"], event["t"], event["N"]) == (
        "executionReport",
        "NEW",
        "NEW",
        True,
        -1,
        None,
    )
    assert (event["q"], event["p"], event["W"]) == ("0.00847000", "23416.10000000", 1660801715639)
