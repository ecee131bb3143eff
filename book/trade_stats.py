"""Trade statistics for the ``@ticker`` (24 h rolling window) and ``@kline_<interval>`` streams.

Both are fed committed trades in trade-time order and read on a timer. The rolling window keeps one
bucket per second, not one entry per trade, so its memory is bounded by the window length whatever the
trade rate; high and low come from monotonic deques of those buckets. All money stays in integer minor
units.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace
from typing import Protocol

MS_PER_S = 1000
MS_PER_MINUTE = 60_000


@dataclass(slots=True)
class Candle:
    """Open-high-low-close of the trades in ``[start_ms, start_ms + interval_ms)``."""

    start_ms: int
    open_minor: int
    high_minor: int
    low_minor: int
    close_minor: int
    volume_minor: int = 0
    quote_volume_minor: int = 0
    taker_buy_volume_minor: int = 0
    taker_buy_quote_volume_minor: int = 0
    count: int = 0
    first_trade_id: int = -1
    last_trade_id: int = -1

    @classmethod
    def empty(cls, start_ms: int, price_minor: int) -> Candle:
        return cls(start_ms, price_minor, price_minor, price_minor, price_minor)

    def add(
        self, price_minor: int, quantity_minor: int, quote_minor: int, trade_id: int, taker_buys: bool
    ) -> None:
        if self.count == 0:
            self.open_minor = self.high_minor = self.low_minor = price_minor
            self.first_trade_id = trade_id
        self.high_minor = max(self.high_minor, price_minor)
        self.low_minor = min(self.low_minor, price_minor)
        self.close_minor = price_minor
        self.volume_minor += quantity_minor
        self.quote_volume_minor += quote_minor
        if taker_buys:
            self.taker_buy_volume_minor += quantity_minor
            self.taker_buy_quote_volume_minor += quote_minor
        self.count += 1
        self.last_trade_id = trade_id

    def merge(self, later: Candle) -> None:
        """Fold in a later candle's trades (a restored second into its minute, say)."""
        if later.count == 0:
            return
        if self.count == 0:
            self.open_minor, self.high_minor, self.low_minor = (
                later.open_minor,
                later.high_minor,
                later.low_minor,
            )
            self.first_trade_id = later.first_trade_id
        self.high_minor = max(self.high_minor, later.high_minor)
        self.low_minor = min(self.low_minor, later.low_minor)
        self.close_minor = later.close_minor
        self.volume_minor += later.volume_minor
        self.quote_volume_minor += later.quote_volume_minor
        self.taker_buy_volume_minor += later.taker_buy_volume_minor
        self.taker_buy_quote_volume_minor += later.taker_buy_quote_volume_minor
        self.count += later.count
        self.last_trade_id = later.last_trade_id


class KlineSeries:
    """The open candle of one interval; ``roll`` closes it when its interval has passed."""

    def __init__(self, interval_ms: int) -> None:
        self.interval_ms = interval_ms
        self.current: Candle | None = None

    def add(
        self,
        ts_ms: int,
        price_minor: int,
        quantity_minor: int,
        quote_minor: int,
        trade_id: int,
        taker_buys: bool,
    ) -> Candle | None:
        """Add a trade; returns the candle it closed, if the trade opened a new interval."""
        closed = self.roll(ts_ms)
        if self.current is None:
            self.current = Candle.empty(ts_ms - ts_ms % self.interval_ms, price_minor)
        self.current.add(price_minor, quantity_minor, quote_minor, trade_id, taker_buys)
        return closed

    def add_second(self, second: Candle) -> Candle | None:
        """Fold in one second of past trades, oldest first (restored at start); returns the candle it
        closed, if the second opened a new interval."""
        start_ms = second.start_ms - second.start_ms % self.interval_ms
        closed = None
        if self.current is None or self.current.start_ms < start_ms:
            closed, self.current = self.current, Candle.empty(start_ms, second.open_minor)
        self.current.merge(second)
        return closed

    def roll(self, now_ms: int) -> Candle | None:
        """Close the open candle if ``now_ms`` is past its interval; the next opens at its close price."""
        current = self.current
        if current is None or now_ms < current.start_ms + self.interval_ms:
            return None
        self.current = Candle.empty(now_ms - now_ms % self.interval_ms, current.close_minor)
        return current


class KlineOpens(Protocol):
    """Where the candles of one interval open (UTC milliseconds): ``session.binance.kline_clock``."""

    def open_at(self, ts_ms: int) -> int: ...

    def after(self, open_ms: int) -> int: ...


class DerivedKlines:
    """Candles of a whole number of minutes (to months) folded from the closed 1m candles, so a trade
    costs nothing here: the open candle is the fold of its closed minutes plus the open minute.

    ``clock`` says where each candle opens (Binance's ``@+08:00`` klines open at UTC+8 midnight, weeks on
    Mondays, months on the first). A candle that opened before what the minutes restored at start
    cover is ``seed``ed with the trades before them, read from the store.
    """

    def __init__(self, clock: KlineOpens) -> None:
        self.clock = clock
        self._fold: Candle | None = None  # the closed minutes of the open interval
        self._counted_until_ms = 0  # minutes before this are in the seed already

    def seed(self, before: Candle | None, until_ms: int) -> None:
        """Start the open candle with ``before`` (taken, not copied), its trades from its open to
        ``until_ms`` (a minute boundary; None if it had none); a minute before ``until_ms`` closed later
        is not counted (again)."""
        self._fold = before
        self._counted_until_ms = until_ms

    def minute_closed(self, minute: Candle, now_ms: int) -> list[Candle]:
        """Fold in a closed 1m candle at ``now_ms``; returns the candles this closes (oldest first)."""
        if minute.start_ms < self._counted_until_ms:
            return []
        start_ms = self.clock.open_at(minute.start_ms)
        closed = []
        fold = self._fold
        if fold is not None and fold.start_ms != start_ms:  # its end passed with no minute closing it
            closed.append(fold)
            fold = None
        if fold is None:
            fold = Candle.empty(start_ms, minute.open_minor)
        fold.merge(minute)
        end_ms = self.clock.after(start_ms)
        if minute.start_ms + MS_PER_MINUTE >= end_ms or now_ms >= end_ms:
            closed.append(fold)
            fold = None
        self._fold = fold
        return closed

    def current(self, minute: Candle | None) -> Candle | None:
        """The open candle, given the open 1m candle (None before any trade); a new object each time."""
        if minute is None:
            return None
        start_ms = self.clock.open_at(minute.start_ms)
        fold = self._fold
        candle = replace(fold) if fold is not None else Candle.empty(start_ms, minute.open_minor)
        assert candle.start_ms == start_ms, (candle.start_ms, start_ms)
        candle.merge(minute)
        return candle


@dataclass(frozen=True, slots=True)
class RollingStats:
    """Statistics of the trades in the window ending now (Binance's 24 h ticker fields)."""

    open_ms: int
    close_ms: int
    open_minor: int
    high_minor: int
    low_minor: int
    last_minor: int
    last_quantity_minor: int
    previous_close_minor: int
    volume_minor: int
    quote_volume_minor: int
    count: int
    first_trade_id: int
    last_trade_id: int


class RollingWindow:
    """Trades of the last ``window_s`` seconds, bucketed per second.

    Adding a trade drops the buckets its time has left behind, so the window stays bounded even when
    nobody reads it (no ``@ticker`` subscriber).
    """

    def __init__(self, window_s: int = 86_400) -> None:
        self.window_ms = window_s * MS_PER_S
        self._buckets: deque[Candle] = deque()
        self._highs: deque[Candle] = deque()
        self._lows: deque[Candle] = deque()
        self._volume_minor = 0
        self._quote_volume_minor = 0
        self._count = 0
        self._last_price_minor = 0
        self._last_quantity_minor = 0
        self._expired_close_minor = 0

    def add(self, ts_ms: int, price_minor: int, quantity_minor: int, quote_minor: int, trade_id: int) -> None:
        self._expire(ts_ms)
        second_ms = ts_ms - ts_ms % MS_PER_S
        buckets = self._buckets
        if not buckets or buckets[-1].start_ms < second_ms:
            buckets.append(Candle.empty(second_ms, price_minor))
        bucket = buckets[-1]
        bucket.add(price_minor, quantity_minor, quote_minor, trade_id, False)
        self._track(bucket, quantity_minor, quote_minor, 1, price_minor, quantity_minor)

    def add_second(self, second: Candle, last_quantity_minor: int) -> None:
        """One second of past trades (restored at start), later than any held; ``last_quantity_minor`` is
        the size of its last trade."""
        self._expire(second.start_ms)
        self._buckets.append(second)
        self._track(
            second,
            second.volume_minor,
            second.quote_volume_minor,
            second.count,
            second.close_minor,
            last_quantity_minor,
        )

    def _track(
        self,
        bucket: Candle,
        volume_minor: int,
        quote_minor: int,
        count: int,
        last_price: int,
        last_quantity: int,
    ) -> None:
        """Account for what was just added to ``bucket``: sums, last trade, and the high/low deques."""
        highs, lows = self._highs, self._lows
        if highs and highs[-1] is bucket:
            highs.pop()
        while highs and highs[-1].high_minor <= bucket.high_minor:
            highs.pop()
        highs.append(bucket)
        if lows and lows[-1] is bucket:
            lows.pop()
        while lows and lows[-1].low_minor >= bucket.low_minor:
            lows.pop()
        lows.append(bucket)
        self._volume_minor += volume_minor
        self._quote_volume_minor += quote_minor
        self._count += count
        self._last_price_minor = last_price
        self._last_quantity_minor = last_quantity

    def stats(self, now_ms: int) -> RollingStats:
        self._expire(now_ms)
        open_ms = now_ms - self.window_ms
        buckets = self._buckets
        if not buckets:
            last, quantity, previous = (
                self._last_price_minor,
                self._last_quantity_minor,
                self._expired_close_minor,
            )
            return RollingStats(open_ms, now_ms, last, last, last, last, quantity, previous, 0, 0, 0, -1, -1)
        return RollingStats(
            open_ms=open_ms,
            close_ms=now_ms,
            open_minor=buckets[0].open_minor,
            high_minor=self._highs[0].high_minor,
            low_minor=self._lows[0].low_minor,
            last_minor=self._last_price_minor,
            last_quantity_minor=self._last_quantity_minor,
            previous_close_minor=self._expired_close_minor,
            volume_minor=self._volume_minor,
            quote_volume_minor=self._quote_volume_minor,
            count=self._count,
            first_trade_id=buckets[0].first_trade_id,
            last_trade_id=buckets[-1].last_trade_id,
        )

    def _expire(self, now_ms: int) -> None:
        buckets = self._buckets
        while buckets and buckets[0].start_ms + MS_PER_S <= now_ms - self.window_ms:
            bucket = buckets.popleft()
            self._volume_minor -= bucket.volume_minor
            self._quote_volume_minor -= bucket.quote_volume_minor
            self._count -= bucket.count
            self._expired_close_minor = bucket.close_minor
            if self._highs and self._highs[0] is bucket:
                self._highs.popleft()
            if self._lows and self._lows[0] is bucket:
                self._lows.popleft()
