"""Fixed windows aligned to the epoch, 429 past a limit with Binance's message, and the rateLimits report."""

from __future__ import annotations

from session.binance.rate_limits import RateCounter, RateLimit

MINUTE_WEIGHT = RateLimit("REQUEST_WEIGHT", "MINUTE", 1, 10)
TEN_SECOND_ORDERS = RateLimit("ORDERS", "SECOND", 10, 2)


def test_orders_past_the_limit_are_refused_and_not_counted() -> None:
    orders = RateCounter(TEN_SECOND_ORDERS)
    assert orders.charge(1_000, 1) is None
    assert orders.charge(2_000, 1) is None
    error = orders.charge(3_000, 1)
    assert (error.status, error.code, error.msg) == (
        429,
        -1015,
        "Too many new orders; current limit is 2 orders per 10 SECOND.",
    )
    assert orders.report(3_000) == {
        "rateLimitType": "ORDERS",
        "interval": "SECOND",
        "intervalNum": 10,
        "limit": 2,
        "count": 2,
    }
    assert orders.window_end_ms == 10_000
    assert orders.charge(10_000, 1) is None


def test_weight_windows_start_on_the_minute_and_refused_requests_count() -> None:
    weight = RateCounter(MINUTE_WEIGHT)
    assert weight.charge_weight(59_000, 10) is None
    error = weight.charge_weight(59_500, 1)
    assert (error.status, error.code, error.msg) == (
        429,
        -1003,
        "Too much request weight used; current limit is 10 request weight per 1 MINUTE. "
        "Please use WebSocket Streams for live updates to avoid polling the API.",
    )
    assert weight.report(59_500)["count"] == 11
    assert weight.window_end_ms == 60_000
    assert weight.charge_weight(60_000, 1) is None
    assert weight.report(60_000) == {
        "rateLimitType": "REQUEST_WEIGHT",
        "interval": "MINUTE",
        "intervalNum": 1,
        "limit": 10,
        "count": 1,
    }


def test_a_clock_stepping_back_a_window_starts_that_window_afresh() -> None:
    weight = RateCounter(RateLimit("REQUEST_WEIGHT", "MINUTE", 1, 100))
    weight.charge_weight(120_500.0, 7)
    assert weight.report(179_999.9)["count"] == 7
    assert weight.report(119_999.0)["count"] == 0
    assert (weight.window_start_ms, weight.window_end_ms) == (60_000, 120_000)
