"""The loop-thread series render as Prometheus counters, gauges and cumulative histograms."""

from __future__ import annotations

from gateway.metrics import Metrics


def test_series_render_with_prometheus_semantics() -> None:
    metrics = Metrics()
    metrics.orders.labels("BTCUSDT").inc()
    metrics.orders.labels("BTCUSDT").inc(2)
    metrics.ack_latency_s.observe(0.001)  # on a bound: counted in that bucket (le means <=)
    metrics.ack_latency_s.observe(0.0011)
    metrics.ack_latency_s.observe(7.0)
    depth = [4]
    metrics.queue_depth.read("BTCUSDT", lambda: depth[0])
    depth[0] = 5
    lines = set(metrics.render().decode().splitlines())
    assert 'gateway_orders_total{symbol="BTCUSDT"} 3.0' in lines
    assert 'gateway_ack_latency_seconds_bucket{le="0.0005"} 0.0' in lines
    assert 'gateway_ack_latency_seconds_bucket{le="0.001"} 1.0' in lines
    assert 'gateway_ack_latency_seconds_bucket{le="0.0025"} 2.0' in lines
    assert 'gateway_ack_latency_seconds_bucket{le="1.0"} 2.0' in lines
    assert 'gateway_ack_latency_seconds_bucket{le="+Inf"} 3.0' in lines
    assert "gateway_ack_latency_seconds_count 3.0" in lines
    assert 'gateway_book_queue_depth{symbol="BTCUSDT"} 5.0' in lines
