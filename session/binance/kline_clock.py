"""Where Binance's klines open and close, for every interval from ``1s`` to ``1M`` in any time zone.

A kline opens where its length divides the time since the epoch in its time zone; weeks open on
Mondays, months on the first of the month, ``3d`` every third day from the epoch. The ``klines`` method
and the kline streams both count by it, so a stream's candle and the method's agree.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

_DAY_MS = 86_400_000
_HOUR_MS = 3_600_000
_MONTH = "1M"
# Fixed-length intervals and where they are counted from: weeks from 1970-01-05, the first Monday
# after the epoch (a Thursday).
_LENGTHS_MS = {
    "1s": 1000,
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": _HOUR_MS,
    "2h": 2 * _HOUR_MS,
    "4h": 4 * _HOUR_MS,
    "6h": 6 * _HOUR_MS,
    "8h": 8 * _HOUR_MS,
    "12h": 12 * _HOUR_MS,
    "1d": _DAY_MS,
    "3d": 3 * _DAY_MS,
    "1w": 7 * _DAY_MS,
}
_ANCHORS_MS = {"1w": 4 * _DAY_MS}
KLINE_INTERVALS = (*_LENGTHS_MS, _MONTH)  # Binance's, shortest first
_EPOCH = datetime.datetime(1970, 1, 1)
_ONE_MS = datetime.timedelta(milliseconds=1)


@dataclass(frozen=True, slots=True)
class KlineClock:
    """Where the klines of one interval open, in one time zone (all times UTC milliseconds)."""

    interval: str
    offset_ms: int = 0

    @property
    def bucket_ms(self) -> int:
        """The length the store groups trades by: the interval's, or a day for months."""
        return _DAY_MS if self.interval == _MONTH else _LENGTHS_MS[self.interval]

    @property
    def shift_ms(self) -> int:
        """What is added to a time before dividing it by ``bucket_ms``, so that buckets start at opens."""
        return self.offset_ms - _ANCHORS_MS.get(self.interval, 0)

    def open_at(self, ts_ms: int) -> int:
        """The open time of the kline ``ts_ms`` falls in."""
        if self.interval != _MONTH:
            length, shift = self.bucket_ms, self.shift_ms
            return (ts_ms + shift) // length * length - shift
        local = _EPOCH + (ts_ms + self.offset_ms) * _ONE_MS
        return self._month_start_ms(local.year, local.month)

    def after(self, open_ms: int) -> int:
        """The open time of the next kline."""
        return self._step(open_ms, 1)

    def before(self, open_ms: int) -> int:
        """The open time of the previous kline."""
        return self._step(open_ms, -1)

    def _step(self, open_ms: int, klines: int) -> int:
        if self.interval != _MONTH:
            return open_ms + klines * self.bucket_ms
        local = _EPOCH + (open_ms + self.offset_ms) * _ONE_MS
        months = local.year * 12 + local.month - 1 + klines
        return self._month_start_ms(months // 12, months % 12 + 1)

    def _month_start_ms(self, year: int, month: int) -> int:
        return (datetime.datetime(year, month, 1) - _EPOCH) // _ONE_MS - self.offset_ms
