"""Garbage collection on a schedule, so no collection pauses trading for long.

Reference counting frees what the order path drops: it makes no reference cycles (a full collection
after 100,000 benchmark orders found nothing to free), so the cyclic collector is a safety net. Left to
CPython's thresholds it paused the loop in two ways, measured with ``gc.callbacks`` under
``scripts/bench_gateway.py``: a young generation of 50,000 objects took 20-35 ms to scan, and a full
collection over a growing book took 125-185 ms whenever the old generation grew by a quarter. Either
pause put every order that arrived during it past the p99. So the young generation stays small (about
0.2 ms per collection), what survives it is frozen at once, and the full collection runs only every
``gc_full_collection_interval_s``.

Freezing the survivors of each young collection means every object is scanned once, in the young
generation, and never again until the full collection: the middle generation stays empty. Before, it
was collected every tenth young collection and, holding the survivors of ten, took 3.1 ms of CPU at
the median and 9.2 ms at the p99 (100 collections in an 8 s run at 1,000 orders/s), the largest
pauses left. Frozen objects are still freed by reference counting; only a reference cycle that
becomes garbage after being frozen waits for the scheduled full collection, which thaws everything
first.
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
    """Keep the recovered state out of every collection, set the young thresholds, and freeze what
    survives each young collection from now on."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*YOUNG_THRESHOLDS, FULL_COLLECTION_NEVER)
    if freeze_young_survivors not in gc.callbacks:
        gc.callbacks.append(freeze_young_survivors)


def freeze_young_survivors(phase: str, info: dict[str, int]) -> None:
    """A ``gc.callbacks`` hook: what a young collection left alive moves out of every later one."""
    if phase == "stop" and info["generation"] == 0:
        gc.freeze()


async def collect_fully_every(interval_s: float) -> None:
    """The full collection on a schedule, over everything frozen since the last one too, logged with
    how long it paused the loop."""
    while True:
        await asyncio.sleep(interval_s)
        started = time.perf_counter()
        gc.unfreeze()
        unreachable = gc.collect()
        gc.freeze()
        log.info(
            "full garbage collection",
            pause_ms=round((time.perf_counter() - started) * 1000, 1),
            unreachable=unreachable,
        )
