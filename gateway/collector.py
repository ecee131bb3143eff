"""Garbage collection on a schedule, so no collection pauses trading for long.

Reference counting frees what the order path drops: it makes no reference cycles (a full collection
after 100,000 benchmark orders found nothing to free), so the cyclic collector is a safety net. Left to
CPython's thresholds it paused the loop in two ways, measured with ``gc.callbacks`` under
``scripts/bench_gateway.py``: a young generation of 50,000 objects took 20-35 ms to scan, and a full
collection over a growing book took 125-185 ms whenever the old generation grew by a quarter. Either
pause put every order that arrived during it past the p99. So the young generations stay small (about
0.2 ms per collection, 2-5 ms for the middle one) and the full collection runs only every
``gc_full_collection_interval_s``.
"""

from __future__ import annotations

import asyncio
import gc
import time

import structlog

log = structlog.get_logger("gateway.collector")

YOUNG_THRESHOLDS = (1_000, 10)
# Not reached: CPython would run the full collection after this many middle-generation collections (the
# largest it takes), and every scheduled full collection starts the count again.
FULL_COLLECTION_NEVER = 2**31 - 1


def settle_after_start() -> None:
    """Keep the recovered state out of every collection and set the young thresholds."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*YOUNG_THRESHOLDS, FULL_COLLECTION_NEVER)


async def collect_fully_every(interval_s: float) -> None:
    """The full collection on a schedule, logged with how long it paused the loop."""
    while True:
        await asyncio.sleep(interval_s)
        started = time.perf_counter()
        unreachable = gc.collect()
        log.info(
            "full garbage collection",
            pause_ms=round((time.perf_counter() - started) * 1000, 1),
            unreachable=unreachable,
        )
