"""Prometheus metrics of the process, in one registry the HTTP endpoint renders.

prometheus_client does the exposition format. The series bumped on the order path (orders, fills,
rejects, ack latency) count in plain ints on the event loop's thread and are read by the endpoint on
that same thread: prometheus_client's own counters take a lock on every increment, which cost 4-5% of
the loop's time per order in ``scripts/bench_ws.py``.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.utils import floatToGoString

_LATENCY_BUCKETS_S = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


class Count:
    """One series of a ``LoopCounter``."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0

    def inc(self, amount: int = 1) -> None:
        self.value += amount


class LoopCounter:
    """A counter with one label, updated and collected on the event loop's thread only."""

    def __init__(self, name: str, documentation: str, label: str) -> None:
        self._name, self._documentation, self._label = name, documentation, label
        self._series: dict[str, Count] = {}

    def labels(self, value: str) -> Count:
        series = self._series.get(value)
        if series is None:
            series = self._series[value] = Count()
        return series

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(self._name, self._documentation, labels=[self._label])
        for value, series in self._series.items():
            family.add_metric([value], series.value)
        yield family


class LoopHistogram:
    """A histogram updated and collected on the event loop's thread only."""

    def __init__(self, name: str, documentation: str, buckets: tuple[float, ...]) -> None:
        self._name, self._documentation = name, documentation
        self._bounds = buckets
        self._counts = [0] * (len(buckets) + 1)
        self._sum = 0.0

    def observe(self, value: float) -> None:
        self._counts[bisect_left(self._bounds, value)] += 1
        self._sum += value

    def collect(self) -> Iterator[Metric]:
        cumulative, buckets = 0, []
        for bound, count in zip((*self._bounds, float("inf")), self._counts, strict=True):
            cumulative += count
            buckets.append((floatToGoString(bound), cumulative))
        family = HistogramMetricFamily(self._name, self._documentation)
        family.add_metric([], buckets, sum_value=self._sum)
        yield family


class LoopGauges:
    """A gauge with one label whose values are read at collection (say, each book's queue length)."""

    def __init__(self, name: str, documentation: str, label: str) -> None:
        self._name, self._documentation, self._label = name, documentation, label
        self._readers: dict[str, Callable[[], float]] = {}

    def read(self, value: str, reader: Callable[[], float]) -> None:
        self._readers[value] = reader

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(self._name, self._documentation, labels=[self._label])
        for value, reader in self._readers.items():
            family.add_metric([value], reader())
        yield family


class Metrics:
    """The gateway's series; one instance per process (tests make their own)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.orders = LoopCounter("gateway_orders", "Orders received, by symbol.", "symbol")
        self.fills = LoopCounter("gateway_fills", "Trades executed, by symbol.", "symbol")
        self.rejects = LoopCounter("gateway_rejects", "Commands rejected, by reason.", "reason")
        self.ack_latency_s = LoopHistogram(
            "gateway_ack_latency_seconds",
            "From a command entering its book queue to its durable commit.",
            _LATENCY_BUCKETS_S,
        )
        self.commit_latency_s = LoopHistogram(
            "gateway_commit_latency_seconds", "Duration of one group commit.", _LATENCY_BUCKETS_S
        )
        self.loop_lag_s = LoopHistogram(
            "gateway_loop_lag_seconds",
            "How late a timer probing the event loop fired: the time the loop spent on one thing.",
            _LATENCY_BUCKETS_S,
        )
        self.queue_depth = LoopGauges("gateway_book_queue_depth", "Commands waiting per book.", "symbol")
        for collector in (
            self.orders,
            self.fills,
            self.rejects,
            self.ack_latency_s,
            self.commit_latency_s,
            self.loop_lag_s,
            self.queue_depth,
        ):
            registry.register(collector)
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
