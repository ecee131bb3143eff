"""The gateway's WebSocket connection: counts control frames, and can hand messages straight to a callback.

``websockets`` queues every incoming message for ``recv()``, and a reader task wakes to take each one
(an assembler, a queue, a future and a task switch per message). An API connection answers every
request in a task of its own anyway, so its messages go from the frame parser to that callback in
the same call: the same bytes, fragments joined, text checked as UTF-8, with the library's own close
codes for what it would have refused.
"""

from __future__ import annotations

from collections.abc import Callable

from websockets.asyncio.server import ServerConnection
from websockets.frames import CloseCode, Frame, Opcode
from websockets.protocol import Event

FRAGMENTS_MAX = 4096  # as websockets' own assembler (its WEBSOCKETS_MAX_FRAGMENTS default)

MessageSink = Callable[[str | bytes], None]


class GatewayConnection(ServerConnection):
    """A server connection that reports each PING and PONG frame it receives (Binance counts them, with
    the JSON control messages, among a stream connection's 5 incoming messages a second) and, once asked
    (``hold_messages``), delivers each complete message to a callback instead of to ``recv()``."""

    on_ping_or_pong: Callable[[], None] | None = None
    _sink: MessageSink | None = None
    _held: list[str | bytes] | None = None
    _fragments: list[Frame] | None = None

    def hold_messages(self) -> None:
        """From now on keep complete messages for ``deliver_messages`` (called during the handshake, so
        a message that arrives before the handler runs is neither lost nor left to ``recv()``)."""
        held: list[str | bytes] = []
        self._held = held
        self._sink = held.append

    def deliver_messages(self, sink: MessageSink) -> None:
        """Hand the messages held so far, then every later one as it completes, to ``sink``."""
        held, self._held = self._held or [], None
        self._sink = sink
        for message in held:
            sink(message)

    def process_event(self, event: Event) -> None:
        sink = self._sink
        if sink is not None and isinstance(event, Frame) and event.opcode in _DATA_OPCODES:
            self._take_data_frame(event, sink)
        else:
            super().process_event(event)
        if (
            self.on_ping_or_pong is not None
            and isinstance(event, Frame)
            and event.opcode in (Opcode.PING, Opcode.PONG)
        ):
            self.on_ping_or_pong()

    def _take_data_frame(self, frame: Frame, sink: MessageSink) -> None:
        fragments = self._fragments
        if fragments is None:
            if not frame.fin:
                self._fragments = [frame]
                return
            first, data = frame, frame.data
        else:
            if len(fragments) >= FRAGMENTS_MAX:
                self._fail(CloseCode.MESSAGE_TOO_BIG, "too many fragments")
                return
            fragments.append(frame)
            if not frame.fin:
                return
            self._fragments = None
            first, data = fragments[0], b"".join(fragment.data for fragment in fragments)
        if first.opcode is Opcode.BINARY:
            sink(bytes(data))
            return
        try:
            text = bytes(data).decode()
        except UnicodeDecodeError as error:
            self._fail(CloseCode.INVALID_DATA, f"{error.reason} at position {error.start}")
            return
        sink(text)

    def _fail(self, code: CloseCode, reason: str) -> None:
        """Close as ``recv()`` would have: the close frame now, nothing more delivered."""
        self._sink = _ignore
        self.protocol.fail(code, reason)
        self.send_data()


def _ignore(message: str | bytes) -> None:
    """The sink of a connection that failed: what arrives after its close frame is dropped."""


_DATA_OPCODES = (Opcode.TEXT, Opcode.BINARY, Opcode.CONT)
