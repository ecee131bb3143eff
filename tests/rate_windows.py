"""Rate limits and candles count in epoch-aligned windows, as Binance's do (orders per 10 s, request weight
per minute, 1m klines): a test that compares counts across requests must send them where the window will not
roll over between."""

from __future__ import annotations

import asyncio
import time

ORDERS_WINDOW_S = 10.0
MINUTE_S = 60.0


async def wait_for_fresh_window(span_s: float = ORDERS_WINDOW_S, seconds_left_s: float = 5.0) -> None:
    """Return at once if the current window has ``seconds_left_s`` to run, else when the next one opens."""
    left_s = span_s - time.time() % span_s
    if left_s < seconds_left_s:
        await asyncio.sleep(left_s + 0.01)
