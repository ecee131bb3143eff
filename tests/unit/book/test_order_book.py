"""Worked examples: every order type, time in force, self-trade prevention mode, filter and halt."""

from __future__ import annotations

import pytest

from book.order_book import OrderBook, OrderView
from book.types import (
    CancelAllOrders,
    CancelOrder,
    CancelReason,
    CancelRejected,
    ExpireReason,
    MatchPrevented,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderRejected,
    OrderReplaced,
    OrderType,
    PriceLevelChanged,
    RejectReason,
    ReplaceOrder,
    SelfTradePrevention,
    SetSymbolStatus,
    Side,
    SubmitOrder,
    SymbolStatusChanged,
    TimeInForce,
    TradeExecuted,
)
from config import load_settings
from config.settings import SymbolStatus
from tests.unit.book.conftest import small_symbol

BUY, SELL = Side.BUY, Side.SELL
IOC, FOK = TimeInForce.IOC, TimeInForce.FOK
STP = SelfTradePrevention


def limit(book: OrderBook, order_id: int, account_id: int, side: Side, price: int, quantity: int, **extra):
    return book.apply(
        SubmitOrder(
            order_id=order_id,
            account_id=account_id,
            side=side,
            order_type=extra.pop("order_type", OrderType.LIMIT),
            price_minor=price,
            quantity_minor=quantity,
            **extra,
        )
    )


def market(book: OrderBook, order_id: int, account_id: int, side: Side, **amount):
    return book.apply(
        SubmitOrder(
            order_id=order_id, account_id=account_id, side=side, order_type=OrderType.MARKET, **amount
        )
    )


def trades(events) -> list[tuple[int, int, int, int]]:
    """(maker order, taker order, price, quantity) of each trade."""
    return [
        (e.maker_order_id, e.taker_order_id, e.price_minor, e.quantity_minor)
        for e in events
        if type(e) is TradeExecuted
    ]


def of_type(events, kind):
    return [e for e in events if type(e) is kind]


# Limit orders and price-time priority -----------------------------------------------------------


def test_limit_order_rests_and_reports_its_level(book: OrderBook) -> None:
    events = limit(book, 1, 10, BUY, 10000, 5)
    assert [type(e) for e in events] == [OrderAccepted, PriceLevelChanged]
    assert events[1] == PriceLevelChanged(2, BUY, 10000, 5, 1)
    assert book.best_bid() == (10000, 5)
    assert book.best_ask() is None
    assert book.order(1) == OrderView(1, 10, BUY, OrderType.LIMIT, 10000, 5, 5, STP.NONE)


def test_fills_follow_price_then_time_priority(book: OrderBook) -> None:
    limit(book, 1, 10, SELL, 10100, 2)
    limit(book, 2, 11, SELL, 10000, 2)
    limit(book, 3, 12, SELL, 10000, 2)
    events = limit(book, 4, 13, BUY, 10100, 5)
    assert trades(events) == [(2, 4, 10000, 2), (3, 4, 10000, 2), (1, 4, 10100, 1)]
    first = of_type(events, TradeExecuted)[0]
    assert (first.aggressor_side, first.maker_account_id, first.taker_account_id) == (BUY, 11, 13)
    assert first.quote_quantity_minor == 20000
    assert [t.taker_leaves_minor for t in of_type(events, TradeExecuted)] == [3, 1, 0]
    assert book.best_ask() == (10100, 1)
    assert book.best_bid() is None
    assert book.order(4) is None


def test_trade_ids_and_sequences_increase_by_one(book: OrderBook) -> None:
    events = limit(book, 1, 10, SELL, 10000, 1) + limit(book, 2, 10, SELL, 10000, 1)
    events += limit(book, 3, 11, BUY, 10000, 2)
    assert [e.sequence for e in events] == list(range(1, len(events) + 1))
    assert [t.trade_id for t in of_type(events, TradeExecuted)] == [1, 2]


def test_partial_fill_rests_the_remainder(book: OrderBook) -> None:
    limit(book, 1, 10, SELL, 10000, 2)
    events = limit(book, 2, 11, BUY, 10050, 5)
    assert trades(events) == [(1, 2, 10000, 2)]
    assert book.best_bid() == (10050, 3)
    assert PriceLevelChanged(events[-1].sequence, BUY, 10050, 3, 1) == events[-1]
    assert PriceLevelChanged(events[-2].sequence, SELL, 10000, 0, 0) == events[-2]


def test_depth_lists_best_levels_first(book: OrderBook) -> None:
    for order_id, (side, price) in enumerate([(BUY, 99), (BUY, 98), (BUY, 97), (SELL, 101), (SELL, 102)]):
        limit(book, order_id + 1, 10, side, price, 1)
    limit(book, 9, 10, BUY, 99, 4)
    snapshot = book.depth(2)
    assert snapshot.bids == [(99, 5), (98, 1)]
    assert snapshot.asks == [(101, 1), (102, 1)]
    assert snapshot.sequence == book.sequence


# Time in force ----------------------------------------------------------------------------------


def test_ioc_fills_what_it_can_and_expires_the_rest(book: OrderBook) -> None:
    limit(book, 1, 10, SELL, 100, 2)
    events = limit(book, 2, 11, BUY, 100, 5, time_in_force=IOC)
    assert trades(events) == [(1, 2, 100, 2)]
    assert of_type(events, OrderExpired)[0][1:5] == (2, 11, 3, ExpireReason.IOC_UNFILLED)
    assert book.best_bid() is None


def test_ioc_that_does_not_cross_expires_whole(book: OrderBook) -> None:
    events = limit(book, 1, 10, BUY, 100, 5, time_in_force=IOC)
    assert [type(e) for e in events] == [OrderAccepted, OrderExpired]
    assert events[1].expired_quantity_minor == 5


def test_fok_that_cannot_fill_whole_expires_without_trading(book: OrderBook) -> None:
    limit(book, 1, 10, SELL, 100, 2)
    limit(book, 2, 10, SELL, 102, 2)
    events = limit(book, 3, 11, BUY, 101, 3, time_in_force=FOK)
    assert [type(e) for e in events] == [OrderAccepted, OrderExpired]
    assert events[1].reason is ExpireReason.FOK_UNFILLABLE
    assert book.depth(5).asks == [(100, 2), (102, 2)]


def test_fok_that_can_fill_whole_trades(book: OrderBook) -> None:
    limit(book, 1, 10, SELL, 100, 2)
    limit(book, 2, 10, SELL, 101, 2)
    events = limit(book, 3, 11, BUY, 101, 3, time_in_force=FOK)
    assert trades(events) == [(1, 3, 100, 2), (2, 3, 101, 1)]
    assert not of_type(events, OrderExpired)


# Market orders ----------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", [{"quantity_minor": 4}, {"quote_quantity_minor": 450}])
def test_market_fok_that_cannot_fill_whole_expires_without_trading(book: OrderBook, amount: dict) -> None:
    """3 units at 1.00 and 1.20 are there: neither 4 units nor 4.50 worth (3.60 at most) fill whole."""
    limit(book, 1, 10, SELL, 100, 2)
    limit(book, 2, 10, SELL, 120, 1)
    events = market(book, 3, 11, BUY, time_in_force=FOK, **amount)
    assert trades(events) == []
    expired = of_type(events, OrderExpired)
    assert [(e.expired_quantity_minor, e.reason) for e in expired] == [
        (next(iter(amount.values())), ExpireReason.FOK_UNFILLABLE)
    ]
    assert book.best_ask() == (100, 2)


@pytest.mark.parametrize(
    ("side", "amount", "expected"),
    [
        (BUY, {"quantity_minor": 3}, [(1, 3, 100, 2), (2, 3, 120, 1)]),
        (BUY, {"quote_quantity_minor": 330}, [(1, 3, 100, 2), (2, 3, 120, 1)]),  # 0.10 left buys no unit
        (SELL, {"quote_quantity_minor": 150}, [(1, 3, 100, 1), (2, 3, 40, 1)]),  # lower bids, as IOC
    ],
)
def test_market_fok_that_can_fill_whole_trades(
    book: OrderBook, side: Side, amount: dict, expected: list[tuple[int, int, int, int]]
) -> None:
    maker_side, prices = (SELL, (100, 120)) if side is BUY else (BUY, (100, 40))
    limit(book, 1, 10, maker_side, prices[0], 2 if side is BUY else 1)
    limit(book, 2, 10, maker_side, prices[1], 1 if side is BUY else 5)
    events = market(book, 3, 11, side, time_in_force=FOK, **amount)
    assert trades(events) == expected
    assert not of_type(events, OrderExpired)
    assert of_type(events, TradeExecuted)[-1].taker_leaves_minor == 0


def test_market_by_quantity_sweeps_levels(book: OrderBook) -> None:
    limit(book, 1, 10, BUY, 100, 1)
    limit(book, 2, 10, BUY, 99, 5)
    events = market(book, 3, 11, SELL, quantity_minor=3)
    assert trades(events) == [(1, 3, 100, 1), (2, 3, 99, 2)]
    assert not of_type(events, OrderExpired)
    assert book.best_bid() == (99, 3)


def test_market_without_enough_liquidity_expires_the_rest(book: OrderBook) -> None:
    limit(book, 1, 10, SELL, 100, 1)
    events = market(book, 2, 11, BUY, quantity_minor=3)
    assert trades(events) == [(1, 2, 100, 1)]
    expired = of_type(events, OrderExpired)[0]
    assert (expired.expired_quantity_minor, expired.reason) == (2, ExpireReason.MARKET_NO_LIQUIDITY)


def test_market_buy_by_quote_amount_spends_at_most_the_amount(book: OrderBook) -> None:
    limit(book, 1, 10, SELL, 300, 2)
    limit(book, 2, 10, SELL, 400, 5)
    events = market(book, 3, 11, BUY, quote_quantity_minor=1500)
    # 2 at 3.00 = 6.00, then 9.00 left buys 2 at 4.00; the 1.00 left cannot buy a unit: the order is done.
    assert trades(events) == [(1, 3, 300, 2), (2, 3, 400, 2)]
    assert [t.taker_leaves_minor for t in of_type(events, TradeExecuted)] == [900, 0]
    assert not of_type(events, OrderExpired)


@pytest.mark.parametrize("time_in_force", [IOC, FOK])
def test_market_buy_by_quote_amount_is_filled_when_the_rest_buys_no_step_at_the_next_ask(
    book: OrderBook, time_in_force: TimeInForce
) -> None:
    """9 at 1.00 use up that level; the 1.00 left buys no unit at the next ask, 1.50. That is the
    order filled as closely as the step allows: it was reported EXPIRED for want of liquidity with
    100 units offered, and as FOK it was killed whole."""
    limit(book, 1, 10, SELL, 100, 9)
    limit(book, 2, 10, SELL, 150, 100)
    command = SubmitOrder(
        order_id=3,
        account_id=11,
        side=BUY,
        order_type=OrderType.MARKET,
        time_in_force=time_in_force,
        quote_quantity_minor=1000,
    )
    assert book.spend_required(command) == 1000
    events = book.apply(command)
    assert trades(events) == [(1, 3, 100, 9)]
    assert [t.taker_leaves_minor for t in of_type(events, TradeExecuted)] == [0]
    assert not of_type(events, OrderExpired)


def test_market_sell_by_quote_amount_sells_what_the_amount_needs(book: OrderBook) -> None:
    limit(book, 1, 10, BUY, 250, 10)
    events = market(book, 2, 11, SELL, quote_quantity_minor=1000)
    assert trades(events) == [(1, 2, 250, 4)]
    assert book.best_bid() == (250, 6)


def test_market_sell_by_quote_amount_goes_on_to_lower_bids_a_step_of_which_the_rest_buys(
    book: OrderBook,
) -> None:
    """0.50 left buys no unit at 1.00 but one at 0.40: lower bids need less quote per step."""
    limit(book, 1, 10, BUY, 100, 1)
    limit(book, 2, 10, BUY, 40, 5)
    command = SubmitOrder(
        order_id=3, account_id=11, side=SELL, order_type=OrderType.MARKET, quote_quantity_minor=150
    )
    assert book.spend_required(command) == 2
    events = book.apply(command)
    assert trades(events) == [(1, 3, 100, 1), (2, 3, 40, 1)]
    assert [t.taker_leaves_minor for t in of_type(events, TradeExecuted)] == [50, 0]
    assert not of_type(events, OrderExpired)
    assert book.best_bid() == (40, 4)


def test_market_sell_by_quote_amount_never_trades_below_a_better_bid(book: OrderBook) -> None:
    """0.90 sells no unit at the best bid, 1.00: it must not pass over it to sell 2 at 0.40 (a
    trade-through: the better bid waits while a worse one fills)."""
    limit(book, 1, 10, BUY, 100, 1)
    limit(book, 2, 10, BUY, 40, 5)
    command = SubmitOrder(
        order_id=3, account_id=11, side=SELL, order_type=OrderType.MARKET, quote_quantity_minor=90
    )
    assert book.spend_required(command) == 0
    events = book.apply(command)
    assert trades(events) == []
    expired = of_type(events, OrderExpired)
    assert [(e.expired_quantity_minor, e.reason) for e in expired] == [(90, ExpireReason.MARKET_NO_LIQUIDITY)]
    assert book.depth(2).bids == [(100, 1), (40, 5)]


def test_market_sell_by_quote_amount_is_done_when_the_rest_sells_no_step_at_the_best_bid_left() -> None:
    """5.20 USDT sells 0.0001 BTC at 50,000 (5.00); the 0.20 left sells no step there. It used to go
    on to the bid at 1.00 and sell it 0.2 BTC for 0.20 USDT while the 50,000 bid still rested."""
    symbol = load_settings("config/demo.toml").symbols["BTCUSDT"]
    book = OrderBook(symbol)
    coin = 10**8
    limit(book, 1, 10, BUY, 50_000 * coin, coin)
    limit(book, 2, 10, BUY, 1 * coin, 10 * coin)
    command = SubmitOrder(
        order_id=3, account_id=11, side=SELL, order_type=OrderType.MARKET, quote_quantity_minor=520_000_000
    )
    assert book.spend_required(command) == 10_000
    events = book.apply(command)
    assert trades(events) == [(1, 3, 50_000 * coin, 10_000)]
    assert [t.taker_leaves_minor for t in of_type(events, TradeExecuted)] == [0]
    assert not of_type(events, OrderExpired)
    assert book.best_bid() == (50_000 * coin, coin - 10_000)


def test_market_by_quote_on_real_scales_rounds_down_to_the_step() -> None:
    symbol = load_settings("config/demo.toml").symbols["BTCUSDT"]
    book = OrderBook(symbol)
    price = 50_000 * 10**8
    limit(book, 1, 10, SELL, price, 10**8)
    events = market(book, 2, 11, BUY, quote_quantity_minor=100 * 10**8)
    trade = of_type(events, TradeExecuted)[0]
    assert trade.quantity_minor % symbol.step_size_minor == 0
    assert trade.quote_quantity_minor <= 100 * 10**8
    assert trade.quote_quantity_minor == price * trade.quantity_minor // 10**8


def test_market_order_needs_exactly_one_amount(book: OrderBook) -> None:
    events = market(book, 1, 11, BUY, quantity_minor=1, quote_quantity_minor=100)
    assert events[0].reason is RejectReason.INVALID_ORDER
    assert market(book, 2, 11, BUY)[0].reason is RejectReason.INVALID_ORDER


# LIMIT_MAKER ------------------------------------------------------------------------------------


def test_limit_maker_that_would_take_is_rejected(book: OrderBook) -> None:
    limit(book, 1, 10, SELL, 100, 1)
    events = limit(book, 2, 11, BUY, 100, 1, order_type=OrderType.LIMIT_MAKER)
    assert events == [OrderRejected(3, 2, 11, RejectReason.POST_ONLY_WOULD_TAKE, 0)]
    assert book.best_ask() == (100, 1)


def test_limit_maker_that_does_not_cross_rests(book: OrderBook) -> None:
    limit(book, 1, 10, SELL, 100, 1)
    events = limit(book, 2, 11, BUY, 99, 1, order_type=OrderType.LIMIT_MAKER)
    assert type(events[0]) is OrderAccepted
    assert book.best_bid() == (99, 1)


# Cancel, replace, cancel all ---------------------------------------------------------------------


def test_cancel_removes_the_order_and_its_level(book: OrderBook) -> None:
    limit(book, 1, 10, BUY, 100, 3)
    events = book.apply(CancelOrder(order_id=1, account_id=10))
    assert events[0][1:5] == (1, 10, 3, CancelReason.REQUESTED)
    assert events[1] == PriceLevelChanged(events[1].sequence, BUY, 100, 0, 0)
    assert book.order(1) is None
    assert book.best_bid() is None


def test_cancel_of_unknown_or_foreign_order_is_rejected_and_changes_nothing(book: OrderBook) -> None:
    limit(book, 1, 10, BUY, 100, 3)
    assert book.apply(CancelOrder(order_id=2, account_id=10))[0].reason is RejectReason.UNKNOWN_ORDER
    events = book.apply(CancelOrder(order_id=1, account_id=99))
    assert [type(e) for e in events] == [CancelRejected]
    assert book.best_bid() == (100, 3)


def test_canceled_order_in_the_middle_of_a_queue_is_skipped(book: OrderBook) -> None:
    for order_id in (1, 2, 3):
        limit(book, order_id, 10 + order_id, SELL, 100, 1)
    book.apply(CancelOrder(order_id=2, account_id=12))
    assert book.best_ask() == (100, 2)
    assert trades(limit(book, 4, 20, BUY, 100, 2)) == [(1, 4, 100, 1), (3, 4, 100, 1)]


def test_reducing_quantity_keeps_time_priority(book: OrderBook) -> None:
    limit(book, 1, 10, SELL, 100, 5)
    limit(book, 2, 11, SELL, 100, 5)
    events = book.apply(ReplaceOrder(order_id=1, account_id=10, price_minor=100, quantity_minor=2))
    assert of_type(events, OrderReplaced)[0][4:7] == (2, 2, True)
    assert book.best_ask() == (100, 7)
    assert trades(limit(book, 3, 20, BUY, 100, 3)) == [(1, 3, 100, 2), (2, 3, 100, 1)]


def test_increasing_quantity_loses_time_priority(book: OrderBook) -> None:
    limit(book, 1, 10, SELL, 100, 5)
    limit(book, 2, 11, SELL, 100, 5)
    events = book.apply(ReplaceOrder(order_id=1, account_id=10, price_minor=100, quantity_minor=6))
    assert of_type(events, OrderReplaced)[0].kept_priority is False
    assert trades(limit(book, 3, 20, BUY, 100, 6)) == [(2, 3, 100, 5), (1, 3, 100, 1)]


def test_price_change_loses_priority_and_may_trade(book: OrderBook) -> None:
    limit(book, 1, 10, BUY, 99, 5)
    limit(book, 2, 11, SELL, 101, 2)
    events = book.apply(ReplaceOrder(order_id=1, account_id=10, price_minor=101, quantity_minor=5))
    assert of_type(events, OrderReplaced)[0].kept_priority is False
    assert trades(events) == [(2, 1, 101, 2)]
    assert book.order(1).leaves_minor == 3
    assert book.best_bid() == (101, 3)


def test_replace_counts_what_was_already_filled(book: OrderBook) -> None:
    limit(book, 1, 10, SELL, 100, 5)
    limit(book, 2, 11, BUY, 100, 3)
    events = book.apply(ReplaceOrder(order_id=1, account_id=10, price_minor=100, quantity_minor=4))
    assert of_type(events, OrderReplaced)[0].leaves_minor == 1
    rejected = book.apply(ReplaceOrder(order_id=1, account_id=10, price_minor=100, quantity_minor=3))
    assert rejected[0].reason is RejectReason.REPLACE_QUANTITY_NOT_ABOVE_FILLED
    assert book.order(1).leaves_minor == 1


@pytest.mark.parametrize(("price", "quantity"), [(100, 5), (100, 6), (101, 4)])
def test_a_keep_priority_replace_that_is_no_reduction_in_place_changes_nothing(
    book: OrderBook, price: int, quantity: int
) -> None:
    limit(book, 1, 10, SELL, 100, 5)
    amend = ReplaceOrder(
        order_id=1, account_id=10, price_minor=price, quantity_minor=quantity, keep_priority=True
    )
    (rejected,) = book.apply(amend)
    assert rejected.reason is RejectReason.NOT_A_REDUCTION
    assert (book.order(1).quantity_minor, book.order(1).price_minor, book.best_ask()) == (5, 100, (100, 5))
    reduced = book.apply(
        ReplaceOrder(order_id=1, account_id=10, price_minor=100, quantity_minor=4, keep_priority=True)
    )
    assert of_type(reduced, OrderReplaced)[0].kept_priority is True


def test_replace_that_breaks_a_filter_changes_nothing(book: OrderBook) -> None:
    limit(book, 1, 10, BUY, 100, 5, order_type=OrderType.LIMIT_MAKER)
    limit(book, 2, 11, SELL, 101, 5)
    before = book.order(1)
    bad_tick = book.apply(ReplaceOrder(order_id=1, account_id=10, price_minor=0, quantity_minor=5))
    assert bad_tick[0].reason is RejectReason.PRICE_NOT_ON_TICK
    would_take = book.apply(ReplaceOrder(order_id=1, account_id=10, price_minor=101, quantity_minor=5))
    assert would_take[0].reason is RejectReason.POST_ONLY_WOULD_TAKE
    assert book.order(1) == before


def test_cancel_all_cancels_only_that_account(book: OrderBook) -> None:
    limit(book, 1, 10, BUY, 100, 1)
    limit(book, 2, 11, BUY, 100, 1)
    limit(book, 3, 10, SELL, 105, 1)
    events = book.apply(CancelAllOrders(account_id=10))
    canceled = of_type(events, OrderCanceled)
    assert [(e.order_id, e.reason) for e in canceled] == [
        (1, CancelReason.CANCEL_ALL),
        (3, CancelReason.CANCEL_ALL),
    ]
    assert book.open_orders(10) == []
    assert [view.order_id for view in book.open_orders(11)] == [2]
    assert book.apply(CancelAllOrders(account_id=10)) == []


# Self-trade prevention --------------------------------------------------------------------------


def test_stp_none_lets_an_account_trade_with_itself(book: OrderBook) -> None:
    limit(book, 1, 10, SELL, 100, 1)
    assert trades(limit(book, 2, 10, BUY, 100, 1, self_trade_prevention=STP.NONE)) == [(1, 2, 100, 1)]


def test_stp_expire_taker(book: OrderBook) -> None:
    limit(book, 1, 11, SELL, 99, 1)
    limit(book, 2, 10, SELL, 100, 1)
    events = limit(book, 3, 10, BUY, 100, 3, self_trade_prevention=STP.EXPIRE_TAKER)
    assert trades(events) == [(1, 3, 99, 1)]
    expired = of_type(events, OrderExpired)
    assert [(e.order_id, e.expired_quantity_minor, e.reason) for e in expired] == [
        (3, 2, ExpireReason.SELF_TRADE_PREVENTION)
    ]
    assert book.best_ask() == (100, 1)
    assert book.best_bid() is None


def test_stp_expire_maker_takes_the_next_maker(book: OrderBook) -> None:
    limit(book, 1, 10, SELL, 100, 1)
    limit(book, 2, 11, SELL, 100, 1)
    events = limit(book, 3, 10, BUY, 100, 1, self_trade_prevention=STP.EXPIRE_MAKER)
    assert [(e.order_id, e.reason) for e in of_type(events, OrderExpired)] == [
        (1, ExpireReason.SELF_TRADE_PREVENTION)
    ]
    assert trades(events) == [(2, 3, 100, 1)]
    assert book.best_ask() is None


def test_stp_expire_both(book: OrderBook) -> None:
    limit(book, 1, 10, SELL, 100, 1)
    limit(book, 2, 11, SELL, 100, 1)
    events = limit(book, 3, 10, BUY, 100, 2, self_trade_prevention=STP.EXPIRE_BOTH)
    assert trades(events) == []
    assert [e.order_id for e in of_type(events, OrderExpired)] == [1, 3]
    assert book.best_ask() == (100, 1)


def test_stp_uses_the_account_default_when_the_order_names_none() -> None:
    book = OrderBook(small_symbol(), stp_defaults={10: STP.EXPIRE_TAKER}, stp_default=STP.EXPIRE_MAKER)
    limit(book, 1, 10, SELL, 100, 1)
    own = limit(book, 2, 10, BUY, 100, 1)
    assert own[0].self_trade_prevention is STP.EXPIRE_TAKER
    assert [e.order_id for e in of_type(own, OrderExpired)] == [2]
    book.apply(CancelOrder(order_id=1, account_id=10))
    limit(book, 3, 11, SELL, 100, 1)
    other = limit(book, 4, 11, BUY, 100, 1)
    assert other[0].self_trade_prevention is STP.EXPIRE_MAKER
    assert [e.order_id for e in of_type(other, OrderExpired)] == [3]


def prevented(events) -> list[tuple[int, int, int, int, int, int, int]]:
    """(id, price, would-be quantity, maker order, maker prevented, taker order, taker prevented)."""
    return [
        (
            e.prevented_match_id,
            e.price_minor,
            e.quantity_minor,
            e.maker_order_id,
            e.maker_prevented_minor,
            e.taker_order_id,
            e.taker_prevented_minor,
        )
        for e in events
        if type(e) is MatchPrevented
    ]


def test_a_prevented_match_is_an_event_before_the_expiry_it_causes(book: OrderBook) -> None:
    """Binance's STP FAQ scenario C: the taker's remaining quantity is prevented; the maker rests on."""
    limit(book, 1, 10, BUY, 120, 1)
    events = limit(book, 2, 10, SELL, 100, 3, self_trade_prevention=STP.EXPIRE_TAKER)
    match = of_type(events, MatchPrevented)[0]
    assert prevented(events) == [(0, 120, 1, 1, 0, 2, 3)]
    assert (match.self_trade_prevention, match.quote_quantity_minor, match.taker_account_id) == (
        STP.EXPIRE_TAKER,
        120,
        10,
    )
    assert [type(e) for e in events] == [OrderAccepted, MatchPrevented, OrderExpired, PriceLevelChanged]
    assert events[2].order_id == 2
    assert book.best_bid() == (120, 1)


def test_expire_maker_prevents_one_match_per_maker(book: OrderBook) -> None:
    """Scenario B: three resting buys expire one by one, ids 0, 1, 2; the taker rests."""
    limit(book, 1, 10, BUY, 120, 12)
    limit(book, 2, 10, BUY, 110, 13)
    limit(book, 3, 10, BUY, 100, 81)
    events = limit(book, 4, 10, SELL, 100, 30, self_trade_prevention=STP.EXPIRE_MAKER)
    assert prevented(events) == [
        (0, 120, 12, 1, 12, 4, 0),
        (1, 110, 13, 2, 13, 4, 0),
        (2, 100, 30, 3, 81, 4, 0),
    ]
    kinds = [type(e) for e in events if type(e) is not PriceLevelChanged]
    assert kinds == [OrderAccepted] + [MatchPrevented, OrderExpired] * 3
    assert book.best_ask() == (100, 30)


def test_expire_both_names_both_orders_in_one_prevented_match(book: OrderBook) -> None:
    """Scenario D: one prevented match, then the maker's expiry and the taker's."""
    limit(book, 1, 10, BUY, 100, 1)
    events = limit(book, 2, 10, SELL, 100, 3, self_trade_prevention=STP.EXPIRE_BOTH)
    assert prevented(events) == [(0, 100, 1, 1, 1, 2, 3)]
    assert [e.order_id for e in of_type(events, OrderExpired)] == [1, 2]


def test_a_market_order_by_quote_amount_prevents_what_the_rest_would_buy_there(book: OrderBook) -> None:
    limit(book, 1, 10, SELL, 200, 9)
    events = market(book, 2, 10, BUY, quote_quantity_minor=1000, self_trade_prevention=STP.EXPIRE_TAKER)
    assert prevented(events) == [(0, 200, 5, 1, 0, 2, 5)]
    assert of_type(events, OrderExpired)[0].expired_quantity_minor == 1000  # in quote, as before


def test_prevented_match_ids_continue_past_a_restart_without_a_stored_counter(book: OrderBook) -> None:
    """Every prevented match also takes a sequence number, so a book restored at its sequence starts its
    ids above every id it handed out before."""
    seen = []
    for order_id in range(1, 7, 2):
        limit(book, order_id, 10, BUY, 100, 1)
        seen += prevented(limit(book, order_id + 1, 10, SELL, 100, 1, self_trade_prevention=STP.EXPIRE_BOTH))
    assert [match[0] for match in seen] == [0, 1, 2]
    restored = OrderBook(small_symbol(), sequence=book.sequence)
    limit(restored, 7, 10, BUY, 100, 1)
    (after,) = prevented(limit(restored, 8, 10, SELL, 100, 1, self_trade_prevention=STP.EXPIRE_TAKER))
    assert after[0] > seen[-1][0]


def test_market_hold_walks_the_book_as_matching_will(book: OrderBook) -> None:
    limit(book, 1, 10, SELL, 100, 1)
    limit(book, 2, 11, SELL, 200, 1)
    command = SubmitOrder(
        order_id=3,
        account_id=10,
        side=BUY,
        order_type=OrderType.MARKET,
        quantity_minor=1,
        self_trade_prevention=STP.EXPIRE_MAKER,
    )
    assert book.spend_required(command) == 200
    spent = sum(t.quote_quantity_minor for t in of_type(book.apply(command), TradeExecuted))
    assert spent == 200


# Filters and halt -------------------------------------------------------------------------------

FILTERED = small_symbol(
    tick_size_minor=5,
    step_size_minor=10,
    min_quantity_minor=10,
    max_quantity_minor=1000,
    min_notional_minor=1000,
    min_price_minor=50,
    max_price_minor=500,
)


@pytest.mark.parametrize(
    ("price", "quantity", "reason"),
    [
        (52, 10, RejectReason.PRICE_NOT_ON_TICK),
        (0, 10, RejectReason.PRICE_NOT_ON_TICK),
        (45, 100, RejectReason.PRICE_BELOW_MIN),
        (505, 10, RejectReason.PRICE_ABOVE_MAX),
        (100, 15, RejectReason.QUANTITY_NOT_ON_STEP),
        (100, -10, RejectReason.QUANTITY_NOT_ON_STEP),
        (100, 0, RejectReason.QUANTITY_NOT_ON_STEP),
        (500, 1010, RejectReason.QUANTITY_ABOVE_MAX),
        (95, 10, RejectReason.NOTIONAL_BELOW_MIN),
    ],
)
def test_filters_reject_with_their_reason(price: int, quantity: int, reason: RejectReason) -> None:
    book = OrderBook(FILTERED)
    events = limit(book, 1, 10, BUY, price, quantity)
    assert events == [OrderRejected(1, 1, 10, reason, 0)]
    assert book.best_bid() is None


def test_quantity_below_minimum_is_rejected() -> None:
    book = OrderBook(small_symbol(min_quantity_minor=5))
    assert limit(book, 1, 10, BUY, 100, 4)[0].reason is RejectReason.QUANTITY_BELOW_MIN


def test_market_by_quote_below_min_notional_is_rejected() -> None:
    book = OrderBook(FILTERED)
    assert market(book, 1, 10, BUY, quote_quantity_minor=999)[0].reason is RejectReason.NOTIONAL_BELOW_MIN


@pytest.mark.parametrize("side", [BUY, SELL])
def test_market_by_quote_above_the_largest_order_value_is_rejected(side: Side) -> None:
    """Largest order value: the maximum quantity at the maximum price (500 x 1000 here)."""
    book = OrderBook(FILTERED)
    limit(book, 1, 20, SELL if side is BUY else BUY, 100, 10)
    assert type(market(book, 2, 10, side, quote_quantity_minor=500_000)[0]) is OrderAccepted
    events = market(book, 3, 10, side, quote_quantity_minor=500_005)
    assert events == [OrderRejected(events[0].sequence, 3, 10, RejectReason.QUANTITY_ABOVE_MAX, 0)]


def test_duplicate_order_id_of_a_resting_order_is_rejected(book: OrderBook) -> None:
    limit(book, 1, 10, BUY, 100, 1)
    assert limit(book, 1, 10, BUY, 100, 1)[0].reason is RejectReason.DUPLICATE_ORDER_ID


def test_halt_rejects_new_orders_but_allows_cancels(book: OrderBook) -> None:
    limit(book, 1, 10, BUY, 100, 1)
    events = book.apply(SetSymbolStatus(halted=True))
    assert [type(e) for e in events] == [SymbolStatusChanged]
    assert limit(book, 2, 10, BUY, 100, 1)[0].reason is RejectReason.SYMBOL_HALTED
    replace = book.apply(ReplaceOrder(order_id=1, account_id=10, price_minor=100, quantity_minor=1))
    assert replace[0].reason is RejectReason.SYMBOL_HALTED
    assert type(book.apply(CancelOrder(order_id=1, account_id=10))[0]) is OrderCanceled
    book.apply(SetSymbolStatus(halted=False))
    assert type(limit(book, 3, 10, BUY, 100, 1)[0]) is OrderAccepted


def test_a_symbol_configured_halted_starts_halted() -> None:
    book = OrderBook(small_symbol(status=SymbolStatus.HALTED))
    assert limit(book, 1, 10, BUY, 100, 1)[0].reason is RejectReason.SYMBOL_HALTED


# Recovery ---------------------------------------------------------------------------------------


def test_restored_orders_keep_their_priority_and_numbering_continues() -> None:
    first = OrderBook(small_symbol())
    limit(first, 1, 10, SELL, 100, 2)
    limit(first, 2, 11, SELL, 100, 2)
    limit(first, 3, 12, BUY, 100, 1)
    restored = OrderBook(small_symbol(), sequence=first.sequence, next_trade_id=first.next_trade_id)
    for view in first.resting_orders():
        restored.restore_order(view)
    command = SubmitOrder(
        order_id=4, account_id=13, side=BUY, order_type=OrderType.LIMIT, price_minor=100, quantity_minor=3
    )
    assert first.apply(command) == restored.apply(command)


@pytest.mark.parametrize("amount", [{"quantity_minor": 3}, {"quote_quantity_minor": 300}])
def test_a_market_order_with_nothing_on_the_other_side_is_rejected(book: OrderBook, amount: dict) -> None:
    """Binance refuses it (-2010: no orders on the book; the book's liquidity is less than the minimum
    quantity); it was accepted and expired whole. Orders on its own side are no liquidity for it."""
    limit(book, 1, 10, BUY, 100, 1)
    events = market(book, 2, 11, BUY, **amount)
    (rejected,) = events
    assert isinstance(rejected, OrderRejected) and rejected.reason is RejectReason.NO_LIQUIDITY
    assert (
        book.check_filters(
            SubmitOrder(order_id=3, account_id=11, side=SELL, order_type=OrderType.MARKET, **amount)
        )
        is None
    )
    assert trades(market(book, 3, 11, SELL, quantity_minor=1)) == [(1, 3, 100, 1)]


def test_an_order_checked_first_and_submitted_checked_does_what_apply_does() -> None:
    """The book task checks an order's filters before it reserves funds, then submits it unchecked:
    every kind of order gives the same events and leaves the same book as ``apply``."""
    applied, checked = OrderBook(small_symbol()), OrderBook(small_symbol())
    limit, market, maker = OrderType.LIMIT, OrderType.MARKET, OrderType.LIMIT_MAKER
    orders = [
        SubmitOrder(order_id=order_id, account_id=account, side=side, order_type=kind, **amounts)
        for order_id, (account, side, kind, amounts) in enumerate(
            [
                (1, SELL, limit, {"price_minor": 10100, "quantity_minor": 3}),
                (1, SELL, limit, {"price_minor": 10200, "quantity_minor": 2}),
                (2, BUY, limit, {"price_minor": 10150, "quantity_minor": 4}),
                (2, BUY, market, {"quantity_minor": 1}),
                (1, SELL, maker, {"price_minor": 10300, "quantity_minor": 1}),
                (2, BUY, limit, {"price_minor": 10300, "quantity_minor": 9, "time_in_force": FOK}),
                (
                    1,
                    BUY,
                    limit,
                    {
                        "price_minor": 10300,
                        "quantity_minor": 2,
                        "time_in_force": IOC,
                        "self_trade_prevention": STP.EXPIRE_TAKER,
                    },
                ),
            ],
            start=1,
        )
    ]
    kinds = set()
    for order in orders:
        assert checked.check_filters(order) is None
        events = checked.submit_checked(order)
        assert events == applied.apply(order)
        kinds |= {type(event) for event in events}
    assert {TradeExecuted, OrderExpired, MatchPrevented} <= kinds
    assert checked.resting_orders() == applied.resting_orders()
    assert checked.depth(10) == applied.depth(10)
