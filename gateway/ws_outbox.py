"""Outgoing WebSocket frames written in batches: one transport write per connection per flush.

``websockets`` frames and writes every ``send`` on its own; at thousands of small messages a second
that per-frame cost (frame object, buffer, syscall, peer wake-up) is what limits a Python server. Here a
message is framed once with ``websockets.frames.Frame`` (the same bytes serve every receiver, since a
server never masks) and each connection's frames since the last flush go out in one write.
"""

from __future__ import annotations

import asyncio

import structlog
from websockets.asyncio.server import ServerConnection
from websockets.frames import Frame, Opcode
from websockets.protocol import State

log = structlog.get_logger("gateway.ws_outbox")
POLICY_VIOLATION = 1008


def text_frame(payload: bytes) -> bytes:
    """The wire bytes of one unmasked text frame carrying ``payload`` (UTF-8 JSON)."""
    return Frame(Opcode.TEXT, payload).serialize(mask=False)


class Outbox:
    """Frames waiting for one connection, flushed on the next loop turn with a single write.

    Past ``buffer_bytes_max`` of unsent data (in the transport and here) the client is too slow: the
    connection is closed with 1008 and nothing more is queued, so a slow reader costs memory only up to
    the bound and never slows a writer.
    """

    __slots__ = (
        "_buffer_bytes_max",
        "_frames",
        "_loop",
        "_pending_bytes",
        "_scheduled",
        "closed_reason",
        "websocket",
    )

    def __init__(self, websocket: ServerConnection, buffer_bytes_max: int) -> None:
        self.websocket = websocket
        self.closed_reason: str | None = None
        self._buffer_bytes_max = buffer_bytes_max
        self._frames: list[bytes] = []
        self._pending_bytes = 0
        self._scheduled = False
        self._loop = asyncio.get_running_loop()

    def put(self, frame: bytes) -> bool:
        """Queue a framed message (see ``text_frame``); False once the connection is being closed."""
        if self.closed_reason is not None:
            return False
        self._frames.append(frame)
        self._pending_bytes += len(frame)
        if self._pending_bytes > self._buffer_bytes_max:
            self.close("slow consumer: outbound buffer full")
            return False
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self.flush)
        return True

    def put_json(self, payload: bytes) -> bool:
        return self.put(text_frame(payload))

    def flush(self) -> None:
        self._scheduled = False
        if not self._frames or self.closed_reason is not None:
            return
        data = b"".join(self._frames) if len(self._frames) > 1 else self._frames[0]
        self._frames.clear()
        self._pending_bytes = 0
        self._write(data)

    def send(self, data: bytes) -> None:
        """Write framed ``data`` now, behind anything queued, in one write (the market-data fan-out)."""
        if self.closed_reason is not None:
            return
        if self._frames:
            self._frames.append(data)
            data = b"".join(self._frames)
            self._frames.clear()
            self._pending_bytes = 0
        self._write(data)

    def _write(self, data: bytes) -> None:
        websocket = self.websocket
        if websocket.protocol.state is not State.OPEN:
            return
        transport = websocket.transport
        if transport.get_write_buffer_size() + len(data) > self._buffer_bytes_max:
            self.close("slow consumer: outbound buffer full")
            return
        transport.write(data)

    def close(self, reason: str, *, flush_first: bool = False) -> None:
        """Stop sending and close the connection with 1008 and ``reason`` (once); with ``flush_first``,
        after writing what is queued (answers a client may still read, unlike a slow consumer's)."""
        if flush_first:
            self.flush()
        if self.closed_reason is not None:
            return
        self.closed_reason = reason
        self._frames.clear()
        log.info("websocket closed by the gateway", reason=reason)
        self._loop.create_task(self.websocket.close(POLICY_VIOLATION, reason[:120]))
