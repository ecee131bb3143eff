"""order.place parameter rules and the JSON shapes of results and executionReport events."""

from __future__ import annotations

import dataclasses

import pytest

from book.reports import ExecutionKind, OrderReport
from book.types import MatchPrevented, OrderStatus, OrderType, SelfTradePrevention, Side, TimeInForce
from config import load_settings
from session.binance.errors import ApiFailure
from session.binance.orders import (
    ResponseType,
    cancel_result,
    execution_report,
    order_fields,
    place_order,
    place_result,
)
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


LIMIT = {"side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "price": "1", "quantity": "1"}


@pytest.mark.parametrize(
    ("values", "error"),
    [
        ({**LIMIT, "stopPrice": "1"}, (-1106, "Parameter 'stopPrice' sent when not required.")),
        ({**LIMIT, "trailingDelta": 10}, (-1106, "Parameter 'trailingDelta' sent when not required.")),
        ({**LIMIT, "icebergQty": "0.1"}, (-1013, "Iceberg orders are not supported for this symbol.")),
        ({**LIMIT, "pegOffsetValue": 5}, (-1013, "Pegged orders are not supported for this symbol.")),
        (
            {**LIMIT, "type": "STOP_LOSS_LIMIT", "stopPrice": "1"},
            (-1013, "Stop loss limit orders are not supported for this symbol."),
        ),
        (
            {"side": "SELL", "type": "TAKE_PROFIT", "quantity": "1", "stopPrice": "1"},
            (-1013, "Take profit orders are not supported for this symbol."),
        ),
        (
            {"side": "BUY", "type": "MARKET", "quantity": "1", "timeInForce": "IOC"},
            (-1106, "Parameter 'timeInForce' sent when not required."),
        ),
        (
            {"side": "BUY", "type": "MARKET", "quantity": "1", "timeInForce": "GTC"},
            (-1106, "Parameter 'timeInForce' sent when not required."),
        ),
        ({**LIMIT, "strategyType": 999_999}, (-1134, "strategyType was less than 1000000.")),
        ({**LIMIT, "strategyId": "x"}, (-1130, "Data sent for parameter 'strategyId' is not valid.")),
        ({**LIMIT, "strategyId": 2**63}, (-1130, "Data sent for parameter 'strategyId' is not valid.")),
    ],
)
def test_what_binance_refuses_on_the_symbols_we_list(values: dict, error: tuple[int, str]) -> None:
    """exchangeInfo lists no stop, iceberg or pegged orders: Binance answers those with -1013 and the
    feature's message; stopPrice, trailingDelta and a MARKET order's timeInForce are -1106."""
    assert refused(**values) == error


def test_strategy_id_and_type_are_kept_with_the_order_and_shown_where_it_is() -> None:
    """Binance's conditional fields: strategyId and strategyType appear when the request set them, in the
    answers about the order (RESULT and FULL, status, cancel) and its executionReports (j, J). They were
    echoed by order.place alone: the order forgot them."""
    order = place(**LIMIT, strategyId=37463720, strategyType="1000000")
    assert (order.command.strategy_id, order.command.strategy_type) == (37463720, 1000000)
    labelled = report(strategy_id=37463720, strategy_type=1000000)
    for response_type in (ResponseType.RESULT, ResponseType.FULL):
        result = place_result([labelled], BTCUSDT, response_type)
        assert (result["strategyId"], result["strategyType"]) == (37463720, 1000000)
    assert "strategyId" not in place_result([labelled], BTCUSDT, ResponseType.ACK)
    fields = list(order_fields(labelled, BTCUSDT))
    assert fields[fields.index("strategyId") :][:3] == [
        "strategyId",
        "strategyType",
        "selfTradePreventionMode",
    ]
    assert "strategyId" in cancel_result(labelled, BTCUSDT, "cancel-1")
    event = execution_report(labelled, BTCUSDT, event_ns=labelled.ts_ns, execution_id=1)
    assert (event["j"], event["J"]) == (37463720, 1000000)
    only_id = report(strategy_id=0)
    assert order_fields(only_id, BTCUSDT)["strategyId"] == 0 and "strategyType" not in order_fields(
        only_id, BTCUSDT
    )
    unlabelled = place(**LIMIT).command
    assert (unlabelled.strategy_id, unlabelled.strategy_type) == (None, None)
    assert not {"j", "J"} & set(execution_report(report(), BTCUSDT, event_ns=1, execution_id=1))


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


# Self-trade prevention, as Binance's STP FAQ shows it ------------------------------------------------

UNIT = 10**8  # BTCUSDT's base and quote scales are both 8
EXPIRE_MAKER, EXPIRE_BOTH = SelfTradePrevention.EXPIRE_MAKER, SelfTradePrevention.EXPIRE_BOTH


def match(
    prevented_match_id: int,
    mode: SelfTradePrevention,
    *,
    price: float,
    maker: tuple[int, float],
    taker: tuple[int, float],
    quantity: float,
) -> MatchPrevented:
    """A prevented match in whole units: (order id, prevented quantity) of the maker and the taker."""
    return MatchPrevented(
        sequence=1,
        prevented_match_id=prevented_match_id,
        self_trade_prevention=mode,
        price_minor=round(price * UNIT),
        quantity_minor=round(quantity * UNIT),
        quote_quantity_minor=round(price * quantity * UNIT),
        maker_order_id=maker[0],
        maker_account_id=1,
        maker_prevented_minor=round(maker[1] * UNIT),
        taker_order_id=taker[0],
        taker_account_id=1,
        taker_prevented_minor=round(taker[1] * UNIT),
        ts_ns=1_673_842_413_170 * MS,
    )


def stp_report(order_id: int, side: Side, price: float, quantity: float, **changes) -> OrderReport:
    return report(
        order_id=order_id,
        client_order_id=f"c{order_id}",
        side=side,
        price_minor=round(price * UNIT),
        quantity_minor=round(quantity * UNIT),
        leaves_minor=round(quantity * UNIT),
        **changes,
    )


def expired_by(prevented: MatchPrevented, base: OrderReport, prevented_minor: int) -> OrderReport:
    return dataclasses.replace(
        base,
        execution=ExecutionKind.TRADE_PREVENTION,
        status=OrderStatus.EXPIRED_IN_MATCH,
        leaves_minor=0,
        prevented_minor=prevented_minor,
        prevented_match=prevented,
        ts_ns=prevented.ts_ns,
    )


def test_an_order_expired_by_stp_answers_order_place_with_its_prevented_matches() -> None:
    """Scenario D: the taker's FULL response lists the prevented match and its preventedQuantity, and
    (as every placement response in the FAQ) no top-level preventedMatchId."""
    both = match(0, EXPIRE_BOTH, price=1, maker=(2, 1), taker=(5, 3), quantity=1)
    accepted = stp_report(5, Side.SELL, 1, 3, self_trade_prevention=EXPIRE_BOTH)
    expired = expired_by(both, accepted, 3 * UNIT)
    assert place_result([accepted, expired], BTCUSDT, ResponseType.FULL, [both]) == {
        "symbol": "BTCUSDT",
        "orderId": 5,
        "orderListId": -1,
        "clientOrderId": "c5",
        "transactTime": 1660801715639,
        "price": "1.00000000",
        "origQty": "3.00000000",
        "executedQty": "0.00000000",
        "origQuoteOrderQty": "0.00000000",
        "cummulativeQuoteQty": "0.00000000",
        "status": "EXPIRED_IN_MATCH",
        "timeInForce": "GTC",
        "type": "LIMIT",
        "side": "SELL",
        "workingTime": 1660801715639,
        "selfTradePreventionMode": "EXPIRE_BOTH",
        "preventedQuantity": "3.00000000",
        "fills": [],
        "preventedMatches": [
            {
                "preventedMatchId": 0,
                "makerSymbol": "BTCUSDT",
                "makerOrderId": 2,
                "price": "1.00000000",
                "takerPreventedQuantity": "3.00000000",
                "makerPreventedQuantity": "1.00000000",
            }
        ],
    }


def test_a_taker_that_expired_makers_lists_them_and_has_no_prevented_quantity() -> None:
    """Scenario B: EXPIRE_MAKER; each entry has makerPreventedQuantity only, the taker rests."""
    matches = [
        match(0, EXPIRE_MAKER, price=1.2, maker=(2, 1.2), taker=(5, 0), quantity=1.2),
        match(1, EXPIRE_MAKER, price=1.1, maker=(3, 1.3), taker=(5, 0), quantity=1.3),
    ]
    accepted = stp_report(5, Side.SELL, 1, 3, self_trade_prevention=EXPIRE_MAKER)
    for response_type in (ResponseType.RESULT, ResponseType.FULL):
        result = place_result([accepted], BTCUSDT, response_type, matches)
        assert "preventedQuantity" not in result and "preventedMatchId" not in result
        assert result["preventedMatches"] == [
            {
                "preventedMatchId": 0,
                "makerSymbol": "BTCUSDT",
                "makerOrderId": 2,
                "price": "1.20000000",
                "makerPreventedQuantity": "1.20000000",
            },
            {
                "preventedMatchId": 1,
                "makerSymbol": "BTCUSDT",
                "makerOrderId": 3,
                "price": "1.10000000",
                "makerPreventedQuantity": "1.30000000",
            },
        ]
    assert "preventedMatches" not in place_result([accepted], BTCUSDT, ResponseType.FULL, [])
    assert "preventedMatches" not in place_result([accepted], BTCUSDT, ResponseType.ACK, matches)


def test_a_market_order_reports_time_in_force_gtc() -> None:
    """Scenario F and every MARKET example in Binance's docs: timeInForce GTC, whatever ours is inside."""
    maker_only = match(0, EXPIRE_MAKER, price=1, maker=(2, 1), taker=(3, 0), quantity=1)
    for time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
        accepted = stp_report(
            3,
            Side.SELL,
            0,
            1,
            order_type=OrderType.MARKET,
            time_in_force=time_in_force,
            self_trade_prevention=EXPIRE_MAKER,
        )
        expired = dataclasses.replace(
            accepted, execution=ExecutionKind.EXPIRED, status=OrderStatus.EXPIRED, leaves_minor=0
        )
        result = place_result([accepted, expired], BTCUSDT, ResponseType.FULL, [maker_only])
        assert (result["status"], result["timeInForce"], result["price"]) == ("EXPIRED", "GTC", "0.00000000")
        assert "preventedQuantity" not in result
        assert [entry["makerOrderId"] for entry in result["preventedMatches"]] == [2]
        event = execution_report(expired, BTCUSDT, event_ns=1, execution_id=1)
        assert (event["f"], event["x"], event["X"]) == ("GTC", "EXPIRED", "EXPIRED")
        assert not {"v", "A", "B", "u", "U", "Cs", "pl", "pL", "pY"} & set(event)


def test_the_order_stp_expired_shows_its_prevented_match_in_order_status() -> None:
    """Maker order 1 of scenario B as order.status and openOrders.status show it."""
    prevented = match(0, EXPIRE_MAKER, price=1.2, maker=(2, 1.2), taker=(5, 0), quantity=1.2)
    expired = expired_by(prevented, stp_report(2, Side.BUY, 1.2, 1.2), round(1.2 * UNIT))
    fields = order_fields(expired, BTCUSDT)
    assert (fields["status"], fields["preventedMatchId"], fields["preventedQuantity"]) == (
        "EXPIRED_IN_MATCH",
        0,
        "1.20000000",
    )
    assert "preventedMatchId" not in order_fields(report(), BTCUSDT)
    assert "preventedQuantity" not in order_fields(report(), BTCUSDT)


def test_the_order_stp_expired_gets_a_trade_prevention_execution_report() -> None:
    """user-data-stream.md: x TRADE_PREVENTION with v, A, B, u, U, Cs and the prevented execution
    pl, pL, pY; l, L and Y are 0 (CHANGELOG: what they would have been moved to pl, pL, pY)."""
    prevented = match(3, EXPIRE_MAKER, price=1.2, maker=(2, 1.2), taker=(5, 0), quantity=1.2)
    expired = expired_by(prevented, stp_report(2, Side.BUY, 1.2, 1.2), round(1.2 * UNIT))
    event = execution_report(expired, BTCUSDT, event_ns=1_670_217_957_498 * MS, execution_id=7)
    assert {key: event[key] for key in ("x", "X", "v", "A", "B", "u", "U", "Cs", "pl", "pL", "pY")} == {
        "x": "TRADE_PREVENTION",
        "X": "EXPIRED_IN_MATCH",
        "v": 3,
        "A": "1.20000000",
        "B": "1.20000000",
        "u": -1,
        "U": 5,
        "Cs": "BTCUSDT",
        "pl": "1.20000000",
        "pL": "1.20000000",
        "pY": "1.44000000",
    }
    assert (event["l"], event["L"], event["Y"], event["t"], event["w"]) == (
        "0.00000000",
        "0.00000000",
        "0.00000000",
        -1,
        False,
    )
    assert "W" not in event
    taker_side = match(4, EXPIRE_BOTH, price=1, maker=(2, 1), taker=(5, 3), quantity=1)
    taker = expired_by(taker_side, stp_report(5, Side.SELL, 1, 3), 3 * UNIT)
    event = execution_report(taker, BTCUSDT, event_ns=1, execution_id=8)
    assert (event["v"], event["A"], event["B"], event["U"]) == (4, "3.00000000", "3.00000000", 2)


@pytest.mark.parametrize(
    ("order_type", "time_in_force", "reason"),
    [
        (OrderType.LIMIT, TimeInForce.IOC, "UNFILLED_IOC_QUANTITY_EXPIRED"),
        (OrderType.LIMIT, TimeInForce.FOK, "UNFILLED_FOK_ORDER_EXPIRED"),
        (OrderType.MARKET, TimeInForce.IOC, "INSUFFICIENT_LIQUIDITY"),
        (OrderType.MARKET, TimeInForce.FOK, "UNFILLED_FOK_ORDER_EXPIRED"),
    ],
)
def test_an_expired_order_says_why_as_binance_does(
    order_type: OrderType, time_in_force: TimeInForce, reason: str
) -> None:
    """expiryReason in RESULT and FULL answers and order queries, eR in executionReport (Binance's
    changelog, 2026-03-26): only for an order that expired, by the book's rule that expired it."""
    expired = report(
        execution=ExecutionKind.EXPIRED,
        order_type=order_type,
        time_in_force=time_in_force,
        status=OrderStatus.EXPIRED,
        leaves_minor=0,
    )
    assert order_fields(expired, BTCUSDT)["expiryReason"] == reason
    assert place_result([expired], BTCUSDT, ResponseType.RESULT)["expiryReason"] == reason
    assert "expiryReason" not in place_result([expired], BTCUSDT, ResponseType.ACK)
    assert execution_report(expired, BTCUSDT, event_ns=expired.ts_ns, execution_id=1)["eR"] == reason
    resting = report()
    assert "expiryReason" not in order_fields(resting, BTCUSDT)
    assert "eR" not in execution_report(resting, BTCUSDT, event_ns=resting.ts_ns, execution_id=1)
