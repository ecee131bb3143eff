"""Prometheus metrics of the process, in one registry the HTTP endpoint renders.

prometheus_client does the exposition format and the histogram buckets; we only name the series.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_LATENCY_BUCKETS_S = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


class Metrics:
    """The gateway's series; one instance per process (tests make their own)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.orders = Counter("gateway_orders", "Orders received, by symbol.", ["symbol"], registry=registry)
        self.fills = Counter("gateway_fills", "Trades executed, by symbol.", ["symbol"], registry=registry)
        self.rejects = Counter(
            "gateway_rejects", "Commands rejected, by reason.", ["reason"], registry=registry
        )
        self.ack_latency_s = Histogram(
            "gateway_ack_latency_seconds",
            "From a command entering its book queue to its durable commit.",
            buckets=_LATENCY_BUCKETS_S,
            registry=registry,
        )
        self.commit_latency_s = Histogram(
            "gateway_commit_latency_seconds",
            "Duration of one group commit.",
            buckets=_LATENCY_BUCKETS_S,
            registry=registry,
        )
        self.queue_depth = Gauge(
            "gateway_book_queue_depth", "Commands waiting per book.", ["symbol"], registry=registry
        )
        self.sessions = Gauge(
            "gateway_sessions", "Connected sessions, by protocol.", ["protocol"], registry=registry
        )
        self.subscribers = Gauge(
            "gateway_market_data_subscribers", "Market-data subscribers.", registry=registry
        )
        self.slow_consumers = Counter(
            "gateway_slow_consumer_disconnects",
            "Subscribers disconnected for falling behind.",
            registry=registry,
        )

    def render(self) -> bytes:
        """Return the Prometheus text exposition of every series."""
        return generate_latest(self.registry)
