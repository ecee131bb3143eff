"""Properties over random command streams, checked against the reference book."""

from __future__ import annotations

from collections import defaultdict

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from book.order_book import OrderBook
from book.types import (
    CancelAllOrders,
    CancelOrder,
    CancelRejected,
    Command,
    ExpireReason,
    MatchPrevented,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderRejected,
    OrderReplaced,
    OrderType,
    ReplaceOrder,
    SelfTradePrevention,
    Side,
    SubmitOrder,
    TimeInForce,
    TradeExecuted,
)
from tests.unit.book.conftest import small_symbol
from tests.unit.book.reference_book import ReferenceBook

ACCOUNTS = st.integers(1, 2)
# Mostly near 100, so that orders meet; now and then far off, so that gaps between levels are wide.
PRICES = st.one_of(st.integers(97, 103), st.integers(97, 103), st.sampled_from([2, 40, 150, 300]))
QUANTITIES = st.integers(1, 6)
# Mostly NONE, so that books build up; every mode still appears often.
STP_MODES = st.sampled_from([SelfTradePrevention.NONE] * 4 + list(SelfTradePrevention))
RECENT_ORDER = st.integers(1, 12)  # how many commands back the target was submitted

limit_orders = st.builds(
    lambda account, side, order_type, tif, price, quantity, stp: (
        "limit",
        account,
        side,
        order_type,
        TimeInForce.GTC if order_type is OrderType.LIMIT_MAKER else tif,
        price,
        quantity,
        stp,
    ),
    ACCOUNTS,
    st.sampled_from(Side),
    st.sampled_from([OrderType.LIMIT, OrderType.LIMIT, OrderType.LIMIT_MAKER]),
    st.sampled_from([TimeInForce.GTC, TimeInForce.GTC, TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK]),
    PRICES,
    QUANTITIES,
    STP_MODES,
)
market_orders = st.tuples(
    st.just("market"),
    ACCOUNTS,
    st.sampled_from(Side),
    st.booleans(),
    st.integers(1, 900),
    STP_MODES,
    st.sampled_from([TimeInForce.IOC, TimeInForce.IOC, TimeInForce.FOK]),
)
# Cancels and replaces aim at a recent order, usually as its own account, so that most of them land.
OTHER_ACCOUNT = st.sampled_from([False, False, False, True])
cancels = st.tuples(st.just("cancel"), OTHER_ACCOUNT, RECENT_ORDER)
replaces = st.tuples(
    st.just("replace"), OTHER_ACCOUNT, RECENT_ORDER, st.sampled_from([0, 0, 0, -1, 1]), QUANTITIES
)
cancel_alls = st.tuples(st.just("cancel_all"), ACCOUNTS)
streams = st.lists(
    st.one_of(
        limit_orders, limit_orders, limit_orders, market_orders, cancels, replaces, replaces, cancel_alls
    ),
    min_size=30,
    max_size=120,
)


def to_commands(specs: list[tuple]) -> list[Command]:
    commands: list[Command] = []
    for ts_ns, spec in enumerate(specs):
        order_id = ts_ns + 1
        kind = spec[0]
        if kind == "limit":
            _, account, side, order_type, tif, price, quantity, stp = spec
            commands.append(
                SubmitOrder(
                    order_id=order_id,
                    account_id=account,
                    side=side,
                    order_type=order_type,
                    time_in_force=tif,
                    price_minor=price,
                    quantity_minor=quantity,
                    self_trade_prevention=stp,
                    ts_ns=ts_ns,
                )
            )
        elif kind == "market":
            _, account, side, by_quote, amount, stp, tif = spec
            commands.append(
                SubmitOrder(
                    order_id=order_id,
                    account_id=account,
                    side=side,
                    order_type=OrderType.MARKET,
                    time_in_force=tif,
                    quantity_minor=None if by_quote else amount % 10 + 1,
                    quote_quantity_minor=amount if by_quote else None,
                    self_trade_prevention=stp,
                    ts_ns=ts_ns,
                )
            )
        elif kind in ("cancel", "replace"):
            target = specs[ts_ns - spec[2]] if spec[2] <= ts_ns else ("market", 1, Side.BUY, 0, 0, 0, 0, 0)
            owner = target[1] if target[0] in ("limit", "market") else 1
            account = owner % 2 + 1 if spec[1] else owner
            if kind == "cancel":
                commands.append(CancelOrder(order_id=order_id - spec[2], account_id=account, ts_ns=ts_ns))
            else:
                price = (target[5] if target[0] == "limit" else 100) + spec[3]
                commands.append(
                    ReplaceOrder(
                        order_id=order_id - spec[2],
                        account_id=account,
                        price_minor=price,
                        quantity_minor=spec[4],
                    )
                )
        else:
            commands.append(CancelAllOrders(account_id=spec[1], ts_ns=ts_ns))
    return commands


def run_reference(reference: ReferenceBook, command: Command):
    if isinstance(command, SubmitOrder):
        return reference.submit(
            order_id=command.order_id,
            account_id=command.account_id,
            side=command.side,
            order_type=command.order_type,
            time_in_force=command.time_in_force,
            price=command.price_minor,
            quantity=command.quantity_minor,
            quote_quantity=command.quote_quantity_minor,
            stp=command.self_trade_prevention,
        )
    if isinstance(command, CancelOrder):
        return reference.cancel(command.order_id, command.account_id)
    if isinstance(command, ReplaceOrder):
        return reference.replace(
            command.order_id, command.account_id, command.price_minor, command.quantity_minor
        )
    return reference.cancel_all(command.account_id)


PROPERTY_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(streams)
def test_fills_match_the_reference_book_and_the_book_never_crosses(specs: list[tuple]) -> None:
    book = OrderBook(small_symbol())
    reference = ReferenceBook()
    for command in to_commands(specs):
        events = book.apply(command)
        expected = run_reference(reference, command)
        trades = [
            (e.maker_order_id, e.taker_order_id, e.price_minor, e.quantity_minor)
            for e in events
            if type(e) is TradeExecuted
        ]
        assert trades == expected.trades, command
        refused = any(type(e) in (OrderRejected, CancelRejected) for e in events)
        assert refused == expected.refused, command
        assert book.best_bid() == reference.best(Side.BUY)
        assert book.best_ask() == reference.best(Side.SELL)
        bid, ask = book.best_bid(), book.best_ask()
        assert bid is None or ask is None or bid[0] < ask[0]
    resting = {(o.order_id, o.leaves) for o in reference.resting}
    assert {(v.order_id, v.leaves_minor) for v in book.resting_orders()} == resting


@PROPERTY_SETTINGS
@given(streams)
def test_no_trade_prints_through_a_better_resting_price(specs: list[tuple]) -> None:
    """Price priority, judged without the reference book: once an order has traded at a price, no
    maker on the other side at a better price for it is left resting."""
    book = OrderBook(small_symbol())
    for command in to_commands(specs):
        fills = [e for e in book.apply(command) if type(e) is TradeExecuted]
        if not fills:
            continue
        bid, ask = book.best_bid(), book.best_ask()
        if fills[0].aggressor_side is Side.SELL:
            assert bid is None or bid[0] <= min(e.price_minor for e in fills), command
        else:
            assert ask is None or ask[0] >= max(e.price_minor for e in fills), command


spread_books = st.lists(
    st.tuples(ACCOUNTS, st.sampled_from(Side), st.integers(1, 300), QUANTITIES), min_size=1, max_size=12
)


@PROPERTY_SETTINGS
@given(spread_books, ACCOUNTS, st.sampled_from(Side), st.integers(1, 2000), STP_MODES)
def test_a_market_order_by_quote_amount_takes_the_best_prices_first(
    resting: list[tuple], account: int, side: Side, amount: int, stp: SelfTradePrevention
) -> None:
    """On books with wide gaps between prices, where the rest of an amount can buy a step at a worse
    price but not at the best one: it trades no price worse than one left resting, and exactly what
    its hold was sized for."""
    book = OrderBook(small_symbol())
    for order_id, (owner, maker_side, price, quantity) in enumerate(resting, start=1):
        book.apply(
            SubmitOrder(
                order_id=order_id,
                account_id=owner,
                side=maker_side,
                order_type=OrderType.LIMIT,
                price_minor=price,
                quantity_minor=quantity,
            )
        )
    command = SubmitOrder(
        order_id=len(resting) + 1,
        account_id=account,
        side=side,
        order_type=OrderType.MARKET,
        time_in_force=TimeInForce.IOC,
        quote_quantity_minor=amount,
        self_trade_prevention=stp,
    )
    required = book.spend_required(command)
    fills = [e for e in book.apply(command) if type(e) is TradeExecuted]
    prices = [e.price_minor for e in fills]
    bid, ask = book.best_bid(), book.best_ask()
    if side is Side.SELL:
        assert bid is None or not fills or bid[0] <= min(prices)
        assert sum(e.quantity_minor for e in fills) == required
    else:
        assert ask is None or not fills or ask[0] >= max(prices)
        assert sum(e.quote_quantity_minor for e in fills) <= required


@PROPERTY_SETTINGS
@given(streams)
def test_every_order_is_filled_open_or_ended_for_its_whole_quantity(specs: list[tuple]) -> None:
    book = OrderBook(small_symbol())
    quantity: dict[int, int] = {}
    filled: dict[int, int] = defaultdict(int)
    ended: dict[int, int] = defaultdict(int)
    for command in to_commands(specs):
        for event in book.apply(command):
            kind = type(event)
            if (kind is OrderAccepted and event.quantity_minor is not None) or kind is OrderReplaced:
                quantity[event.order_id] = event.quantity_minor
            elif kind is TradeExecuted:
                filled[event.maker_order_id] += event.quantity_minor
                filled[event.taker_order_id] += event.quantity_minor
            elif kind is OrderCanceled:
                ended[event.order_id] += event.canceled_quantity_minor
            elif kind is OrderExpired and event.order_id in quantity:
                ended[event.order_id] += event.expired_quantity_minor
    for order_id, total in quantity.items():
        view = book.order(order_id)
        open_minor = view.leaves_minor if view is not None else 0
        assert filled[order_id] + open_minor + ended[order_id] == total, order_id


@PROPERTY_SETTINGS
@given(streams)
def test_every_stp_expiry_follows_the_prevented_match_that_names_it(specs: list[tuple]) -> None:
    """The edges report an STP expiry with its prevented match; ids count up from 0 by one."""
    book = OrderBook(small_symbol())
    ids: list[int] = []
    for command in to_commands(specs):
        named: set[int] = set()
        for event in book.apply(command):
            if type(event) is MatchPrevented:
                assert not named, "an expiry of the previous prevented match is missing"
                ids.append(event.prevented_match_id)
                named = {
                    order_id
                    for order_id, lost in (
                        (event.maker_order_id, event.maker_prevented_minor),
                        (event.taker_order_id, event.taker_prevented_minor),
                    )
                    if lost
                }
                assert named
            elif type(event) is OrderExpired and event.reason is ExpireReason.SELF_TRADE_PREVENTION:
                named.remove(event.order_id)
        assert not named
    assert ids == list(range(len(ids)))


@PROPERTY_SETTINGS
@given(streams)
def test_a_market_order_trades_what_its_hold_was_sized_for(specs: list[tuple]) -> None:
    """``spend_required`` walks the book as matching will: a market sell by quote amount or a market
    buy by quantity spends exactly it (the others spend at most the amount they name)."""
    book = OrderBook(small_symbol())
    for command in to_commands(specs):
        is_market = isinstance(command, SubmitOrder) and command.order_type is OrderType.MARKET
        required = book.spend_required(command) if is_market and book.check_filters(command) is None else None
        events = book.apply(command)
        if required is None:
            continue
        fills = [e for e in events if type(e) is TradeExecuted]
        spent = sum(e.quantity_minor if command.side is Side.SELL else e.quote_quantity_minor for e in fills)
        if command.time_in_force is TimeInForce.FOK and not fills:
            continue
        walked = (command.side is Side.SELL) == (command.quote_quantity_minor is not None)
        assert spent == required if walked else spent <= required, command


@PROPERTY_SETTINGS
@given(streams)
def test_replaying_the_same_commands_gives_identical_events(specs: list[tuple]) -> None:
    commands = to_commands(specs)
    first, second = OrderBook(small_symbol()), OrderBook(small_symbol())
    first_events = [(type(e), e) for c in commands for e in first.apply(c)]
    second_events = [(type(e), e) for c in commands for e in second.apply(c)]
    assert first_events == second_events
    assert [e.sequence for _, e in first_events] == list(range(1, len(first_events) + 1))
