"""Binance's klines: time zones, where each interval's klines open, which a request names, the arrays."""

from __future__ import annotations

import datetime

import pytest

from book.trade_stats import Candle
from config import load_settings
from session.binance.kline_clock import KlineClock
from session.binance.klines import kline_opens, klines, time_zone_offset_ms

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
COIN = 10**8
BTCUSDT = load_settings("config/demo.toml").symbols["BTCUSDT"]


def utc_ms(*fields: int) -> int:
    return int(datetime.datetime(*fields, tzinfo=datetime.UTC).timestamp() * 1000)


@pytest.mark.parametrize(
    ("text", "offset_ms"),
    [
        (None, 0),
        ("0", 0),
        ("8", 8 * HOUR_MS),
        ("+8", 8 * HOUR_MS),
        ("-1:00", -HOUR_MS),
        ("05:45", 5 * HOUR_MS + 45 * 60_000),
        ("14:00", 14 * HOUR_MS),
        ("-12:00", -12 * HOUR_MS),
    ],
)
def test_time_zones_binance_accepts(text: str | None, offset_ms: int) -> None:
    assert time_zone_offset_ms(text) == offset_ms


@pytest.mark.parametrize("text", ["14:01", "-12:30", "15", "5:60", "UTC", "", "1:5", "+-1", "123"])
def test_time_zones_outside_binances_forms_or_range_are_none(text: str) -> None:
    assert time_zone_offset_ms(text) is None


def test_klines_open_at_whole_intervals_in_their_time_zone() -> None:
    at = utc_ms(2026, 12, 9, 13, 37, 21) + 456  # a Wednesday
    assert KlineClock("1s").open_at(at) == at - 456
    assert KlineClock("1m").open_at(at) == utc_ms(2026, 12, 9, 13, 37)
    assert KlineClock("4h").open_at(at) == utc_ms(2026, 12, 9, 12)
    assert KlineClock("1h", 5 * HOUR_MS + 45 * 60_000).open_at(at) == utc_ms(2026, 12, 9, 13, 15)
    assert KlineClock("1d", 8 * HOUR_MS).open_at(at) == utc_ms(2026, 12, 8, 16)
    assert KlineClock("1w").open_at(at) == utc_ms(2026, 12, 7)  # Monday
    assert KlineClock("1w", -HOUR_MS).open_at(utc_ms(2026, 12, 7, 0, 30)) == utc_ms(2026, 11, 30, 1)
    assert KlineClock("3d").open_at(at) % (3 * DAY_MS) == 0
    assert KlineClock("1M").open_at(at) == utc_ms(2026, 12, 1)
    assert KlineClock("1M", 8 * HOUR_MS).open_at(utc_ms(2026, 11, 30, 17)) == utc_ms(2026, 11, 30, 16)


def test_the_next_and_previous_kline_of_a_month_follow_the_calendar() -> None:
    clock = KlineClock("1M")
    assert clock.after(utc_ms(2026, 12, 1)) == utc_ms(2027, 1, 1)
    assert clock.before(utc_ms(2027, 1, 1)) == utc_ms(2026, 12, 1)
    assert clock.after(utc_ms(2028, 2, 1)) - utc_ms(2028, 2, 1) == 29 * DAY_MS
    assert KlineClock("1M", -HOUR_MS).after(utc_ms(2026, 3, 1, 1)) == utc_ms(2026, 4, 1, 1)
    assert KlineClock("5m").after(utc_ms(2026, 12, 1)) == utc_ms(2026, 12, 1, 0, 5)
    assert KlineClock("5m").before(utc_ms(2026, 12, 1)) == utc_ms(2026, 11, 30, 23, 55)


def test_a_start_time_names_the_klines_opening_at_or_after_it() -> None:
    clock = KlineClock("1h")
    now = 1655990000000
    # Binance's own example: startTime 1655969280000 with limit 1 gives the kline opening 1655971200000.
    assert kline_opens(clock, start_ms=1655969280000, end_ms=None, limit=1, now_ms=now) == [1655971200000]
    assert kline_opens(clock, start_ms=1655971200000, end_ms=None, limit=2, now_ms=now) == [
        1655971200000,
        1655971200000 + HOUR_MS,
    ]
    named = kline_opens(clock, start_ms=1655971200000, end_ms=1655971200000 + HOUR_MS, limit=500, now_ms=now)
    assert named == [1655971200000, 1655971200000 + HOUR_MS]
    assert kline_opens(clock, start_ms=now + 1, end_ms=None, limit=500, now_ms=now) == []


def test_without_a_start_time_the_last_klines_up_to_the_end_time_or_now() -> None:
    clock = KlineClock("1m")
    now = utc_ms(2026, 12, 7, 14, 0, 30)
    assert kline_opens(clock, start_ms=None, end_ms=None, limit=3, now_ms=now) == [
        utc_ms(2026, 12, 7, 13, 58),
        utc_ms(2026, 12, 7, 13, 59),
        utc_ms(2026, 12, 7, 14),
    ]
    assert kline_opens(clock, start_ms=None, end_ms=utc_ms(2026, 12, 7, 12, 0, 59), limit=1, now_ms=now) == [
        utc_ms(2026, 12, 7, 12)
    ]
    future = kline_opens(clock, start_ms=None, end_ms=now + DAY_MS, limit=1, now_ms=now)
    assert future == [utc_ms(2026, 12, 7, 14)]


def candle(start_ms: int, *prices: int, quantity: int = COIN // 10) -> Candle:
    bucket = Candle.empty(start_ms, prices[0])
    for trade_id, price in enumerate(prices, start=start_ms):
        bucket.add(price * COIN, quantity, price * quantity, trade_id, taker_buys=trade_id % 2 == 0)
    return bucket


def test_klines_are_binances_arrays_and_one_without_trades_repeats_the_close_before_it() -> None:
    clock = KlineClock("1m")
    minute = 60_000
    opens = [0, minute, 2 * minute, 3 * minute]
    rows = klines(BTCUSDT, clock, opens, [candle(minute, 100, 120, 90, 110), candle(3 * minute, 105)], None)
    assert rows == [
        [
            minute,
            "100.00000000",
            "120.00000000",
            "90.00000000",
            "110.00000000",
            "0.40000000",
            2 * minute - 1,
            "42.00000000",
            4,
            "0.20000000",
            "19.00000000",
            "0",
        ],
        [2 * minute, *["110.00000000"] * 4, "0.00000000", 3 * minute - 1, "0.00000000", 0,
         "0.00000000", "0.00000000", "0"],
        [3 * minute, *["105.00000000"] * 4, "0.10000000", 4 * minute - 1, "10.50000000", 1,
         "0.10000000", "10.50000000", "0"],
    ]  # fmt: skip
    with_close_before = klines(BTCUSDT, clock, [0], [], 99 * COIN)
    assert with_close_before[0][1:6] == ["99.00000000"] * 4 + ["0.00000000"]


def test_a_months_kline_folds_the_days_the_store_grouped() -> None:
    clock = KlineClock("1M")
    december, january = utc_ms(2026, 12, 1), utc_ms(2027, 1, 1)
    days = [candle(december + DAY_MS, 100), candle(december + 20 * DAY_MS, 130, 80), candle(january, 90)]
    (month, next_month) = klines(BTCUSDT, clock, [december, january], days, None)
    assert month[:9] == [
        december,
        "100.00000000",
        "130.00000000",
        "80.00000000",
        "80.00000000",
        "0.30000000",
        january - 1,
        "31.00000000",
        3,
    ]
    assert (next_month[0], next_month[1], next_month[8]) == (january, "90.00000000", 1)
