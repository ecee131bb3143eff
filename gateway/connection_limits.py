"""Open connections per peer address, against the configured bound (FIX and WebSocket listeners)."""

from __future__ import annotations


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
