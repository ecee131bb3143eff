"""Binance's ``klines`` and ``uiKlines``: which candles a request names, and the candles as Binance's arrays.

Intervals are Binance's, ``1s`` to ``1M``, counted by ``KlineClock`` in the request's time zone
(``timeZone``, UTC unless sent). ``startTime`` and ``endTime`` are UTC and select klines by their open
time, as on Binance. A symbol's klines start with its first trade; a kline
without trades after that repeats the close before it with no volume, as the kline streams do.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from book.trade_stats import Candle
from config.money import format_minor
from config.settings import SymbolSettings
from session.binance.kline_clock import KlineClock

_MINUTE_MS = 60_000
KLINES_LIMIT_DEFAULT = 500
KLINES_LIMIT_MAX = 1000
_TIME_ZONE = re.compile(r"([+-]?)(\d{1,2})(?::(\d{2}))?")
_OFFSET_MIN_MS, _OFFSET_MAX_MS = -12 * 60 * _MINUTE_MS, 14 * 60 * _MINUTE_MS


def time_zone_offset_ms(text: str | None) -> int | None:
    """``timeZone`` as an offset from UTC: hours and minutes (``-1:00``, ``05:45``) or hours (``8``),
    from -12:00 to +14:00; 0 when not sent, None when it is none of these."""
    if text is None:
        return 0
    match = _TIME_ZONE.fullmatch(text)
    if match is None or int(match[3] or 0) >= 60:
        return None
    offset_ms = (int(match[2]) * 60 + int(match[3] or 0)) * _MINUTE_MS * (-1 if match[1] == "-" else 1)
    return offset_ms if _OFFSET_MIN_MS <= offset_ms <= _OFFSET_MAX_MS else None


def kline_opens(
    clock: KlineClock, *, start_ms: int | None, end_ms: int | None, limit: int, now_ms: int
) -> list[int]:
    """The open times of the klines a request names, oldest first: the first ``limit`` opening at or
    after ``start_ms``, or without it the last ``limit`` opening by ``end_ms``; none opens after
    ``end_ms`` or now."""
    last_ms = now_ms if end_ms is None else min(end_ms, now_ms)
    opens: list[int] = []
    if start_ms is not None:
        at = clock.open_at(start_ms)
        if at < start_ms:
            at = clock.after(at)
        while at <= last_ms and len(opens) < limit:
            opens.append(at)
            at = clock.after(at)
        return opens
    at = clock.open_at(last_ms)
    while len(opens) < limit:
        opens.append(at)
        at = clock.before(at)
    return opens[::-1]


def klines(
    symbol: SymbolSettings,
    clock: KlineClock,
    opens: list[int],
    candles: Iterable[Candle],
    previous_close_minor: int | None,
) -> list[list[int | str]]:
    """One array per open time: the trades' candle (``candles`` are store buckets, folded into months
    for ``1M``), or an empty one at the close before it; none before the symbol's first trade."""
    by_open: dict[int, Candle] = {}
    for candle in candles:
        open_ms = clock.open_at(candle.start_ms)
        kline = by_open.get(open_ms)
        if kline is None:
            kline = by_open[open_ms] = Candle.empty(open_ms, candle.open_minor)
        kline.merge(candle)
    rows: list[list[int | str]] = []
    close_minor = previous_close_minor
    for open_ms in opens:
        kline = by_open.get(open_ms)
        if kline is None:
            if close_minor is None:
                continue
            kline = Candle.empty(open_ms, close_minor)
        close_minor = kline.close_minor
        rows.append(_row(symbol, kline, clock.after(open_ms) - 1))
    return rows


def _row(symbol: SymbolSettings, kline: Candle, close_ms: int) -> list[int | str]:
    price, quantity = symbol.quote_scale, symbol.base_scale
    return [
        kline.start_ms,
        format_minor(kline.open_minor, price),
        format_minor(kline.high_minor, price),
        format_minor(kline.low_minor, price),
        format_minor(kline.close_minor, price),
        format_minor(kline.volume_minor, quantity),
        close_ms,
        format_minor(kline.quote_volume_minor, price),
        kline.count,
        format_minor(kline.taker_buy_volume_minor, quantity),
        format_minor(kline.taker_buy_quote_volume_minor, price),
        "0",
    ]
