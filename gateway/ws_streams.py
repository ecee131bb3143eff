"""Binance-style market streams at ``/ws`` and ``/stream``: diff depth, partial depth, trades, book ticker.

The streams listen to the market-data broadcaster once per symbol. Diff-depth updates are merged per
symbol and interval (100 ms, 1000 ms) and pushed with consecutive ``U``/``u`` update ids, so a client
can keep a local book with a ``depth`` snapshot plus diffs. Every frame is encoded once per shape and
queued to each subscriber; a subscriber whose bounded queue fills is disconnected.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import structlog
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from book.types import Side
from config.settings import Settings, SymbolSettings
from gateway.market_data import MarketDataBroadcaster, MarketDataUpdate
from session.binance import streams as wire

log = structlog.get_logger("gateway.ws_streams")
TICK_S = 0.1
CONTROL_MESSAGES_PER_S_MAX = 5


@dataclass(eq=False)
class _Subscriber:
    websocket: ServerConnection
    outbound: asyncio.Queue[str]
    combined: bool
    streams: set[str] = field(default_factory=set)
    closing: bool = False

    def push(self, frame: str) -> None:
        if self.closing:
            return
        try:
            self.outbound.put_nowait(frame)
        except asyncio.QueueFull:
            self.closing = True
            log.info("stream subscriber too slow; disconnected")
            asyncio.get_running_loop().create_task(self.websocket.close(1008, "slow consumer: queue full"))


@dataclass
class _DepthAggregate:
    """Level changes of one symbol since the last push of one interval."""

    first_id: int = 0
    last_id: int = 0
    bids: dict[int, int] = field(default_factory=dict)
    asks: dict[int, int] = field(default_factory=dict)

    def add(self, update: MarketDataUpdate) -> None:
        if not self.first_id:
            self.first_id = update.first_update_id
        self.last_id = update.last_update_id
        for price, quantity, _ in update.bids:
            self.bids[price] = quantity
        for price, quantity, _ in update.asks:
            self.asks[price] = quantity


@dataclass(eq=False)
class _SymbolFeed:
    """The broadcaster's subscriber for one symbol."""

    streams: MarketStreams
    symbol: SymbolSettings
    best: tuple = (None, None)

    def offer(self, update: MarketDataUpdate) -> bool:
        self.streams.on_update(self.symbol, update, self)
        return True

    def disconnect(self, reason: str) -> None:
        log.error("market streams lost their feed", symbol=self.symbol.name, reason=reason)


class MarketStreams:
    def __init__(self, *, settings: Settings, broadcaster: MarketDataBroadcaster) -> None:
        self.symbols = settings.symbols
        self.limits = settings.limits
        self.broadcaster = broadcaster
        self._subscribers: dict[str, set[_Subscriber]] = {}
        self._aggregates: dict[tuple[str, int], _DepthAggregate] = {}
        for name, symbol in self.symbols.items():
            broadcaster.subscribe(name, _SymbolFeed(self, symbol))
        self._ticks = 0
        self._timer: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._timer = asyncio.get_running_loop().create_task(self._tick_loop())

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer

    # Feed -------------------------------------------------------------------------------------------

    def on_update(self, symbol: SymbolSettings, update: MarketDataUpdate, feed: _SymbolFeed) -> None:
        lower = symbol.name.lower()
        if update.bids or update.asks:
            for interval in (100, 1000):
                key = (symbol.name, interval)
                aggregate = self._aggregates.get(key)
                if aggregate is None:
                    aggregate = self._aggregates[key] = _DepthAggregate()
                aggregate.add(update)
        trade_stream = f"{lower}@trade"
        if update.trades and self._subscribers.get(trade_stream):
            event_ms = update.ts_ns // 1_000_000
            for trade in update.trades:
                payload = wire.trade(
                    symbol,
                    event_ms,
                    trade.trade_id,
                    trade.price_minor,
                    trade.quantity_minor,
                    trade.ts_ns // 1_000_000,
                    trade.aggressor_side is Side.SELL,
                )
                self._publish(trade_stream, payload)
        best = (update.best_bid, update.best_ask)
        if best != feed.best:
            feed.best = best
            ticker_stream = f"{lower}@bookTicker"
            if self._subscribers.get(ticker_stream):
                self._publish(ticker_stream, wire.book_ticker(symbol, update.last_update_id, *best))

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            self._ticks += 1
            self._flush(100)
            if self._ticks % 10 == 0:
                self._flush(1000)

    def _flush(self, interval_ms: int) -> None:
        now_ms = int(time.time() * 1000)
        suffix = "@100ms" if interval_ms == 100 else ""
        for name, symbol in self.symbols.items():
            lower = name.lower()
            aggregate = self._aggregates.pop((name, interval_ms), None)
            stream = f"{lower}@depth{suffix}"
            if aggregate is not None and self._subscribers.get(stream):
                payload = wire.diff_depth(
                    symbol,
                    now_ms,
                    aggregate.first_id,
                    aggregate.last_id,
                    sorted(aggregate.bids.items(), reverse=True),
                    sorted(aggregate.asks.items()),
                )
                self._publish(stream, payload)
            for levels in (5, 10, 20):
                partial = f"{lower}@depth{levels}{suffix}"
                if self._subscribers.get(partial):
                    snapshot = self.broadcaster.snapshot(name, levels)
                    self._publish(
                        partial,
                        wire.partial_depth(
                            symbol, snapshot.last_update_id, list(snapshot.bids), list(snapshot.asks)
                        ),
                    )

    def _publish(self, stream: str, payload: dict) -> None:
        encoded: dict[bool, str] = {}
        for subscriber in list(self._subscribers.get(stream, ())):
            frame = encoded.get(subscriber.combined)
            if frame is None:
                frame = encoded[subscriber.combined] = wire.frame(stream, payload, subscriber.combined)
            subscriber.push(frame)

    # Connections ------------------------------------------------------------------------------------

    async def serve_connection(self, websocket: ServerConnection) -> None:
        url = urlsplit(websocket.request.path)
        combined = url.path.startswith("/stream")
        subscriber = _Subscriber(websocket, asyncio.Queue(maxsize=self.limits.outbound_queue_max), combined)
        initial = (
            [name for value in parse_qs(url.query).get("streams", []) for name in value.split("/") if name]
            if combined
            else [name for name in url.path.removeprefix("/ws").split("/") if name]
        )
        sender = asyncio.create_task(self._send_loop(subscriber))
        try:
            if initial and self._subscribe(subscriber, initial) is not None:
                await websocket.close(1008, "invalid stream name")
                return
            await self._control_loop(subscriber)
        except ConnectionClosed:
            pass
        finally:
            for stream in subscriber.streams:
                self._subscribers.get(stream, set()).discard(subscriber)
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender

    async def _send_loop(self, subscriber: _Subscriber) -> None:
        with contextlib.suppress(ConnectionClosed):
            while True:
                await subscriber.websocket.send(await subscriber.outbound.get())

    def _subscribe(self, subscriber: _Subscriber, names: list) -> str | None:
        """Add streams; the first invalid name, if any (then nothing is added)."""
        parsed = []
        for name in names:
            stream = wire.parse_stream_name(name, self.symbols) if isinstance(name, str) else None
            if stream is None:
                return str(name)
            parsed.append(stream)
        if len(subscriber.streams | {s.name for s in parsed}) > self.limits.subscriptions_per_connection_max:
            return "too many streams"
        for stream in parsed:
            subscriber.streams.add(stream.name)
            self._subscribers.setdefault(stream.name, set()).add(subscriber)
        return None

    async def _control_loop(self, subscriber: _Subscriber) -> None:
        window_start, count = time.monotonic(), 0
        async for message in subscriber.websocket:
            now = time.monotonic()
            if now - window_start >= 1.0:
                window_start, count = now, 0
            count += 1
            if count > CONTROL_MESSAGES_PER_S_MAX:
                await subscriber.websocket.close(1008, "too many messages")
                return
            try:
                request = wire.parse_control(message)
                subscriber.push(wire.control_answer(request.request_id, self._control(subscriber, request)))
            except wire.ControlError as error:
                subscriber.push(wire.control_error(error))

    def _control(self, subscriber: _Subscriber, request: wire.ControlRequest) -> object:
        if request.method == "SUBSCRIBE":
            invalid = self._subscribe(subscriber, request.params)
            if invalid is not None:
                raise wire.ControlError(
                    request.request_id, 2, f"Invalid request: invalid stream name {invalid}"
                )
            return None
        if request.method == "UNSUBSCRIBE":
            for name in request.params:
                if name in subscriber.streams:
                    subscriber.streams.discard(name)
                    self._subscribers.get(name, set()).discard(subscriber)
            return None
        if request.method == "LIST_SUBSCRIPTIONS":
            return sorted(subscriber.streams)
        if request.params[:1] != ["combined"]:
            raise wire.ControlError(request.request_id, 0, "Unknown property")
        if request.method == "GET_PROPERTY":
            return subscriber.combined
        if len(request.params) != 2 or not isinstance(request.params[1], bool):
            raise wire.ControlError(request.request_id, 1, "Invalid value type: expected Boolean")
        subscriber.combined = request.params[1]
        return None
