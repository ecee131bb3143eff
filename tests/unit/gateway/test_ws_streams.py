"""Diff-depth aggregation with no sockets: random turns of a real book, through the broadcaster, merged per
window as the ``@depth`` streams merge them, then replayed by a client following Binance's procedure.

Binance's contract: each event's ``U`` is the previous ``u`` + 1; from a snapshot with ``lastUpdateId``,
drop events with ``u <= lastUpdateId``, the first kept one has ``U <= lastUpdateId + 1 <= u``, and a
quantity of 0 removes a level. The client's book must then be exactly the server's.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from book.order_book import OrderBook
from book.types import (
    CancelOrder,
    OrderType,
    PriceLevelChanged,
    Side,
    SubmitOrder,
    TimeInForce,
    TradeExecuted,
)
from config import load_settings
from config.money import format_minor
from gateway.market_data import DepthSnapshot, MarketDataBroadcaster
from gateway.ws_streams import MarketStreams, _Subscriber
from ledger.store import TradeSecond
from session.binance import streams as wire

SETTINGS = load_settings("config/demo.toml")
SYMBOL = SETTINGS.symbols["BTCUSDT"]
TICK = SYMBOL.tick_size_minor
STEP = 100 * SYMBOL.step_size_minor
MID = 50_000 * 10**SYMBOL.quote_scale


@dataclass(frozen=True, slots=True)
class Event:
    first_id: int
    last_id: int
    bids: dict[int, int]
    asks: dict[int, int]


@dataclass
class Run:
    """One book, its broadcaster and the streams' feed; what each interval pushed, and the snapshots."""

    book: OrderBook = field(default_factory=lambda: OrderBook(SYMBOL))
    broadcaster: MarketDataBroadcaster = field(
        default_factory=lambda: MarketDataBroadcaster(SETTINGS.symbols)
    )
    turn: list = field(default_factory=list)
    order_ids: list[int] = field(default_factory=list)
    pushed: dict[int, list[Event]] = field(default_factory=lambda: {100: [], 1000: []})
    touched: dict[int, tuple[set[int], set[int]]] = field(default_factory=dict)
    snapshots: list[DepthSnapshot] = field(default_factory=list)

    def __post_init__(self) -> None:
        streams = MarketStreams(settings=SETTINGS, broadcaster=self.broadcaster)
        (self.feed,) = [feed for feed in streams._feeds if feed.symbol.name == SYMBOL.name]
        # Someone follows the diff stream from the start, so the feed takes every update.
        streams._add(_Subscriber(outbox=None, combined=False), "btcusdt@depth")
        self.touched = {interval: (set(), set()) for interval in self.pushed}

    def command(self, step: tuple) -> None:
        if step[0] == "order":
            _, account, side, offset, quantity = step
            order_id = len(self.order_ids) + 1
            self.order_ids.append(order_id)
            command = SubmitOrder(
                order_id=order_id,
                account_id=account,
                side=side,
                order_type=OrderType.LIMIT,
                time_in_force=TimeInForce.GTC,
                price_minor=MID + offset * TICK,
                quantity_minor=quantity * STEP,
            )
        else:
            if not self.order_ids:
                return
            order_id = self.order_ids[-min(step[1], len(self.order_ids))]
            command = CancelOrder(order_id=order_id, account_id=1 + order_id % 2)
        self.turn.extend(self.book.apply(command))

    def end_turn(self) -> None:
        """Commit the turn: what the broadcaster publishes reaches the feed as in the server."""
        for event in self.turn:
            if type(event) is PriceLevelChanged:
                for bids, asks in self.touched.values():
                    (bids if event.side is Side.BUY else asks).add(event.price_minor)
        self.broadcaster.publish(SYMBOL.name, self.turn, ts_ns=1)
        self.turn = []

    def push(self, interval_ms: int) -> None:
        """What one interval's timer sends: the window's merged levels with its update ids."""
        aggregate = self.feed.depth.pop(interval_ms, None)
        touched_bids, touched_asks = self.touched[interval_ms]
        if aggregate is not None:
            event = Event(aggregate.first_id, aggregate.last_id, dict(aggregate.bids), dict(aggregate.asks))
            self.pushed[interval_ms].append(event)
            # A level touched in the window and empty at its end is sent with quantity 0.
            truth = self.book.depth(10_000)
            assert {p for p in touched_bids if p not in dict(truth.bids)} <= {
                p for p, q in event.bids.items() if q == 0
            }
            assert {p for p in touched_asks if p not in dict(truth.asks)} <= {
                p for p, q in event.asks.items() if q == 0
            }
        else:
            assert not (touched_bids or touched_asks), "levels changed but nothing was pushed"
        touched_bids.clear()
        touched_asks.clear()


def replay(snapshot: DepthSnapshot, events: list[Event]) -> tuple[dict[int, int], dict[int, int]]:
    """A client's local book by Binance's procedure from ``snapshot`` and the diff ``events``."""
    bids, asks = dict(snapshot.bids), dict(snapshot.asks)
    kept = [event for event in events if event.last_id > snapshot.last_update_id]
    if kept:
        assert kept[0].first_id <= snapshot.last_update_id + 1 <= kept[0].last_id
    for event in kept:
        for book, levels in ((bids, event.bids), (asks, event.asks)):
            for price, quantity in levels.items():
                if quantity:
                    book[price] = quantity
                else:
                    book.pop(price, None)
    return bids, asks


orders = st.tuples(
    st.just("order"), st.integers(1, 2), st.sampled_from(Side), st.integers(-3, 3), st.integers(1, 4)
)
cancels = st.tuples(st.just("cancel"), st.integers(1, 6))
steps = st.lists(
    st.one_of(orders, orders, cancels, st.sampled_from(["turn", "turn", "tick", "snapshot"])),
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(steps)
def test_a_client_following_binance_rules_ends_with_the_servers_book(plan: list) -> None:
    run = Run()
    ticks = 0
    for step in plan:
        if isinstance(step, tuple):
            run.command(step)
            continue
        run.end_turn()  # a push, a snapshot or a timer tick falls between turns
        if step == "tick":
            ticks += 1
            run.push(100)
            if ticks % 3 == 0:
                run.push(1000)
        elif step == "snapshot":
            run.snapshots.append(run.broadcaster.snapshot(SYMBOL.name))
    run.end_turn()
    run.push(100)
    run.push(1000)

    final = run.broadcaster.snapshot(SYMBOL.name)
    truth = run.book.depth(10_000)
    assert (dict(final.bids), dict(final.asks)) == (dict(truth.bids), dict(truth.asks))
    empty = DepthSnapshot(symbol=SYMBOL.name, last_update_id=0, bids=(), asks=())
    for events in run.pushed.values():
        ids = [(event.first_id, event.last_id) for event in events]
        assert all(first <= last for first, last in ids)
        assert all(first == previous + 1 for (_, previous), (first, _) in itertools.pairwise(ids)), ids
        assert (ids[0][0] if ids else 1) == 1 and (ids[-1][1] if ids else 0) == final.last_update_id
        for snapshot in [empty, *run.snapshots]:
            assert replay(snapshot, events) == (dict(truth.bids), dict(truth.asks))


def test_a_level_filled_in_the_turn_that_made_it_still_takes_its_ids() -> None:
    """The reviewer's case: a resting sell and the buy that fills it in one turn, first in a window."""
    run = Run()
    run.command(("order", 1, Side.BUY, -2, 1))
    run.end_turn()
    run.push(100)
    snapshot = run.broadcaster.snapshot(SYMBOL.name)
    run.command(("order", 2, Side.SELL, 1, 2))
    run.command(("order", 1, Side.BUY, 1, 2))
    run.end_turn()
    run.push(100)
    run.command(("order", 2, Side.SELL, 3, 1))
    run.end_turn()
    run.push(100)
    first, second, third = run.pushed[100]
    assert (first.first_id, first.last_id) == (1, 1)
    assert (second.first_id, second.last_id) == (2, 3)
    assert second.asks == {MID + TICK: 0} and second.bids == {}
    assert (third.first_id, third.last_id) == (4, 4)
    assert replay(snapshot, run.pushed[100]) == ({MID - 2 * TICK: STEP}, {MID + 3 * TICK: STEP})


async def test_the_feed_takes_updates_only_while_a_depth_or_book_ticker_stream_is_followed() -> None:
    """With no listener the broadcaster builds nothing for the feed; a diff listener arriving later gets
    pushes whose ids follow the snapshot it takes on subscribing, however much happened before."""
    run = Run()
    streams = run.feed.streams
    (follower,) = streams._subscribers["btcusdt@depth"]
    streams._remove(follower, "btcusdt@depth")
    assert run.broadcaster.subscriber_count() == 0
    run.command(("order", 1, Side.BUY, -2, 1))
    run.end_turn()
    assert run.feed.depth == {}
    for bids, asks in run.touched.values():
        bids.clear()
        asks.clear()
    ticker, depth = _Subscriber(outbox=None, combined=False), _Subscriber(outbox=None, combined=False)
    assert control(streams, ticker, "SUBSCRIBE", ["btcusdt@bookTicker", "btcusdt@trade"]) is None
    assert control(streams, depth, "SUBSCRIBE", ["btcusdt@depth@100ms"]) is None
    assert run.broadcaster.subscriber_count() == 1
    snapshot = run.broadcaster.snapshot(SYMBOL.name)
    run.command(("order", 2, Side.SELL, 1, 1))
    run.end_turn()
    run.push(100)
    (pushed,) = run.pushed[100]
    assert pushed.first_id == snapshot.last_update_id + 1
    assert replay(snapshot, run.pushed[100]) == ({MID - 2 * TICK: STEP}, {MID + TICK: STEP})
    assert [message.stream for message in streams._window] == ["btcusdt@bookTicker"]
    streams._remove(ticker, "btcusdt@bookTicker")
    assert run.broadcaster.subscriber_count() == 1
    streams._remove(depth, "btcusdt@depth@100ms")
    assert run.broadcaster.subscriber_count() == 0


def control(streams: MarketStreams, subscriber: _Subscriber, method: str, params: list) -> object:
    """One control request's result, or its error as ``(code, msg)``."""
    try:
        return streams._control(subscriber, wire.ControlRequest(1, method, params))
    except wire.ControlError as error:
        return error.code, error.msg


def test_control_requests_with_bad_params_get_binances_errors_and_change_nothing() -> None:
    streams = MarketStreams(settings=SETTINGS, broadcaster=MarketDataBroadcaster(SETTINGS.symbols))
    subscriber = _Subscriber(outbox=None, combined=False)
    assert control(streams, subscriber, "SUBSCRIBE", ["btcusdt@trade"]) is None
    invalid_stream = (2, "Invalid request: invalid stream")
    assert control(streams, subscriber, "SUBSCRIBE", ["btcusdt@trade", "@@@"]) == invalid_stream
    assert control(streams, subscriber, "UNSUBSCRIBE", [["btcusdt@trade"]]) == invalid_stream
    assert control(streams, subscriber, "UNSUBSCRIBE", ["btcusdt@trade", {"a": 1}]) == invalid_stream
    property_name = (2, "Invalid request: property name must be a string")
    assert control(streams, subscriber, "SET_PROPERTY", [1, True]) == property_name
    assert control(streams, subscriber, "GET_PROPERTY", []) == property_name
    assert control(streams, subscriber, "GET_PROPERTY", ["colour"]) == (0, "Unknown property")
    assert control(streams, subscriber, "SET_PROPERTY", ["combined", 1]) == (
        1,
        "Invalid value type: expected Boolean",
    )
    assert control(streams, subscriber, "LIST_SUBSCRIPTIONS", []) == ["btcusdt@trade"]
    assert control(streams, subscriber, "GET_PROPERTY", ["combined"]) is False


def test_the_24h_window_stays_bounded_with_no_ticker_subscriber() -> None:
    """Buckets were dropped only when a ``@ticker`` push read the window; unread, it kept every second
    with a trade for as long as the process ran."""
    run = Run()
    minute_ns = 60 * 10**9
    for minute in range(3 * 24 * 60):  # one trade a minute for three days
        run.command(("order", 1, Side.SELL, 0, 1))
        run.command(("order", 2, Side.BUY, 0, 1))
        run.turn = [
            event._replace(ts_ns=minute * minute_ns) if type(event) is TradeExecuted else event
            for event in run.turn
        ]
        run.end_turn()
    assert len(run.feed.rolling._buckets) <= 24 * 60 + 1
    assert run.feed.rolling.stats(3 * 24 * 60 * 60_000).count == 24 * 60


def test_names_of_unlisted_symbols_are_forgotten_once_no_one_listens() -> None:
    """Clients choose those names, so the streams' table must not keep them."""
    streams = MarketStreams(settings=SETTINGS, broadcaster=MarketDataBroadcaster(SETTINGS.symbols))
    first, second = _Subscriber(outbox=None, combined=False), _Subscriber(outbox=None, combined=True)
    for subscriber in (first, second):
        assert control(streams, subscriber, "SUBSCRIBE", ["nosuch@trade", "btcusdt@trade"]) is None
    assert control(streams, first, "UNSUBSCRIBE", ["nosuch@trade"]) is None
    assert set(streams._subscribers) == {"nosuch@trade", "btcusdt@trade"}
    assert control(streams, second, "UNSUBSCRIBE", ["nosuch@trade", "btcusdt@trade"]) is None
    assert set(streams._subscribers) == {"btcusdt@trade"}


KLINE_STREAMS = {
    "btcusdt@kline_1m": (60_000, 0),
    "btcusdt@kline_15m": (900_000, 0),
    "btcusdt@kline_4h@+08:00": (14_400_000, 28_800_000),
    "btcusdt@kline_1d@+08:00": (86_400_000, 28_800_000),
}
kline_steps = st.lists(
    st.tuples(st.integers(0, 20 * 60_000), st.integers(1, 50), st.integers(1, 9), st.booleans()),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(kline_steps)
def test_klines_folded_from_minutes_match_the_trades_of_their_intervals(steps: list) -> None:
    """Intervals past 1m are folded from closed minutes, on trades and on the timer; each candle sent
    must be the trades of its interval, UTC+8 ones starting at UTC+8 boundaries."""
    streams = MarketStreams(settings=SETTINGS, broadcaster=MarketDataBroadcaster(SETTINGS.symbols))
    (feed,) = [feed for feed in streams._feeds if feed.symbol.name == SYMBOL.name]
    sent: list[tuple[str, dict, list]] = []
    trades: list[tuple[int, int, int, int]] = []  # ts_ms, price, quantity, trade id

    def publish(stream: str, build, timed: bool = True) -> None:
        if stream in KLINE_STREAMS:
            sent.append((stream, build(False)["k"], list(trades)))

    streams._publish = publish
    now_ms = 1_700_000_000_000
    for trade_id, (gap_ms, price, quantity, tick) in enumerate(steps, start=1):
        now_ms += gap_ms
        if tick:
            streams._ticks = 20  # a tick that pushes the open candles too
            streams._push_statistics(feed, now_ms * 1000)
            continue
        trades.append((now_ms, price, quantity, trade_id))
        trade = TradeExecuted(
            trade_id, trade_id, price * TICK, quantity * STEP, 0, Side.BUY, 1, 1, 0, 2, 2, 0, now_ms * 10**6
        )
        streams.on_trades(feed, (trade,), now_ms * 10**6)
    closed_starts: dict[str, list[int]] = {stream: [] for stream in KLINE_STREAMS}
    for stream, kline, so_far in sent:
        interval_ms, offset_ms = KLINE_STREAMS[stream]
        assert (kline["t"] + offset_ms) % interval_ms == 0 and kline["T"] == kline["t"] + interval_ms - 1
        group = [t for t in so_far if kline["t"] <= t[0] <= kline["T"]]
        assert kline["n"] == len(group), (stream, kline)
        if group:
            prices = [t[1] * TICK for t in group]
            assert (kline["f"], kline["L"]) == (group[0][3], group[-1][3])
            assert [kline[key] for key in "ohlc"] == [
                format_minor(p, SYMBOL.quote_scale) for p in (prices[0], max(prices), min(prices), prices[-1])
            ]
            assert kline["v"] == format_minor(sum(t[2] for t in group) * STEP, SYMBOL.base_scale)
        if kline["x"]:
            assert kline["t"] not in closed_starts[stream], "a candle closed twice"
            closed_starts[stream].append(kline["t"])
    # Every interval with trades that is over by the last trade or tick was sent closed.
    for stream, (interval_ms, offset_ms) in KLINE_STREAMS.items():
        over = {
            t[0] - (t[0] + offset_ms) % interval_ms
            for t in trades
            if t[0] - (t[0] + offset_ms) % interval_ms + interval_ms <= now_ms
        }
        assert over <= set(closed_starts[stream]), stream


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2 * 3_600_000), st.integers(1, 50), st.integers(1, 9)), max_size=40))
def test_restored_klines_of_every_interval_are_the_live_ones(steps: list) -> None:
    """At start the open candles are rebuilt from the store's per-second rows, the folded ones too."""
    live = MarketStreams(settings=SETTINGS, broadcaster=MarketDataBroadcaster(SETTINGS.symbols))
    restored = MarketStreams(settings=SETTINGS, broadcaster=MarketDataBroadcaster(SETTINGS.symbols))
    (feed,) = [feed for feed in live._feeds if feed.symbol.name == SYMBOL.name]
    rows: list[TradeSecond] = []
    now_ms = 1_700_000_000_000
    for trade_id, (gap_ms, price, quantity) in enumerate(steps, start=1):
        now_ms += gap_ms
        trade = TradeExecuted(
            trade_id, trade_id, price, quantity, price * quantity, Side.SELL, 1, 1, 0, 2, 2, 0, 0
        )
        live.on_trades(feed, (trade._replace(ts_ns=now_ms * 10**6),), now_ms * 10**6)
        second = now_ms // 1000
        if rows and rows[-1].second == second:
            last = rows[-1]
            rows[-1] = last._replace(
                last_trade_id=trade_id,
                close_minor=price,
                last_quantity_minor=quantity,
                high_minor=max(last.high_minor, price),
                low_minor=min(last.low_minor, price),
                volume_minor=last.volume_minor + quantity,
                quote_volume_minor=last.quote_volume_minor + price * quantity,
                count=last.count + 1,
            )
        else:
            rows.append(
                TradeSecond(
                    SYMBOL.name,
                    second,
                    trade_id,
                    trade_id,
                    price,
                    price,
                    quantity,
                    price,
                    price,
                    quantity,
                    price * quantity,
                    0,
                    0,
                    1,
                )
            )
    restored.restore(rows)
    (again,) = [feed for feed in restored._feeds if feed.symbol.name == SYMBOL.name]
    for name in feed.klines:
        assert again.klines[name].current == feed.klines[name].current, name
    for key, derived in feed.derived.items():
        minute, minute_again = feed.klines["1m"].current, again.klines["1m"].current
        assert again.derived[key].current(minute_again) == derived.current(minute), key
