"""Fixed windows aligned to the epoch, 429 past a limit, and the rateLimits report."""

from __future__ import annotations

from session.binance.rate_limits import RateCounter, RateLimit, RateLimiter

MINUTE_WEIGHT = RateLimit("REQUEST_WEIGHT", "MINUTE", 1, 10)
TEN_SECOND_ORDERS = RateLimit("ORDERS", "SECOND", 10, 2)


def limiter() -> RateLimiter:
    return RateLimiter([RateCounter(MINUTE_WEIGHT)], [RateCounter(TEN_SECOND_ORDERS)])


def test_orders_past_the_limit_are_refused_and_not_counted() -> None:
    limits = limiter()
    assert limits.charge(1_000, weight=1, orders=1) is None
    assert limits.charge(2_000, weight=1, orders=1) is None
    error = limits.charge(3_000, weight=1, orders=1)
    assert (error.status, error.code, error.msg) == (
        429,
        -1015,
        "Too many new orders; current limit is 2 orders per 10 seconds.",
    )
    report = limits.report(3_000, include_orders=True)
    assert report[0] == {
        "rateLimitType": "ORDERS",
        "interval": "SECOND",
        "intervalNum": 10,
        "limit": 2,
        "count": 2,
    }
    assert report[1]["count"] == 3
    assert limits.charge(10_000, weight=1, orders=1) is None


def test_weight_windows_start_on_the_minute() -> None:
    limits = limiter()
    assert limits.charge(59_000, weight=10, orders=0) is None
    assert limits.charge(59_500, weight=1, orders=0).code == -1003
    assert limits.charge(60_000, weight=1, orders=0) is None
    assert limits.report(60_000, include_orders=False) == [
        {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 10, "count": 1}
    ]
