"""How late the event loop runs a timer: the time it spent on one thing while everything else waited.

Everything in the gateway shares one loop, and some of its work holds it: a small SQLite commit waits
for its disk sync on the loop thread, a turn of many orders runs to its end. A timer's lateness shows
that cost as clients feel it (acks, heartbeats, market data all wait), where CPU figures do not.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog

log = structlog.get_logger("gateway.loop_lag")
LOOP_LAG_PROBE_INTERVAL_S = 0.1
LOOP_STALL_LOGGED_S = 1.0


async def watch_loop_lag(
    observe_s: Callable[[float], None],
    *,
    interval_s: float = LOOP_LAG_PROBE_INTERVAL_S,
    stall_logged_s: float = LOOP_STALL_LOGGED_S,
) -> None:
    """Every ``interval_s``, report how late the timer fired; log a lateness of ``stall_logged_s`` or more."""
    loop = asyncio.get_running_loop()
    while True:
        due_s = loop.time() + interval_s
        await asyncio.sleep(interval_s)
        lag_s = max(0.0, loop.time() - due_s)
        observe_s(lag_s)
        if lag_s >= stall_logged_s:
            log.warning("event loop stalled", stall_ms=round(lag_s * 1000))
