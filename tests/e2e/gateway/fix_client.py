"""A small asyncio FIX 4.4 initiator built on our codec, for tests that need to count every message."""

from __future__ import annotations

import asyncio
import time

from session.fix.codec import FixMessage, FixParser, encode
from session.fix.session import utc_timestamp


class FixTestClient:
    def __init__(self, sender: str, password: str, *, target: str = "GATEWAY") -> None:
        self.sender = sender
        self.target = target
        self.password = password
        self.next_out = 1
        self.received: list[FixMessage] = []
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._reading: asyncio.Task[None] | None = None
        self.closed = asyncio.Event()

    async def connect(self, port: int, *, reset_seq_num: bool = False) -> None:
        """Connect and log on; ``reset_seq_num`` asks both sides to start over at 1 (141=Y)."""
        self.closed.clear()
        self._reader, self._writer = await asyncio.open_connection("127.0.0.1", port)
        self._reading = asyncio.create_task(self._read())
        reset: list[tuple[int, str]] = []
        if reset_seq_num:
            self.next_out = 1
            reset = [(141, "Y")]
        self.send("A", [(98, "0"), (108, "30"), *reset, (553, self.sender.lower()), (554, self.password)])

    def send(self, msg_type: str, body: list[tuple[int, str]]) -> None:
        assert self._writer is not None
        fields = [
            (35, msg_type),
            (49, self.sender),
            (56, self.target),
            (34, str(self.next_out)),
            (52, utc_timestamp(time.time())),
            *body,
        ]
        self.next_out += 1
        self._writer.write(encode("FIX.4.4", fields))

    def new_order(self, client_order_id: str, side: str, quantity: str, price: str) -> None:
        self.send(
            "D",
            [
                (11, client_order_id),
                (55, "BTCUSDT"),
                (54, side),
                (38, quantity),
                (40, "2"),
                (44, price),
                (59, "1"),
                (60, utc_timestamp(time.time())),
            ],
        )

    async def _read(self) -> None:
        parser = FixParser(message_bytes_max=65536, buffer_bytes_max=1 << 22)
        assert self._reader is not None
        try:
            while data := await self._reader.read(65536):
                for item in parser.feed(data):
                    if isinstance(item, FixMessage):
                        self.received.append(item)
                        if item.msg_type == "1":
                            self.send("0", [(112, item.get(112) or "")])
        except ConnectionError:
            pass
        finally:
            self.closed.set()

    def of_type(self, msg_type: str) -> list[FixMessage]:
        return [m for m in self.received if m.msg_type == msg_type]

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        if self._reading is not None:
            await asyncio.gather(self._reading, return_exceptions=True)
