"""Connections per peer address against the configured bounds: open at once (FIX and WebSocket
listeners), and attempts per fixed window (WebSocket)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable


class ConnectionsPerAddress:
    """Admits a connection while its address has fewer than ``maximum`` open; ``release`` on close."""

    def __init__(self, maximum: int) -> None:
        self.maximum = maximum
        self._open: dict[str, int] = {}

    def admit(self, address: str) -> bool:
        count = self._open.get(address, 0)
        if count >= self.maximum:
            return False
        self._open[address] = count + 1
        return True

    def open_count(self, address: str) -> int:
        return self._open.get(address, 0)

    def release(self, address: str) -> None:
        remaining = self._open.pop(address) - 1
        if remaining:
            self._open[address] = remaining


class ConnectionAttempts:
    """Counts each address's connection attempts in fixed windows of ``window_s``; the counts start over
    with each window, so they are bounded by the addresses seen in one."""

    def __init__(self, maximum: int, window_s: int, clock: Callable[[], float] = time.time) -> None:
        self.maximum = maximum
        self.window_s = window_s
        self._clock = clock
        self._window = -1
        self._counts: dict[str, int] = {}

    def refusal_s(self, address: str) -> int | None:
        """Count one attempt; None when admitted, else the whole seconds until the window ends."""
        now_s = self._clock()
        window = int(now_s // self.window_s)
        if window != self._window:
            self._window, self._counts = window, {}
        count = self._counts.get(address, 0) + 1
        self._counts[address] = count
        if count <= self.maximum:
            return None
        return max(1, math.ceil((window + 1) * self.window_s - now_s))
