"""Request-weight and order-count limits in fixed windows, reported as Binance's ``rateLimits``.

Windows are aligned to the epoch (a MINUTE window starts on the minute), as Binance counts them. A request
past a limit is refused with 429; the connection's owner disconnects a client that keeps going. Weight is
counted per client address, orders per API key.
"""

from __future__ import annotations

from dataclasses import dataclass

from session.binance.errors import ApiError, too_many_orders, too_many_requests

INTERVAL_MS = {"SECOND": 1000, "MINUTE": 60_000, "HOUR": 3_600_000, "DAY": 86_400_000}


@dataclass(frozen=True, slots=True)
class RateLimit:
    kind: str
    interval: str
    interval_count: int
    limit: int

    @property
    def span_ms(self) -> int:
        return INTERVAL_MS[self.interval] * self.interval_count

    def describe(self) -> str:
        """The window as Binance's messages name it: "10 SECOND", "1 MINUTE"."""
        return f"{self.interval_count} {self.interval}"


class RateCounter:
    """One limit's count in the current window."""

    __slots__ = ("_report_head", "count", "limit", "span_ms", "window_end_ms", "window_start_ms")

    def __init__(self, limit: RateLimit) -> None:
        self.limit = limit
        self.span_ms = limit.span_ms
        self.window_start_ms = 0
        self.window_end_ms = self.span_ms  # when the window ends and a refused client may retry
        self.count = 0
        self._report_head = {
            "rateLimitType": limit.kind,
            "interval": limit.interval,
            "intervalNum": limit.interval_count,
            "limit": limit.limit,
        }

    def _roll(self, now_ms: float) -> None:
        """Start a new window once ``now_ms`` is outside the current one (checked several times a
        request, so the common case, still inside, is one chained comparison)."""
        if not self.window_start_ms <= now_ms < self.window_end_ms:
            self.window_start_ms = int(now_ms) // self.span_ms * self.span_ms
            self.window_end_ms = self.window_start_ms + self.span_ms
            self.count = 0

    def charge_weight(self, now_ms: float, weight: int) -> ApiError | None:
        """Count a request's weight (refused requests count too, as Binance counts them); return the
        error once the count is past this weight limit."""
        self._roll(now_ms)
        self.count += weight
        if self.count > self.limit.limit:
            return too_many_requests(self.limit.limit, self.limit.describe())
        return None

    def charge(self, now_ms: float, orders: int) -> ApiError | None:
        """Count ``orders`` against this order limit, or return its error (and count nothing)."""
        self._roll(now_ms)
        if self.count + orders > self.limit.limit:
            return too_many_orders(self.limit.limit, self.limit.describe())
        self.count += orders
        return None

    def report(self, now_ms: float) -> dict[str, object]:
        self._roll(now_ms)
        return {**self._report_head, "count": self.count}
