"""The loop-lag probe: a turn that holds the loop shows as a late timer, and a long one is logged."""

from __future__ import annotations

import asyncio
import contextlib
import time

from structlog.testing import capture_logs

from gateway.loop_lag import watch_loop_lag


async def test_a_turn_that_holds_the_loop_is_measured_and_a_stall_is_logged() -> None:
    lags_s: list[float] = []
    with capture_logs() as logs:
        watcher = asyncio.create_task(watch_loop_lag(lags_s.append, interval_s=0.02, stall_logged_s=0.2))
        await asyncio.sleep(0.1)
        quiet = list(lags_s)
        time.sleep(0.3)  # a callback that blocks the loop, as a stalled disk sync would
        await asyncio.sleep(0.1)
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
    assert quiet and max(quiet) < 0.2
    assert max(lags_s) >= 0.25
    stalls = [entry for entry in logs if entry["event"] == "event loop stalled"]
    assert len(stalls) == 1 and stalls[0]["stall_ms"] >= 250
