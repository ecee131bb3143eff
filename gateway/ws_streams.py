"""Binance-style market streams at ``/ws`` and ``/stream``: depth, trades, aggregate trades, book ticker,
24 h ticker, klines.

The streams listen to the market-data broadcaster's trades once per symbol (the 24 h statistics and
klines count every trade), and subscribe to its updates only while a diff-depth or book-ticker stream of
the symbol has a listener. Diff-depth updates are merged per symbol and interval (100 ms, 1000 ms) and
pushed with consecutive ``U``/``u`` update ids, so a client can keep a local book with a ``depth``
snapshot plus diffs; a client's first diff follows the snapshot it can take once subscribed.

Fan-out is what costs at a thousand subscribers, so it is done once per message, not per receiver:
each message is encoded and framed once (per shape: raw or ``/stream``-wrapped) into a shared window,
and every ``stream_flush_interval_ms`` the window goes out with one write per subscriber, subscribers with
the same streams sharing one joined buffer. A subscriber whose unsent bytes pass the bound is
disconnected; a book never waits for one.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import unquote, urlsplit

import structlog
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from book.trade_stats import Candle, DerivedKlines, KlineSeries, RollingStats, RollingWindow
from book.types import Side, TradeExecuted
from config.settings import Settings, SymbolSettings
from gateway.market_data import MarketDataBroadcaster, MarketDataUpdate
from gateway.ws_connection import GatewayConnection
from gateway.ws_outbox import Outbox, text_frame
from ledger.store import TradeSecond
from session.binance import streams as wire
from session.binance.kline_clock import KLINE_INTERVALS, KlineClock
from session.binance.market import trade_runs

log = structlog.get_logger("gateway.ws_streams")
TICK_S = 0.1
KLINE_PUSH_TICKS = 20  # Binance pushes open klines every 2 s (1s ones every second, closed ones at once)
TRADE_BY_TRADE_KLINES = ("1s", "1m")  # the longer intervals are folded from the closed minutes
SERIES_CLOCKS = {name: KlineClock(name) for name in TRADE_BY_TRADE_KLINES}
CONTROL_MESSAGES_PER_S_MAX = 5
TICKER_WINDOW_S = 86_400
AVERAGE_PRICE_WINDOW_S = 300  # Binance's avgPrice: the last 5 minutes
CONNECTION_LIFETIME_S = 86_400  # Binance ends a stream connection at 24 h
GOING_AWAY = 1001


@dataclass(slots=True)
class _IncomingMessages:
    """A stream connection's incoming messages (control frames and messages) in the current second."""

    window_start_s: float = 0.0
    count: int = 0

    def one_too_many(self) -> bool:
        """Count one message; True if it goes past the limit."""
        now_s = time.monotonic()
        if now_s - self.window_start_s >= 1.0:
            self.window_start_s, self.count = now_s, 0
        self.count += 1
        return self.count > CONTROL_MESSAGES_PER_S_MAX


@dataclass(eq=False, slots=True)
class _Subscriber:
    outbox: Outbox
    combined: bool
    micro: bool = False  # times in microseconds (``timeUnit=MICROSECOND``)
    incoming: _IncomingMessages = field(default_factory=_IncomingMessages)
    streams: set[str] = field(default_factory=set)
    joined_at: int = 0  # frames of the current window before this index predate its subscriptions
    group: tuple[frozenset[str], bool, bool] = (frozenset(), False, False)

    def regroup(self) -> None:
        """Subscribers with the same streams, shape and time unit share one buffer per flush."""
        self.group = (frozenset(self.streams), self.combined, self.micro)


Build = Callable[[bool], Any]  # a payload, its times in microseconds if asked
# The store's hourly candles of one symbol's trades from one time to another (UTC ms), oldest first.
HoursOf = Callable[[str, int, int], Awaitable[list[Candle]]]


class _Message:
    """One encoded stream message; its framings are built on first use and shared by everyone.

    ``payloads`` holds the payload with times in milliseconds and, if a subscriber of the stream asked
    for them, in microseconds (a payload without times serves both).
    """

    __slots__ = ("_framed", "payloads", "stream")

    def __init__(self, stream: str, payload: bytes, payload_micro: bytes | None = None) -> None:
        self.stream = stream
        self.payloads = (payload, payload_micro or payload)
        self._framed: list[bytes | None] = [None, None, None, None]

    def framed(self, combined: bool, micro: bool) -> bytes:
        index = 2 * micro + combined
        frame = self._framed[index]
        if frame is None:
            payload = self.payloads[micro]
            body = wire.combined(self.stream, payload) if combined else payload
            frame = self._framed[index] = text_frame(body)
        return frame


@dataclass
class _DepthAggregate:
    """Level changes of one symbol since the last push of one interval, and the update ids they took.

    Every update's ids are taken, even one whose levels were all born and gone (a resting order filled or
    canceled in the turn that placed it), so the pushes cover consecutive ids; a level touched in the
    window and now empty is sent with quantity 0, whether or not a snapshot could have shown it.
    """

    first_id: int = 0
    last_id: int = 0
    bids: dict[int, int] = field(default_factory=dict)
    asks: dict[int, int] = field(default_factory=dict)

    def add(self, update: MarketDataUpdate) -> None:
        if not self.first_id:
            self.first_id = update.first_update_id
        self.last_id = update.last_update_id
        bids, asks = self.bids, self.asks
        for price, quantity, _ in update.bids:
            bids[price] = quantity
        for price, quantity, _ in update.asks:
            asks[price] = quantity
        for price in update.bids_transient:
            bids[price] = 0
        for price in update.asks_transient:
            asks[price] = 0


@dataclass(eq=False)
class _SymbolFeed:
    """The broadcaster's subscriber for one symbol, and that symbol's stream state."""

    streams: MarketStreams
    symbol: SymbolSettings
    best: tuple = (None, None)  # as of the last update received, for ``@bookTicker``
    update_streams: int = 0  # diff-depth and book-ticker streams of the symbol with a listener
    lower: str = ""
    depth: dict[int, _DepthAggregate] = field(default_factory=dict)
    rolling: RollingWindow = field(default_factory=lambda: RollingWindow(TICKER_WINDOW_S))
    average: RollingWindow = field(default_factory=lambda: RollingWindow(AVERAGE_PRICE_WINDOW_S))
    klines: dict[str, KlineSeries] = field(default_factory=dict)
    derived: dict[tuple[str, str], DerivedKlines] = field(default_factory=dict)  # by interval, timezone
    mini_ticker_sent: tuple = ()  # the prices and volumes ``!miniTicker@arr`` last sent of this symbol

    def __post_init__(self) -> None:
        self.lower = self.symbol.name.lower()
        self.klines = {name: KlineSeries(clock.bucket_ms) for name, clock in SERIES_CLOCKS.items()}
        self.derived = {
            (name, timezone): DerivedKlines(KlineClock(name, offset_ms))
            for name in KLINE_INTERVALS
            if name not in TRADE_BY_TRADE_KLINES
            for timezone, offset_ms in wire.KLINE_TIMEZONES.items()
        }

    def offer(self, update: MarketDataUpdate) -> bool:
        self.streams.on_update(self, update)
        return True

    def disconnect(self, reason: str) -> None:
        log.error("market streams lost their feed", symbol=self.symbol.name, reason=reason)


def _query(query: str) -> dict[str, list[str]]:
    """The URL's parameters, percent-decoded; unlike ``parse_qs`` a ``+`` stays a ``+`` (``@+08:00``)."""
    parameters: dict[str, list[str]] = {}
    for part in query.split("&"):
        key, _, value = part.partition("=")
        parameters.setdefault(unquote(key), []).append(unquote(value))
    return parameters


class MarketStreams:
    def __init__(self, *, settings: Settings, broadcaster: MarketDataBroadcaster) -> None:
        self.symbols = settings.symbols
        self.limits = settings.limits
        self.broadcaster = broadcaster
        self._feeds = [_SymbolFeed(self, symbol) for symbol in self.symbols.values()]
        self._feeds_by_symbol = {feed.symbol.name: feed for feed in self._feeds}
        for feed in self._feeds:
            broadcaster.listen_to_trades(feed.symbol.name, partial(self.on_trades, feed))
        self._subscribers: dict[str, set[_Subscriber]] = {}
        self._micro_subscribers: Counter[str] = Counter()  # per stream, those wanting microseconds
        self._members: set[_Subscriber] = set()
        self._window: list[_Message] = []
        self._flush_handle: asyncio.TimerHandle | None = None
        self._last_flush_s = 0.0
        self._flush_interval_s = settings.server.stream_flush_interval_ms / 1000
        self._ticks = 0
        self._timer: asyncio.Task[None] | None = None
        self.connection_lifetime_s: float = CONNECTION_LIFETIME_S

    async def seed_klines(self, hours_of: HoursOf, until_ms: int, now_ms: int) -> None:
        """Start the open klines that began before ``until_ms`` (a minute boundary, where the seconds
        ``restore`` is given begin) with their trades before it: a ``1w`` or ``1M`` kline opened days
        before the 24 h window. One read of the store per symbol, by the hour (every kline opens on an
        hour in both time zones). Call before ``restore``."""
        for feed in self._feeds:
            opens = {key: derived.clock.open_at(now_ms) for key, derived in feed.derived.items()}
            earliest_ms = min(opens.values())
            hours = await hours_of(feed.symbol.name, earliest_ms, until_ms) if earliest_ms < until_ms else []
            for key, derived in feed.derived.items():
                before = None
                for hour in hours:
                    if hour.start_ms >= opens[key]:
                        if before is None:
                            before = Candle.empty(opens[key], hour.open_minor)
                        before.merge(hour)
                derived.seed(before, until_ms)

    def restore(self, seconds: Iterable[TradeSecond]) -> None:
        """Rebuild the 24 h windows and open klines from the store's per-second trade aggregates."""
        for row in seconds:
            feed = self._feeds_by_symbol.get(row.symbol)
            if feed is None:
                continue
            second = Candle(
                start_ms=row.second * 1000,
                open_minor=row.open_minor,
                high_minor=row.high_minor,
                low_minor=row.low_minor,
                close_minor=row.close_minor,
                volume_minor=row.volume_minor,
                quote_volume_minor=row.quote_volume_minor,
                taker_buy_volume_minor=row.taker_buy_volume_minor,
                taker_buy_quote_volume_minor=row.taker_buy_quote_volume_minor,
                count=row.count,
                first_trade_id=row.first_trade_id,
                last_trade_id=row.last_trade_id,
            )
            for name, series in feed.klines.items():
                closed = series.add_second(second)
                if closed is not None and name == "1m":
                    for derived in feed.derived.values():
                        derived.minute_closed(closed, second.start_ms)
            feed.rolling.add_second(second, row.last_quantity_minor)
            feed.average.add_second(second, row.last_quantity_minor)

    def statistics(self, symbol: str, now_ms: int) -> RollingStats:
        """The rolling 24 h window of ``symbol``, as its ``@ticker`` stream reports it."""
        return self._feeds_by_symbol[symbol].rolling.stats(now_ms)

    def average_window(self, symbol: str, now_ms: int) -> RollingStats:
        """The last ``AVERAGE_PRICE_WINDOW_S`` of ``symbol``'s trades (Binance's ``avgPrice``)."""
        return self._feeds_by_symbol[symbol].average.stats(now_ms)

    def start(self) -> None:
        self._timer = asyncio.get_running_loop().create_task(self._tick_loop())

    async def close(self) -> None:
        """Write what is pending and Binance's ``serverShutdown`` to every connection, then stop.

        Nothing is awaited before those writes, so they go out ahead of the close frames of the
        server's shutdown, which closes connections from a task of its own.
        """
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush()
        now_us = time.time_ns() // 1000
        shutdown = _Message(
            wire.SERVER_SHUTDOWN_STREAM,
            wire.encode(wire.server_shutdown(now_us, False)),
            wire.encode(wire.server_shutdown(now_us, True)),
        )
        for subscriber in self._members:
            subscriber.outbox.send(shutdown.framed(subscriber.combined, subscriber.micro))
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer

    # Feed -------------------------------------------------------------------------------------------

    def on_update(self, feed: _SymbolFeed, update: MarketDataUpdate) -> None:
        """Merge an update into the diff-depth windows; push the book ticker if the best prices moved."""
        symbol, lower = feed.symbol, feed.lower
        if update.last_update_id >= update.first_update_id:  # level changes took ids, even if none is left
            for interval in (100, 1000):
                aggregate = feed.depth.get(interval)
                if aggregate is None:
                    aggregate = feed.depth[interval] = _DepthAggregate()
                aggregate.add(update)
        best = (update.best_bid, update.best_ask)
        if best != feed.best:
            feed.best = best
            self._publish(
                f"{lower}@bookTicker",
                lambda _: wire.book_ticker(symbol, update.last_update_id, *best),
                timed=False,
            )

    def on_trades(self, feed: _SymbolFeed, trades: tuple[TradeExecuted, ...], ts_ns: int) -> None:
        """Count a committed turn's trades into the statistics and klines; push the trade streams."""
        symbol, lower = feed.symbol, feed.lower
        event_us = ts_ns // 1000
        trade_stream = f"{lower}@trade"
        publish = bool(self._subscribers.get(trade_stream))
        for trade in trades:
            trade_us = trade.ts_ns // 1000
            trade_ms = trade_us // 1000
            price, quantity, quote = trade.price_minor, trade.quantity_minor, trade.quote_quantity_minor
            taker_buys = trade.aggressor_side is Side.BUY
            feed.rolling.add(trade_ms, price, quantity, quote, trade.trade_id)
            feed.average.add(trade_ms, price, quantity, quote, trade.trade_id)
            for name, series in feed.klines.items():
                closed = series.add(trade_ms, price, quantity, quote, trade.trade_id, taker_buys)
                if closed is not None:
                    self._publish_kline(
                        feed,
                        name,
                        lambda micro, c=closed, k=SERIES_CLOCKS[name]: wire.kline(
                            symbol, event_us, k, c, True, micro
                        ),
                    )
                    if name == "1m":
                        self._fold_minute(feed, closed, trade_ms, event_us)
            if publish:
                build = partial(
                    wire.trade,
                    symbol,
                    event_us,
                    trade.trade_id,
                    price,
                    quantity,
                    trade_us,
                    not taker_buys,
                )
                self._window.append(self._message(trade_stream, build))
        self._publish_aggregates(feed, event_us, trades)
        self._schedule_flush()

    def _publish_aggregates(
        self, feed: _SymbolFeed, event_us: int, trades: tuple[TradeExecuted, ...]
    ) -> None:
        """``@aggTrade``: one event per run of trades of one taker order at one price."""
        stream = f"{feed.lower}@aggTrade"
        if not self._subscribers.get(stream):
            return
        for run in trade_runs(trades):
            first = run.first
            build = partial(
                wire.agg_trade,
                feed.symbol,
                event_us,
                first.trade_id,
                run.last.trade_id,
                first.price_minor,
                run.quantity_minor,
                first.ts_ns // 1000,
                first.aggressor_side is Side.SELL,
            )
            self._window.append(self._message(stream, build))

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            self._ticks += 1
            now_us = time.time_ns() // 1000
            statistics = []
            for feed in self._feeds:
                self._push_depth(feed, 100, now_us)
                if self._ticks % 10 == 0:
                    self._push_depth(feed, 1000, now_us)
                    statistics.append((feed, self._push_statistics(feed, now_us)))
            if statistics:
                self._push_all_mini_tickers(now_us, statistics)

    def _push_depth(self, feed: _SymbolFeed, interval_ms: int, now_us: int) -> None:
        symbol, lower = feed.symbol, feed.lower
        suffix = "@100ms" if interval_ms == 100 else ""
        aggregate = feed.depth.pop(interval_ms, None)
        if aggregate is not None:
            self._publish(
                f"{lower}@depth{suffix}",
                lambda micro: wire.diff_depth(
                    symbol,
                    now_us,
                    aggregate.first_id,
                    aggregate.last_id,
                    sorted(aggregate.bids.items(), reverse=True),
                    sorted(aggregate.asks.items()),
                    micro,
                ),
            )
        for levels in (5, 10, 20):

            def partial_book(_: bool, levels: int = levels) -> dict:
                snapshot = self.broadcaster.snapshot(symbol.name, levels)
                return wire.partial_depth(
                    symbol, snapshot.last_update_id, list(snapshot.bids), list(snapshot.asks)
                )

            self._publish(f"{lower}@depth{levels}{suffix}", partial_book, timed=False)

    def _push_statistics(self, feed: _SymbolFeed, now_us: int) -> RollingStats:
        symbol, lower = feed.symbol, feed.lower
        now_ms = now_us // 1000
        stats = feed.rolling.stats(now_ms)
        self._publish(
            f"{lower}@ticker",
            lambda micro: wire.ticker_24h(
                symbol, now_us, stats, *self.broadcaster.best_bid_offer(symbol.name), micro
            ),
        )
        self._publish(f"{lower}@miniTicker", lambda micro: wire.mini_ticker(symbol, now_us, stats, micro))
        self._push_klines(feed, now_us)
        return stats

    def _push_klines(self, feed: _SymbolFeed, now_us: int) -> None:
        """Close the candles whose time is over; push the open ones every 2 s, and at once after a close."""
        symbol, lower, now_ms = feed.symbol, feed.lower, now_us // 1000
        folded: set[tuple[str, str]] = set()
        for name, series in feed.klines.items():
            closed = series.roll(now_ms)
            if closed is not None:
                self._publish_kline(
                    feed,
                    name,
                    lambda micro, c=closed, k=SERIES_CLOCKS[name]: wire.kline(
                        symbol, now_us, k, c, True, micro
                    ),
                )
                if name == "1m":
                    folded = self._fold_minute(feed, closed, now_ms, now_us)
            current = series.current
            if current is not None and (closed is not None or self._ticks % KLINE_PUSH_TICKS == 0):
                self._publish_kline(
                    feed,
                    name,
                    lambda micro, c=current, k=SERIES_CLOCKS[name]: wire.kline(
                        symbol, now_us, k, c, False, micro
                    ),
                )
        minute = feed.klines["1m"].current
        for (name, timezone), derived in feed.derived.items():
            stream = f"{lower}@kline_{name}{timezone}"
            if self._subscribers.get(stream) and (
                (name, timezone) in folded or self._ticks % KLINE_PUSH_TICKS == 0
            ):
                candle = derived.current(minute)
                if candle is not None:
                    self._publish(
                        stream,
                        lambda micro, c=candle, k=derived.clock: wire.kline(
                            symbol, now_us, k, c, False, micro
                        ),
                    )

    def _push_all_mini_tickers(self, now_us: int, statistics: list[tuple[_SymbolFeed, RollingStats]]) -> None:
        """``!miniTicker@arr``: the mini tickers of the symbols whose ticker changed since the last push."""
        if not self._subscribers.get(wire.ALL_MINI_TICKERS):
            return
        changed = []
        for feed, stats in statistics:
            values = (stats.last_minor, stats.open_minor, stats.high_minor, stats.low_minor)
            values += (stats.volume_minor, stats.quote_volume_minor)
            if values != feed.mini_ticker_sent:
                feed.mini_ticker_sent = values
                changed.append((feed.symbol, stats))
        if changed:
            self._publish(
                wire.ALL_MINI_TICKERS,
                lambda micro: [wire.mini_ticker(symbol, now_us, stats, micro) for symbol, stats in changed],
            )

    def _publish_kline(self, feed: _SymbolFeed, interval: str, build: Build) -> None:
        """A 1s or 1m kline; those of UTC+8 are the same candles."""
        for timezone in wire.KLINE_TIMEZONES:
            self._publish(f"{feed.lower}@kline_{interval}{timezone}", build)

    def _fold_minute(
        self, feed: _SymbolFeed, minute: Candle, now_ms: int, event_us: int
    ) -> set[tuple[str, str]]:
        """Fold a closed minute into the longer intervals and publish what it closes; which closed."""
        folded = set()
        for (name, timezone), derived in feed.derived.items():
            for candle in derived.minute_closed(minute, now_ms):
                folded.add((name, timezone))
                self._publish(
                    f"{feed.lower}@kline_{name}{timezone}",
                    lambda micro, c=candle, k=derived.clock: wire.kline(
                        feed.symbol, event_us, k, c, True, micro
                    ),
                )
        return folded

    # Fan-out ----------------------------------------------------------------------------------------

    def _message(self, stream: str, build: Build, timed: bool = True) -> _Message:
        """``build``'s payload encoded once, and once more in microseconds if anyone wants them."""
        micro = wire.encode(build(True)) if timed and self._micro_subscribers[stream] else None
        return _Message(stream, wire.encode(build(False)), micro)

    def _publish(self, stream: str, build: Build, timed: bool = True) -> None:
        """Queue ``build``'s payload (built only if someone listens) for the subscribers of ``stream``."""
        if self._subscribers.get(stream):
            self._window.append(self._message(stream, build, timed))
            self._schedule_flush()

    def _schedule_flush(self) -> None:
        if self._flush_handle is None and self._window:
            loop = asyncio.get_running_loop()
            at = max(loop.time(), self._last_flush_s + self._flush_interval_s)
            self._flush_handle = loop.call_at(at, self._flush)

    def _flush(self) -> None:
        """Write the window: one joined buffer per group of subscribers with the same streams."""
        self._flush_handle = None
        self._last_flush_s = asyncio.get_running_loop().time()
        window, self._window = self._window, []
        if not window:
            return
        buffers: dict[tuple[frozenset[str], bool, bool], bytes] = {}
        for subscriber in self._members:
            if subscriber.joined_at:
                data = self._join(window[subscriber.joined_at :], subscriber)
                subscriber.joined_at = 0
            else:
                group = subscriber.group
                data = buffers.get(group)
                if data is None:
                    data = buffers[group] = self._join(window, subscriber)
            if data:
                subscriber.outbox.send(data)

    @staticmethod
    def _join(messages: list[_Message], subscriber: _Subscriber) -> bytes:
        streams, combined, micro = subscriber.streams, subscriber.combined, subscriber.micro
        return b"".join(
            [message.framed(combined, micro) for message in messages if message.stream in streams]
        )

    def _deliver_before_change(self, subscriber: _Subscriber) -> None:
        """Hand the subscriber its part of the window so far; later frames follow its new streams."""
        if self._window:
            data = self._join(self._window[subscriber.joined_at :], subscriber)
            if data:
                subscriber.outbox.put(data)
            subscriber.joined_at = len(self._window)

    # Connections ------------------------------------------------------------------------------------

    async def serve_connection(self, websocket: ServerConnection) -> None:
        url = urlsplit(websocket.request.path)
        query = _query(url.query)
        combined = url.path.startswith("/stream")
        time_unit = query.get("timeUnit", ["MILLISECOND"])[-1]
        subscriber = _Subscriber(
            Outbox(websocket, self.limits.websocket_buffer_bytes_max),
            combined,
            wire.TIME_UNITS.get(time_unit, False),
        )
        initial = (
            [name for value in query.get("streams", []) for name in value.split("/") if name]
            if combined
            else [name for name in unquote(url.path).removeprefix("/ws").split("/") if name]
        )
        self._members.add(subscriber)
        if isinstance(websocket, GatewayConnection):
            websocket.on_ping_or_pong = partial(self._count_incoming, subscriber)
        try:
            if time_unit not in wire.TIME_UNITS:
                await websocket.close(1008, "invalid timeUnit")
                return
            if initial and self._subscribe(subscriber, initial) is not None:
                await websocket.close(1008, "invalid stream name")
                return
            async with asyncio.timeout(self.connection_lifetime_s):
                await self._control_loop(subscriber, websocket)
        except TimeoutError:
            await websocket.close(GOING_AWAY, "connection lifetime of 24 h reached")
        except ConnectionClosed:
            pass
        finally:
            self._members.discard(subscriber)
            for stream in list(subscriber.streams):
                self._remove(subscriber, stream)

    def _subscribe(self, subscriber: _Subscriber, names: list) -> str | None:
        """Add streams; what is wrong with them, if anything (then nothing is added)."""
        parsed = []
        for name in names:
            stream = wire.parse_stream_name(name) if isinstance(name, str) else None
            if stream is None:
                return wire.INVALID_STREAM
            parsed.append(stream)
        limit = self.limits.subscriptions_per_connection_max
        if len(subscriber.streams | {s.name for s in parsed}) > limit:
            return f"Invalid request: a connection listens to at most {limit} streams"
        self._deliver_before_change(subscriber)
        for stream in parsed:
            self._add(subscriber, stream.name)
        subscriber.regroup()
        return None

    def _unsubscribe(self, subscriber: _Subscriber, names: list) -> str | None:
        """Remove streams; what is wrong with the names, if anything (then nothing is removed)."""
        if not all(isinstance(name, str) for name in names):
            return wire.INVALID_STREAM
        self._deliver_before_change(subscriber)
        for name in names:
            self._remove(subscriber, name)
        subscriber.regroup()
        return None

    def _add(self, subscriber: _Subscriber, name: str) -> None:
        if name not in subscriber.streams:
            subscriber.streams.add(name)
            if name not in self._subscribers:
                self._follow_updates(name, 1)
            self._subscribers.setdefault(name, set()).add(subscriber)
            if subscriber.micro:
                self._micro_subscribers[name] += 1

    def _remove(self, subscriber: _Subscriber, name: str) -> None:
        """Forget a subscription, and a stream once no one listens (names come from clients)."""
        if name in subscriber.streams:
            subscriber.streams.discard(name)
            listeners = self._subscribers[name]
            listeners.discard(subscriber)
            if not listeners:
                del self._subscribers[name]
                self._follow_updates(name, -1)
            if subscriber.micro:
                self._micro_subscribers[name] -= 1
                if not self._micro_subscribers[name]:
                    del self._micro_subscribers[name]

    def _follow_updates(self, name: str, change: int) -> None:
        """Count a diff-depth or book-ticker stream gaining its first listener (+1) or losing its last
        (-1); the symbol's feed takes the broadcaster's updates while any such stream has a listener.

        A feed that subscribes again starts its depth windows afresh: what it merged before it stopped
        is missing the updates since, and a listener's first diff follows the snapshot it takes now.
        """
        stream = wire.parse_stream_name(name)
        feed = self._feeds_by_symbol.get(stream.symbol) if stream is not None else None
        if feed is None or stream.kind not in ("diff", "bookTicker"):
            return
        feed.update_streams += change
        if change > 0 and feed.update_streams == 1:
            feed.depth.clear()
            feed.best = self.broadcaster.best_bid_offer(feed.symbol.name)
            self.broadcaster.subscribe(feed.symbol.name, feed)
        elif feed.update_streams == 0:
            self.broadcaster.unsubscribe(feed.symbol.name, feed)

    @staticmethod
    def _count_incoming(subscriber: _Subscriber) -> bool:
        """Count one incoming message; past the limit the connection closes (True)."""
        if subscriber.incoming.one_too_many():
            subscriber.outbox.close("too many messages", flush_first=True)
            return True
        return False

    async def _control_loop(self, subscriber: _Subscriber, websocket: ServerConnection) -> None:
        async for message in websocket:
            if self._count_incoming(subscriber):
                await websocket.wait_closed()
                return
            try:
                request = wire.parse_control(message)
                answer = wire.control_answer(request.request_id, self._control(subscriber, request))
            except wire.ControlError as error:
                answer = wire.control_error(error)
            subscriber.outbox.put_json(answer)

    def _control(self, subscriber: _Subscriber, request: wire.ControlRequest) -> object:
        method, params = request.method, request.params
        if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
            change = self._subscribe if method == "SUBSCRIBE" else self._unsubscribe
            invalid = change(subscriber, params)
            if invalid is not None:
                raise wire.ControlError(request.request_id, 2, invalid)
            return None
        if method == "LIST_SUBSCRIPTIONS":
            return sorted(subscriber.streams)
        if not params or not isinstance(params[0], str):
            raise wire.ControlError(request.request_id, 2, wire.INVALID_PROPERTY_NAME)
        if params[0] != "combined":
            raise wire.ControlError(request.request_id, 0, "Unknown property")
        if method == "GET_PROPERTY":
            return subscriber.combined
        if len(params) != 2 or not isinstance(params[1], bool):
            raise wire.ControlError(request.request_id, 1, "Invalid value type: expected Boolean")
        self._deliver_before_change(subscriber)
        subscriber.combined = params[1]
        subscriber.regroup()
        return None
