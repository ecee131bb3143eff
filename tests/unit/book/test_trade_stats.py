"""Rolling 24 h statistics and klines agree with a brute-force computation over the same trades."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from book.trade_stats import Candle, DerivedKlines, KlineSeries, RollingWindow

trades_strategy = st.lists(
    st.tuples(st.integers(0, 3_000), st.integers(1, 500), st.integers(1, 50)), min_size=0, max_size=80
)


def timeline(steps: list[tuple[int, int, int]]) -> list[tuple[int, int, int, int]]:
    """(ts_ms, price, quantity, trade_id) with non-decreasing times."""
    ts_ms, out = 1_700_000_000_000, []
    for trade_id, (gap_ms, price, quantity) in enumerate(steps, start=1):
        ts_ms += gap_ms
        out.append((ts_ms, price, quantity, trade_id))
    return out


@settings(max_examples=200, deadline=None)
@given(trades_strategy, st.integers(0, 20_000))
def test_rolling_window_matches_brute_force(steps: list[tuple[int, int, int]], after_ms: int) -> None:
    window = RollingWindow(window_s=10)
    trades = timeline(steps)
    for ts_ms, price, quantity, trade_id in trades:
        window.add(ts_ms, price, quantity, price * quantity, trade_id)
    now_ms = (trades[-1][0] if trades else 1_700_000_000_000) + after_ms
    stats = window.stats(now_ms)
    # A trade is inside while its one-second bucket overlaps the window (now - 10 s, now].
    inside = [t for t in trades if t[0] - t[0] % 1000 + 1000 > now_ms - 10_000]
    assert stats.count == len(inside)
    assert stats.volume_minor == sum(t[2] for t in inside)
    assert stats.quote_volume_minor == sum(t[1] * t[2] for t in inside)
    if inside:
        assert stats.open_minor == inside[0][1]
        assert stats.high_minor == max(t[1] for t in inside)
        assert stats.low_minor == min(t[1] for t in inside)
        assert (stats.first_trade_id, stats.last_trade_id) == (inside[0][3], inside[-1][3])
    else:
        assert (stats.first_trade_id, stats.last_trade_id) == (-1, -1)
    if trades:
        assert (stats.last_minor, stats.last_quantity_minor) == (trades[-1][1], trades[-1][2])
    before = [t for t in trades if t not in inside]
    assert stats.previous_close_minor == (before[-1][1] if before else 0)


@settings(max_examples=200, deadline=None)
@given(trades_strategy)
def test_klines_partition_trades_by_interval(steps: list[tuple[int, int, int]]) -> None:
    series = KlineSeries(interval_ms=2_000)
    closed: list[Candle] = []
    trades = timeline(steps)
    for ts_ms, price, quantity, trade_id in trades:
        candle = series.add(ts_ms, price, quantity, price * quantity, trade_id, taker_buys=trade_id % 2 == 0)
        if candle is not None:
            closed.append(candle)
    candles = [c for c in [*closed, series.current] if c is not None and c.count]
    by_start: dict[int, list[tuple[int, int, int, int]]] = {}
    for trade in trades:
        by_start.setdefault(trade[0] - trade[0] % 2_000, []).append(trade)
    assert [c.start_ms for c in candles] == sorted(by_start)
    for candle in candles:
        group = by_start[candle.start_ms]
        prices = [t[1] for t in group]
        assert (candle.open_minor, candle.close_minor) == (prices[0], prices[-1])
        assert (candle.high_minor, candle.low_minor) == (max(prices), min(prices))
        assert candle.volume_minor == sum(t[2] for t in group)
        assert candle.taker_buy_volume_minor == sum(t[2] for t in group if t[3] % 2 == 0)
        assert (candle.first_trade_id, candle.last_trade_id, candle.count) == (
            group[0][3],
            group[-1][3],
            len(group),
        )


def test_an_interval_without_trades_opens_at_the_previous_close() -> None:
    series = KlineSeries(interval_ms=60_000)
    series.add(60_500, 100, 1, 100, 1, taker_buys=True)
    series.add(61_000, 105, 1, 105, 2, taker_buys=False)
    closed = series.roll(125_000)
    assert closed is not None and (closed.start_ms, closed.close_minor, closed.count) == (60_000, 105, 2)
    current = series.current
    assert current is not None
    assert (current.start_ms, current.open_minor, current.close_minor, current.count) == (
        120_000,
        105,
        105,
        0,
    )
    assert series.roll(130_000) is None


def per_second(trades: list[tuple[int, int, int, int]]) -> list[tuple[Candle, int]]:
    """Trades aggregated per second as a store restores them, with each second's last trade size."""
    seconds: list[tuple[Candle, int]] = []
    for ts_ms, price, quantity, trade_id in trades:
        start = ts_ms - ts_ms % 1000
        if not seconds or seconds[-1][0].start_ms != start:
            seconds.append((Candle.empty(start, price), 0))
        seconds[-1][0].add(price, quantity, price * quantity, trade_id, taker_buys=trade_id % 2 == 0)
        seconds[-1] = (seconds[-1][0], quantity)
    return seconds


@settings(max_examples=200, deadline=None)
@given(trades_strategy, st.integers(0, 20_000))
def test_restoring_per_second_aggregates_gives_the_same_statistics(
    steps: list[tuple[int, int, int]], after_ms: int
) -> None:
    trades = timeline(steps)
    live, restored = RollingWindow(window_s=10), RollingWindow(window_s=10)
    live_kline, restored_kline = KlineSeries(interval_ms=2_000), KlineSeries(interval_ms=2_000)
    for ts_ms, price, quantity, trade_id in trades:
        live.add(ts_ms, price, quantity, price * quantity, trade_id)
        live_kline.add(ts_ms, price, quantity, price * quantity, trade_id, taker_buys=trade_id % 2 == 0)
    for second, last_quantity in per_second(trades):
        restored.add_second(second, last_quantity)
        restored_kline.add_second(second)
    now_ms = (trades[-1][0] if trades else 1_700_000_000_000) + after_ms
    assert restored.stats(now_ms) == live.stats(now_ms)
    assert restored_kline.current == live_kline.current


class TenMinutes:
    """A clock of ten-minute candles (the stream's are ``session.binance.kline_clock``'s)."""

    def open_at(self, ts_ms: int) -> int:
        return ts_ms - ts_ms % 600_000

    def after(self, open_ms: int) -> int:
        return open_ms + 600_000


def minute(start_minute: int, price: int, trade_id: int) -> Candle:
    candle = Candle.empty(start_minute * 60_000, price)
    candle.add(price, 10, 10 * price, trade_id, False)
    return candle


def test_a_seeded_candle_counts_the_stored_trades_once_and_the_restored_minutes_after_them() -> None:
    """The trades before the restored window come from the seed; the last of them, restored again as the
    trade before the window (the 24 h ticker's previous close), is not counted twice."""
    base = 1_700_000_400_000 // 600_000 * 600  # a ten-minute boundary, in minutes
    stored = Candle.empty(base * 60_000, 100)
    stored.merge(minute(base + 1, 100, 1))
    stored.merge(minute(base + 3, 130, 2))
    klines = DerivedKlines(TenMinutes())
    klines.seed(stored, until_ms=(base + 5) * 60_000)
    assert klines.minute_closed(minute(base + 3, 130, 2), (base + 4) * 60_000) == []
    assert klines.minute_closed(minute(base + 5, 90, 3), (base + 6) * 60_000) == []
    candle = klines.current(minute(base + 6, 110, 4))
    assert candle is not None
    assert (candle.start_ms, candle.count, candle.first_trade_id, candle.last_trade_id) == (
        base * 60_000,
        4,
        1,
        4,
    )
    assert (candle.open_minor, candle.high_minor, candle.low_minor, candle.close_minor) == (100, 130, 90, 110)
    assert candle.volume_minor == 40


def test_without_stored_trades_a_minute_before_the_window_opens_no_stale_candle() -> None:
    base = 1_700_000_400_000 // 600_000 * 600
    klines = DerivedKlines(TenMinutes())
    klines.seed(None, until_ms=(base + 20) * 60_000)
    assert klines.minute_closed(minute(base + 1, 100, 1), (base + 21) * 60_000) == []
    assert klines.current(None) is None
    candle = klines.current(minute(base + 21, 120, 2))
    assert candle is not None and (candle.start_ms, candle.count) == ((base + 20) * 60_000, 1)
