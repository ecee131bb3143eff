"""The market-data broadcaster: committed book changes in, per-symbol updates out to bounded subscribers.

It keeps its own copy of each book's depth, fed only by committed level changes, so a snapshot and the
diff stream always agree: a snapshot's ``last_update_id`` is the ``last_update_id`` of the last diff
applied to it, and diffs cover consecutive update ids with no gap. A subscriber that cannot keep up is
disconnected with a reason; the broadcaster never waits for one.

With no subscriber for a symbol, a turn only advances that copy, its update ids and its trades: building
the update nobody reads, and the streams merging it, cost about 29,000 instructions per isolated FIX
order. Trade listeners (the 24 h statistics and klines) get every committed trade, subscribers or not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from sortedcontainers import SortedDict

from book.types import PriceLevelChanged, Side, TradeExecuted


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketDataUpdate:
    """One committed turn of one symbol: level changes with update ids ``first..last``, and trades.

    ``bids`` and ``asks`` hold ``(price_minor, quantity_minor, is_new)``: a quantity of zero deletes the
    level, ``is_new`` says the level did not exist before this update. A level born and gone within the
    update is left out of them (no snapshot ever showed it, so a New-Change-Delete feed skips it), but its
    changes still took update ids; its price is in ``bids_transient`` or ``asks_transient``, for a diff
    stream that sends every touched level that is now empty with quantity 0.
    """

    symbol: str
    first_update_id: int
    last_update_id: int
    bids: tuple[tuple[int, int, bool], ...]
    asks: tuple[tuple[int, int, bool], ...]
    trades: tuple[TradeExecuted, ...]
    best_bid: tuple[int, int] | None
    best_ask: tuple[int, int] | None
    ts_ns: int
    bids_transient: tuple[int, ...] = ()
    asks_transient: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class DepthSnapshot:
    symbol: str
    last_update_id: int
    bids: tuple[tuple[int, int], ...]
    asks: tuple[tuple[int, int], ...]


class Subscriber(Protocol):
    """A consumer of one symbol's updates; ``offer`` must not block and returns False when it is full."""

    def offer(self, update: MarketDataUpdate) -> bool: ...

    def disconnect(self, reason: str) -> None: ...


TradeListener = Callable[[tuple[TradeExecuted, ...], int], None]


class _SymbolDepth:
    """The committed depth of one symbol: price -> quantity per side, and the last update id."""

    __slots__ = ("asks", "bids", "last_update_id", "recent_trades")

    def __init__(self) -> None:
        self.bids: SortedDict = SortedDict()
        self.asks: SortedDict = SortedDict()
        self.last_update_id = 0
        self.recent_trades: list[TradeExecuted] = []

    def best(self, side: Side) -> tuple[int, int] | None:
        levels = self.bids if side is Side.BUY else self.asks
        if not levels:
            return None
        return levels.peekitem(-1 if side is Side.BUY else 0)


class MarketDataBroadcaster:
    """Applies committed events per symbol and fans the resulting update out to its subscribers."""

    def __init__(
        self,
        symbols: Iterable[str],
        *,
        on_slow_consumer: Callable[[], None] | None = None,
        recent_trades_max: int = 1000,
    ) -> None:
        self._depth = {symbol: _SymbolDepth() for symbol in symbols}
        self._subscribers: dict[str, set[Subscriber]] = {symbol: set() for symbol in self._depth}
        self._trade_listeners: dict[str, list[TradeListener]] = {symbol: [] for symbol in self._depth}
        self._on_slow_consumer = on_slow_consumer
        self._recent_trades_max = recent_trades_max

    def subscribe(self, symbol: str, subscriber: Subscriber) -> DepthSnapshot:
        """Add ``subscriber`` and return the snapshot its first update follows."""
        self._subscribers[symbol].add(subscriber)
        return self.snapshot(symbol)

    def unsubscribe(self, symbol: str, subscriber: Subscriber) -> None:
        self._subscribers[symbol].discard(subscriber)

    def listen_to_trades(self, symbol: str, listener: TradeListener) -> None:
        """Hand ``listener`` each committed turn's trades of ``symbol`` and its time, subscribers or not."""
        self._trade_listeners[symbol].append(listener)

    def subscriber_count(self) -> int:
        return sum(len(subscribers) for subscribers in self._subscribers.values())

    def snapshot(self, symbol: str, depth_levels: int | None = None) -> DepthSnapshot:
        depth = self._depth[symbol]
        bids = list(reversed(depth.bids.items()[-depth_levels:] if depth_levels else depth.bids.items()))
        asks = depth.asks.items()[:depth_levels] if depth_levels else depth.asks.items()
        return DepthSnapshot(
            symbol=symbol, last_update_id=depth.last_update_id, bids=tuple(bids), asks=tuple(asks)
        )

    def restore_trades(self, symbol: str, trades: Iterable[TradeExecuted]) -> None:
        """Recent trades from the store at start, so trade queries and last prices survive a restart."""
        depth = self._depth[symbol]
        depth.recent_trades = [*trades, *depth.recent_trades][-self._recent_trades_max :]

    @property
    def recent_trades_max(self) -> int:
        return self._recent_trades_max

    def recent_trades(self, symbol: str, limit: int) -> list[TradeExecuted]:
        return self._depth[symbol].recent_trades[-limit:]

    def best_bid_offer(self, symbol: str) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
        depth = self._depth[symbol]
        return depth.best(Side.BUY), depth.best(Side.SELL)

    def publish(self, symbol: str, events: Iterable[object], ts_ns: int) -> MarketDataUpdate | None:
        """Apply one committed turn's events of ``symbol`` and deliver the update; None if nothing changed
        or no one subscribes to the symbol."""
        depth = self._depth[symbol]
        subscribers = self._subscribers[symbol]
        bids: dict[int, tuple[int, int, bool]] = {}
        asks: dict[int, tuple[int, int, bool]] = {}
        trades = []
        first_update_id = depth.last_update_id + 1
        for event in events:
            if type(event) is PriceLevelChanged:
                levels, changed = (depth.bids, bids) if event.side is Side.BUY else (depth.asks, asks)
                price = event.price_minor
                is_new = price not in levels if price not in changed else changed[price][2]
                if event.quantity_minor:
                    levels[price] = event.quantity_minor
                else:
                    levels.pop(price, None)
                changed[price] = (price, event.quantity_minor, is_new)
                depth.last_update_id += 1
            elif type(event) is TradeExecuted:
                trades.append(event)
        committed = tuple(trades)
        if committed:
            depth.recent_trades.extend(committed)
            del depth.recent_trades[: -self._recent_trades_max]
            for listener in self._trade_listeners[symbol]:
                listener(committed, ts_ns)
        if not subscribers or not (bids or asks or committed):
            return None
        bid_levels = tuple(level for level in bids.values() if level[1] or not level[2])
        ask_levels = tuple(level for level in asks.values() if level[1] or not level[2])
        update = MarketDataUpdate(
            symbol=symbol,
            first_update_id=first_update_id,
            last_update_id=depth.last_update_id,
            bids=bid_levels,
            asks=ask_levels,
            trades=committed,
            best_bid=depth.best(Side.BUY),
            best_ask=depth.best(Side.SELL),
            ts_ns=ts_ns,
            bids_transient=_transient(bids) if len(bid_levels) != len(bids) else (),
            asks_transient=_transient(asks) if len(ask_levels) != len(asks) else (),
        )
        slow = [subscriber for subscriber in subscribers if not subscriber.offer(update)]
        for subscriber in slow:
            subscribers.discard(subscriber)
            subscriber.disconnect("slow consumer: market-data queue full")
            if self._on_slow_consumer is not None:
                self._on_slow_consumer()
        return update


def _transient(changed: dict[int, tuple[int, int, bool]]) -> tuple[int, ...]:
    """The prices of levels born and gone within one update."""
    return tuple(price for price, quantity, is_new in changed.values() if is_new and not quantity)
