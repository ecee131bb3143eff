"""A book task on a real book and a real ledger: what it reserves, records and releases per command."""

from __future__ import annotations

import pytest

from book.order_book import OrderBook
from book.reports import ExecutionKind, OrderAmendment
from book.types import (
    CancelOrder,
    Command,
    MatchPrevented,
    OrderStatus,
    OrderType,
    RejectReason,
    ReplaceOrder,
    SelfTradePrevention,
    SetSymbolStatus,
    Side,
    SubmitOrder,
    TimeInForce,
)
from config.settings import FeeSettings
from gateway.book_task import BookTask, Request, Result, TurnOutput
from gateway.orders import OrderState
from gateway.recovery import order_record
from ledger.ledger import Ledger
from ledger.store import ORDER_IDENTITY_COLUMNS, OrderRecord
from tests.unit.book.conftest import small_symbol

BUY, SELL = Side.BUY, Side.SELL
LIMIT, MARKET = OrderType.LIMIT, OrderType.MARKET
ALICE, BOB = 1, 2
STORED_INTEGER_OVER = 2**63  # one more than a signed 64-bit column holds


class Desk:
    """One symbol's book task with its ledger, recording what it would commit."""

    def __init__(self) -> None:
        self.symbol = small_symbol()
        self.journal: list = []
        self.ledger = Ledger(fees=FeeSettings(maker_bps=10, taker_bps=10), journal=self.journal.append)
        self.recorded: list[OrderState] = []
        self.amendments: list[OrderAmendment] = []
        self.prevented: list[MatchPrevented] = []
        self.forgotten: list[int] = []
        self.task = BookTask(
            symbol=self.symbol,
            book=OrderBook(self.symbol),
            funds=self.ledger,
            record_order=self.recorded.append,
            record_amendment=self.amendments.append,
            record_prevented_match=lambda symbol, match: self.prevented.append(match),
            queue_max=100,
            open_orders_per_account_max=100,
            default_stp=lambda account_id: SelfTradePrevention.NONE,
            closed_orders_retained_max=1000,
            forget_order=lambda state: self.forgotten.append(state.order_id),
        )
        self._next_order_id = 1

    def order_id(self) -> int:
        order_id, self._next_order_id = self._next_order_id, self._next_order_id + 1
        return order_id

    def run(self, command: Command) -> tuple[Result, TurnOutput]:
        """Process ``command`` alone and return its result (as released after the commit)."""
        output = TurnOutput()
        self.task.process(Request(command=command, reply=_Reply()), output)
        ((_, result),) = output.replies
        return result, output

    def submit(self, account_id: int, side: Side, order_type: OrderType = LIMIT, **amounts) -> Result:
        command = SubmitOrder(
            order_id=self.order_id(), account_id=account_id, side=side, order_type=order_type, **amounts
        )
        return self.run(command)[0]

    def problems(self) -> list[str]:
        """The ledger's invariants, with every open order's hold matching what it can still spend."""
        spend = {}
        for state in self.task.orders.values():
            if state.is_open:
                if state.side is BUY:
                    spend[state.order_id] = self.symbol.notional_minor(state.price_minor, state.leaves_minor)
                else:
                    spend[state.order_id] = state.leaves_minor
        return self.ledger.verify(spend)


class _Reply:
    """Stands in for the reply future: the task only hands it back with the result."""


@pytest.fixture
def desk() -> Desk:
    desk = Desk()
    desk.ledger.deposit("alice-usd", ALICE, "USD", 1_000_000)
    desk.ledger.deposit("bob-test", BOB, "TEST", 1_000)
    return desk


# Amounts the store cannot hold ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("order_type", "amounts", "reason"),
    [
        (LIMIT, {"price_minor": 10**20, "quantity_minor": 1}, RejectReason.PRICE_ABOVE_MAX),
        (LIMIT, {"price_minor": 100, "quantity_minor": STORED_INTEGER_OVER}, RejectReason.QUANTITY_ABOVE_MAX),
        (LIMIT, {"price_minor": -(10**30), "quantity_minor": 1}, RejectReason.PRICE_NOT_ON_TICK),
        (MARKET, {"quote_quantity_minor": 10**30}, RejectReason.QUANTITY_ABOVE_MAX),
        (MARKET, {"quantity_minor": 1, "price_minor": STORED_INTEGER_OVER}, RejectReason.INVALID_ORDER),
    ],
)
@pytest.mark.parametrize("side", [BUY, SELL])
def test_an_amount_the_store_cannot_hold_is_refused_and_nothing_is_recorded(
    desk: Desk, side: Side, order_type: OrderType, amounts: dict, reason: RejectReason
) -> None:
    """Recorded, such an order failed the commit it rode in, and with it every later commit."""
    balances = desk.ledger.accounts()
    result = desk.submit(ALICE if side is BUY else BOB, side, order_type, **amounts)
    assert (result.error, result.reports) == (reason, ())
    assert desk.recorded == [] and desk.journal[2:] == []
    assert desk.ledger.accounts() == balances
    assert desk.task.orders == {} and desk.forgotten == [1]
    assert desk.task.open_orders_per_account == {}


def test_a_refused_amount_the_store_can_hold_is_recorded_as_a_rejected_order(desk: Desk) -> None:
    result = desk.submit(ALICE, BUY, price_minor=desk.symbol.max_price_minor + 1, quantity_minor=1)
    assert result.error is RejectReason.PRICE_ABOVE_MAX
    assert [report.status for report in result.reports] == [OrderStatus.REJECTED]
    assert [state.status for state in desk.recorded] == [OrderStatus.REJECTED]


def test_a_market_sell_by_a_huge_quote_amount_is_refused_before_it_can_trade(desk: Desk) -> None:
    desk.submit(ALICE, BUY, price_minor=100, quantity_minor=5)
    recorded = len(desk.recorded)
    result = desk.submit(
        BOB, SELL, MARKET, time_in_force=TimeInForce.IOC, quote_quantity_minor=STORED_INTEGER_OVER
    )
    assert result.error is RejectReason.QUANTITY_ABOVE_MAX
    assert len(desk.recorded) == recorded
    assert desk.task.book.best_bid() == (100, 5)
    assert desk.problems() == []


# Replace -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("order_type", "replace", "reason"),
    [
        (LIMIT, {"price_minor": 10_000_001, "quantity_minor": 5}, RejectReason.PRICE_ABOVE_MAX),
        (LIMIT, {"price_minor": 200, "quantity_minor": 2_000_000}, RejectReason.QUANTITY_ABOVE_MAX),
        (
            OrderType.LIMIT_MAKER,
            {"price_minor": 300, "quantity_minor": 10},
            RejectReason.POST_ONLY_WOULD_TAKE,
        ),
    ],
)
def test_a_replace_the_book_refuses_reserves_nothing(
    desk: Desk, order_type: OrderType, replace: dict, reason: RejectReason
) -> None:
    """The top-up for the larger order used to be reserved before the book refused, and stayed."""
    desk.submit(BOB, SELL, price_minor=200, quantity_minor=1)
    resting = desk.order_id()
    desk.run(
        SubmitOrder(
            order_id=resting,
            account_id=ALICE,
            side=BUY,
            order_type=order_type,
            price_minor=150,
            quantity_minor=10,
        )
    )
    held, entries = desk.ledger.hold_remaining(resting), len(desk.journal)
    result, _ = desk.run(ReplaceOrder(order_id=resting, account_id=ALICE, **replace))
    assert (result.error, result.reports) == (reason, ())
    assert (desk.ledger.hold_remaining(resting), len(desk.journal)) == (held, entries)
    assert desk.problems() == []


def test_a_replace_on_a_halted_symbol_reserves_nothing(desk: Desk) -> None:
    desk.submit(ALICE, BUY, price_minor=100, quantity_minor=10)
    desk.run(SetSymbolStatus(halted=True))
    entries = len(desk.journal)
    result, _ = desk.run(ReplaceOrder(order_id=1, account_id=ALICE, price_minor=200, quantity_minor=20))
    assert result.error is RejectReason.SYMBOL_HALTED
    assert (desk.ledger.hold_remaining(1), len(desk.journal)) == (1000, entries)
    assert desk.problems() == []


def test_a_replace_that_needs_more_than_is_available_is_refused(desk: Desk) -> None:
    desk.submit(ALICE, BUY, price_minor=100, quantity_minor=10)
    result, _ = desk.run(ReplaceOrder(order_id=1, account_id=ALICE, price_minor=100_000, quantity_minor=11))
    assert result.error is RejectReason.INSUFFICIENT_BALANCE
    assert desk.ledger.hold_remaining(1) == 1000
    result, _ = desk.run(ReplaceOrder(order_id=1, account_id=ALICE, price_minor=200, quantity_minor=20))
    assert result.error is None and desk.ledger.hold_remaining(1) == 4000
    assert desk.problems() == []


def test_a_quantity_reduced_in_place_is_recorded_as_an_amendment(desk: Desk) -> None:
    desk.submit(ALICE, BUY, price_minor=100, quantity_minor=10)
    amend = ReplaceOrder(order_id=1, account_id=ALICE, price_minor=100, quantity_minor=6, ts_ns=77)
    output = TurnOutput()
    desk.task.process(Request(command=amend, reply=_Reply(), client_order_id="smaller"), output)
    (amendment,) = desk.amendments
    assert output.replies[0][1].amendment == amendment
    assert amendment._replace(execution_id=0) == OrderAmendment(
        0, desk.symbol.name, 1, ALICE, "", "smaller", 10, 6, 77
    )
    assert amendment.execution_id > 0
    desk.run(ReplaceOrder(order_id=1, account_id=ALICE, price_minor=100, quantity_minor=8))  # larger
    desk.run(ReplaceOrder(order_id=1, account_id=ALICE, price_minor=110, quantity_minor=4))  # moved
    desk.run(ReplaceOrder(order_id=1, account_id=ALICE, price_minor=110, quantity_minor=2))
    assert [(a.original_quantity_minor, a.quantity_minor) for a in desk.amendments] == [(10, 6), (4, 2)]
    assert desk.amendments[1].execution_id > amendment.execution_id
    assert desk.problems() == []


def test_a_refused_amendment_records_nothing(desk: Desk) -> None:
    desk.submit(ALICE, BUY, price_minor=100, quantity_minor=10)
    desk.submit(BOB, SELL, price_minor=100, quantity_minor=4)
    result, _ = desk.run(ReplaceOrder(order_id=1, account_id=ALICE, price_minor=100, quantity_minor=4))
    assert (result.error, result.amendment, desk.amendments) == (
        RejectReason.REPLACE_QUANTITY_NOT_ABOVE_FILLED,
        None,
        [],
    )
    result, _ = desk.run(ReplaceOrder(order_id=1, account_id=ALICE, price_minor=100, quantity_minor=5))
    assert (result.amendment.original_quantity_minor, result.amendment.quantity_minor) == (10, 5)
    assert desk.task.orders[1].leaves_minor == 1 and desk.problems() == []


# Market orders -----------------------------------------------------------------------------------


def test_a_market_fok_that_cannot_fill_whole_trades_nothing_and_releases_its_hold(desk: Desk) -> None:
    desk.submit(BOB, SELL, price_minor=100, quantity_minor=3)
    result = desk.submit(ALICE, BUY, MARKET, time_in_force=TimeInForce.FOK, quantity_minor=10)
    assert [report.status for report in result.reports] == [OrderStatus.NEW, OrderStatus.EXPIRED]
    assert result.reports[-1].filled_minor == 0
    assert desk.ledger.balance(ALICE, "USD").held_minor == 0
    assert desk.problems() == []


def test_a_market_order_with_nothing_to_trade_against_is_rejected_and_holds_nothing(desk: Desk) -> None:
    result = desk.submit(ALICE, BUY, MARKET, time_in_force=TimeInForce.IOC, quantity_minor=10)
    assert [(report.status, report.reject_reason) for report in result.reports] == [
        (OrderStatus.REJECTED, RejectReason.NO_LIQUIDITY)
    ]
    assert desk.ledger.holds() == {} and desk.problems() == []


# Self-trade prevention ---------------------------------------------------------------------------

STP = SelfTradePrevention
PREVENTED = (ExecutionKind.TRADE_PREVENTION, OrderStatus.EXPIRED_IN_MATCH)


@pytest.fixture
def trader(desk: Desk) -> Desk:
    """Alice holds both assets, so her orders can meet each other."""
    desk.ledger.deposit("alice-test", ALICE, "TEST", 1_000)
    return desk


def outcome(result: Result) -> list[tuple]:
    return [(report.order_id, report.execution, report.status) for report in result.reports]


def test_expire_taker_reports_the_taker_as_trade_prevention(trader: Desk) -> None:
    trader.submit(ALICE, SELL, price_minor=100, quantity_minor=2)
    result = trader.submit(
        ALICE, BUY, price_minor=100, quantity_minor=5, self_trade_prevention=STP.EXPIRE_TAKER
    )
    assert outcome(result) == [(2, ExecutionKind.NEW, OrderStatus.NEW), (2, *PREVENTED)]
    (prevented,) = result.prevented_matches
    assert (prevented.prevented_match_id, prevented.maker_order_id, prevented.taker_order_id) == (0, 1, 2)
    expired = result.reports[-1]
    assert (expired.prevented_match, expired.prevented_minor, expired.leaves_minor) == (prevented, 5, 0)
    maker = trader.task.orders[1]
    assert (maker.is_open, maker.prevented_minor, maker.prevented_match) == (True, 0, None)
    assert trader.ledger.hold_remaining(2) == 0 and trader.problems() == []


def test_expire_maker_reports_each_maker_and_the_taker_goes_on(trader: Desk) -> None:
    trader.submit(ALICE, SELL, price_minor=100, quantity_minor=2)
    trader.submit(ALICE, SELL, price_minor=101, quantity_minor=3)
    result = trader.submit(
        ALICE, BUY, price_minor=101, quantity_minor=10, self_trade_prevention=STP.EXPIRE_MAKER
    )
    assert outcome(result) == [(3, ExecutionKind.NEW, OrderStatus.NEW), (1, *PREVENTED), (2, *PREVENTED)]
    assert [report.prevented_minor for report in result.reports] == [0, 2, 3]
    assert [match.prevented_match_id for match in result.prevented_matches] == [0, 1]
    assert [report.prevented_match for report in result.reports[1:]] == list(result.prevented_matches)
    taker = trader.task.orders[3]
    assert (taker.status, taker.prevented_minor, taker.prevented_match) == (OrderStatus.NEW, 0, None)
    status = trader.task.orders[1].report(ExecutionKind.STATUS, 0)
    assert (status.prevented_match, status.prevented_minor) == (result.prevented_matches[0], 2)
    assert trader.problems() == []


def test_expire_both_reports_the_maker_then_the_taker_with_one_prevented_match(trader: Desk) -> None:
    trader.submit(ALICE, SELL, price_minor=100, quantity_minor=2)
    result = trader.submit(
        ALICE, BUY, price_minor=100, quantity_minor=5, self_trade_prevention=STP.EXPIRE_BOTH
    )
    assert outcome(result) == [(2, ExecutionKind.NEW, OrderStatus.NEW), (1, *PREVENTED), (2, *PREVENTED)]
    (prevented,) = result.prevented_matches
    assert [(r.prevented_match, r.prevented_minor) for r in result.reports[1:]] == [
        (prevented, 2),
        (prevented, 5),
    ]
    assert trader.ledger.holds() == {} and trader.problems() == []


# What the store may keep from an order's first record ---------------------------------------------


def test_every_record_of_an_order_carries_its_first_records_identity(desk: Desk) -> None:
    """The SQLite store keeps ``ORDER_IDENTITY_COLUMNS`` from an order's first record (no index over
    them is rewritten per update), so no later record of the order may differ in them."""
    records: list[OrderRecord] = []
    desk.task._record_order = lambda state: records.append(order_record(state))
    desk.submit(BOB, SELL, price_minor=200, quantity_minor=10)
    desk.submit(ALICE, BUY, price_minor=200, quantity_minor=4)
    desk.run(ReplaceOrder(order_id=1, account_id=BOB, price_minor=210, quantity_minor=8))
    desk.submit(ALICE, BUY, price_minor=210, quantity_minor=1)
    desk.run(CancelOrder(order_id=1, account_id=BOB))
    assert [record.status for record in records if record.order_id == 1] == [
        "NEW",
        "PARTIALLY_FILLED",
        "PARTIALLY_FILLED",
        "PARTIALLY_FILLED",
        "CANCELED",
    ]
    first: dict[int, OrderRecord] = {}
    for record in records:
        identity = first.setdefault(record.order_id, record)
        assert [getattr(record, name) for name in ORDER_IDENTITY_COLUMNS] == [
            getattr(identity, name) for name in ORDER_IDENTITY_COLUMNS
        ]
    assert desk.problems() == []
