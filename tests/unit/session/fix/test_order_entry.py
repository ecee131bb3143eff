"""NewOrderSingle / replace translation and ExecutionReport rendering, against the FIX 4.4 field rules."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

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
from config import load_settings
from session.fix.dialect import FixDialect
from session.fix.order_entry import FieldProblem, execution_report_fields, new_order_command, replace_command

SYMBOL = load_settings(Path(__file__).resolve().parents[4] / "config" / "demo.toml").symbols["BTCUSDT"]


def _order(**fields: str) -> SubmitOrder | FieldProblem:
    values = {int(tag[1:]): value for tag, value in fields.items()}
    return new_order_command(values, SYMBOL, order_id=7, account_id=3, ts_ns=11)


def test_limit_gtc() -> None:
    command = _order(t54="1", t40="2", t38="0.5", t44="50000.01", t59="1")
    assert command == SubmitOrder(
        order_id=7,
        account_id=3,
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        time_in_force=TimeInForce.GTC,
        price_minor=5_000_001_000_000,
        quantity_minor=50_000_000,
        ts_ns=11,
    )


def test_limit_defaults_to_gtc_and_post_only_becomes_limit_maker() -> None:
    command = _order(t54="2", t40="2", t38="1", t44="1", t18="6")
    assert isinstance(command, SubmitOrder)
    assert command.order_type is OrderType.LIMIT_MAKER
    assert command.time_in_force is TimeInForce.GTC


def test_market_by_cash_quantity_defaults_to_ioc() -> None:
    command = _order(t54="1", t40="1", t152="100.5", t25001="3")
    assert isinstance(command, SubmitOrder)
    assert command.quote_quantity_minor == 10_050_000_000
    assert command.quantity_minor is None
    assert command.time_in_force is TimeInForce.IOC
    assert command.self_trade_prevention is SelfTradePrevention.EXPIRE_MAKER


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({"t54": "3", "t40": "2", "t38": "1", "t44": "1"}, "Side (54)"),
        ({"t54": "1", "t40": "P", "t38": "1", "t44": "1"}, "OrdType (40)"),
        ({"t54": "1", "t40": "2", "t38": "1", "t44": "1", "t59": "6"}, "TimeInForce (59)"),
        ({"t54": "1", "t40": "2", "t38": "1"}, "needs Price (44)"),
        ({"t54": "1", "t40": "1", "t38": "1", "t44": "1"}, "no Price (44)"),
        ({"t54": "1", "t40": "2", "t38": "1x", "t44": "1"}, "not a decimal"),
        ({"t54": "1", "t40": "2", "t38": "-1", "t44": "1"}, "positive"),
        ({"t54": "1", "t40": "2", "t38": "1", "t152": "5", "t44": "1"}, "exactly one"),
        ({"t54": "1", "t40": "1", "t38": "1", "t59": "1"}, "IOC or FOK"),
        ({"t54": "1", "t40": "1", "t38": "1", "t18": "6"}, "post-only"),
        ({"t54": "1", "t40": "2", "t38": "1", "t44": "1", "t25001": "9"}, "25001"),
    ],
)
def test_bad_orders_are_explained(fields: dict[str, str], text: str) -> None:
    problem = _order(**fields)
    assert isinstance(problem, FieldProblem)
    assert problem.reason is RejectReason.INVALID_ORDER
    assert text in problem.text


def test_value_finer_than_the_asset_scale_is_a_grid_failure() -> None:
    problem = _order(t54="1", t40="2", t38="0.000000001", t44="1")
    assert isinstance(problem, FieldProblem)
    assert problem.reason is RejectReason.QUANTITY_NOT_ON_STEP
    problem = _order(t54="1", t40="2", t38="1", t44="1.000000001")
    assert isinstance(problem, FieldProblem)
    assert problem.reason is RejectReason.PRICE_NOT_ON_TICK


def test_a_value_too_large_to_hold_is_not_called_too_fine() -> None:
    problem = _order(t54="1", t40="2", t38="9" * 40, t44="1")
    assert problem == FieldProblem(RejectReason.INVALID_ORDER, f"OrderQty (38) {'9' * 40} is too large")
    problem = _order(t54="1", t40="2", t38="1", t44="9" * 31 + ".5")
    assert problem == FieldProblem(RejectReason.INVALID_ORDER, f"Price (44) {'9' * 31}.5 is too large")


def test_a_remembered_conversion_answers_per_field_and_scale() -> None:
    """The same text as another field or at another scale is judged afresh, twice alike."""
    coarse = dataclasses.replace(SYMBOL, base_scale=2)
    finer = "0.000000001"
    for _ in range(2):
        price = _order(t54="1", t40="2", t38="1", t44=finer)
        assert isinstance(price, FieldProblem) and price.reason is RejectReason.PRICE_NOT_ON_TICK
        quantity = _order(t54="1", t40="2", t38=finer, t44="1")
        assert isinstance(quantity, FieldProblem) and quantity.reason is RejectReason.QUANTITY_NOT_ON_STEP
        assert isinstance(_order(t54="1", t40="2", t38="0.001", t44="1"), SubmitOrder)
        fields = {54: "1", 40: "2", 38: "0.001", 44: "1"}
        refused = new_order_command(fields, coarse, order_id=7, account_id=3, ts_ns=11)
        assert isinstance(refused, FieldProblem) and refused.reason is RejectReason.QUANTITY_NOT_ON_STEP
        negative = _order(t54="1", t40="2", t38="-1", t44="1")
        assert negative == FieldProblem(RejectReason.INVALID_ORDER, "OrderQty (38) must be positive")


def test_replace() -> None:
    assert _replace({}) == ReplaceOrder(
        order_id=5, account_id=3, price_minor=10_000_000_000, quantity_minor=200_000_000, ts_ns=1
    )
    assert isinstance(_replace({44: None}), FieldProblem)


def _report(**overrides: object) -> OrderReport:
    values = dict(
        execution=ExecutionKind.TRADE,
        order_id=9,
        symbol="BTCUSDT",
        account_id=3,
        client_order_id="c1",
        original_client_order_id="",
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        time_in_force=TimeInForce.GTC,
        self_trade_prevention=SelfTradePrevention.NONE,
        price_minor=5_000_000_000_000,
        quantity_minor=100_000_000,
        quote_quantity_minor=0,
        status=OrderStatus.PARTIALLY_FILLED,
        filled_minor=40_000_000,
        cumulative_quote_minor=1_999_000_000_000,
        leaves_minor=60_000_000,
        created_ns=1,
        ts_ns=1_700_000_000_123_000_000,
        last_price_minor=4_997_500_000_000,
        last_quantity_minor=40_000_000,
        last_quote_minor=1_999_000_000_000,
        trade_id=77,
        is_maker=False,
        commission_minor=40_000,
        commission_asset="BTC",
    )
    values.update(overrides)
    return OrderReport(**values)  # type: ignore[arg-type]


def test_trade_report_carries_quantities_average_price_and_commission() -> None:
    fields = dict(execution_report_fields(_report(), SYMBOL, "E1"))
    assert fields[150] == "F" and fields[39] == "1"
    assert fields[31] == "49975.00000000"
    assert fields[32] == "0.40000000"
    assert fields[14] == "0.40000000"
    assert fields[151] == "0.60000000"
    assert fields[6] == "49975.00000000"
    assert (fields[12], fields[13], fields[479]) == ("0.00040000", "3", "BTC")
    assert fields[60] == "20231114-22:13:20.123"


def test_a_fill_names_its_trade_and_liquidity_in_each_dialects_own_fields() -> None:
    """FIX 4.4 has SecondaryExecID (527) and LastLiquidityInd (851) in an ExecutionReport; TrdMatchID (880)
    and AggressorIndicator (1057) are not in it, and a strict FIX 4.4 engine rejects such a fill."""
    standard = dict(execution_report_fields(_report(), SYMBOL, "E1"))
    assert (standard[527], standard[851]) == ("77", "2")
    assert not {880, 1057, 1003} & set(standard)
    maker = dict(execution_report_fields(_report(is_maker=True), SYMBOL, "E1"))
    assert maker[851] == "1"
    binance = dict(execution_report_fields(_report(), SYMBOL, "E1", dialect=FixDialect.BINANCE))
    assert (binance[1003], binance[1057]) == ("77", "Y")
    assert not {880, 527, 851} & set(binance)


def test_an_expired_order_says_why_in_binances_dialect_only() -> None:
    """Binance's ExecutionReport has ExpiryReason (25056) for an order that expired; FIX 4.4 has no such
    field, and a strict engine rejects one it does not know."""
    expired = _report(
        execution=ExecutionKind.EXPIRED,
        time_in_force=TimeInForce.IOC,
        status=OrderStatus.EXPIRED,
        leaves_minor=0,
    )
    binance = dict(execution_report_fields(expired, SYMBOL, "E1", dialect=FixDialect.BINANCE))
    assert (binance[150], binance[25056]) == ("C", "UNFILLED_IOC_QUANTITY_EXPIRED")
    assert 25056 not in dict(execution_report_fields(expired, SYMBOL, "E1"))
    assert 25056 not in dict(execution_report_fields(_report(), SYMBOL, "E1", dialect=FixDialect.BINANCE))


def test_reject_report_has_reason_and_text() -> None:
    report = _report(
        execution=ExecutionKind.REJECTED,
        status=OrderStatus.REJECTED,
        filled_minor=0,
        cumulative_quote_minor=0,
        leaves_minor=0,
        reject_reason=RejectReason.INSUFFICIENT_BALANCE,
    )
    fields = dict(execution_report_fields(report, SYMBOL, "E2"))
    assert (fields[150], fields[39], fields[103]) == ("8", "8", "3")
    assert fields[58] == "Insufficient balance"
    assert 31 not in fields


def test_replaced_report_names_the_original_client_order_id() -> None:
    report = _report(execution=ExecutionKind.REPLACED, client_order_id="c2", original_client_order_id="c1")
    fields = execution_report_fields(report, SYMBOL, "E3")
    assert (41, "c1") in fields and (11, "c2") in fields


def test_every_reject_reason_has_a_fix_code() -> None:
    from session.fix.order_entry import REJECT_CODES

    assert set(REJECT_CODES) == set(RejectReason)


def test_a_self_trade_prevented_order_is_reported_expired() -> None:
    """FIX 4.4 has no ExecType for a prevented match: the order expired, with its market TimeInForce."""
    report = _report(
        execution=ExecutionKind.TRADE_PREVENTION,
        status=OrderStatus.EXPIRED_IN_MATCH,
        order_type=OrderType.MARKET,
        time_in_force=TimeInForce.IOC,
        filled_minor=0,
        cumulative_quote_minor=0,
        leaves_minor=0,
        prevented_minor=100_000_000,
    )
    fields = dict(execution_report_fields(report, SYMBOL, "E4"))
    assert (fields[150], fields[39], fields[59], fields[151]) == ("C", "C", "3", "0.00000000")
    assert 31 not in fields


def test_every_execution_kind_has_a_fix_exec_type() -> None:
    from session.fix.order_entry import EXEC_TYPES

    assert set(EXEC_TYPES) == set(ExecutionKind)


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({"t54": "2", "t40": "2", "t38": "1", "t44": "1", "t111": "0.1"}, "MaxFloor (111)"),
        ({"t54": "2", "t40": "2", "t38": "1", "t44": "1", "t18": "G"}, "ExecInst (18) G"),
        ({"t54": "2", "t40": "2", "t38": "1", "t44": "1", "t18": "6 A"}, "ExecInst (18) 6 A"),
    ],
)
def test_order_characteristics_the_venue_lacks_are_refused_not_ignored(
    fields: dict[str, str], text: str
) -> None:
    """An iceberg (MaxFloor) would have shown its whole quantity, an all-or-none order (ExecInst G) could
    fill in part: each was taken as a plain limit order. Binance documents ExecInst 6 alone, and the
    symbols say icebergAllowed false."""
    problem = _order(**fields)
    assert isinstance(problem, FieldProblem)
    assert problem.reason is RejectReason.INVALID_ORDER
    assert text in problem.text


def _replace(fields: dict[int, str], order_type: OrderType = OrderType.LIMIT) -> ReplaceOrder | FieldProblem:
    return replace_command(
        {38: "2", 44: "100", 40: "2", **fields},
        SYMBOL,
        order_id=5,
        account_id=3,
        order_type=order_type,
        time_in_force=TimeInForce.GTC,
        ts_ns=1,
    )


@pytest.mark.parametrize(
    ("fields", "order_type", "text"),
    [
        ({40: "1"}, OrderType.LIMIT, "OrdType (40)"),
        ({59: "3"}, OrderType.LIMIT, "TimeInForce (59)"),
        ({18: "6"}, OrderType.LIMIT, "ExecInst (18)"),
        ({18: "G"}, OrderType.LIMIT, "ExecInst (18) G"),
    ],
)
def test_a_replace_that_would_change_what_cannot_change_is_refused(
    fields: dict[int, str], order_type: OrderType, text: str
) -> None:
    """A replace changes price and quantity only: one asking for IOC, market or post-only was answered
    Replaced with the order's old TimeInForce and OrdType, as if the request had been carried out."""
    problem = _replace(fields, order_type)
    assert isinstance(problem, FieldProblem) and text in problem.text


def test_a_replace_repeating_the_orders_own_characteristics_is_taken() -> None:
    assert isinstance(_replace({59: "1"}), ReplaceOrder)
    assert isinstance(_replace({18: "6", 59: "1"}, OrderType.LIMIT_MAKER), ReplaceOrder)
    assert isinstance(_replace({}, OrderType.LIMIT_MAKER), ReplaceOrder)
